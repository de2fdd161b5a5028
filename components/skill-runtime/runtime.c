/* The skill runtime's main: the markers the tests and the police read, around the app's own
 * code. An app defines skill_main() (set up; return when ready) and may define skill_serve()
 * (serve until the skill stops; without it the skill ends after `ready`). */
#include <stdio.h>

#include "console.h"

#ifndef SKILL_NAME
#error "build with HIVE_SKILL_NAME=<name>"
#endif

void skill_main(void);
void skill_serve(void) __attribute__((weak));

void console_puts(const char *text)
{
	fputs(text, stdout);
	fflush(stdout);
}

int main(int argc __attribute__((unused)), char *argv[] __attribute__((unused)))
{
	console_puts(SKILL_NAME ": booting\n");
	skill_main();
	console_puts(SKILL_NAME ": ready\n");
	if (skill_serve)
		skill_serve();
	return 0;
}
