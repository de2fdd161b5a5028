/* Stand-in skill base: the "unikernel" every skill app is linked into, the way Unikraft
 * links an app. It prints the skill's boot and ready markers around the app's own code; with
 * the Brain's channel (HIVE_SKILL_BRAIN: the skill holds `channel:brain`, on x86_64) and its
 * line present, it then serves the Brain's requests as a Unikraft skill does (the skill
 * runtime's channel.c and serve.c), else it powers off. */
#include "console.h"

#ifdef HIVE_SKILL_BRAIN
#include "hive/channel.h"
#endif

#ifndef SKILL_NAME
#error "build with SKILL_NAME=<name>"
#endif

/* Provided by the app (a rendered template or a skill's own folder). */
void skill_main(void);

#ifdef HIVE_SKILL_BRAIN
/* serve.c's way out: a fault line the police watches for (Unikraft prints `CRIT:` too),
 * then a power-off with a failure status. */
void hive_crash(const char *why)
{
    console_puts("CRIT: ");
    console_puts(why);
    machine_off(1);
}
#endif

int main(void)
{
    console_puts(SKILL_NAME ": booting\n");
    skill_main();
    console_puts(SKILL_NAME ": ready\n");
#ifdef HIVE_SKILL_BRAIN
    if (hive_channel_present()) {
        hive_serve_brain();
    }
#endif
    return 0;
}
