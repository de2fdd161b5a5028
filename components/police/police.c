/* The police: parent (fault handler) of every skill protection domain.
 *
 * It reports each fault (`police: <skill> faulted (<kind>)`), restarts the skill from its
 * entry point (the skill's start code resets its stack and runtime state, which seL4's
 * restart does not), and stops a skill past its restart limit (`police: <skill> stopped`),
 * telling the Brain in both cases. It also owns the console's receive side: a line
 * `crash <skill>` typed on the console asks that skill to fault, for fault-injection tests.
 *
 * Built with SKILLS="<name>:<limit>,..." in child-id order (hivebuild writes the same
 * order into the system description) and CONSOLE=pl011 or CONSOLE=bcm2835-aux. */
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

struct skill {
    char name[NAME_MAX];
    unsigned limit;
    unsigned restarts;
    int stopped;
};

static struct skill skills[MAX_SKILLS];
static unsigned skill_count;
static char line[80];
static unsigned line_length;

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

void init(void)
{
    parse_skills(HIVE_SKILLS);
    uart_enable_receive();
    console_puts("police: ready\n");
}

static void run_command(void)
{
    static const char crash[] = "crash ";
    for (unsigned i = 0; i < sizeof crash - 1; i++) {
        if (line[i] != crash[i]) {
            return;
        }
    }
    const char *name = &line[sizeof crash - 1];
    for (unsigned child = 0; child < skill_count; child++) {
        if (same(skills[child].name, name)) {
            if (skills[child].stopped) {
                console_puts("police: ");
                console_puts(name);
                console_puts(" is stopped\n");
            } else {
                microkit_notify(HIVE_CH_POLICE_SKILL0 + child);
            }
            return;
        }
    }
    console_puts("police: no skill named ");
    console_puts(name);
    console_puts("\n");
}

void notified(microkit_channel channel)
{
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
    microkit_notify(HIVE_CH_POLICE_BRAIN);
    if (skill->restarts >= skill->limit) {
        skill->stopped = 1;
        microkit_pd_stop(child);
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
    /* Restarting sets the PC and resumes the thread; there is no fault to reply to. */
    microkit_pd_restart(child, ENTRY_POINT);
    return seL4_False;
}
