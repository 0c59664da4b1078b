/*
 * vigil QUIC Initial parser (see vigil_quic.h). Key schedule, header
 * protection and AEAD from RFC 9001 section 5; the decrypted payload goes
 * to the crypto context's scratch buffer, never beyond it.
 */
#include <string.h>

#include "vigil_quic.h"

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu
#define QUIC_D29 0xff00001du

static const uint8_t salt_v1[20] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};
static const uint8_t salt_v2[20] = {
	0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
	0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
};
static const uint8_t salt_d29[20] = {
	0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
};

/* Salts of the drafts before RFC 9001 (drafts 33 and 34 use v1's). */
static const uint8_t salt_d22[20] = {
	0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
	0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a,
};
static const uint8_t salt_d23[20] = {
	0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
	0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
};

/* The IETF draft whose Initial a version follows: 0xff0000NN is draft NN;
 * Facebook's mvfst versions follow drafts 22 and 27. 0: none. */
static unsigned
draft_of(uint32_t v)
{
	if ((v >> 8) == 0xff0000u)
		return v & 0xffu;
	if (v == 0xfaceb001u)
		return 22;
	if (v == 0xfaceb002u || v == 0xfaceb00eu)
		return 27;
	return 0;
}

/* The Initial salt of a version; NULL when vigil cannot open its
 * Initials (drafts before 22 changed more than the salt; gQUIC). */
static const uint8_t *
salt_of(uint32_t v)
{
	unsigned d;

	if (v == QUIC_V1)
		return salt_v1;
	if (v == QUIC_V2)
		return salt_v2;
	d = draft_of(v);
	if (d == 22)
		return salt_d22;
	if (d >= 23 && d <= 28)
		return salt_d23;
	if (d >= 29 && d <= 32)
		return salt_d29;
	if (d == 33 || d == 34)
		return salt_v1;
	return NULL;
}

static bool
known(uint32_t v)
{
	return salt_of(v) != NULL;
}

bool
vigil_quic_is_long_header(const uint8_t *p, uint32_t len)
{
	if (len < 6 || (p[0] & 0xc0) != 0xc0)
		return false;
	return known(vigil_l7_be32(p + 1)) && p[5] <= 20;
}

bool
vigil_quic_is_any_long_header(const uint8_t *p, uint32_t len)
{
	uint32_t v, off = 5;

	if (len < 7 || !(p[0] & 0x80))
		return false;
	v = vigil_l7_be32(p + 1);
	if (known(v))
		return vigil_quic_is_long_header(p, len);
	if (v == 0) {
		/* Version negotiation (RFC 8999 6): the two connection IDs
		 * (up to 255 bytes each in the invariants), then a
		 * non-empty list of 4-byte versions. */
		for (int i = 0; i < 2; i++) {
			if (off >= len || len - off - 1 < p[off])
				return false;
			off += 1u + p[off];
		}
		return off < len && (len - off) % 4 == 0;
	}
	/* Another version: a client's first datagram is padded to 1200
	 * bytes (RFC 9000 14.1); connection IDs as long as v1 allows. */
	if (len < 1200 || p[5] > 20 || p[6 + p[5]] > 20)
		return false;
	return true;
}

const char *
vigil_quic_version_name(uint32_t v)
{
	static const char *const drafts[] = {
		"draft-22", "draft-23", "draft-24", "draft-25",
		"draft-26", "draft-27", "draft-28", "draft-29",
		"draft-30", "draft-31", "draft-32", "draft-33",
		"draft-34",
	};

	switch (v) {
	case QUIC_V1: return "1";
	case QUIC_V2: return "quicv2";
	case 0xfaceb001u: return "mvfst (faceb001)";
	case 0xfaceb002u: return "mvfst (faceb002)";
	case 0xfaceb00eu: return "mvfst (faceb00e)";
	default: break;
	}
	if ((v >> 8) == 0xff0000u && (v & 0xffu) >= 22 && (v & 0xffu) <= 34)
		return drafts[(v & 0xffu) - 22];
	return NULL;
}

