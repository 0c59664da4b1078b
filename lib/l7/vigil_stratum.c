/*
 * vigil Stratum parser (see vigil_stratum.h): a bounded, non-recursive
 * scan of one JSON object.
 */
#include <string.h>

#include "vigil_stratum.h"

struct js {
	const uint8_t *p, *end;
};

static void
ws(struct js *j)
{
	while (j->p < j->end &&
	       (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

/* A string at j->p ('"' first): its contents [*s, *e). */
static bool
string(struct js *j, const uint8_t **s, const uint8_t **e)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	*s = j->p;
	while (j->p < j->end) {
		uint8_t c = *j->p;
		if (c == '\\') {
			if (j->end - j->p < 2)
				break;
			j->p += 2;
			continue;
		}
		if (c == '"') {
			*e = j->p;
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		j->p++;
	}
	j->p = j->end;
	return false;
}

/* Any value, skipped; nesting counted, not recursed. */
static bool
skip_value(struct js *j)
{
	unsigned depth = 0;
	const uint8_t *s, *e;

	do {
		ws(j);
		if (j->p >= j->end)
			return false;
		switch (*j->p) {
		case '"':
			if (!string(j, &s, &e))
				return false;
			break;
		case '{':
		case '[':
			if (++depth > VIGIL_STRATUM_DEPTH)
				return false;
			j->p++;
			continue;
		case '}':
		case ']':
			if (depth == 0)
				return false;
			depth--;
			j->p++;
			break;
		case ',':
		case ':':
			if (depth == 0)
				return false;
			j->p++;
			continue;
		default: {
			const uint8_t *st = j->p;
			while (j->p < j->end &&
			       ((*j->p >= '0' && *j->p <= '9') ||
				(*j->p >= 'a' && *j->p <= 'z') || *j->p == '-' ||
				*j->p == '+' || *j->p == '.' || *j->p == 'E'))
				j->p++;
			if (j->p == st)
				return false;
			break;
		}
		}
	} while (depth > 0);
	return true;
}

static bool
key_is(const uint8_t *s, const uint8_t *e, const char *k)
{
	size_t n = strlen(k);
	return (size_t)(e - s) == n && memcmp(s, k, n) == 0;
}

static bool
is_null(const struct js *j)
{
	return j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0;
}

struct vigil_l7_ret
vigil_stratum_parse(const uint8_t *p, uint32_t len,
		    struct vigil_stratum_msg *out)
{
	const uint8_t *nl, *s, *e;
	struct js j;
	bool rpc = false;

	memset(out, 0, sizeof(*out));
	j.p = p;
	j.end = p + len;
	while (j.p < j.end && (*j.p == ' ' || *j.p == '\t' || *j.p == '\r' ||
			       *j.p == '\n'))
		j.p++;
	if (j.p >= j.end)
		return VIGIL_L7_RET_MORE(0);
	if (*j.p != '{')
		return VIGIL_L7_RET_NOT_MINE();
	nl = memchr(j.p, '\n', (size_t)(j.end - j.p));
	if (nl == NULL)
		return len >= VIGIL_STRATUM_LINE_MAX
			       ? VIGIL_L7_RET_BAD(STRATUM_TOO_LONG)
			       : VIGIL_L7_RET_MORE(0);
	j.end = nl;
	j.p++;
	ws(&j);
	if (j.p < j.end && *j.p == '}')
		return VIGIL_L7_RET_NOT_MINE();
	for (;;) {
		ws(&j);
		if (!string(&j, &s, &e))
			return rpc ? VIGIL_L7_RET_BAD(STRATUM_BAD_JSON)
				   : VIGIL_L7_RET_NOT_MINE();
		ws(&j);
		if (j.p >= j.end || *j.p != ':')
			return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
		j.p++;
		ws(&j);
		if (key_is(s, e, "method")) {
			const uint8_t *vs, *ve;
			if (!string(&j, &vs, &ve))
				return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
			VIGIL_L7_SET(out->method, vs, (size_t)(ve - vs));
			rpc = true;
		} else if (key_is(s, e, "id")) {
			const uint8_t *vs = j.p;
			if (!skip_value(&j))
				return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
			VIGIL_L7_SET(out->id, vs, (size_t)(j.p - vs));
		} else if (key_is(s, e, "params") && j.p < j.end &&
			   *j.p == '[') {
			unsigned i = 0;
			j.p++;
			ws(&j);
			if (j.p < j.end && *j.p == ']') {
				j.p++;
			} else {
				for (;; i++) {
					ws(&j);
					if (i < 2 && j.p < j.end && *j.p == '"') {
						const uint8_t *vs, *ve;
						if (!string(&j, &vs, &ve))
							return VIGIL_L7_RET_BAD(
								STRATUM_BAD_JSON);
						if (out->n_params == i) {
							VIGIL_L7_SET(
								out->params[i], vs,
								(size_t)(ve - vs));
							out->n_params++;
						}
					} else if (!skip_value(&j)) {
						return VIGIL_L7_RET_BAD(
							STRATUM_BAD_JSON);
					}
					ws(&j);
					if (j.p < j.end && *j.p == ',') {
						j.p++;
						continue;
					}
					if (j.p < j.end && *j.p == ']') {
						j.p++;
						break;
					}
					return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
				}
			}
		} else if (key_is(s, e, "result") || key_is(s, e, "error")) {
			bool err = key_is(s, e, "error");
			out->is_response = true;
			rpc = true;
			if (err && !is_null(&j))
				out->has_error = true;
			if (!err && j.end - j.p >= 4 &&
			    memcmp(j.p, "true", 4) == 0)
				out->result_true = true;
			if (!skip_value(&j))
				return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
		} else if (!skip_value(&j)) {
			return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
		}
		ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.end && *j.p == '}')
			break;
		return VIGIL_L7_RET_BAD(STRATUM_BAD_JSON);
	}
	if (!rpc)
		return VIGIL_L7_RET_NOT_MINE();
	if (out->method.len > 0)
		out->is_response = false;
	return VIGIL_L7_RET_DONE((uint32_t)(nl - p) + 1);
}

bool
vigil_stratum_looks_like(const uint8_t *p, uint32_t len)
{
	uint32_t i = 0, n = len < 512 ? len : 512;
	static const char pat[] = "\"mining.";

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
			 p[i] == '\n'))
		i++;
	if (i >= n || p[i] != '{')
		return false;
	if (n < sizeof(pat) - 1)
		return false;
	for (; i + sizeof(pat) - 1 <= n; i++)
		if (memcmp(p + i, pat, sizeof(pat) - 1) == 0)
			return true;
	return false;
}
