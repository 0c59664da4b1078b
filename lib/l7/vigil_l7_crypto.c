/*
 * vigil L7 crypto: libcrypto's MD5, SHA-256 and AES behind a per-worker
 * context prepared once (see vigil_l7_crypto.h for why the hashes use
 * libcrypto's MD5_* / SHA256_* functions rather than EVP on OpenSSL 3.0).
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <string.h>

#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include "vigil_l7_crypto.h"

/* Fingerprints are hashed a few bytes at a time ("771", ",", "4865-"...):
 * the updates gather in a buffer and reach libcrypto in one call, which
 * costs a fraction of one call per piece. */
#define HBUF 1024

struct hbuf {
	uint32_t n;
	uint8_t b[HBUF];
};

struct vigil_l7_crypto {
	MD5_CTX md5;
	SHA256_CTX sha256;
	struct hbuf md5_buf, sha256_buf;
	uint8_t memo[VIGIL_L7_MEMO_BYTES] __attribute__((aligned(64)));
	EVP_CIPHER *ecb_alg, *gcm_alg;
	EVP_CIPHER_CTX *ecb, *gcm;
	uint8_t scratch[VIGIL_L7_SCRATCH];
};

struct vigil_l7_crypto *
vigil_l7_crypto_create(void)
{
	struct vigil_l7_crypto *c = OPENSSL_zalloc(sizeof(*c));
	static const uint8_t zkey[16], ziv[12];

	if (c == NULL)
		return NULL;
	c->ecb_alg = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	c->gcm_alg = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	c->ecb = EVP_CIPHER_CTX_new();
	c->gcm = EVP_CIPHER_CTX_new();
	if (c->ecb_alg == NULL || c->gcm_alg == NULL || c->ecb == NULL ||
	    c->gcm == NULL)
		goto fail;
	/* Bind the ciphers now (and once with a key) so that later calls only
	 * re-key: that path allocates nothing. */
	if (EVP_EncryptInit_ex(c->ecb, c->ecb_alg, NULL, zkey, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(c->ecb, 0) != 1 ||
	    EVP_DecryptInit_ex(c->gcm, c->gcm_alg, NULL, NULL, NULL) != 1 ||
	    EVP_DecryptInit_ex(c->gcm, NULL, NULL, zkey, ziv) != 1)
		goto fail;
	return c;
fail:
	vigil_l7_crypto_free(c);
	return NULL;
}

void
vigil_l7_crypto_free(struct vigil_l7_crypto *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->ecb);
	EVP_CIPHER_CTX_free(c->gcm);
	EVP_CIPHER_free(c->ecb_alg);
	EVP_CIPHER_free(c->gcm_alg);
	OPENSSL_clear_free(c, sizeof(*c));
}

void *
vigil_l7_crypto_memo(struct vigil_l7_crypto *c)
{
	return c->memo;
}

void
vigil_l7_md5_init(struct vigil_l7_crypto *c)
{
	MD5_Init(&c->md5);
	c->md5_buf.n = 0;
}

void
vigil_l7_md5_update(struct vigil_l7_crypto *c, const void *p, size_t n)
{
	struct hbuf *h = &c->md5_buf;

	if (h->n + n > HBUF) {
		MD5_Update(&c->md5, h->b, h->n);
		h->n = 0;
		if (n > HBUF) {
			MD5_Update(&c->md5, p, n);
			return;
		}
	}
	memcpy(h->b + h->n, p, n);
	h->n += (uint32_t)n;
}

void
vigil_l7_md5_final(struct vigil_l7_crypto *c, uint8_t out[16])
{
	MD5_Update(&c->md5, c->md5_buf.b, c->md5_buf.n);
	c->md5_buf.n = 0;
	MD5_Final(out, &c->md5);
}

void
vigil_l7_sha256_init(struct vigil_l7_crypto *c)
{
	SHA256_Init(&c->sha256);
	c->sha256_buf.n = 0;
}

void
vigil_l7_sha256_update(struct vigil_l7_crypto *c, const void *p, size_t n)
{
	struct hbuf *h = &c->sha256_buf;

	if (h->n + n > HBUF) {
		SHA256_Update(&c->sha256, h->b, h->n);
		h->n = 0;
		if (n > HBUF) {
			SHA256_Update(&c->sha256, p, n);
			return;
		}
	}
	memcpy(h->b + h->n, p, n);
	h->n += (uint32_t)n;
}

