/* Text from a PDF without an object model: every stream of the file is found by its
 * `stream` ... `endstream` keywords; its dictionary says whether it is a content stream
 * (streams with a /Type, /Subtype, font lengths or /DecodeParms are images, fonts,
 * cross-reference and object streams: skipped) and how it is encoded (none or /FlateDecode; any other filter
 * is skipped). A content stream's text is the strings its text operators show (Tj, TJ, '
 * and ") between BT and ET, in stream order. What this does not do: fonts with their own
 * encodings (CID fonts show glyph numbers, not text), object streams, encryption. */
#include "inflate.h"
#include "pdf.h"

/* gcc turns copy loops into memcpy calls; the skill bases without a C library have none. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

static unsigned char decoded[PDF_STREAM_MAX];

struct text {
	char *bytes;
	unsigned long capacity, size;
	int full;
};

static void put(struct text *t, char c)
{
	if (t->size < t->capacity)
		t->bytes[t->size++] = c;
	else
		t->full = 1;
}

static void put_string(struct text *t, const char *s)
{
	while (*s)
		put(t, *s++);
}

static void put_number(struct text *t, unsigned long n)
{
	char digits[20];
	int count = 0;

	do {
		digits[count++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && count < 20);
	while (count)
		put(t, digits[--count]);
}

/* A shown byte: printable ASCII as it is, Latin-1 (WinAnsi's upper half, near enough) as
 * UTF-8, anything else as '?'. */
static void put_shown(struct text *t, unsigned char c)
{
	if (c == '\n' || (c >= 0x20 && c < 0x7f)) {
		put(t, (char)c);
	} else if (c == '\t') {
		put(t, ' ');
	} else if (c >= 0xa0) {
		put(t, (char)(0xc0 | c >> 6));
		put(t, (char)(0x80 | (c & 0x3f)));
	} else if (c != '\r') {
		put(t, '?');
	}
}

static void new_line(struct text *t)
{
	if (t->size > 0 && t->bytes[t->size - 1] != '\n')
		put(t, '\n');
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0;
}

static int is_delimiter(unsigned char c)
{
	return is_space(c) || c == '(' || c == ')' || c == '<' || c == '>' || c == '[' ||
	       c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether `word` starts at `at` in the `size` bytes of `s`. */
static int starts(const unsigned char *s, unsigned long size, unsigned long at, const char *word)
{
	for (unsigned long i = 0; word[i]; i++)
		if (at + i >= size || s[at + i] != (unsigned char)word[i])
			return 0;
	return 1;
}

/* The first `word` at or after `from`, not before `to`; `to` when there is none. */
static unsigned long find(const unsigned char *s, unsigned long to, unsigned long from,
			  const char *word)
{
	for (unsigned long at = from; at < to; at++)
		if (s[at] == (unsigned char)word[0] && starts(s, to, at, word))
			return at;
	return to;
}

/* ---- content streams ---- */

struct lexer {
	const unsigned char *s;
	unsigned long size, at;
};

/* A literal string `( ... )`, from just after its '(': shown bytes go to `t` when `show`. */
static void literal(struct lexer *l, struct text *t, int show)
{
	unsigned long depth = 1;

	while (l->at < l->size) {
		unsigned char c = l->s[l->at++];

		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth == 0)
				return;
		} else if (c == '\\' && l->at < l->size) {
			unsigned char e = l->s[l->at++];
			int octal = 0, digits = 0;

			switch (e) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '\r':
				if (l->at < l->size && l->s[l->at] == '\n')
					l->at++;
				continue;
			case '\n':
				continue;
			default:
				if (e >= '0' && e <= '7') {
					octal = e - '0';
					digits = 1;
					while (digits < 3 && l->at < l->size && l->s[l->at] >= '0' &&
					       l->s[l->at] <= '7') {
						octal = octal * 8 + (l->s[l->at++] - '0');
						digits++;
					}
					c = (unsigned char)octal;
				} else {
					c = e;
				}
			}
		}
		if (show)
			put_shown(t, c);
	}
}

/* A hex string `< ... >`, from just after its '<'. */
static void hex_string(struct lexer *l, struct text *t, int show)
{
	int high = -1;

	while (l->at < l->size) {
		unsigned char c = l->s[l->at++];
		int v = hex_value(c);

		if (c == '>')
			break;
		if (v < 0)
			continue;
		if (high < 0) {
			high = v;
		} else {
			if (show)
				put_shown(t, (unsigned char)(high << 4 | v));
			high = -1;
		}
	}
	if (high >= 0 && show)
		put_shown(t, (unsigned char)(high << 4));
}

/* Whether the number token at [from, to) is zero, and whether it is below -200 (in a TJ
 * array: a gap wide enough to be a space between words). */
static int number_is_zero(const unsigned char *s, unsigned long from, unsigned long to)
{
	for (unsigned long i = from; i < to; i++)
		if (s[i] >= '1' && s[i] <= '9')
			return 0;
	return 1;
}

