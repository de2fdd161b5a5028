/* Stand-in kernel: prints the boot markers seL4 and the Microkit monitor print, then the
 * police's ready line, and powers off. It exists so that the build and QEMU stages can be
 * exercised before the real kernel is built (see ../README.md). */
#include "console.h"

#ifndef HIVE_CONFIG
#define HIVE_CONFIG "debug"
#endif
#ifndef HIVE_BOARD
#define HIVE_BOARD "unknown"
#endif

#ifndef HIVE_SKILLS
#define HIVE_SKILLS ""
#endif

/* How long the stand-in police and Brain run before the machine powers off. */
#define HEARTBEATS 20
#define HEARTBEAT_US 100000u
#define MAX_SKILLS 16

/* The stand-in police's view of a skill. The faults are injected from the console and
 * handled in software: the real police gets real seL4 faults (a later issue). */
struct skill {
    char name[32];
    unsigned limit;
    unsigned faults;
    int stopped;
};

static struct skill skills[MAX_SKILLS];
static unsigned skill_count;

/* "net:3,pdf:3": names and restart limits, from the build. */
static void parse_skills(const char *spec)
{
    while (*spec && skill_count < MAX_SKILLS) {
        struct skill *skill = &skills[skill_count++];
        unsigned at = 0;
        while (*spec && *spec != ':' && *spec != ',' && at + 1 < sizeof skill->name) {
            skill->name[at++] = *spec++;
        }
        skill->name[at] = '\0';
        if (*spec == ':') {
            spec++;
            while (*spec >= '0' && *spec <= '9') {
                skill->limit = skill->limit * 10 + (unsigned)(*spec++ - '0');
            }
        }
        if (*spec == ',') {
            spec++;
        }
    }
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void say(const char *a, const char *b, const char *c)
{
    console_puts(a);
    console_puts(b);
    console_puts(c);
}

/* A console command: `crash NAME` faults a skill. */
static void command(const char *line)
{
    const char *prefix = "crash ";
    unsigned at = 0;
    while (prefix[at] && line[at] == prefix[at]) {
        at++;
    }
    if (prefix[at]) {
        say("police: unknown command `", line, "`\n");
        return;
    }
    for (unsigned i = 0; i < skill_count; i++) {
        struct skill *skill = &skills[i];
        if (!same(skill->name, line + at)) {
            continue;
        }
        if (skill->stopped) {
            say("police: ", skill->name, " is stopped\n");
            return;
        }
        skill->faults++;
        say("police: ", skill->name, " faulted (injected fault)\n");
        if (skill->faults > skill->limit) {
            skill->stopped = 1;
            say("police: ", skill->name, " stopped after ");
            console_put_u64(skill->faults);
            console_puts(" faults\n");
        } else {
            say("police: restarting ", skill->name, "\n");
            say("", skill->name, ": ready\n");
        }
        return;
    }
    say("police: no skill `", line + at, "`\n");
}

int main(void)
{
    console_puts("Bootstrapping kernel\n");
    console_puts("hive: stand-in kernel, board " HIVE_BOARD ", config " HIVE_CONFIG "\n");
    console_puts("Booting all finished, dropped to user space\n");
    console_puts("MON|INFO: Microkit Monitor started!\n");
    console_puts("police: ready\n");

    parse_skills(HIVE_SKILLS);
    for (unsigned i = 0; i < skill_count; i++) {
        say("police: started ", skills[i].name, "\n");
        say("", skills[i].name, ": ready\n");
    }
    console_puts("brain: ready\n");
    char line[64];
    unsigned length = 0;
    unsigned long long next = clock_us() + HEARTBEAT_US;
    for (unsigned beat = 1; beat <= HEARTBEATS;) {
        int c = console_getc();
        if (c == '\r' || c == '\n') {
            line[length] = '\0';
            if (length) {
                command(line);
            }
            length = 0;
        } else if (c >= 0 && length + 1 < sizeof line) {
            line[length++] = (char)c;
        }
        if (clock_us() >= next) {
            console_puts("brain: heartbeat ");
            console_put_u64(beat++);
            console_puts("\n");
            next += HEARTBEAT_US;
        }
    }
    console_puts("hive: stand-in done\n");
    return 0;
}
