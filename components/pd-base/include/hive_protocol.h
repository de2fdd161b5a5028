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

/* The Brain's protected calls to the police on its channel 0 (the police's priority is
 * above the Brain's, as Microkit requires of a callee); the label is the request, the
 * reply's label the answer (components/brain/src/police.rs).
 *   START: mr0 = the Brain's channel id of the skill; answers STARTED, RUNNING, STOPPED
 *          (past its restart limit) or REFUSED (the Brain holds no channel to it).
 *   NEWS:  the reply's label is how many items follow (at most HIVE_NEWS_MAX), one per
 *          message register: kind << 8 | the Brain's channel id of the skill. The police
 *          notifies the Brain (channel 0) when it has news. */
#define HIVE_POLICE_START 1
#define HIVE_POLICE_NEWS 2
#define HIVE_NEWS_MAX 8
#define HIVE_POLICE_STARTED 0
#define HIVE_POLICE_RUNNING 1
#define HIVE_POLICE_STOPPED 2
#define HIVE_POLICE_REFUSED 3
#define HIVE_NEWS_FAULTED 1
#define HIVE_NEWS_STOPPED 2
#define HIVE_NEWS_ASKED 3

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
