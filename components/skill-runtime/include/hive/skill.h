/* What a skill's app gives the runtime. */
#ifndef HIVE_SKILL_H
#define HIVE_SKILL_H

/* Set up; return when ready to serve. Required. */
void skill_main(void);

/* Serve on the app's own terms (a network listener); without it, the runtime serves the
 * Brain's channel, or the skill ends after `ready`. Optional. */
void skill_serve(void);

/* A job from the Brain: `job` holds `length` bytes. Write the answer into `answer` (room for
 * `capacity` bytes), set *answer_length, and return HIVE_JOB_DONE; or write an error text
 * there and return HIVE_JOB_ERROR. Without it, every job is answered with an error.
 * Optional. */
#define HIVE_JOB_DONE 0
#define HIVE_JOB_ERROR 1
int skill_job(const unsigned char *job, unsigned long length, unsigned char *answer,
	      unsigned long capacity, unsigned long *answer_length);

/* With `channel:brain` only. For a skill that serves on its own terms (skill_serve() loops):
 * serve the Brain's next message if one has begun to arrive, and return at once if none has. */
void hive_brain_poll(void);

#endif
