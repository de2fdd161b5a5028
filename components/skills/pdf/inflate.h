/* zlib-wrapped DEFLATE (RFC 1950, RFC 1951), the data of a PDF's FlateDecode streams, into a
 * caller's buffer of fixed size. Bounded: every step reads input or writes output, and both
 * are limited; corrupt data is an error, never a hang or a write past the buffer. */
#ifndef PDF_INFLATE_H
#define PDF_INFLATE_H

#define INFLATE_OK 0
#define INFLATE_TRUNCATED 1	/* the data ends before its last block does */
#define INFLATE_HEADER 2	/* not a zlib header for DEFLATE */
#define INFLATE_BLOCK 3		/* a block type, stored length or code table that is wrong */
#define INFLATE_CODE 4		/* a code no table has, or a length or distance out of range */
#define INFLATE_DISTANCE 5	/* a back-reference before the start of the output */
#define INFLATE_TOO_BIG 6	/* the output does not fit the buffer */
#define INFLATE_CHECKSUM 7	/* the Adler-32 after the data does not match it */

int zlib_inflate(const unsigned char *in, unsigned long size, unsigned char *out,
		 unsigned long capacity, unsigned long *produced);

/* What an INFLATE_ result means, in words. */
const char *inflate_error(int result);

#endif
