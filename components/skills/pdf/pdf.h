/* The text of a PDF: the strings its content streams show (uncompressed or FlateDecode).
 * Bounded: work is linear in the input, the decoded streams and the text have fixed
 * limits, and malformed input is an error in words. */
#ifndef PDF_TEXT_H
#define PDF_TEXT_H

/* The most bytes one stream may inflate to. */
#define PDF_STREAM_MAX (256UL * 1024)

/* Write the text of `pdf` (`size` bytes) into `text` (room for `capacity` bytes), lines
 * ending in '\n', and set *length. Returns 0; or -1 with *length bytes of an error text in
 * `text` instead (its first word is the kind: "not a PDF", "truncated", ...). */
int pdf_text(const unsigned char *pdf, unsigned long size, char *text, unsigned long capacity,
	     unsigned long *length);

#endif
