/*
 * text.c — safe rendering of untrusted bytes for vigilctl (see text.h).
 */
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Largest epoch second we format: 9999-12-31T23:59:59Z. */
#define EPOCH_MAX 253402300799ULL

static void oom(void) __attribute__((noreturn));
static void oom(void)
{
	fputs("vigilctl: out of memory\n", stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

static void buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need < b->len)
		oom();
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			oom();
		cap *= 2;
	}
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void buf_put(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_put(b, &c, 1);
}

char *buf_take(struct buf *b)
{
	char *p = b->p ? b->p : xstrdup("");

	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points that must not reach a terminal as themselves. */
static bool cp_is_unsafe(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) ||          /* C1 controls (CSI...) */
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) ||      /* bidi embeddings */
	       (cp >= 0x2066 && cp <= 0x2069) ||      /* bidi isolates */
	       cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
}

/*
 * Appends the safe rendering of the unit at s to out and returns how many
 * input bytes it used; *cols gets the display columns added.
 */
static size_t cell_unit(const unsigned char *s, size_t n, struct buf *out,
			size_t *cols)
{
	char esc[16];
	uint32_t cp;
	size_t k = utf8_decode(s, n, &cp);

	if (k == 0 || cp < 0x20 || cp == 0x7f) {
		snprintf(esc, sizeof(esc), "\\x%02x", s[0]);
		buf_puts(out, esc);
		*cols = 4;
		return 1;
	}
	if (cp_is_unsafe(cp)) {
		snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
		buf_puts(out, esc);
		*cols = 6;
		return k;
	}
	buf_put(out, (const char *)s, k);
	*cols = 1;
	return k;
}

char *text_cell(const char *s, size_t n)
{
	return text_cell_max(s, n, CELL_MAX);
}

char *text_cell_max(const char *s, size_t n, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	struct buf out = { 0 };
	size_t cols = 0, mark = 0, i = 0;

	if (n == 0)
		return xstrdup("\"\"");
	/* Stops after at most max + 1 units: the work is bounded. */
	while (i < n) {
		size_t add;

		if (cols <= max - 1)
			mark = out.len;
		i += cell_unit(u + i, n - i, &out, &add);
		cols += add;
		if (cols > max) {
			out.len = mark;
			buf_puts(&out, "\xe2\x80\xa6"); /* … */
			break;
		}
	}
	return buf_take(&out);
}

size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Writes the JSON escape for one byte below 0x80 (or the plain byte). */
static void json_put_ascii(FILE *f, unsigned char c)
{
	switch (c) {
	case '"': fputs("\\\"", f); return;
	case '\\': fputs("\\\\", f); return;
	case '\n': fputs("\\n", f); return;
	case '\r': fputs("\\r", f); return;
	case '\t': fputs("\\t", f); return;
	case '\b': fputs("\\b", f); return;
	case '\f': fputs("\\f", f); return;
	default: break;
	}
	if (c < 0x20 || c == 0x7f)
		fprintf(f, "\\u%04x", c);
	else
		putc(c, f);
}

void json_put_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	putc('"', f);
	while (i < n) {
		uint32_t cp;
		size_t k;

		if (u[i] < 0x80) {
			json_put_ascii(f, u[i++]);
			continue;
		}
		k = utf8_decode(u + i, n - i, &cp);
		if (k == 0) {
			fputs("\\ufffd", f);
			i++;
		} else if (cp_is_unsafe(cp)) {
			fprintf(f, "\\u%04x", (unsigned)cp);
			i += k;
		} else {
			fwrite(u + i, 1, k, f);
			i += k;
		}
	}
	putc('"', f);
}

/* Skips a run of digits at s[*i]; returns how many there were. */
static size_t skip_digits(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - start;
}

bool json_is_number(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 64)
		return false;
	if (s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (skip_digits(s, n, &i) == 0)
		return false;
	if (i < n && s[i] == '.') {
		i++;
		if (skip_digits(s, n, &i) == 0)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (skip_digits(s, n, &i) == 0)
			return false;
	}
	return i == n;
}

/*
 * Splits plain decimal "D[.F]" (1..int_max integer digits, at most 32
 * fraction digits) into the integer part and the first three fraction
 * digits as milliseconds. False if s is anything else.
 */
static bool parse_decimal(const char *s, size_t n, size_t int_max,
			  unsigned long long *ip, unsigned *ms)
{
	size_t i = 0, nd, nf = 0;
	unsigned long long v = 0;
	unsigned m = 0;

	nd = skip_digits(s, n, &i);
	if (nd == 0 || nd > int_max)
		return false;
	for (size_t k = 0; k < nd; k++)
		v = v * 10 + (unsigned)(s[k] - '0');
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;

		nf = skip_digits(s, n, &i);
		if (nf == 0 || nf > 32)
			return false;
		for (size_t k = 0; k < 3; k++)
			m = m * 10 + (k < nf ? (unsigned)(s[f0 + k] - '0') : 0);
	}
	if (i != n)
		return false;
	*ip = v;
	*ms = m;
	return true;
}

bool text_epoch_iso(const char *s, size_t n, char out[32])
{
	unsigned long long secs;
	unsigned ms;
	struct tm tm;
	time_t t;
	char day[24];

	if (!parse_decimal(s, n, 12, &secs, &ms) || secs > EPOCH_MAX)
		return false;
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm))
		return false;
	if (strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return false;
	snprintf(out, 32, "%s.%03uZ", day, ms);
	return true;
}

bool text_seconds3(const char *s, size_t n, char out[32])
{
	unsigned long long secs;
	unsigned ms;
	char tmp[64];

	/* Validate strictly first: strtod alone would take "inf", "0x1p3". */
	if (!parse_decimal(s, n, 12, &secs, &ms) || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	snprintf(out, 32, "%.3f", strtod(tmp, NULL));
	return true;
}
