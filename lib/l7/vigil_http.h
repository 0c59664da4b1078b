/*
 * vigil HTTP/1.x parser: the request line and headers of a request, the
 * status line and headers of a response, into the fields of Zeek's
 * http.log: method, host, uri, user_agent (request), status_code,
 * status_msg and the content type (response). Bodies are not read.
 *
 * Input: the first bytes of a direction (or of the next message after the
 * previous one's body, when the caller tracks them). Lines end in CRLF or
 * a bare LF. Header names are case-insensitive; folded continuation lines
 * are ignored.
 *
 * Returns (see vigil_l7.h): DONE when the blank line that ends the header
 * block is there (len = header block length); NEED_MORE (len 0: HTTP says
 * nothing of the header length) before that, with the complete lines so far
 * already parsed into *out; NOT_MINE when the first line cannot be HTTP/1.x
 * (unknown method, no "HTTP/1." status line); MALFORMED on a broken start
 * line, a header line without a colon, or no end of headers within
 * VIGIL_HTTP_HEADER_MAX bytes (http_header_too_long).
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include "vigil_l7.h"

#define VIGIL_HTTP_HEADER_MAX 16384

struct vigil_http_req {
	VIGIL_L7_STR(24) method;
	VIGIL_L7_STR(512) uri;
	VIGIL_L7_STR(256) host;
	VIGIL_L7_STR(256) user_agent;
	VIGIL_L7_STR(128) content_type;
	uint8_t version_major, version_minor; /* 0.9 when there is none */
};

struct vigil_http_resp {
	uint16_t status_code;
	uint8_t version_major, version_minor;
	VIGIL_L7_STR(64) status_msg;
	VIGIL_L7_STR(128) content_type;
	VIGIL_L7_STR(128) server;
};

struct vigil_l7_ret vigil_http_parse_request(const uint8_t *p, uint32_t len,
					     struct vigil_http_req *out);
struct vigil_l7_ret vigil_http_parse_response(const uint8_t *p, uint32_t len,
					      struct vigil_http_resp *out);

/* Does p[0..len) start like a request (a known method and a space; or a
 * prefix of one) or a response ("HTTP/1.")? For vigil_l7_guess. */
bool vigil_http_is_request_start(const uint8_t *p, uint32_t len,
				 bool *complete);
bool vigil_http_is_response_start(const uint8_t *p, uint32_t len,
				  bool *complete);

#endif /* VIGIL_HTTP_H */
