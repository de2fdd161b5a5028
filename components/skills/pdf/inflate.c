/* DEFLATE decoding with canonical Huffman tables: a table is the number of codes of each
 * length and the symbols in code order, and a code is decoded one bit at a time against
 * them (RFC 1951 section 3.2.2). Slower than table lookups, small, and easy to bound. */
#include "inflate.h"

#define MAX_BITS 15
#define MAX_LITERALS 288
#define MAX_DISTANCES 30

struct bits {
	const unsigned char *in;
	unsigned long size, at;
	unsigned long held; /* bits read from `in` and not used yet, lowest first */
	int count;
};

/* The next `n` bits (n <= 16), or -1 when the input ends. */
static long take(struct bits *b, int n)
{
	unsigned long value;

	while (b->count < n) {
		if (b->at >= b->size)
			return -1;
		b->held |= (unsigned long)b->in[b->at++] << b->count;
		b->count += 8;
	}
	value = b->held & ((1UL << n) - 1);
	b->held >>= n;
	b->count -= n;
	return (long)value;
}

struct table {
	unsigned short count[MAX_BITS + 1];
	unsigned short symbol[MAX_LITERALS];
};

/* Build a table from each symbol's code length; 0 when the lengths make a code, -1 when
 * they ask for more codes of some length than there are. An incomplete code is allowed (a
 * block with one distance code has one); a code it lacks fails at decoding. */
static int build(struct table *t, const unsigned char *lengths, int n)
{
	unsigned short offset[MAX_BITS + 1];
	long left = 1;

	for (int len = 0; len <= MAX_BITS; len++)
		t->count[len] = 0;
	for (int s = 0; s < n; s++)
		t->count[lengths[s]]++;
	for (int len = 1; len <= MAX_BITS; len++) {
		left = (left << 1) - t->count[len];
		if (left < 0)
			return -1;
	}
	offset[1] = 0;
	for (int len = 1; len < MAX_BITS; len++)
		offset[len + 1] = (unsigned short)(offset[len] + t->count[len]);
	for (int s = 0; s < n; s++)
		if (lengths[s])
			t->symbol[offset[lengths[s]]++] = (unsigned short)s;
	return 0;
}

/* The next symbol; -1 when the input ends, -2 for a code the table lacks. */
static int decode(struct bits *b, const struct table *t)
{
	long code = 0, first = 0, index = 0;

	for (int len = 1; len <= MAX_BITS; len++) {
		long bit = take(b, 1);
		long count = t->count[len];

		if (bit < 0)
			return -1;
		code |= bit;
		if (code - first < count)
			return t->symbol[index + code - first];
		index += count;
		first = (first + count) << 1;
		code <<= 1;
	}
	return -2;
}

