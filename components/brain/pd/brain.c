/* The Brain as a Microkit protection domain (seL4 targets): the C side that owns the event
 * loop; the decisions are the Brain's Rust core (libbrain.a, built for aarch64-unknown-none).
 *
 * seL4 has no sleep call, so the heartbeat comes from the scheduler: the Brain's scheduling
 * context has a small budget per period (hivebuild writes budget/period into the system
 * description), and seL4_Yield gives up the rest of the budget, so the loop below runs once
 * per period. Between beats it drains the notifications from its channels without blocking:
 * a skill that faults, restarts or is stopped changes nothing here but a message. */
#include <microkit.h>

#include "console.h"
#include "hive_protocol.h"

/* From the Brain's Rust core (components/brain/src/bare.rs). */
unsigned long long hive_brain_tick(void);
unsigned int hive_brain_message(unsigned int channel, const volatile unsigned char *bytes,
                                unsigned int length);

#define PING_EVERY 10

/* Skills that answered since the last round of pings. */
static unsigned answering;
/* Microkit's fixed capability slots: the PD's input object and its reply object. */
#define INPUT_CAP 1
#define REPLY_CAP 4

static struct hive_mailbox *mailbox(microkit_channel channel)
{
    return (struct hive_mailbox *)(HIVE_MAILBOX + channel * HIVE_MAILBOX_SIZE);
}

static int is_skill(microkit_channel channel)
{
    return channel != HIVE_CH_POLICE && channel < 62 && (microkit_notifications >> channel) & 1;
}

static void receive(microkit_channel channel)
{
    if (channel == HIVE_CH_POLICE) {
        console_puts("brain: the police reports a skill fault; carrying on\n");
        return;
    }
    struct hive_slot *slot = &mailbox(channel)->to_brain;
    unsigned int length = slot->length;
    if (length == 0 || length > HIVE_SLOT_MAX) {
        return;
    }
    unsigned int tag = hive_brain_message(channel, slot->bytes, length);
    slot->length = 0;
    if (tag == HIVE_MSG_PONG) {
        answering++;
        return;
    }
    console_puts("brain: channel ");
    console_put_u64(channel);
    console_puts(tag == HIVE_MSG_READY ? ": skill ready\n" : ": unexpected message\n");
}

static void ping(unsigned long long beat)
{
    for (microkit_channel channel = 1; channel < 62; channel++) {
        if (!is_skill(channel)) {
            continue;
        }
        struct hive_slot *slot = &mailbox(channel)->to_skill;
        slot->bytes[0] = HIVE_MSG_PING;
        for (unsigned i = 0; i < 4; i++) {
            slot->bytes[1 + i] = (unsigned char)(beat >> (8 * i));
        }
        slot->length = 5;
        microkit_notify(channel);
    }
}

void init(void)
{
    console_puts("brain: ready\n");
    for (;;) {
        unsigned long long beat = hive_brain_tick();
        console_puts("brain: heartbeat ");
        console_put_u64(beat);
        if (beat % PING_EVERY == 0) {
            console_puts(", skills answering: ");
            console_put_u64(answering);
            answering = 0;
            ping(beat);
        }
        console_puts("\n");
        seL4_Word badge;
        for (;;) {
            seL4_NBRecv(INPUT_CAP, &badge, REPLY_CAP);
            badge &= (1ULL << 62) - 1; /* channel bits only */
            if (badge == 0) {
                break;
            }
            for (microkit_channel channel = 0; badge != 0; channel++, badge >>= 1) {
                if (badge & 1) {
                    receive(channel);
                }
            }
        }
        seL4_Yield();
    }
}

void notified(microkit_channel channel)
{
    (void)channel; /* init never returns: the loop above receives everything */
}
