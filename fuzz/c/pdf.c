/* libFuzzer target: the pdf skill's parser (components/skills/pdf), as the skill runs it on
 * a job, with its answer buffer exactly as large as a channel frame allows, and again with a
 * tiny one; then the input as zlib data for its inflater. AddressSanitizer (ci/fuzz) catches
 * a read or write past any of these buffers, each allocated to its exact size.
 * Invariants: pdf_text returns 0 or -1, its length fits the buffer, an error has words;
 * zlib_inflate returns one of its codes and never claims more output than room. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hive/channel.h"
#include "inflate.h"
#include "pdf.h"

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond))                                                               \
			abort();                                                           \
	} while (0)

static void text_into(const uint8_t *data, size_t size, unsigned long capacity)
{
	char *text = malloc(capacity);
	unsigned long length = (unsigned long)-1;
	int result;

	CHECK(text);
	result = pdf_text(data, size, text, capacity, &length);
	CHECK(result == 0 || result == -1);
	CHECK(length <= capacity);
	CHECK(result == 0 || length > 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out;
	unsigned long produced = (unsigned long)-1;
	int result;

	/* A DONE answer: a frame less its tag byte. */
	text_into(data, size, HIVE_FRAME_MAX - 1);
	text_into(data, size, 16);

	out = malloc(4096);
	CHECK(out);
	result = zlib_inflate(data, size, out, 4096, &produced);
	CHECK(result >= INFLATE_OK && result <= INFLATE_CHECKSUM);
	CHECK(result != INFLATE_OK || produced <= 4096);
	CHECK(inflate_error(result) != NULL);
	free(out);
	return 0;
}
