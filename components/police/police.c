/* The police: parent (fault handler) of every skill protection domain, and the one that
 * starts them.
 *
 * Every skill is stopped before it runs its first instruction (the police's priority is
 * above every skill's, so its init runs first); the police starts the skills that are not
 * lazy at once and a lazy one when the Brain asks for it (a protected call, START), timing
 * each start to the skill's ready notification with the generic timer
 * (`police: <skill> ready in N us`). It reports each fault (`police: <skill> faulted (<kind>)`),
 * restarts the skill from its entry point (the skill's start code resets its stack and
 * runtime state, which seL4's restart does not), and stops a skill past its restart limit
 * (`police: <skill> stopped`), telling the Brain in each case (NEWS). It also owns the
 * console's receive side: `crash <skill>` asks that skill to fault (fault-injection tests);
 * `ask <skill>` passes a request for that skill to the Brain, which decides.
 *
 * Built with SKILLS="<name>:<limit>[:<flags>],..." in child-id order (hivebuild writes the
 * same order into the system description); flags: `l` lazy, `b` the Brain holds a channel
 * to it. CONSOLE=pl011 or CONSOLE=bcm2835-aux. */
#include <microkit.h>

#include "console.h"
#include "hive_protocol.h"
#include "uart.h"

#ifndef HIVE_SKILLS
#error "build with SKILLS=<name:limit,...>"
#endif

#define MAX_SKILLS 62
#define NAME_MAX 64
/* Microkit's linker script starts every program's text here; _start comes first. */
#define ENTRY_POINT 0x200000

enum skill_state {
    /* Stopped before its first instruction: a lazy skill nobody asked for yet. */
    NOT_STARTED,
    RUNNING,
    /* Past its restart limit. */
    STOPPED,
};

struct skill {
    char name[NAME_MAX];
    unsigned limit;
    unsigned restarts;
    enum skill_state state;
    int lazy;
    /* The Brain holds a channel to it (its channel id there is 1 + child id). */
    int brain;
    /* The generic timer's count at its last (re)start; 0 once it said it is ready. */
    unsigned long long started_at;
};

static struct skill skills[MAX_SKILLS];
static unsigned skill_count;
static char line[80];
static unsigned line_length;

/* News for the Brain, oldest first, until it calls NEWS. */
static seL4_Word news[2 * HIVE_NEWS_MAX];
static unsigned news_count;
static unsigned news_lost;

/* The generic timer: seL4 lets user level read the physical count
 * (KernelArmExportPCNTUser, which Microkit's SDK sets on aarch64). */
static unsigned long long counter(void)
{
    unsigned long long count;
    __asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(count));
    return count;
}

static unsigned long long counter_hz(void)
{
    unsigned long long hz;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(hz));
    return hz;
}

static void parse_skills(const char *spec)
{
    while (*spec != '\0' && skill_count < MAX_SKILLS) {
        struct skill *skill = &skills[skill_count++];
        unsigned at = 0;
        while (*spec != '\0' && *spec != ':' && at + 1 < NAME_MAX) {
            skill->name[at++] = *spec++;
        }
        skill->name[at] = '\0';
        if (*spec == ':') {
            spec++;
        }
        while (*spec >= '0' && *spec <= '9') {
            skill->limit = skill->limit * 10 + (unsigned)(*spec++ - '0');
        }
        if (*spec == ':') {
            spec++;
            for (; *spec != '\0' && *spec != ','; spec++) {
                skill->lazy |= *spec == 'l';
                skill->brain |= *spec == 'b';
            }
        }
        if (*spec == ',') {
            spec++;
        }
    }
}

