/* Stand-in skill base: the "unikernel" every skill app is linked into, the way Unikraft
 * links an app. It prints the skill's boot and ready markers around the app's own code. */
#include "console.h"

#ifndef SKILL_NAME
#error "build with SKILL_NAME=<name>"
#endif

/* Provided by the app (a rendered template or a skill's own folder). */
void skill_main(void);

int main(void)
{
    console_puts(SKILL_NAME ": booting\n");
    skill_main();
    console_puts(SKILL_NAME ": ready\n");
    return 0;
}
