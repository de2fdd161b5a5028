/* The skill runtime's main: the markers the tests and the police read, around the app's own
 * code (hive/skill.h), and, when the skill holds `channel:brain`, the Brain's channel
 * (hive/channel.h): READY once the app is set up, then PING, CRASH and JOB served by
 * serve.c (or, for an app that serves on its own terms, when it calls hive_brain_poll()). */
#include <stdio.h>
#include <uk/assert.h>
#include <uk/config.h>

#include "console.h"
#include "hive/skill.h"
#if CONFIG_LIBHIVESKILL_BRAIN
#include "hive/channel.h"
#endif

#ifndef SKILL_NAME
#error "build with HIVE_SKILL_NAME=<name>"
#endif

void skill_serve(void) __attribute__((weak));

void console_puts(const char *text)
{
	fputs(text, stdout);
	fflush(stdout);
}

#if CONFIG_LIBHIVESKILL_BRAIN
/* serve.c's way out: Unikraft's crash, which prints a CRIT line the police watches for. */
void hive_crash(const char *why)
{
	UK_CRASH("%s", why);
	for (;;)
		;
}
#endif

int main(int argc __attribute__((unused)), char *argv[] __attribute__((unused)))
{
	console_puts(SKILL_NAME ": booting\n");
	skill_main();
	console_puts(SKILL_NAME ": ready\n");
#if CONFIG_LIBHIVESKILL_BRAIN
	if (!skill_serve)
		hive_serve_brain();
	hive_channel_send(HIVE_MSG_READY, 0, 0);
#endif
	if (skill_serve)
		skill_serve();
	return 0;
}