static int same(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static const char *fault_kind(seL4_Word label)
{
    switch (label) {
    case seL4_Fault_CapFault:
        return "cap fault";
    case seL4_Fault_UnknownSyscall:
        return "unknown syscall";
    case seL4_Fault_UserException:
        return "user exception";
    case seL4_Fault_VMFault:
        return "vm fault";
#ifdef CONFIG_KERNEL_MCS
    case seL4_Fault_Timeout:
        return "timeout";
#endif
    default:
        return "fault";
    }
}

static void say(const char *skill, const char *what)
{
    console_puts("police: ");
    console_puts(skill);
    console_puts(what);
}

/* Tell the Brain (it calls NEWS to learn what). */
static void tell_brain(seL4_Word kind, unsigned child)
{
    if (!skills[child].brain) {
        return;
    }
    if (news_count == sizeof news / sizeof news[0]) {
        news_lost++;
    } else {
        news[news_count++] = kind << 8 | (HIVE_CH_POLICE_SKILL0 + child);
    }
    microkit_notify(HIVE_CH_POLICE_BRAIN);
}

/* (Re)start a skill from its entry point, timed until it says it is ready. */
static void start(unsigned child)
{
    skills[child].state = RUNNING;
    skills[child].started_at = counter();
    microkit_pd_restart(child, ENTRY_POINT);
}

void init(void)
{
    parse_skills(HIVE_SKILLS);
    uart_enable_receive();
    /* Microkit resumes every thread at boot; ours outranks the skills', so none has run. */
    for (unsigned child = 0; child < skill_count; child++) {
        microkit_pd_stop(child);
    }
    console_puts("police: ready\n");
    for (unsigned child = 0; child < skill_count; child++) {
        if (skills[child].lazy) {
            say(skills[child].name, " is lazy: stopped until the Brain asks for it\n");
        } else {
            say(skills[child].name, ": starting\n");
            start(child);
        }
    }
}

/* The skill said it is ready (a notification on its control channel). */
static void ready(unsigned child)
{
    struct skill *skill = &skills[child];
    if (skill->started_at == 0) {
        return;
    }
    unsigned long long ticks = counter() - skill->started_at;
    skill->started_at = 0;
    say(skill->name, " ready in ");
    console_put_u64(ticks * 1000000ULL / counter_hz());
    console_puts(" us\n");
}

/* The rest of `line` after `word`, or 0 when it does not start with it. */
static const char *after(const char *word)
{
    unsigned i = 0;
    for (; word[i] != '\0'; i++) {
        if (line[i] != word[i]) {
            return 0;
        }
    }
    return &line[i];
}

static int child_named(const char *name)
{
    for (unsigned child = 0; child < skill_count; child++) {
        if (same(skills[child].name, name)) {
            return (int)child;
        }
    }
    console_puts("police: no skill named ");
    console_puts(name);
    console_puts("\n");
    return -1;
}

static void run_command(void)
{
    const char *name;
    int child;
    if ((name = after("crash ")) != 0 && (child = child_named(name)) >= 0) {
        if (skills[child].state != RUNNING) {
            say(name, " is not running\n");
        } else {
            microkit_notify(HIVE_CH_POLICE_SKILL0 + child);
        }
    } else if ((name = after("ask ")) != 0 && (child = child_named(name)) >= 0) {
        if (!skills[child].brain) {
            say(name, ": the Brain holds no channel to it\n");
        } else {
            say(name, ": asked for on the console; telling the Brain\n");
            tell_brain(HIVE_NEWS_ASKED, child);
        }
    }
}

/* The Brain's protected calls (hive_protocol.h). */
microkit_msginfo protected(microkit_channel channel, microkit_msginfo info)
{
    seL4_Word request = microkit_msginfo_get_label(info);
    if (channel != HIVE_CH_POLICE_BRAIN) {
        return microkit_msginfo_new(HIVE_POLICE_REFUSED, 0);
    }
    if (request == HIVE_POLICE_NEWS) {
        unsigned count = news_count < HIVE_NEWS_MAX ? news_count : HIVE_NEWS_MAX;
        for (unsigned i = 0; i < count; i++) {
            microkit_mr_set(i, news[i]);
        }
        for (unsigned i = count; i < news_count; i++) {
            news[i - count] = news[i];
        }
        news_count -= count;
        if (news_count > 0) {
            microkit_notify(HIVE_CH_POLICE_BRAIN);
        }
        if (news_lost > 0) {
            console_puts("police: news the Brain never took: ");
            console_put_u64(news_lost);
            console_puts(" items dropped\n");
            news_lost = 0;
        }
        return microkit_msginfo_new(count, count);
    }
    if (request != HIVE_POLICE_START || microkit_msginfo_get_count(info) != 1) {
        console_puts("police: refused a malformed call from the Brain\n");
        return microkit_msginfo_new(HIVE_POLICE_REFUSED, 0);
    }
    seL4_Word id = microkit_mr_get(0);
    unsigned child = (unsigned)(id - HIVE_CH_POLICE_SKILL0);
    if (id < HIVE_CH_POLICE_SKILL0 || child >= skill_count || !skills[child].brain) {
        console_puts("police: refused to start channel ");
        console_put_u64(id);
        console_puts(" for the Brain: no skill it holds a channel to\n");
        return microkit_msginfo_new(HIVE_POLICE_REFUSED, 0);
    }
    struct skill *skill = &skills[child];
    switch (skill->state) {
    case RUNNING:
        return microkit_msginfo_new(HIVE_POLICE_RUNNING, 0);
    case STOPPED:
        say(skill->name, " is stopped; not starting it for the Brain\n");
        return microkit_msginfo_new(HIVE_POLICE_STOPPED, 0);
    case NOT_STARTED:
        break;
    }
    say(skill->name, ": starting, as the Brain asks\n");
    start(child);
    return microkit_msginfo_new(HIVE_POLICE_STARTED, 0);
}

void notified(microkit_channel channel)
{
    if (channel >= HIVE_CH_POLICE_SKILL0 && channel < HIVE_CH_POLICE_SKILL0 + skill_count) {
        ready(channel - HIVE_CH_POLICE_SKILL0);
        return;
    }
    if (channel != HIVE_CH_CONSOLE_IRQ) {
        return;
    }
    int byte;
    while ((byte = uart_getc()) >= 0) {
        if (byte == '\r' || byte == '\n') {
            line[line_length] = '\0';
            if (line_length > 0) {
                run_command();
            }
            line_length = 0;
        } else if (line_length + 1 < sizeof line) {
            line[line_length++] = (char)byte;
        }
    }
    microkit_irq_ack(HIVE_CH_CONSOLE_IRQ);
}

seL4_Bool fault(microkit_child child, microkit_msginfo info, microkit_msginfo *reply)
{
    (void)reply;
    if (child >= skill_count) {
        console_puts("police: fault of an unknown child\n");
        microkit_pd_stop(child);
        return seL4_False;
    }
    struct skill *skill = &skills[child];
    console_puts("police: ");
    console_puts(skill->name);
    console_puts(" faulted (");
    console_puts(fault_kind(microkit_msginfo_get_label(info)));
    console_puts(")\n");
    /* The Brain learns of it too; it keeps running either way. */
    if (skill->restarts >= skill->limit) {
        skill->state = STOPPED;
        skill->started_at = 0;
        microkit_pd_stop(child);
        tell_brain(HIVE_NEWS_STOPPED, child);
        console_puts("police: ");
        console_puts(skill->name);
        console_puts(" stopped after ");
        console_put_u64(skill->restarts);
        console_puts(" restarts\n");
        return seL4_False;
    }
    skill->restarts++;
    console_puts("police: restarting ");
    console_puts(skill->name);
    console_puts(" (");
    console_put_u64(skill->restarts);
    console_puts(" of ");
    console_put_u64(skill->limit);
    console_puts(")\n");
    tell_brain(HIVE_NEWS_FAULTED, child);
    /* Restarting sets the PC and resumes the thread; there is no fault to reply to. */
    start(child);
    return seL4_False;
}