/* A variable-length integer (RFC 9000 16) at p[*off], within len. */
static bool
varint(const uint8_t *p, uint32_t len, uint32_t *off, uint64_t *v)
{
	uint32_t n;

	if (*off >= len)
		return false;
	n = 1u << (p[*off] >> 6);
	if (len - *off < n)
		return false;
	*v = p[*off] & 0x3f;
	for (uint32_t i = 1; i < n; i++)
		*v = (*v << 8) | p[*off + i];
	*off += n;
	return true;
}

static uint32_t
contiguous(const struct vigil_quic_crypto_buf *cb)
{
	uint32_t n = 0;

	for (unsigned w = 0; w < VIGIL_QUIC_CRYPTO_MAX / 64; w++) {
		uint64_t x = cb->seen[w];
		if (x == UINT64_MAX) {
			n += 64;
			continue;
		}
		return n + (uint32_t)__builtin_ctzll(~x);
	}
	return n;
}

static void
mark(struct vigil_quic_crypto_buf *cb, uint32_t off, uint32_t n)
{
	for (uint32_t i = off; i < off + n; i++)
		cb->seen[i / 64] |= 1ull << (i % 64);
}

/* The frames of a decrypted Initial payload: CRYPTO data into cb. */
static enum vigil_l7_why
frames(const uint8_t *f, uint32_t n, struct vigil_quic_crypto_buf *cb)
{
	uint32_t off = 0;

	while (off < n) {
		uint64_t type, a, b, cnt;
		if (!varint(f, n, &off, &type))
			return VIGIL_L7_WHY_QUIC_BAD_FRAME;
		switch (type) {
		case 0x00: /* PADDING */
		case 0x01: /* PING */
			break;
		case 0x02: /* ACK */
		case 0x03: /* ACK with ECN counts */
			if (!varint(f, n, &off, &a) || !varint(f, n, &off, &a) ||
			    !varint(f, n, &off, &cnt) || !varint(f, n, &off, &a))
				return VIGIL_L7_WHY_QUIC_BAD_FRAME;
			if (cnt > n)
				return VIGIL_L7_WHY_QUIC_BAD_FRAME;
			for (uint64_t i = 0; i < cnt; i++)
				if (!varint(f, n, &off, &a) ||
				    !varint(f, n, &off, &a))
					return VIGIL_L7_WHY_QUIC_BAD_FRAME;
			if (type == 0x03)
				for (int i = 0; i < 3; i++)
					if (!varint(f, n, &off, &a))
						return VIGIL_L7_WHY_QUIC_BAD_FRAME;
			break;
		case 0x06: /* CRYPTO */
			if (!varint(f, n, &off, &a) || !varint(f, n, &off, &b) ||
			    b > n - off)
				return VIGIL_L7_WHY_QUIC_BAD_FRAME;
			if (a >= VIGIL_QUIC_CRYPTO_MAX) {
				off += (uint32_t)b;
				break; /* beyond what a ClientHello takes */
			}
			{
				uint32_t k = (uint32_t)b;
				if (a + k > VIGIL_QUIC_CRYPTO_MAX)
					k = VIGIL_QUIC_CRYPTO_MAX - (uint32_t)a;
				memcpy(cb->data + a, f + off, k);
				mark(cb, (uint32_t)a, k);
			}
			off += (uint32_t)b;
			break;
		case 0x1c: /* CONNECTION_CLOSE */
			return VIGIL_L7_WHY_NONE;
		default:
			return VIGIL_L7_WHY_QUIC_BAD_FRAME;
		}
	}
	return VIGIL_L7_WHY_NONE;
}

