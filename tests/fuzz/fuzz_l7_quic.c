/*
 * libFuzzer target for lib/l7's QUIC Initial parser (vigil_quic.h).
 *
 * Random bytes almost never pass the AEAD, so most inputs are protected
 * here first. Input: byte 0 bit 0 clear: the rest is one raw datagram
 * (header parsing, header protection, decryption failure paths); set: the
 * rest is up to 4 Initial payloads, each a 2-byte big-endian length and
 * that many plaintext bytes of frames, which the target protects as v1
 * client Initials (fixed DCID, packet numbers 0, 1, ...; RFC 9001 5 with
 * EVP) and feeds in turn through one reassembly buffer: the frame parser,
 * CRYPTO reassembly and the ClientHello parser then see the fuzzer's
 * bytes. Checked: DONE within the datagram, NEED_MORE with 0, strings
 * within their arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vigil_l7.h"
#include "vigil_l7_crypto.h"
#include "vigil_quic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "fuzz_l7_quic: invariant %s\n", #c);  \
			abort();                                              \
		}                                                             \
	} while (0)

static struct vigil_l7_crypto *cr;
static EVP_CIPHER_CTX *ex;
static uint8_t key[16], iv[12], hp[16];
static const uint8_t dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

static void
init(void)
{
	static const uint8_t salt[20] = {
		0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
		0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
	};
	uint8_t s[32], cs[32];

	cr = vigil_l7_crypto_create();
	ex = EVP_CIPHER_CTX_new();
	vigil_l7_hkdf_extract(salt, 20, dcid, sizeof(dcid), s);
	vigil_l7_hkdf_expand_label(s, "client in", cs, 32);
	vigil_l7_hkdf_expand_label(cs, "quic key", key, 16);
	vigil_l7_hkdf_expand_label(cs, "quic iv", iv, 12);
	vigil_l7_hkdf_expand_label(cs, "quic hp", hp, 16);
}

/* A protected v1 client Initial with frames f[0..fl) into a fresh heap
 * buffer of exactly its size. */
static uint8_t *
protect(uint32_t pn, const uint8_t *f, size_t fl, size_t *outlen)
{
	size_t plen = 4 + fl + 16, n = 0, pn_off;
	uint8_t *o = malloc(32 + fl + 16), nonce[12], mask[16];
	int ol;

	if (o == NULL)
		return NULL;
	o[n++] = 0xc3;
	o[n++] = 0;
	o[n++] = 0;
	o[n++] = 0;
	o[n++] = 1;
	o[n++] = sizeof(dcid);
	memcpy(o + n, dcid, sizeof(dcid));
	n += sizeof(dcid);
	o[n++] = 0;
	o[n++] = 0;
	o[n++] = (uint8_t)(0x40 | (plen >> 8));
	o[n++] = (uint8_t)plen;
	pn_off = n;
	memcpy(nonce, iv, 12);
	for (int i = 0; i < 4; i++) {
		o[n++] = (uint8_t)(pn >> (24 - 8 * i));
		nonce[8 + i] ^= (uint8_t)(pn >> (24 - 8 * i));
	}
	if (EVP_EncryptInit_ex(ex, EVP_aes_128_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ex, NULL, &ol, o, (int)n) != 1 ||
	    (fl > 0 && EVP_EncryptUpdate(ex, o + n, &ol, f, (int)fl) != 1) ||
	    EVP_EncryptFinal_ex(ex, o + n + fl, &ol) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ex, EVP_CTRL_GCM_GET_TAG, 16, o + n + fl) != 1 ||
	    EVP_EncryptInit_ex(ex, EVP_aes_128_ecb(), NULL, hp, NULL) != 1 ||
	    EVP_EncryptUpdate(ex, mask, &ol, o + pn_off + 4, 16) != 1) {
		free(o);
		return NULL;
	}
	n += fl + 16;
	o[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		o[pn_off + i] ^= mask[1 + i];
	*outlen = n;
	return o;
}

static void
check(struct vigil_l7_ret r, size_t n, const struct vigil_quic_initial *q)
{
	CHECK(r.rc <= VIGIL_L7_MALFORMED);
	CHECK(r.rc != VIGIL_L7_DONE || (r.len <= n && q->has_client_hello));
	CHECK(r.rc != VIGIL_L7_NEED_MORE || r.len == 0);
	CHECK(q->dcid_len <= 20 && q->scid_len <= 20);
	CHECK(q->ch.server_name.len <= sizeof(q->ch.server_name.s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vigil_quic_crypto_buf cb;
	struct vigil_quic_initial q;
	struct vigil_l7_ret r;
	size_t off = 1;

	if (cr == NULL)
		init();
	if (size < 1 || size > 70000)
		return 0;
	memset(&cb, 0, sizeof(cb));
	if (!(data[0] & 1)) {
		uint32_t n = (uint32_t)(size - 1);
		uint8_t *p = malloc(n ? n : 1);
		if (p == NULL)
			return 0;
		memcpy(p, data + 1, n);
		r = vigil_quic_parse_initial(cr, p, n, &cb, &q);
		check(r, n, &q);
		vigil_l7_guess(p, n, true, 17, 1, 443);
		free(p);
		return 0;
	}
	for (uint32_t pn = 0; pn < 4 && off + 2 <= size; pn++) {
		size_t fl = ((size_t)data[off] << 8 | data[off + 1]) & 0x0fff;
		size_t n = 0;
		uint8_t *p;
		off += 2;
		if (fl > size - off)
			fl = size - off;
		p = protect(pn, data + off, fl, &n);
		off += fl;
		if (p == NULL)
			return 0;
		r = vigil_quic_parse_initial(cr, p, (uint32_t)n, &cb, &q);
		check(r, n, &q);
		free(p);
		if (r.rc != VIGIL_L7_NEED_MORE)
			break;
	}
	return 0;
}
