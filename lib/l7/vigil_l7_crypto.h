/*
 * vigil L7 crypto: the per-worker hashing and cipher state the parsers use
 * (MD5 for JA3/JA3S, SHA-256 for JA4 and the HKDF of QUIC Initial keys,
 * AES-128-ECB for QUIC header protection, AES-128-GCM for the Initial
 * payload), all from OpenSSL's libcrypto.
 *
 * vigil_l7_crypto_create() fetches the algorithms and allocates the EVP
 * cipher contexts once; the parse-time functions below never allocate
 * (tests/unit/test_l7.c counts libcrypto's allocations to prove it).
 *
 * Why not EVP for the hashes: with OpenSSL 3.0, EVP_DigestInit_ex2() on a
 * context that already holds a digest frees and allocates the provider
 * context each time (1 allocation per hash), EVP_MD_CTX_copy_ex() from a
 * prepared template likewise (1), EVP_Digest() 2, EVP_MAC (HMAC) re-keyed
 * 5 and EVP_KDF (HKDF) 13 to 16 per derivation (measured with
 * CRYPTO_set_mem_functions on 3.0.x). libcrypto's MD5_* and SHA256_*
 * functions work on a caller-owned context and allocate nothing; they are
 * deprecated in 3.0 but shipped and maintained through 3.x, so this file's
 * implementation uses them (OPENSSL_SUPPRESS_DEPRECATED, there only).
 * HMAC-SHA256 (RFC 2104) and HKDF (RFC 5869) are composed here on top of
 * libcrypto's SHA-256: a few lines of construction, no hand-written hash.
 * The AES contexts are EVP: re-keying an EVP_CIPHER_CTX that already holds
 * its cipher allocates nothing (measured: 0).
 *
 * Threading: one struct per worker thread; not shared.
 */
#ifndef VIGIL_L7_CRYPTO_H
#define VIGIL_L7_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct vigil_l7_crypto;

/* NULL when libcrypto cannot provide an algorithm (then the parsers that
 * hash still parse, with empty fingerprints). Not on the packet path. */
struct vigil_l7_crypto *vigil_l7_crypto_create(void);
void vigil_l7_crypto_free(struct vigil_l7_crypto *c);

/* A per-context area, zeroed at creation, where the TLS parser keeps the
 * fingerprints of the ClientHellos it has seen (vigil_tls.c): a worker
 * sees the same few client stacks over and over. */
#define VIGIL_L7_MEMO_BYTES (48 * 1024)
void *vigil_l7_crypto_memo(struct vigil_l7_crypto *c);

/* Streaming MD5 and SHA-256 on the context's own state (one at a time). */
void vigil_l7_md5_init(struct vigil_l7_crypto *c);
void vigil_l7_md5_update(struct vigil_l7_crypto *c, const void *p, size_t n);
void vigil_l7_md5_final(struct vigil_l7_crypto *c, uint8_t out[16]);
void vigil_l7_sha256_init(struct vigil_l7_crypto *c);
void vigil_l7_sha256_update(struct vigil_l7_crypto *c, const void *p,
			    size_t n);
void vigil_l7_sha256_final(struct vigil_l7_crypto *c, uint8_t out[32]);

/* HKDF-Extract with SHA-256 (RFC 5869). */
void vigil_l7_hkdf_extract(const uint8_t *salt, size_t saltlen,
			   const uint8_t *ikm, size_t ikmlen, uint8_t prk[32]);
/* HKDF-Expand-Label of TLS 1.3 (RFC 8446 7.1) with an empty context:
 * out = HKDF-Expand(secret, HkdfLabel(outlen, "tls13 " label, ""), outlen).
 * outlen <= 255, label up to 64 bytes. Returns 0, -1 on bad lengths. */
int vigil_l7_hkdf_expand_label(const uint8_t secret[32], const char *label,
			       uint8_t *out, size_t outlen);

/* AES-128-ECB of one block (QUIC header protection mask). 0 or -1. */
int vigil_l7_aes128_ecb(struct vigil_l7_crypto *c, const uint8_t key[16],
			const uint8_t in[16], uint8_t out[16]);
/* AES-128-GCM decryption with a 16-byte tag after the ciphertext:
 * out gets ctlen - 16 bytes. 0 when the tag verifies, -1 otherwise. */
int vigil_l7_aes128_gcm_open(struct vigil_l7_crypto *c, const uint8_t key[16],
			     const uint8_t iv[12], const uint8_t *aad,
			     size_t aadlen, const uint8_t *ct, size_t ctlen,
			     uint8_t *out);

/* The context's scratch buffer (VIGIL_L7_SCRATCH bytes): where QUIC
 * decrypts. Valid until the next call that uses it. */
#define VIGIL_L7_SCRATCH 16384
uint8_t *vigil_l7_crypto_scratch(struct vigil_l7_crypto *c, size_t *cap);

/* Lower-case hex of n bytes into out (2n characters and a NUL). */
void vigil_l7_hex(char *out, const uint8_t *p, size_t n);

#endif /* VIGIL_L7_CRYPTO_H */
