/* The peer protocol the `net` skill speaks over UDP: one datagram, one message.
 *
 *   offset 0  'H' 'V'        magic
 *          2  1              version
 *          3  opcode         HELLO 1, PING 2, MESSAGE 3, STATS 4, FAULT 0x7f; a reply sets 0x80
 *          4  length         payload bytes, big-endian u16, at most HIVE_PEER_MAX_PAYLOAD
 *          6  payload        exactly `length` bytes: the datagram ends there
 *
 * A MESSAGE's payload is signed by the sending hive (ed25519, RFC 8032):
 *
 *   payload 0   key          the sender's public key, HIVE_PEER_KEY bytes
 *          32   signature    HIVE_PEER_SIGNATURE bytes, by `key`, over: the datagram's
 *                            header, then `key`, then `body`
 *          96   body         the rest: what the Brain gets, after `key`
 *
 * A skill hands a MESSAGE to its Brain only when `key` is one of its manifest's `peers` and
 * the signature holds; anything else is dropped and counted, and no byte of it goes on.
 *
 * Replies: HELLO → the skill's name; PING → the same payload; STATS → three big-endian u32:
 * datagrams received, dropped, messages. MESSAGE → the receiving hive's answer, a REPLY |
 * MESSAGE laid out and signed like a MESSAGE (its own opcode in the signed header: a reply
 * cannot pass for a message), which its Brain words; or empty from a skill with no Brain.
 * A REPLY | MESSAGE is taken only from where the last MESSAGE sent went, once.
 *
 * Between the skill and its Brain (their channel, hive/channel.h), an endpoint is an IPv4
 * address (4 bytes) and a big-endian port (2):
 *   JOB (Brain → skill)      endpoint | datagram, signed by the Brain: a MESSAGE, or the
 *                            answer to a delivered one; sent as it is, DONE (empty)
 *   DELIVER (skill → Brain)  endpoint | opcode | key | body: a peer's checked MESSAGE (with
 *                            where to answer it), or the signed answer to the MESSAGE sent
 *                            last, from where it went (the Brain waits for it at most
 *                            HIVE_PEER_ANSWER_MS: it keeps the time, not the skill)
 *
 * Rust's side of the same definition: components/brain/src/peer.rs (a test reads this header
 * and checks the two agree). */
#ifndef HIVE_PEER_H
#define HIVE_PEER_H

#define HIVE_PEER_VERSION 1
#define HIVE_PEER_HEADER 6
#define HIVE_PEER_MAX_PAYLOAD 256
#define HIVE_PEER_KEY 32
#define HIVE_PEER_SIGNATURE 64
#define HIVE_PEER_ENDPOINT 6
#define HIVE_PEER_ANSWER_MS 30000

#define HIVE_PEER_HELLO 0x01
#define HIVE_PEER_PING 0x02
#define HIVE_PEER_MESSAGE 0x03
#define HIVE_PEER_STATS 0x04
#define HIVE_PEER_FAULT 0x7f
#define HIVE_PEER_REPLY 0x80

/* What hive_peer_parse() found. */
#define HIVE_PEER_OK 0
#define HIVE_PEER_SHORT 1    /* shorter than the header */
#define HIVE_PEER_MAGIC 2    /* not 'H' 'V' */
#define HIVE_PEER_BAD_VERSION 3
#define HIVE_PEER_OPCODE 4   /* no such request (of the replies, only MESSAGE's is taken) */
#define HIVE_PEER_LENGTH 5   /* the datagram is not header + length bytes */
#define HIVE_PEER_TOO_LONG 6 /* length is past HIVE_PEER_MAX_PAYLOAD: a bounds check */

struct hive_peer_datagram {
	unsigned char opcode;
	unsigned short length;
	const unsigned char *payload;
};

static inline int hive_peer_parse(const unsigned char *in, int size, struct hive_peer_datagram *d)
{
	d->opcode = 0;
	d->length = 0;
	d->payload = in + HIVE_PEER_HEADER;
	if (size < HIVE_PEER_HEADER)
		return HIVE_PEER_SHORT;
	if (in[0] != 'H' || in[1] != 'V')
		return HIVE_PEER_MAGIC;
	if (in[2] != HIVE_PEER_VERSION)
		return HIVE_PEER_BAD_VERSION;
	d->opcode = in[3];
	d->length = (unsigned short)((in[4] << 8) | in[5]);
	if (d->length > HIVE_PEER_MAX_PAYLOAD)
		return HIVE_PEER_TOO_LONG;
	if (size != HIVE_PEER_HEADER + d->length)
		return HIVE_PEER_LENGTH;
	switch (d->opcode) {
	case HIVE_PEER_HELLO:
	case HIVE_PEER_PING:
	case HIVE_PEER_MESSAGE:
	case HIVE_PEER_STATS:
	case HIVE_PEER_FAULT:
	case HIVE_PEER_REPLY | HIVE_PEER_MESSAGE:
		return HIVE_PEER_OK;
	default:
		return HIVE_PEER_OPCODE;
	}
}

static inline void hive_peer_header(unsigned char *out, unsigned char opcode, unsigned short length)
{
	out[0] = 'H';
	out[1] = 'V';
	out[2] = HIVE_PEER_VERSION;
	out[3] = opcode;
	out[4] = (unsigned char)(length >> 8);
	out[5] = (unsigned char)length;
}

static inline void hive_peer_u32(unsigned char *out, unsigned long value)
{
	out[0] = (unsigned char)(value >> 24);
	out[1] = (unsigned char)(value >> 16);
	out[2] = (unsigned char)(value >> 8);
	out[3] = (unsigned char)value;
}

#endif
