/*
 * json.c — a minimal, strict JSON reader for vigilctl (see json.h).
 *
 * Recursive descent over a byte range; every loop advances the position and
 * nesting is capped, so hostile input costs at most linear time and bounded
 * stack.
 */
#include "json.h"

#include <string.h>

#define JSON_DEPTH_MAX 64

struct jp {
	const unsigned char *s;
	size_t n;
	size_t i;
	int depth;
	struct buf *out;
};

static bool jp_value(struct jp *p);

static void jp_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

/* Copies n input bytes from the current position to the output. */
static void jp_copy(struct jp *p, size_t n)
{
	buf_put(p->out, (const char *)p->s + p->i, n);
	p->i += n;
}

static bool jp_is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* One escape sequence after a backslash (p->i at the backslash). */
static bool jp_escape(struct jp *p)
{
	if (p->i + 1 >= p->n)
		return false;
	if (!strchr("\"\\/bfnrtu", p->s[p->i + 1]) || p->s[p->i + 1] == 0)
		return false;
	if (p->s[p->i + 1] != 'u') {
		jp_copy(p, 2);
		return true;
	}
	if (p->i + 6 > p->n)
		return false;
	for (size_t k = 2; k < 6; k++)
		if (!jp_is_hex(p->s[p->i + k]))
			return false;
	jp_copy(p, 6);
	return true;
}

static bool jp_string(struct jp *p)
{
	if (p->i >= p->n || p->s[p->i] != '"')
		return false;
	jp_copy(p, 1);
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];
		uint32_t cp;
		size_t k;

		if (c == '"') {
			jp_copy(p, 1);
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (!jp_escape(p))
				return false;
			continue;
		}
		k = utf8_decode(p->s + p->i, p->n - p->i, &cp);
		if (k == 0)
			return false;
		jp_copy(p, k);
	}
	return false;
}

static size_t jp_digits(struct jp *p)
{
	size_t start = p->i;

	while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9')
		p->i++;
	return p->i - start;
}

static bool jp_number(struct jp *p)
{
	size_t start = p->i;

	if (p->s[p->i] == '-')
		p->i++;
	if (p->i < p->n && p->s[p->i] == '0')
		p->i++;
	else if (jp_digits(p) == 0)
		return false;
	if (p->i < p->n && p->s[p->i] == '.') {
		p->i++;
		if (jp_digits(p) == 0)
			return false;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (jp_digits(p) == 0)
			return false;
	}
	buf_put(p->out, (const char *)p->s + start, p->i - start);
	return true;
}

static bool jp_literal(struct jp *p, const char *lit)
{
	size_t k = strlen(lit);

	if (p->n - p->i < k || memcmp(p->s + p->i, lit, k) != 0)
		return false;
	jp_copy(p, k);
	return true;
}

/* The members or elements of an object or array, after the opening char. */
static bool jp_container(struct jp *p, bool object)
{
	char close = object ? '}' : ']';

	if (++p->depth > JSON_DEPTH_MAX)
		return false;
	jp_copy(p, 1);
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == (unsigned char)close) {
		jp_copy(p, 1);
		p->depth--;
		return true;
	}
	for (;;) {
		if (object) {
			if (!jp_string(p))
				return false;
			jp_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return false;
			jp_copy(p, 1);
			jp_ws(p);
		}
		if (!jp_value(p))
			return false;
		jp_ws(p);
		if (p->i >= p->n)
			return false;
		if (p->s[p->i] == (unsigned char)close) {
			jp_copy(p, 1);
			p->depth--;
			return true;
		}
		if (p->s[p->i] != ',')
			return false;
		jp_copy(p, 1);
		jp_ws(p);
	}
}

static bool jp_value(struct jp *p)
{
	if (p->i >= p->n)
		return false;
	switch (p->s[p->i]) {
	case '{': return jp_container(p, true);
	case '[': return jp_container(p, false);
	case '"': return jp_string(p);
	case 't': return jp_literal(p, "true");
	case 'f': return jp_literal(p, "false");
	case 'n': return jp_literal(p, "null");
	default: return jp_number(p);
	}
}

bool json_compact(const char *s, size_t n, struct buf *out)
{
	struct jp p = { (const unsigned char *)s, n, 0, 0, out };

	jp_ws(&p);
	if (!jp_value(&p))
		return false;
	jp_ws(&p);
	return p.i == p.n;
}

/* End of the string token starting at s[i] (valid, compact JSON). */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < n ? i + 1 : n;
}

/* End of the value token starting at s[i] (valid, compact JSON). */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	int depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i);
			if (depth == 0)
				return i;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return i;
			if (--depth == 0)
				return i + 1;
		} else if (c == ',' && depth == 0) {
			return i;
		}
		i++;
	}
	return n;
}

bool json_member(const char *obj, size_t n, const char *key,
		 const char **v, size_t *vn)
{
	size_t i = 1;

	if (n < 2 || obj[0] != '{')
		return false;
	while (i < n && obj[i] == '"') {
		size_t kend = skip_string(obj, n, i), vend;
		struct buf k = { 0 };
		bool match;

		json_decode_string(obj + i, kend - i, &k);
		match = k.len == strlen(key) && memcmp(k.p, key, k.len) == 0;
		buf_free(&k);
		i = kend + 1; /* past ':' */
		vend = skip_value(obj, n, i);
		if (match) {
			*v = obj + i;
			*vn = vend - i;
			return true;
		}
		i = vend + 1; /* past ',' (or '}': then the loop ends) */
	}
	return false;
}

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		char c = s[k];

		v = v * 16 + (unsigned)(c <= '9' ? c - '0' :
					(c | 0x20) - 'a' + 10);
	}
	return v;
}

static void put_utf8(struct buf *out, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		buf_putc(out, (char)cp);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		buf_put(out, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		buf_put(out, b, 3);
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		buf_put(out, b, 4);
	}
}

/* A \uXXXX escape at s[*i] (and its low surrogate if any); lone → U+FFFD. */
static void decode_u(const char *s, size_t n, size_t *i, struct buf *out)
{
	uint32_t cp = hex4(s + *i + 2);

	*i += 6;
	if (cp >= 0xd800 && cp <= 0xdbff && *i + 6 <= n && s[*i] == '\\' &&
	    s[*i + 1] == 'u') {
		uint32_t lo = hex4(s + *i + 2);

		if (lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			*i += 6;
		}
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	put_utf8(out, cp);
}

void json_decode_string(const char *tok, size_t n, struct buf *out)
{
	size_t i = 1, end = n ? n - 1 : 0;

	buf_put(out, "", 0);
	while (i < end) {
		const char *esc = "\"\"\\\\//b\bf\fn\nr\rt\t";
		const char *m;

		if (tok[i] != '\\') {
			buf_putc(out, tok[i++]);
			continue;
		}
		if (tok[i + 1] == 'u') {
			decode_u(tok, end, &i, out);
			continue;
		}
		for (m = esc; *m && *m != tok[i + 1]; m += 2)
			;
		if (*m)
			buf_putc(out, m[1]);
		i += 2;
	}
}