/* A version reserved to force a version negotiation (RFC 9000 15:
 * 0x?a?a?a?a). The clients of the interop runner's "V" test protect that
 * Initial with draft-29's salt and labels; Wireshark and nDPI read it so
 * (nDPI's quic.c and Wireshark's packet-quic.c map 0x?a?a?a?a to
 * draft-29). */
static bool
greased(uint32_t v)
{
	return (v & 0x0f0f0f0fu) == 0x0a0a0a0au;
}

static struct vigil_l7_ret
initial(struct vigil_l7_crypto *c, const uint8_t *p, uint32_t len,
	struct vigil_quic_crypto_buf *cb, struct vigil_quic_initial *out);

struct vigil_l7_ret
vigil_quic_parse_initial(struct vigil_l7_crypto *c, const uint8_t *p,
			 uint32_t len, struct vigil_quic_crypto_buf *cb,
			 struct vigil_quic_initial *out)
{
	struct vigil_l7_ret r;

	memset(out, 0, sizeof(*out));
	if (vigil_quic_is_long_header(p, len))
		return initial(c, p, len, cb, out);
	/* A version negotiation, or an Initial of a version not known
	 * here (a client greasing the version to provoke the negotiation):
	 * the client's next Initial may be one of a known version. */
	if (!vigil_quic_is_any_long_header(p, len))
		return VIGIL_L7_RET_NOT_MINE();
	out->version = vigil_l7_be32(p + 1);
	if (!greased(out->version) || (p[0] & 0xc0) != 0xc0 ||
	    ((p[0] >> 4) & 3) != 0)
		return VIGIL_L7_RET_MORE(0);
	/* A greased Initial: tried with draft-29's keys; what they do not
	 * open is left for the next Initial. */
	r = initial(c, p, len, cb, out);
	out->version = vigil_l7_be32(p + 1);
	if (r.rc == VIGIL_L7_MALFORMED &&
	    (r.why == VIGIL_L7_WHY_QUIC_BAD_HEADER ||
	     r.why == VIGIL_L7_WHY_QUIC_DECRYPT)) {
		out->has_client_hello = false;
		return VIGIL_L7_RET_MORE(0);
	}
	return r;
}

static struct vigil_l7_ret
initial(struct vigil_l7_crypto *c, const uint8_t *p, uint32_t len,
	struct vigil_quic_crypto_buf *cb, struct vigil_quic_initial *out)
{
	uint8_t secret[32], csecret[32], key[16], iv[12], hp[16], mask[16];
	uint8_t hdr[512], *plain;
	const uint8_t *salt;
	const char *lk, *li, *lh;
	uint32_t off, pn_off, pn_len, pn = 0, have;
	uint64_t tok, plen;
	uint8_t type, cl;
	enum vigil_l7_why w;
	size_t cap;

	out->version = greased(vigil_l7_be32(p + 1)) ? QUIC_D29
						      : vigil_l7_be32(p + 1);
	type = (p[0] >> 4) & 3;
	/* Initial: type 0 in v1 and drafts, 1 in v2 */
	if (type != (out->version == QUIC_V2 ? 1 : 0))
		return VIGIL_L7_RET_NOT_MINE();
	off = 5;
	cl = p[off++];
	if (cl > 20 || len - off < cl + 1u)
		return VIGIL_L7_RET_BAD(QUIC_BAD_HEADER);
	out->dcid_len = cl;
	memcpy(out->dcid, p + off, cl);
	off += cl;
	cl = p[off++];
	if (cl > 20 || len - off < cl)
		return VIGIL_L7_RET_BAD(QUIC_BAD_HEADER);
	out->scid_len = cl;
	memcpy(out->scid, p + off, cl);
	off += cl;
	if (!varint(p, len, &off, &tok) || tok > len - off)
		return VIGIL_L7_RET_BAD(QUIC_BAD_HEADER);
	off += (uint32_t)tok;
	if (!varint(p, len, &off, &plen) || plen > len - off || plen < 20)
		return VIGIL_L7_RET_BAD(QUIC_BAD_HEADER);
	pn_off = off;
	if (c == NULL)
		return VIGIL_L7_RET_BAD(CRYPTO);
	if (plen - 4 - 16 > VIGIL_QUIC_PACKET_MAX || pn_off + 4 > sizeof(hdr))
		return VIGIL_L7_RET_BAD(QUIC_BAD_HEADER);