void
vigil_l7_sha256_final(struct vigil_l7_crypto *c, uint8_t out[32])
{
	SHA256_Update(&c->sha256, c->sha256_buf.b, c->sha256_buf.n);
	c->sha256_buf.n = 0;
	SHA256_Final(out, &c->sha256);
}

/* HMAC-SHA256 (RFC 2104) over two message parts, on libcrypto's SHA-256. */
static void
hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *m1, size_t n1,
	    const uint8_t *m2, size_t n2, uint8_t out[32])
{
	uint8_t k[64], pad[64], inner[32];
	SHA256_CTX s;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k)) {
		SHA256(key, keylen, k);
	} else if (keylen > 0) {
		memcpy(k, key, keylen);
	}
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	SHA256_Init(&s);
	SHA256_Update(&s, pad, sizeof(pad));
	if (n1 > 0)
		SHA256_Update(&s, m1, n1);
	if (n2 > 0)
		SHA256_Update(&s, m2, n2);
	SHA256_Final(inner, &s);
	for (int i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	SHA256_Init(&s);
	SHA256_Update(&s, pad, sizeof(pad));
	SHA256_Update(&s, inner, sizeof(inner));
	SHA256_Final(out, &s);
	memset(k, 0, sizeof(k));
	memset(pad, 0, sizeof(pad));
}

void
vigil_l7_hkdf_extract(const uint8_t *salt, size_t saltlen, const uint8_t *ikm,
		      size_t ikmlen, uint8_t prk[32])
{
	hmac_sha256(salt, saltlen, ikm, ikmlen, NULL, 0, prk);
}

int
vigil_l7_hkdf_expand_label(const uint8_t secret[32], const char *label,
			   uint8_t *out, size_t outlen)
{
	/* HkdfLabel: uint16 length, opaque label<7..255> = "tls13 " + label,
	 * opaque context<0..255> = empty. */
	uint8_t info[2 + 1 + 6 + 64 + 1 + 1], t[32];
	size_t ll = strlen(label), n = 0, done = 0;
	uint8_t ctr = 1;

	if (outlen == 0 || outlen > 255 || ll > 64)
		return -1;
	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;
	/* HKDF-Expand: T(i) = HMAC(PRK, T(i-1) | info | i) */
	while (done < outlen) {
		uint8_t msg[32 + sizeof(info) + 1];
		size_t ml = 0, k;
		if (ctr > 1) {
			memcpy(msg, t, 32);
			ml = 32;
		}
		memcpy(msg + ml, info, n);
		ml += n;
		msg[ml++] = ctr++;
		hmac_sha256(secret, 32, msg, ml, NULL, 0, t);
		k = outlen - done < 32 ? outlen - done : 32;
		memcpy(out + done, t, k);
		done += k;
	}
	return 0;
}

int
vigil_l7_aes128_ecb(struct vigil_l7_crypto *c, const uint8_t key[16],
		    const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	if (EVP_EncryptInit_ex(c->ecb, NULL, NULL, key, NULL) != 1 ||
	    EVP_EncryptUpdate(c->ecb, out, &n, in, 16) != 1 || n != 16)
		return -1;
	return 0;
}

int
vigil_l7_aes128_gcm_open(struct vigil_l7_crypto *c, const uint8_t key[16],
			 const uint8_t iv[12], const uint8_t *aad,
			 size_t aadlen, const uint8_t *ct, size_t ctlen,
			 uint8_t *out)
{
	int n = 0, m = 0;

	if (ctlen < 16 || ctlen - 16 > (size_t)INT32_MAX || aadlen > 65535)
		return -1;
	if (EVP_DecryptInit_ex(c->gcm, NULL, NULL, key, iv) != 1 ||
	    EVP_DecryptUpdate(c->gcm, NULL, &n, aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(c->gcm, out, &n, ct, (int)(ctlen - 16)) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c->gcm, EVP_CTRL_GCM_SET_TAG, 16,
				(void *)(ct + ctlen - 16)) != 1 ||
	    EVP_DecryptFinal_ex(c->gcm, out + n, &m) != 1)
		return -1;
	return 0;
}

uint8_t *
vigil_l7_crypto_scratch(struct vigil_l7_crypto *c, size_t *cap)
{
	*cap = sizeof(c->scratch);
	return c->scratch;
}

void
vigil_l7_hex(char *out, const uint8_t *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}
