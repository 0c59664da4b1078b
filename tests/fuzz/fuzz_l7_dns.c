/*
 * libFuzzer target for lib/l7's DNS parser (vigil_dns.h) and the
 * classifier (vigil_l7_guess).
 *
 * Input: byte 0 bit 0 set: DNS over TCP (2-byte length prefix), else one
 * UDP datagram; the rest is the message, parsed from an exact-size heap
 * copy so AddressSanitizer sees any read past it. Checked on top of the
 * sanitizers: DONE never claims more bytes than given, NEED_MORE asks for
 * more than given (or says 0), bounded strings stay within their arrays,
 * and the answer count within VIGIL_DNS_ANSWERS_MAX.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_dns.h"
#include "vigil_l7.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "fuzz_l7_dns: invariant %s\n", #c);   \
			abort();                                              \
		}                                                             \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_dns_msg d;
	struct vigil_l7_ret r;
	uint8_t *p;
	uint32_t n;
	bool tcp;
	char text[VIGIL_DNS_NAME_MAX * 4 + 1], b[16];

	if (size < 1 || size > 70000)
		return 0;
	tcp = data[0] & 1;
	n = (uint32_t)(size - 1);
	p = malloc(n ? n : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data + 1, n);
	r = vigil_dns_parse(p, n, tcp, &d);
	CHECK(r.rc <= VIGIL_L7_MALFORMED);
	if (r.rc == VIGIL_L7_DONE)
		CHECK(r.len <= n);
	if (r.rc == VIGIL_L7_NEED_MORE)
		CHECK(r.len == 0 || r.len > n);
	if (r.rc == VIGIL_L7_MALFORMED)
		CHECK(r.why != VIGIL_L7_WHY_NONE && r.why < VIGIL_L7_WHY_MAX);
	if (r.rc == VIGIL_L7_DONE || r.rc == VIGIL_L7_MALFORMED) {
		CHECK(d.query.len <= sizeof(d.query.s));
		CHECK(d.n_answers <= VIGIL_DNS_ANSWERS_MAX);
		for (unsigned i = 0; i < d.n_answers; i++) {
			CHECK(d.answers[i].name.len <=
			      sizeof(d.answers[i].name.s));
			vigil_dns_answer_text(&d.answers[i], text,
					      sizeof(text));
		}
		vigil_l7_escape(text, sizeof(text), d.query.s, d.query.len);
		vigil_dns_qtype_name(d.qtype, b);
		vigil_dns_rcode_name(d.rcode, b);
	}
	CHECK(vigil_l7_guess(p, n, !tcp, tcp ? 6 : 17, 53, 40000) <
	      VIGIL_L7_SERVICE_MAX);
	free(p);
	return 0;
}
