/* The Brain as a Microkit protection domain (seL4 targets): the C side that owns the event
 * loop; the decisions are the Brain's Rust core (libbrain.a, built for aarch64-unknown-none).
 *
 * seL4 has no sleep call, so the heartbeat comes from the scheduler: the Brain's scheduling
 * context has a small budget per period (hivebuild writes budget/period into the system
 * description), and seL4_Yield gives up the rest of the budget, so the loop below runs once
 * per period. Between beats it drains the notifications from its channels without blocking:
 * a skill that faults, restarts or is stopped changes nothing here but a message.
 *
 * A request for a skill (today: `ask <skill>` typed on the console, which the police passes
 * on as news) goes through the Rust core's supervisor: a lazy skill nobody started yet is
 * started by the police at the Brain's protected call, and the request (a ping, the one
 * thing every skill answers) is sent once the skill says it is ready. */
#include <microkit.h>

#include "console.h"
#include "hive_protocol.h"

/* From the Brain's Rust core (components/brain/src/bare.rs). */
unsigned long long hive_brain_tick(void);
void hive_brain_start(unsigned long long channels);
unsigned int hive_brain_message(unsigned int channel, const volatile unsigned char *bytes,
                                unsigned int length);
unsigned int hive_brain_news(unsigned long long word);
unsigned int hive_brain_want(unsigned int channel);
/* What hive_brain_want answers (bare.rs). */
#define WANT_START 1
#define WANT_WAIT 2
#define WANT_SEND 3
_Bool hive_brain_started(unsigned int channel, unsigned long long answer);
_Bool hive_brain_take_waiting(unsigned int channel);
_Bool hive_brain_idle(unsigned int channel);

#define PING_EVERY 10
/* The number a request's ping carries: no heartbeat ping carries it. */
#define REQUEST 0xfffffffful

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

static void say(microkit_channel channel, const char *what)
{
    console_puts("brain: channel ");
    console_put_u64(channel);
    console_puts(what);
}

static void send_ping(microkit_channel channel, unsigned long number)
{
    struct hive_slot *slot = &mailbox(channel)->to_skill;
    slot->bytes[0] = HIVE_MSG_PING;
    for (unsigned i = 0; i < 4; i++) {
        slot->bytes[1 + i] = (unsigned char)(number >> (8 * i));
    }
    slot->length = 5;
    microkit_notify(channel);
}

/* A request for the skill on `channel`, as the supervisor decides. */
static void request(microkit_channel channel)
{
    switch (hive_brain_want(channel)) {
    case WANT_START: {
        say(channel, ": asking the police to start it\n");
        microkit_mr_set(0, channel);
        microkit_msginfo reply = microkit_ppcall(HIVE_CH_POLICE,
                                                 microkit_msginfo_new(HIVE_POLICE_START, 1));
        seL4_Word answer = microkit_msginfo_get_label(reply);
        if (!hive_brain_started(channel, answer)) {
            say(channel, answer == HIVE_POLICE_STOPPED ? ": stopped; request dropped\n"
                                                      : ": refused; request dropped\n");
        }
        return;
    }
    case WANT_WAIT:
        say(channel, ": request waits until it is ready\n");
        return;
    case WANT_SEND:
        send_ping(channel, REQUEST);
        return;
    default:
        say(channel, ": no such skill; request dropped\n");
    }
}

/* The police has news (hive_protocol.h: NEWS). */
static void news(void)
{
    microkit_msginfo reply = microkit_ppcall(HIVE_CH_POLICE,
                                             microkit_msginfo_new(HIVE_POLICE_NEWS, 0));
    seL4_Word count = microkit_msginfo_get_label(reply);
    seL4_Word words[HIVE_NEWS_MAX];
    for (seL4_Word i = 0; i < count && i < HIVE_NEWS_MAX; i++) {
        words[i] = microkit_mr_get(i);
    }
    for (seL4_Word i = 0; i < count && i < HIVE_NEWS_MAX; i++) {
        unsigned int asked = hive_brain_news(words[i]);
        if (asked != 0) {
            say(asked, ": asked for\n");
            request(asked);
        } else {
            say(words[i] & 0xff, (words[i] >> 8) == HIVE_NEWS_STOPPED
                                     ? ": the police stopped it; carrying on\n"
                                     : ": the police reports a fault; carrying on\n");
        }
    }
}

static void receive(microkit_channel channel)
{
    if (channel == HIVE_CH_POLICE) {
        news();
        return;
    }
    struct hive_slot *slot = &mailbox(channel)->to_brain;
    unsigned int length = slot->length;
    if (length == 0 || length > HIVE_SLOT_MAX) {
        return;
    }
    unsigned int tag = hive_brain_message(channel, slot->bytes, length);
    unsigned long number = 0;
    for (unsigned i = 0; tag == HIVE_MSG_PONG && length == 5 && i < 4; i++) {
        number |= (unsigned long)slot->bytes[1 + i] << (8 * i);
    }
    int answered = tag == HIVE_MSG_PONG && length == 5 && number == REQUEST;
    slot->length = 0;
    if (answered) {
        say(channel, ": answered the request\n");
        return;
    }
    if (tag == HIVE_MSG_PONG) {
        answering++;
    } else {
        say(channel, tag == HIVE_MSG_READY ? ": skill ready\n" : ": unexpected message\n");
    }
    /* Either says the skill is up (one mailbox slot: a pong may have taken Ready's place). */
    if ((tag == HIVE_MSG_READY || tag == HIVE_MSG_PONG) && hive_brain_take_waiting(channel)) {
        send_ping(channel, REQUEST);
    }
}

static void ping(unsigned long long beat)
{
    for (microkit_channel channel = 1; channel < 62; channel++) {
        /* A lazy skill nobody started would find stale pings when it starts. */
        if (is_skill(channel) && !hive_brain_idle(channel)) {
            send_ping(channel, (unsigned long)beat);
        }
    }
}

void init(void)
{
    hive_brain_start(microkit_notifications & ~1ULL);
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
