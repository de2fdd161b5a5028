/* libFuzzer target: the net skill's datagram parser (hive/peer.h), which the net-listener
 * template runs on every datagram from the network and every job from the Brain, and the
 * MESSAGE layout it checks signatures over. Invariants: a datagram is OK only when it is a
 * header and exactly its declared payload of at most HIVE_PEER_MAX_PAYLOAD bytes with a
 * known opcode; TOO_LONG only when the declared length is past that; the payload pointer is
 * inside the input whenever a length is read. The signed-bytes buffer is the template's own
 * size, allocated exactly, so AddressSanitizer catches the copy going past it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hive/peer.h"

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond))                                                               \
			abort();                                                           \
	} while (0)

/* The template's `signed_by_a_peer`, less the signature check: the bytes it signs. */
static void signed_bytes(const unsigned char *datagram, const struct hive_peer_datagram *d)
{
	unsigned char *out = malloc(HIVE_PEER_HEADER + HIVE_PEER_MAX_PAYLOAD);
	const unsigned char *key = d->payload, *body = d->payload + HIVE_PEER_KEY + HIVE_PEER_SIGNATURE;
	unsigned body_length;

	CHECK(out);
	if (d->length >= HIVE_PEER_KEY + HIVE_PEER_SIGNATURE) {
		body_length = d->length - HIVE_PEER_KEY - HIVE_PEER_SIGNATURE;
		memcpy(out, datagram, HIVE_PEER_HEADER);
		memcpy(out + HIVE_PEER_HEADER, key, HIVE_PEER_KEY);
		memcpy(out + HIVE_PEER_HEADER + HIVE_PEER_KEY, body, body_length);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hive_peer_datagram d;
	int result;

	if (size > 0x7fffffff)
		return 0;
	result = hive_peer_parse(data, (int)size, &d);
	switch (result) {
	case HIVE_PEER_OK:
		CHECK(size == HIVE_PEER_HEADER + (size_t)d.length);
		CHECK(d.length <= HIVE_PEER_MAX_PAYLOAD);
		CHECK(d.payload == data + HIVE_PEER_HEADER);
		CHECK(d.opcode == HIVE_PEER_HELLO || d.opcode == HIVE_PEER_PING
		      || d.opcode == HIVE_PEER_MESSAGE || d.opcode == HIVE_PEER_STATS
		      || d.opcode == HIVE_PEER_FAULT
		      || d.opcode == (HIVE_PEER_REPLY | HIVE_PEER_MESSAGE));
		if (d.opcode == HIVE_PEER_MESSAGE || d.opcode == (HIVE_PEER_REPLY | HIVE_PEER_MESSAGE))
			signed_bytes(data, &d);
		break;
	case HIVE_PEER_TOO_LONG:
		CHECK(d.length > HIVE_PEER_MAX_PAYLOAD);
		break;
	case HIVE_PEER_SHORT:
		CHECK(size < HIVE_PEER_HEADER);
		break;
	case HIVE_PEER_MAGIC:
	case HIVE_PEER_BAD_VERSION:
	case HIVE_PEER_OPCODE:
		break;
	case HIVE_PEER_LENGTH:
		CHECK(size != HIVE_PEER_HEADER + (size_t)d.length);
		break;
	default:
		abort();
	}
	return 0;
}