static int number_is_gap(const unsigned char *s, unsigned long from, unsigned long to)
{
	unsigned long value = 0;

	if (from >= to || s[from] != '-')
		return 0;
	for (unsigned long i = from + 1; i < to && s[i] >= '0' && s[i] <= '9'; i++)
		if ((value = value * 10 + (s[i] - '0')) > 200)
			return 1;
	return 0;
}

/* A line break before the text written since `mark` (the ' and " operators move to the next
 * line, then show). */
static void line_before(struct text *t, unsigned long mark)
{
	if (mark == 0 || t->bytes[mark - 1] == '\n')
		return;
	if (t->size >= t->capacity) {
		t->full = 1;
		return;
	}
	for (unsigned long i = t->size; i > mark; i--)
		t->bytes[i] = t->bytes[i - 1];
	t->bytes[mark] = '\n';
	t->size++;
}

static void content(const unsigned char *s, unsigned long size, struct text *t)
{
	struct lexer l = { s, size, 0 };
	int in_text = 0, array = 0;
	/* Where the text of the operands since the last operator starts: an operator that does
	 * not show them takes them back. */
	unsigned long mark = t->size;
	int last_zero = 1;

	while (l.at < l.size) {
		unsigned char c = s[l.at];
		unsigned long from;

		if (is_space(c)) {
			l.at++;
		} else if (c == '%') {
			while (l.at < l.size && s[l.at] != '\n' && s[l.at] != '\r')
				l.at++;
		} else if (c == '(') {
			l.at++;
			literal(&l, t, in_text);
		} else if (c == '<' && l.at + 1 < l.size && s[l.at + 1] == '<') {
			l.at += 2;
		} else if (c == '>') {
			l.at++;
		} else if (c == '<') {
			l.at++;
			hex_string(&l, t, in_text);
		} else if (c == '[') {
			array = 1;
			l.at++;
		} else if (c == ']') {
			array = 0;
			l.at++;
		} else if (c == '/') {
			for (l.at++; l.at < l.size && !is_delimiter(s[l.at]); l.at++)
				;
		} else if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
			from = l.at;
			for (l.at++; l.at < l.size && !is_delimiter(s[l.at]); l.at++)
				;
			last_zero = number_is_zero(s, from, l.at);
			if (array && in_text && number_is_gap(s, from, l.at))
				put(t, ' ');
		} else {
			unsigned long length;

			from = l.at;
			for (l.at++; l.at < l.size && !is_delimiter(s[l.at]); l.at++)
				;
			length = l.at - from;
			if (length == 2 && s[from] == 'B' && s[from + 1] == 'T') {
				in_text = 1;
			} else if (length == 2 && s[from] == 'E' && s[from + 1] == 'T') {
				in_text = 0;
				new_line(t);
			} else if (length == 2 && s[from] == 'T' && (s[from + 1] == 'j' || s[from + 1] == 'J')) {
				/* shown: keep */
			} else if (length == 1 && (s[from] == '\'' || s[from] == '"')) {
				line_before(t, mark);
			} else if (length == 2 && s[from] == 'T' && s[from + 1] == '*') {
				new_line(t);
			} else if (length == 2 && s[from] == 'T' && (s[from + 1] == 'd' || s[from + 1] == 'D')) {
				if (!last_zero)
					new_line(t);
			} else if (length == 2 && s[from] == 'I' && s[from + 1] == 'D') {
				/* An inline image's data, up to `EI`: binary, not operators. */
				while (l.at + 2 < l.size && !(is_space(s[l.at]) && s[l.at + 1] == 'E' &&
							     s[l.at + 2] == 'I'))
					l.at++;
				l.at += 3;
				t->size = mark;
			} else {
				t->size = mark;
			}
			mark = t->size;
		}
	}
	/* Operands no operator took show nothing. */
	t->size = mark;
	new_line(t);
}

/* ---- the file ---- */

/* The value after the key `name` in a dictionary's text (just past the key), or 0. */
static unsigned long key(const unsigned char *d, unsigned long size, const char *name)
{
	for (unsigned long at = 0; at < size; at++) {
		unsigned long end = at + 1;

		if (d[at] != '/' || !starts(d, size, at + 1, name))
			continue;
		while (name[end - at - 1])
			end++;
		if (end >= size || is_delimiter(d[end]))
			return end;
	}
	return 0;
}

/* A non-negative integer at `at` (after spaces); -1 when there is none. */
static long integer(const unsigned char *d, unsigned long size, unsigned long *at)
{
	long value = -1;

	while (*at < size && is_space(d[*at]))
		(*at)++;
	while (*at < size && d[*at] >= '0' && d[*at] <= '9' && value < 100000000) {
		value = (value < 0 ? 0 : value * 10) + (d[*at] - '0');
		(*at)++;
	}
	return value;
}

enum encoding { PLAIN, FLATE, OTHER };

struct stream {
	enum encoding encoding;
	int content;
	long length; /* from /Length when it is a number; -1 otherwise */
};

