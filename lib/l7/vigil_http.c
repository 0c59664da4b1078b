/*
 * vigil HTTP/1.x parser (see vigil_http.h): start line, then header lines
 * one at a time, every read within [p, p + len).
 */
#include <string.h>

#include "vigil_http.h"

static const char *const methods[] = {
	"GET",	     "POST",	    "HEAD",	   "PUT",	"DELETE",
	"OPTIONS",   "CONNECT",	    "TRACE",	   "PATCH",	"PROPFIND",
	"PROPPATCH", "MKCOL",	    "COPY",	   "MOVE",	"LOCK",
	"UNLOCK",    "SEARCH",	    "REPORT",	   "MKACTIVITY", "CHECKOUT",
	"MERGE",     "NOTIFY",	    "SUBSCRIBE",   "UNSUBSCRIBE", "PURGE",
	"MKCALENDAR", "LINK",	    "UNLINK",	   "BIND",	"REBIND",
	"UNBIND",    "ACL",	    "VERSION-CONTROL", "BASELINE-CONTROL",
	"MKWORKSPACE", "UPDATE",    "LABEL",	   "ORDERPATCH", "M-SEARCH",
};

bool
vigil_http_is_request_start(const uint8_t *p, uint32_t len, bool *complete)
{
	*complete = false;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);
		size_t k = len < ml ? len : ml;
		if (memcmp(p, methods[i], k) != 0)
			continue;
		if (len > ml) {
			if (p[ml] == ' ') {
				*complete = true;
				return true;
			}
			continue;
		}
		return true; /* a prefix of a method so far */
	}
	return false;
}

bool
vigil_http_is_response_start(const uint8_t *p, uint32_t len, bool *complete)
{
	static const char pre[] = "HTTP/1.";
	size_t k = len < 7 ? len : 7;

	*complete = len >= 7;
	return memcmp(p, pre, k) == 0;
}

/* Next line from *off: [*ls, *le) without its CRLF/LF; false when there is
 * no line end yet. */
static bool
next_line(const uint8_t *p, uint32_t len, uint32_t *off, uint32_t *ls,
	  uint32_t *le)
{
	const uint8_t *nl;

	if (*off >= len)
		return false;
	nl = memchr(p + *off, '\n', len - *off);
	if (nl == NULL)
		return false;
	*ls = *off;
	*le = (uint32_t)(nl - p);
	*off = *le + 1;
	if (*le > *ls && p[*le - 1] == '\r')
		(*le)--;
	return true;
}

static bool
name_is(const uint8_t *p, uint32_t n, const char *name)
{
	size_t l = strlen(name);

	if (n != l)
		return false;
	for (size_t i = 0; i < l; i++) {
		uint8_t c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c + 32);
		if (c != (uint8_t)name[i])
			return false;
	}
	return true;
}

static bool
is_tchar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* Header lines from *off to the blank line. Calls back per header with the
 * value trimmed. Returns DONE / NEED_MORE / MALFORMED. */
typedef void (*hdr_cb)(void *arg, const uint8_t *name, uint32_t nl,
		       const uint8_t *val, uint32_t vl);

static struct vigil_l7_ret
headers(const uint8_t *p, uint32_t len, uint32_t off, hdr_cb cb, void *arg)
{
	uint32_t ls, le;

	while (next_line(p, len, &off, &ls, &le)) {
		uint32_t c, vs, ve;
		if (le == ls)
			return VIGIL_L7_RET_DONE(off);
		if (p[ls] == ' ' || p[ls] == '\t')
			continue; /* obs-fold: ignored */
		for (c = ls; c < le && p[c] != ':'; c++)
			if (!is_tchar(p[c]))
				return VIGIL_L7_RET_BAD(HTTP_BAD_HEADER);
		if (c == le || c == ls)
			return VIGIL_L7_RET_BAD(HTTP_BAD_HEADER);
		vs = c + 1;
		ve = le;
		while (vs < ve && (p[vs] == ' ' || p[vs] == '\t'))
			vs++;
		while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
			ve--;
		cb(arg, p + ls, c - ls, p + vs, ve - vs);
	}
	if (len >= VIGIL_HTTP_HEADER_MAX)
		return VIGIL_L7_RET_BAD(HTTP_HEADER_TOO_LONG);
	return VIGIL_L7_RET_MORE(0);
}

