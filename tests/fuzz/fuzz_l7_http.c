/*
 * libFuzzer target for lib/l7's HTTP/1.x parser (vigil_http.h) and the
 * TCP side of the classifier.
 *
 * Input: the bytes of one direction: parsed as a request and as a
 * response, from an exact-size heap copy. Checked: DONE within the input,
 * NEED_MORE says 0 (HTTP gives no length), strings within their arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_http.h"
#include "vigil_l7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "fuzz_l7_http: invariant %s\n", #c);  \
			abort();                                              \
		}                                                             \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_http_req q;
	struct vigil_http_resp s;
	struct vigil_l7_ret r;
	uint8_t *p;
	uint32_t n = (uint32_t)size;

	if (size > 70000)
		return 0;
	p = malloc(n ? n : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, n);
	r = vigil_http_parse_request(p, n, &q);
	CHECK(r.rc != VIGIL_L7_DONE || r.len <= n);
	CHECK(r.rc != VIGIL_L7_NEED_MORE || r.len == 0);
	CHECK(q.method.len <= sizeof(q.method.s) &&
	      q.uri.len <= sizeof(q.uri.s) && q.host.len <= sizeof(q.host.s) &&
	      q.user_agent.len <= sizeof(q.user_agent.s));
	r = vigil_http_parse_response(p, n, &s);
	CHECK(r.rc != VIGIL_L7_DONE || r.len <= n);
	CHECK(s.status_code <= 999);
	CHECK(s.status_msg.len <= sizeof(s.status_msg.s));
	vigil_l7_guess(p, n, true, 6, 40000, 80);
	vigil_l7_guess(p, n, false, 6, 80, 40000);
	free(p);
	return 0;
}
