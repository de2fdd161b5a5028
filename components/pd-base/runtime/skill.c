/* The runtime of a skill protection domain: prints the skill's markers around its app,
 * tells the Brain and the police it is ready (the police times its start to that), answers
 * pings, and faults on purpose when the police asks (fault-injection tests). The police
 * starts it, and restarts it from _start after a fault. */
#include <microkit.h>

#include "console.h"
#include "hive_protocol.h"

#ifndef SKILL_NAME
#error "build with NAME=<skill>"
#endif

/* Provided by the app (a rendered template or a skill's own folder). */
void skill_main(void);

static struct hive_mailbox *mailbox(void)
{
    return (struct hive_mailbox *)HIVE_MAILBOX;
}

static void send(const unsigned char *bytes, unsigned int length)
{
    struct hive_slot *slot = &mailbox()->to_brain;
    for (unsigned int i = 0; i < length; i++) {
        slot->bytes[i] = bytes[i];
    }
    slot->length = length;
    microkit_notify(HIVE_CH_SKILL_BRAIN);
}

void init(void)
{
    console_puts(SKILL_NAME ": booting\n");
    skill_main();
    const unsigned char ready[] = { HIVE_MSG_READY };
    send(ready, sizeof ready);
    console_puts(SKILL_NAME ": ready\n");
    microkit_notify(HIVE_CH_POLICE);
}

static void crash(void)
{
    console_puts(SKILL_NAME ": crashing on request\n");
    /* Nothing is mapped at address 0: a VM fault, delivered to the police. */
    *(volatile unsigned long *)0 = 0xdead;
}

void notified(microkit_channel channel)
{
    if (channel == HIVE_CH_POLICE) {
        crash();
        return;
    }
    if (channel != HIVE_CH_SKILL_BRAIN) {
        return;
    }
    struct hive_slot *slot = &mailbox()->to_skill;
    unsigned int length = slot->length;
    if (length == 0 || length > HIVE_SLOT_MAX) {
        return;
    }
    unsigned char tag = slot->bytes[0];
    if (tag == HIVE_MSG_CRASH) {
        slot->length = 0;
        crash();
    } else if (tag == HIVE_MSG_PING && length == 5) {
        unsigned char pong[5] = { HIVE_MSG_PONG, slot->bytes[1], slot->bytes[2],
                                  slot->bytes[3], slot->bytes[4] };
        slot->length = 0;
        send(pong, sizeof pong);
    } else {
        slot->length = 0;
    }
}
