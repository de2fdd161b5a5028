/* A Unikraft skill's channel to the Brain: a serial line of its own (COM2 on x86_64
 * microvm, the second PL011 on arm64 virt), carrying the messages of the Brain's protocol
 * module (components/brain/src/protocol.rs) as frames: the message's length as a
 * little-endian u32, then the message (a tag byte and its fields, little-endian). A test
 * there reads this header and checks that the two agree.
 *
 * The runtime owns the channel: it sends READY after skill_main(), answers PING, faults on
 * CRASH, and hands a JOB to the app's skill_job() (hive/skill.h), sending its DONE or
 * ERROR (a skill that serves on its own terms has the runtime look at the channel with
 * hive_brain_poll()). Present only when the skill holds `channel:brain`
 * (CONFIG_LIBHIVESKILL_BRAIN). */
#ifndef HIVE_CHANNEL_H
#define HIVE_CHANNEL_H

#define HIVE_MSG_PING 1
#define HIVE_MSG_PONG 2
#define HIVE_MSG_READY 3
#define HIVE_MSG_JOB 4
#define HIVE_MSG_DONE 5
#define HIVE_MSG_CRASH 6
#define HIVE_MSG_ERROR 7
#define HIVE_MSG_DELIVER 8

#define HIVE_FRAME_HEADER 4
#define HIVE_FRAME_MAX 65536

/* Send one message: `tag`, then `length` bytes of `body`. Returns 0, or -1 when the
 * message does not fit a frame (nothing is sent). */
int hive_channel_send(unsigned char tag, const void *body, unsigned long length);

/* Whether a message has begun to arrive (its first byte waits on the line). */
int hive_channel_pending(void);

/* Whether the line is there at all (a stand-in skill booted without it powers off after
 * `ready`, as it did before it had a channel). */
int hive_channel_present(void);

/* Send READY, then serve the Brain's requests one at a time, for good (serve.c). */
void hive_serve_brain(void) __attribute__((noreturn));

/* The skill base's way to fault: print `why` as its fault line and stop (Unikraft's crash;
 * the stand-ins' power-off with a failure status). */
void hive_crash(const char *why) __attribute__((noreturn));

/* Wait for the next message and put it (tag and fields) into `message`, which holds
 * HIVE_FRAME_MAX bytes. Returns its length; or -1 for a frame that declares no bytes or
 * more than HIVE_FRAME_MAX: then the stream is not trusted and the skill stops. */
long hive_channel_recv(unsigned char *message);

#endif