	salt = salt_of(out->version);
	if (salt == NULL) /* the callers only come here with one */
		return VIGIL_L7_RET_NOT_MINE();
	if (out->version == QUIC_V2) {
		lk = "quicv2 key";
		li = "quicv2 iv";
		lh = "quicv2 hp";
	} else {
		lk = "quic key";
		li = "quic iv";
		lh = "quic hp";
	}
	vigil_l7_hkdf_extract(salt, 20, out->dcid, out->dcid_len, secret);
	if (vigil_l7_hkdf_expand_label(secret, "client in", csecret, 32) ||
	    vigil_l7_hkdf_expand_label(csecret, lk, key, 16) ||
	    vigil_l7_hkdf_expand_label(csecret, li, iv, 12) ||
	    vigil_l7_hkdf_expand_label(csecret, lh, hp, 16))
		return VIGIL_L7_RET_BAD(CRYPTO);

	/* Header protection: the sample starts 4 bytes after the packet
	 * number's start (plen >= 20 keeps it inside the packet). */
	if (vigil_l7_aes128_ecb(c, hp, p + pn_off + 4, mask) != 0)
		return VIGIL_L7_RET_BAD(CRYPTO);
	memcpy(hdr, p, pn_off);
	hdr[0] = (uint8_t)(p[0] ^ (mask[0] & 0x0f));
	pn_len = (hdr[0] & 3u) + 1;
	for (uint32_t i = 0; i < pn_len; i++) {
		hdr[pn_off + i] = (uint8_t)(p[pn_off + i] ^ mask[1 + i]);
		pn = (pn << 8) | hdr[pn_off + i];
	}
	out->packet_number = pn;
	for (uint32_t i = 0; i < pn_len; i++)
		iv[12 - pn_len + i] ^= hdr[pn_off + i];

	plain = vigil_l7_crypto_scratch(c, &cap);
	if (plen - pn_len - 16 > cap)
		return VIGIL_L7_RET_BAD(QUIC_BAD_HEADER);
	if (vigil_l7_aes128_gcm_open(c, key, iv, hdr, pn_off + pn_len,
				     p + pn_off + pn_len, plen - pn_len,
				     plain) != 0)
		return VIGIL_L7_RET_BAD(QUIC_DECRYPT);
	cb->packets++;
	w = frames(plain, (uint32_t)(plen - pn_len - 16), cb);
	if (w != VIGIL_L7_WHY_NONE)
		return vigil_l7_ret(VIGIL_L7_MALFORMED, w, 0);

	have = contiguous(cb);
	if (have >= 4) {
		uint32_t need = 4 + vigil_l7_be24(cb->data + 1);
		struct vigil_l7_ret r;
		if (cb->data[0] != 1)
			return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
		if (need > VIGIL_QUIC_CRYPTO_MAX)
			return VIGIL_L7_RET_BAD(QUIC_CRYPTO_OVERFLOW);
		if (have >= need) {
			out->ch.record_version = 0;
			r = vigil_tls_parse_client_hello(c, cb->data, need, true,
							 &out->ch);
			if (r.rc != VIGIL_L7_DONE)
				return r.rc == VIGIL_L7_NEED_MORE
					       ? VIGIL_L7_RET_BAD(
							 TLS_BAD_HANDSHAKE)
					       : r;
			out->has_client_hello = true;
			return VIGIL_L7_RET_DONE(pn_off + (uint32_t)plen);
		}
	}
	return VIGIL_L7_RET_MORE(0);
}
