/* The skill runtime's main: the markers the tests and the police read, around the app's own
 * code (hive/skill.h), and, when the skill holds `channel:brain`, the Brain's channel
 * (hive/channel.h): READY once the app is set up, then PING, CRASH and JOB served here. */
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
int skill_job(const unsigned char *job, unsigned long length, unsigned char *answer,
	      unsigned long capacity, unsigned long *answer_length) __attribute__((weak));

void console_puts(const char *text)
{
	fputs(text, stdout);
	fflush(stdout);
}

#if CONFIG_LIBHIVESKILL_BRAIN
static unsigned char message[HIVE_FRAME_MAX];
static unsigned char answer[HIVE_FRAME_MAX - 1];

static void error(const char *text)
{
	unsigned long length = 0;

	while (text[length])
		length++;
	hive_channel_send(HIVE_MSG_ERROR, text, length);
}

static void job(const unsigned char *bytes, unsigned long length)
{
	unsigned long answered = 0;
	int result;

	if (!skill_job) {
		error(SKILL_NAME ": this skill takes no jobs");
		return;
	}
	result = skill_job(bytes, length, answer, sizeof(answer), &answered);
	if (answered > sizeof(answer))
		UK_CRASH(SKILL_NAME ": skill_job() answered past its buffer\n");
	hive_channel_send(result == HIVE_JOB_DONE ? HIVE_MSG_DONE : HIVE_MSG_ERROR, answer,
			  answered);
}

/* The Brain's next request. */
static void serve_one(void)
{
	long length = hive_channel_recv(message);

	if (length < 0)
		UK_CRASH(SKILL_NAME ": the channel to the Brain lost its framing\n");
	switch (message[0]) {
	case HIVE_MSG_PING:
		if (length == 5)
			hive_channel_send(HIVE_MSG_PONG, message + 1, 4);
		else
			error(SKILL_NAME ": a ping carries 4 bytes");
		break;
	case HIVE_MSG_CRASH:
		UK_CRASH(SKILL_NAME ": crashing on request\n");
	case HIVE_MSG_JOB:
		job(message + 1, (unsigned long)length - 1);
		break;
	default:
		error(SKILL_NAME ": not a request this skill serves");
	}
}

void hive_brain_poll(void)
{
	if (hive_channel_pending())
		serve_one();
}

/* The Brain's requests, one at a time, until the skill stops. */
static void serve_brain(void)
{
	for (;;)
		serve_one();
}
#endif

int main(int argc __attribute__((unused)), char *argv[] __attribute__((unused)))
{
	console_puts(SKILL_NAME ": booting\n");
	skill_main();
	console_puts(SKILL_NAME ": ready\n");
#if CONFIG_LIBHIVESKILL_BRAIN
	hive_channel_send(HIVE_MSG_READY, 0, 0);
#endif
	if (skill_serve)
		skill_serve();
#if CONFIG_LIBHIVESKILL_BRAIN
	else
		serve_brain();
#endif
	return 0;
}