static const unsigned short length_base[29] = {
	3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const unsigned char length_extra[29] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
	3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const unsigned short distance_base[30] = {
	1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const unsigned char distance_extra[30] = {
	0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
	7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

struct output {
	unsigned char *bytes;
	unsigned long capacity, size;
};

/* One block's codes, up to its end-of-block symbol. */
static int codes(struct bits *b, struct output *o, const struct table *literals,
		 const struct table *distances)
{
	for (;;) {
		int symbol = decode(b, literals);
		long extra, distance_symbol;
		unsigned long length, distance;

		if (symbol == -1)
			return INFLATE_TRUNCATED;
		if (symbol < 0)
			return INFLATE_CODE;
		if (symbol < 256) {
			if (o->size >= o->capacity)
				return INFLATE_TOO_BIG;
			o->bytes[o->size++] = (unsigned char)symbol;
			continue;
		}
		if (symbol == 256)
			return INFLATE_OK;
		symbol -= 257;
		if (symbol >= 29)
			return INFLATE_CODE;
		extra = take(b, length_extra[symbol]);
		if (extra < 0)
			return INFLATE_TRUNCATED;
		length = length_base[symbol] + (unsigned long)extra;
		distance_symbol = decode(b, distances);
		if (distance_symbol == -1)
			return INFLATE_TRUNCATED;
		if (distance_symbol < 0 || distance_symbol >= 30)
			return INFLATE_CODE;
		extra = take(b, distance_extra[distance_symbol]);
		if (extra < 0)
			return INFLATE_TRUNCATED;
		distance = distance_base[distance_symbol] + (unsigned long)extra;
		if (distance > o->size)
			return INFLATE_DISTANCE;
		if (length > o->capacity - o->size)
			return INFLATE_TOO_BIG;
		for (unsigned long i = 0; i < length; i++, o->size++)
			o->bytes[o->size] = o->bytes[o->size - distance];
	}
}

static int stored(struct bits *b, struct output *o)
{
	unsigned long length, complement;

	/* To the next byte: the bits held are what is left of the current byte. */
	b->held = 0;
	b->count = 0;
	if (b->size - b->at < 4)
		return INFLATE_TRUNCATED;
	length = b->in[b->at] | (unsigned long)b->in[b->at + 1] << 8;
	complement = b->in[b->at + 2] | (unsigned long)b->in[b->at + 3] << 8;
	b->at += 4;
	if (length != (~complement & 0xffff))
		return INFLATE_BLOCK;
	if (b->size - b->at < length)
		return INFLATE_TRUNCATED;
	if (length > o->capacity - o->size)
		return INFLATE_TOO_BIG;
	for (unsigned long i = 0; i < length; i++)
		o->bytes[o->size++] = b->in[b->at++];
	return INFLATE_OK;
}

static int fixed(struct bits *b, struct output *o)
{
	static struct table literals, distances;
	static int built;

	if (!built) {
		unsigned char lengths[MAX_LITERALS];
		int s;

		for (s = 0; s < 144; s++)
			lengths[s] = 8;
		for (; s < 256; s++)
			lengths[s] = 9;
		for (; s < 280; s++)
			lengths[s] = 7;
		for (; s < MAX_LITERALS; s++)
			lengths[s] = 8;
		build(&literals, lengths, MAX_LITERALS);
		for (s = 0; s < MAX_DISTANCES; s++)
			lengths[s] = 5;
		build(&distances, lengths, MAX_DISTANCES);
		built = 1;
	}
	return codes(b, o, &literals, &distances);
}

static int dynamic(struct bits *b, struct output *o)
{
	static const unsigned char order[19] = {
		16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
	unsigned char lengths[MAX_LITERALS + MAX_DISTANCES];
	struct table lencode, literals, distances;
	long nlit = take(b, 5), ndist = take(b, 5), ncode = take(b, 4);
	int at = 0;

	if (nlit < 0 || ndist < 0 || ncode < 0)
		return INFLATE_TRUNCATED;
	nlit += 257;
	ndist += 1;
	ncode += 4;
	if (nlit > 286 || ndist > MAX_DISTANCES)
		return INFLATE_BLOCK;
	for (int i = 0; i < 19; i++) {
		long len = i < ncode ? take(b, 3) : 0;

		if (len < 0)
			return INFLATE_TRUNCATED;
		lengths[order[i]] = (unsigned char)len;
	}
	if (build(&lencode, lengths, 19) != 0)
		return INFLATE_BLOCK;
	while (at < nlit + ndist) {
		int symbol = decode(b, &lencode);
		long repeat;
		unsigned char value = 0;

		if (symbol == -1)
			return INFLATE_TRUNCATED;
		if (symbol < 0)
			return INFLATE_BLOCK;
		if (symbol < 16) {
			lengths[at++] = (unsigned char)symbol;
			continue;
		}
		if (symbol == 16) {
			if (at == 0)
				return INFLATE_BLOCK;
			value = lengths[at - 1];
			repeat = take(b, 2);
			repeat = repeat < 0 ? -1 : 3 + repeat;
		} else if (symbol == 17) {
			repeat = take(b, 3);
			repeat = repeat < 0 ? -1 : 3 + repeat;
		} else {
			repeat = take(b, 7);
			repeat = repeat < 0 ? -1 : 11 + repeat;
		}
		if (repeat < 0)
			return INFLATE_TRUNCATED;
		if (at + repeat > nlit + ndist)
			return INFLATE_BLOCK;
		while (repeat--)
			lengths[at++] = value;
	}
	/* A block without an end-of-block code could never end. */
	if (lengths[256] == 0)
		return INFLATE_BLOCK;
	if (build(&literals, lengths, (int)nlit) != 0 ||
	    build(&distances, lengths + nlit, (int)ndist) != 0)
		return INFLATE_BLOCK;
	return codes(b, o, &literals, &distances);
}

static unsigned long adler32(const unsigned char *bytes, unsigned long size)
{
	unsigned long a = 1, b = 0;

	for (unsigned long i = 0; i < size; i++) {
		a = (a + bytes[i]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

int zlib_inflate(const unsigned char *in, unsigned long size, unsigned char *out,
		 unsigned long capacity, unsigned long *produced)
{
	struct bits b = { in, size, 2, 0, 0 };
	struct output o = { out, capacity, 0 };
	long last;
	int result;

	*produced = 0;
	if (size < 2)
		return INFLATE_TRUNCATED;
	/* CM 8 (deflate), a window of at most 32 KiB, the check bits, no preset dictionary. */
	if ((in[0] & 0x0f) != 8 || (in[0] >> 4) > 7 || ((in[0] << 8) | in[1]) % 31 != 0 ||
	    (in[1] & 0x20))
		return INFLATE_HEADER;
	do {
		long type;

		last = take(&b, 1);
		type = take(&b, 2);
		if (last < 0 || type < 0)
			return INFLATE_TRUNCATED;
		switch (type) {
		case 0:
			result = stored(&b, &o);
			break;
		case 1:
			result = fixed(&b, &o);
			break;
		case 2:
			result = dynamic(&b, &o);
			break;
		default:
			result = INFLATE_BLOCK;
		}
		*produced = o.size;
		if (result != INFLATE_OK)
			return result;
	} while (!last);
	/* The Adler-32 of the output follows, big-endian, from the next byte. Writers that
	 * leave it out exist; what is there must match. */
	if (size - b.at >= 4) {
		unsigned long sum = (unsigned long)in[b.at] << 24 | (unsigned long)in[b.at + 1] << 16 |
				    (unsigned long)in[b.at + 2] << 8 | in[b.at + 3];

		if (sum != adler32(out, o.size))
			return INFLATE_CHECKSUM;
	}
	return INFLATE_OK;
}

const char *inflate_error(int result)
{
	switch (result) {
	case INFLATE_OK:
		return "ok";
	case INFLATE_TRUNCATED:
		return "the compressed data ends early";
	case INFLATE_HEADER:
		return "no zlib header";
	case INFLATE_BLOCK:
		return "a corrupt block";
	case INFLATE_CODE:
		return "a code out of range";
	case INFLATE_DISTANCE:
		return "a distance too far back";
	case INFLATE_TOO_BIG:
		return "it inflates past the skill's limit";
	case INFLATE_CHECKSUM:
		return "its checksum does not match";
	default:
		return "an unknown error";
	}
}
