/* The Brain's requests over the channel (hive/channel.h), one at a time: PING answered, CRASH
 * obeyed, JOB handed to the app's skill_job() (hive/skill.h) and its DONE or ERROR sent. Every
 * skill base with the channel links this file (the Unikraft runtime, the stand-ins' skill
 * base); the base gives hive_crash(). */
#include "console.h"
#include "hive/channel.h"
#include "hive/skill.h"

#ifndef SKILL_NAME
#error "build with SKILL_NAME=<name>"
#endif

int skill_job(const unsigned char *job, unsigned long length, unsigned char *answer,
	      unsigned long capacity, unsigned long *answer_length) __attribute__((weak));

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
		hive_crash(SKILL_NAME ": skill_job() answered past its buffer\n");
	hive_channel_send(result == HIVE_JOB_DONE ? HIVE_MSG_DONE : HIVE_MSG_ERROR, answer,
			  answered);
}

/* The Brain's next request. */
static void serve_one(void)
{
	long length = hive_channel_recv(message);

	if (length < 0)
		hive_crash(SKILL_NAME ": the channel to the Brain lost its framing\n");
	switch (message[0]) {
	case HIVE_MSG_PING:
		if (length == 5)
			hive_channel_send(HIVE_MSG_PONG, message + 1, 4);
		else
			error(SKILL_NAME ": a ping carries 4 bytes");
		break;
	case HIVE_MSG_CRASH:
		hive_crash(SKILL_NAME ": crashing on request\n");
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

void hive_serve_brain(void)
{
	hive_channel_send(HIVE_MSG_READY, 0, 0);
	for (;;)
		serve_one();
}
