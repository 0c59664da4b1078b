/*
 * libFuzzer target for lib/l7's TLS parser (vigil_tls.h): ClientHello with
 * JA3/JA4, ServerHello with JA3S, Certificate names.
 *
 * Input: byte 0 selects: bit 0 clear: the client's first bytes
 * (vigil_tls_parse_client), set: the server's (vigil_tls_parse_server);
 * bit 1 set: instead, one bare handshake message
 * (vigil_tls_parse_client_hello, bit 2: as QUIC carries it). The rest is
 * parsed from an exact-size heap copy. Checked: DONE within the input,
 * NEED_MORE asks for more than given (or 0), strings within their arrays,
 * fingerprints NUL-terminated and of their fixed length when set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_l7.h"
#include "vigil_l7_crypto.h"
#include "vigil_tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "fuzz_l7_tls: invariant %s\n", #c);   \
			abort();                                              \
		}                                                             \
	} while (0)

static struct vigil_l7_crypto *cr;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_tls_client_hello h;
	struct vigil_tls_server_hello s;
	struct vigil_l7_ret r;
	uint8_t *p;
	uint32_t n;

	if (cr == NULL)
		cr = vigil_l7_crypto_create(); /* once, kept for the run */
	if (size < 1 || size > 70000)
		return 0;
	n = (uint32_t)(size - 1);
	p = malloc(n ? n : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data + 1, n);
	if (data[0] & 2) {
		r = vigil_tls_parse_client_hello(cr, p, n, data[0] & 4, &h);
		goto client;
	}
	if (data[0] & 1) {
		r = vigil_tls_parse_server(cr, p, n, &s);
		CHECK(r.rc != VIGIL_L7_DONE || r.len <= n);
		CHECK(r.rc != VIGIL_L7_NEED_MORE || r.len > n);
		CHECK(s.subject.len <= sizeof(s.subject.s) &&
		      s.issuer.len <= sizeof(s.issuer.s) &&
		      s.alpn.len <= sizeof(s.alpn.s));
		if (s.has_server_hello)
			CHECK(strlen(s.ja3s) == 32);
		vigil_tls_version_name(s.version);
		vigil_tls_cipher_name(s.cipher);
		free(p);
		return 0;
	}
	r = vigil_tls_parse_client(cr, p, n, &h);
	vigil_l7_guess(p, n, true, 6, 1, 2);
client:
	CHECK(r.rc != VIGIL_L7_DONE || r.len <= n);
	CHECK(r.rc != VIGIL_L7_NEED_MORE || r.len > n);
	CHECK(h.server_name.len <= sizeof(h.server_name.s));
	CHECK(h.n_alpn <= VIGIL_TLS_ALPN_MAX);
	if (r.rc == VIGIL_L7_DONE) {
		CHECK(strlen(h.ja3) == 32);
		CHECK(strlen(h.ja4) == 36);
	}
	free(p);
	return 0;
}