static struct stream dictionary(const unsigned char *d, unsigned long size)
{
	struct stream s = { PLAIN, 1, -1 };
	unsigned long at;

	if (key(d, size, "Type") || key(d, size, "Subtype") || key(d, size, "Length1") ||
	    key(d, size, "Length2") || key(d, size, "Length3") || key(d, size, "DecodeParms"))
		s.content = 0;
	if ((at = key(d, size, "Filter"))) {
		/* `/FlateDecode` or `[/FlateDecode]`; anything else, or a chain of filters, is
		 * more than this decodes. */
		s.encoding = OTHER;
		while (at < size && (is_space(d[at]) || d[at] == '['))
			at++;
		if (starts(d, size, at, "/FlateDecode") && (at + 12 >= size || is_delimiter(d[at + 12]))) {
			at += 12;
			while (at < size && is_space(d[at]))
				at++;
			if (at >= size || d[at] != '/')
				s.encoding = FLATE;
		}
	}
	if ((at = key(d, size, "Length"))) {
		unsigned long after = at;
		long value = integer(d, size, &after);
		unsigned long peek = after;

		/* `N G R` is a reference: the length is in another object; endstream tells. */
		if (value >= 0 && integer(d, size, &peek) >= 0) {
			while (peek < size && is_space(d[peek]))
				peek++;
			if (peek < size && d[peek] == 'R')
				value = -1;
		}
		s.length = value;
	}
	return s;
}

/* Replace the text with an error: `kind: what[ detail][ (at byte N)]`. */
static int fail(struct text *t, const char *kind, const char *what, const char *detail,
		long where)
{
	t->size = 0;
	t->full = 0;
	put_string(t, kind);
	put_string(t, ": ");
	put_string(t, what);
	if (detail)
		put_string(t, detail);
	if (where >= 0) {
		put_string(t, " (at byte ");
		put_number(t, (unsigned long)where);
		put(t, ')');
	}
	return -1;
}

int pdf_text(const unsigned char *pdf, unsigned long size, char *out, unsigned long capacity,
	     unsigned long *length)
{
	struct text t = { out, capacity, 0, 0 };
	unsigned long at = 0, streams = 0;
	int result = 0;

	if (size < 8 || !starts(pdf, size, 0, "%PDF-"))
		result = fail(&t, "not a PDF", "it does not start with %PDF-", 0, -1);
	while (result == 0 && at < size) {
		unsigned long from = at, keyword = find(pdf, size, at, "stream");
		unsigned long object, open, data, end;
		struct stream s;

		if (keyword == size)
			break;
		at = keyword + 6;
		if (keyword >= 3 && starts(pdf, size, keyword - 3, "endstream"))
			continue;
		/* The stream's dictionary: from the first `<<` after the last `obj` before it (and
		 * after the stream before: each byte is looked at a bounded number of times). */
		object = keyword;
		while (object > from && !(starts(pdf, keyword, object, "obj") &&
				       !(object >= 3 && starts(pdf, keyword, object - 3, "endobj"))))
			object--;
		open = find(pdf, keyword, object, "<<");
		if (open == keyword) {
			result = fail(&t, "malformed", "a stream without a dictionary", 0, (long)keyword);
			break;
		}
		s = dictionary(pdf + open, keyword - open);
		/* The data starts after the end of the `stream` line. */
		data = at;
		if (data < size && pdf[data] == '\r')
			data++;
		if (data < size && pdf[data] == '\n')
			data++;
		if (s.length >= 0 && data + (unsigned long)s.length <= size) {
			unsigned long after = data + (unsigned long)s.length;

			while (after < size && is_space(pdf[after]))
				after++;
			end = starts(pdf, size, after, "endstream") ? data + (unsigned long)s.length : size;
		} else {
			end = size;
		}
		if (end == size) {
			end = find(pdf, size, data, "endstream");
			if (end == size) {
				result = fail(&t, "truncated", "a stream without endstream", 0, (long)keyword);
				break;
			}
			while (end > data && (pdf[end - 1] == '\n' || pdf[end - 1] == '\r'))
				end--;
		}
		at = end;
		if (!s.content || s.encoding == OTHER)
			continue;
		streams++;
		if (s.encoding == FLATE) {
			unsigned long inflated = 0;
			int inflate = zlib_inflate(pdf + data, end - data, decoded, sizeof(decoded),
						   &inflated);

			if (inflate != INFLATE_OK) {
				result = fail(&t, "corrupt", "a Flate stream: ", inflate_error(inflate),
					      (long)keyword);
				break;
			}
			content(decoded, inflated, &t);
		} else {
			content(pdf + data, end - data, &t);
		}
		if (t.full) {
			result = fail(&t, "too long", "the text does not fit one answer", 0, -1);
			break;
		}
	}
	if (result == 0 && streams == 0)
		result = fail(&t, "no text", "the file has no content stream this skill reads", 0, -1);
	*length = t.size;
	return result;
}
