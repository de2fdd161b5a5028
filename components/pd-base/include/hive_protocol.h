/* How Hive's protection domains talk on seL4. The message tags are those of the Brain's
 * `protocol` module (components/brain/src/protocol.rs; a test there checks that the two
 * agree); the channel and memory conventions are those hivebuild writes into the system
 * description (hivebuild/crates/hive-sel4, docs/sel4.md).
 *
 * Channel ids:
 *   police: 0 = brain, 1 + i = the skill with child id i (skills in name order);
 *           61 = the console's receive interrupt.
 *   brain:  0 = police, 1 + i = skill i (when the Brain holds `channel:<skill>`).
 *   skill:  0 = police (control), 1 = brain; further peers follow in name order.
 *
 * Brain and skill exchange messages through a mailbox: one 4 KiB page per channel, mapped
 * in the skill at HIVE_MAILBOX and in the Brain at HIVE_MAILBOX + id * 4 KiB, with one
 * slot for each direction. The sender writes the message into its slot (the bytes, then
 * the length: tag byte and fields, little-endian) and notifies; the receiver reads it and
 * sets the length back to 0. */
#ifndef HIVE_PROTOCOL_H
#define HIVE_PROTOCOL_H

#define HIVE_MSG_PING 1
#define HIVE_MSG_PONG 2
#define HIVE_MSG_READY 3
#define HIVE_MSG_JOB 4
#define HIVE_MSG_DONE 5
#define HIVE_MSG_CRASH 6
#define HIVE_MSG_ERROR 7
#define HIVE_MSG_DELIVER 8

#define HIVE_CH_POLICE 0          /* in the Brain and in skills */
#define HIVE_CH_SKILL_BRAIN 1     /* in skills */
#define HIVE_CH_POLICE_BRAIN 0    /* in the police */
#define HIVE_CH_POLICE_SKILL0 1   /* in the police: + child id */
#define HIVE_CH_CONSOLE_IRQ 61    /* in the police */

#define HIVE_MAILBOX 0x30000000UL
#define HIVE_MAILBOX_SIZE 0x1000UL
#define HIVE_SLOT_MAX (HIVE_MAILBOX_SIZE / 2 - 4)

/* One direction of a mailbox: the length of the message, then the message. */
struct hive_slot {
    volatile unsigned int length;
    volatile unsigned char bytes[HIVE_SLOT_MAX];
};

struct hive_mailbox {
    struct hive_slot to_brain;
    struct hive_slot to_skill;
};

#endif