static inline bool
ws(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* "HTTP/d.d" at q[0..n): sets the version. */
static bool
version(const uint8_t *q, uint32_t n, uint8_t *maj, uint8_t *min)
{
	if (n != 8 || memcmp(q, "HTTP/", 5) != 0 || q[6] != '.' ||
	    q[5] < '0' || q[5] > '9' || q[7] < '0' || q[7] > '9')
		return false;
	*maj = (uint8_t)(q[5] - '0');
	*min = (uint8_t)(q[7] - '0');
	return true;
}

static void
req_hdr(void *arg, const uint8_t *n, uint32_t nl, const uint8_t *v,
	uint32_t vl)
{
	struct vigil_http_req *r = arg;

	if (name_is(n, nl, "host"))
		VIGIL_L7_SET(r->host, v, vl);
	else if (name_is(n, nl, "user-agent"))
		VIGIL_L7_SET(r->user_agent, v, vl);
	else if (name_is(n, nl, "content-type"))
		VIGIL_L7_SET(r->content_type, v, vl);
}

struct vigil_l7_ret
vigil_http_parse_request(const uint8_t *p, uint32_t len,
			 struct vigil_http_req *out)
{
	uint32_t off = 0, ls, le, sp1, sp2, t, e, v;
	bool complete;

	memset(out, 0, sizeof(*out));
	if (!vigil_http_is_request_start(p, len, &complete))
		return VIGIL_L7_RET_NOT_MINE();
	if (!next_line(p, len, &off, &ls, &le)) {
		if (len >= VIGIL_HTTP_HEADER_MAX)
			return VIGIL_L7_RET_BAD(HTTP_HEADER_TOO_LONG);
		return VIGIL_L7_RET_MORE(0);
	}
	if (!complete)
		return VIGIL_L7_RET_NOT_MINE();
	/*
	 * METHOD SP request-target SP HTTP-version (or HTTP/0.9: no
	 * version), read as leniently as the servers that attacks aim at
	 * (RFC 9112 3 allows any whitespace between the parts): runs of
	 * spaces or tabs, spaces inside the target ("GET /x?a=1; wget http://
	 * HTTP/1.1"), characters after the version's digits. The version is
	 * the last token when it starts with "HTTP/".
	 */
	for (sp1 = ls; sp1 < le && !ws(p[sp1]); sp1++)
		;
	VIGIL_L7_SET(out->method, p + ls, sp1 - ls);
	for (t = sp1; t < le && ws(p[t]); t++)
		;
	if (sp1 >= le || t >= le)
		return VIGIL_L7_RET_BAD(HTTP_BAD_REQUEST_LINE);
	for (e = le; e > t && ws(p[e - 1]); e--)
		;
	for (v = e; v > t && !ws(p[v - 1]); v--)
		;
	if (v > t && e - v >= 5 && memcmp(p + v, "HTTP/", 5) == 0) {
		for (sp2 = v; sp2 > t && ws(p[sp2 - 1]); sp2--)
			;
		if (e - v < 8 || !version(p + v, 8, &out->version_major,
					  &out->version_minor) ||
		    out->version_major != 1)
			return VIGIL_L7_RET_BAD(HTTP_BAD_REQUEST_LINE);
		VIGIL_L7_SET(out->uri, p + t, sp2 - t);
		return headers(p, len, off, req_hdr, out);
	}
	VIGIL_L7_SET(out->uri, p + t, e - t);
	out->version_major = 0;
	out->version_minor = 9;
	return VIGIL_L7_RET_DONE(off);
}

static void
resp_hdr(void *arg, const uint8_t *n, uint32_t nl, const uint8_t *v,
	 uint32_t vl)
{
	struct vigil_http_resp *r = arg;

	if (name_is(n, nl, "content-type"))
		VIGIL_L7_SET(r->content_type, v, vl);
	else if (name_is(n, nl, "server"))
		VIGIL_L7_SET(r->server, v, vl);
}

struct vigil_l7_ret
vigil_http_parse_response(const uint8_t *p, uint32_t len,
			  struct vigil_http_resp *out)
{
	uint32_t off = 0, ls, le, s;
	bool complete;

	memset(out, 0, sizeof(*out));
	if (!vigil_http_is_response_start(p, len, &complete))
		return VIGIL_L7_RET_NOT_MINE();
	if (!next_line(p, len, &off, &ls, &le)) {
		if (len >= VIGIL_HTTP_HEADER_MAX)
			return VIGIL_L7_RET_BAD(HTTP_HEADER_TOO_LONG);
		return VIGIL_L7_RET_MORE(0);
	}
	/* HTTP/1.x SP 3DIGIT [SP reason-phrase] */
	if (le - ls < 12 || !version(p + ls, 8, &out->version_major,
				     &out->version_minor) ||
	    p[ls + 8] != ' ')
		return VIGIL_L7_RET_BAD(HTTP_BAD_STATUS_LINE);
	s = ls + 9;
	for (int i = 0; i < 3; i++) {
		if (p[s + i] < '0' || p[s + i] > '9')
			return VIGIL_L7_RET_BAD(HTTP_BAD_STATUS_LINE);
		out->status_code =
			(uint16_t)(out->status_code * 10 + (p[s + i] - '0'));
	}
	if (s + 3 < le) {
		if (p[s + 3] != ' ')
			return VIGIL_L7_RET_BAD(HTTP_BAD_STATUS_LINE);
		VIGIL_L7_SET(out->status_msg, p + s + 4, le - s - 4);
	}
	return headers(p, len, off, resp_hdr, out);
}
