/*
 * vigil TLS parser (see vigil_tls.h): ClientHello with JA3/JA4,
 * ServerHello with JA3S, and the subject and issuer of the server's first
 * certificate by a bounded DER walk (no recursion: the walk follows a fixed
 * path into the certificate, each step a bounds-checked TLV read).
 */
#include <stdio.h>
#include <string.h>

#include "vigil_tls.h"

/* A bounds-checked cursor over [p, end). */
struct cur {
	const uint8_t *p, *end;
	bool bad;
};

static uint32_t
cur_left(const struct cur *c)
{
	return (uint32_t)(c->end - c->p);
}

static uint32_t
get(struct cur *c, unsigned n)
{
	uint32_t v = 0;

	if (c->bad || cur_left(c) < n) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | c->p[i];
	c->p += n;
	return v;
}

/* A sub-cursor of n bytes (a length-prefixed vector). */
static struct cur
sub(struct cur *c, uint32_t n)
{
	struct cur s = { c->p, c->p, false };

	if (c->bad || cur_left(c) < n) {
		c->bad = true;
		c->p = c->end;
		s.bad = true;
		return s;
	}
	s.end = c->p + n;
	c->p += n;
	return s;
}

static struct cur
vec(struct cur *c, unsigned lenbytes)
{
	uint32_t n = get(c, lenbytes);
	return sub(c, n);
}

/* Decimal of v into b, returns its length. */
static size_t
dec(char *b, uint32_t v)
{
	char t[10];
	size_t n = 0, k = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n > 0)
		b[k++] = t[--n];
	return k;
}

/* JA3 fields stream into MD5: "a-b-c" of the u16 (or u8) items of a
 * vector, GREASE left out. */
static void
ja3_list(struct vigil_l7_crypto *c, struct cur v, unsigned isz)
{
	bool first = true;

	while (!v.bad && cur_left(&v) >= isz) {
		uint32_t x = get(&v, isz);
		char b[12];
		size_t n = 0;
		if (isz == 2 && vigil_tls_is_grease((uint16_t)x))
			continue;
		if (!first)
			b[n++] = '-';
		n += dec(b + n, x);
		vigil_l7_md5_update(c, b, n);
		first = false;
	}
}

static void
hash_hex(struct vigil_l7_crypto *c, char out[33])
{
	uint8_t d[16];

	vigil_l7_md5_final(c, d);
	vigil_l7_hex(out, d, 16);
}

static void
sort16(uint16_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint16_t v = a[i];
		unsigned j = i;
		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

/* SHA-256 of "xxxx,yyyy,..." (then "_" and the second list when there is
 * one), first 12 hex digits into out. */
static void
ja4_hash(struct vigil_l7_crypto *c, const uint16_t *a, unsigned n,
	 const uint16_t *b, unsigned nb, bool with_b, char out[13])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t d[32];
	char hexd[65];

	vigil_l7_sha256_init(c);
	for (unsigned i = 0; i < n; i++) {
		char t[5] = { hx[a[i] >> 12], hx[(a[i] >> 8) & 15],
			      hx[(a[i] >> 4) & 15], hx[a[i] & 15], ',' };
		vigil_l7_sha256_update(c, t, i + 1 < n ? 5 : 4);
	}
	if (with_b) {
		vigil_l7_sha256_update(c, "_", 1);
		for (unsigned i = 0; i < nb; i++) {
			char t[5] = { hx[b[i] >> 12], hx[(b[i] >> 8) & 15],
				      hx[(b[i] >> 4) & 15], hx[b[i] & 15], ',' };
			vigil_l7_sha256_update(c, t, i + 1 < nb ? 5 : 4);
		}
	}
	vigil_l7_sha256_final(c, d);
	vigil_l7_hex(hexd, d, 32);
	memcpy(out, hexd, 12);
	out[12] = '\0';
}

static const char *
ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

/*
 * Fingerprint memo: JA3 and JA4's two hashes depend only on the version
 * and the lists of a ClientHello (ciphers, extension types, groups, point
 * formats, signature algorithms; greased values left out), and a worker
 * sees the same few client stacks over and over. Those lists, written
 * one after the other with their lengths, are the key of a direct-mapped
 * table in the crypto context's memo area; a hit skips the MD5, the two
 * sorts and the two SHA-256. The whole key is compared, so a hit is the
 * same fingerprint input. A ClientHello whose lists do not fit the key is
 * simply hashed.
 */
#define MEMO_SLOTS 64
#define MEMO_KEY 640

struct memo_ent {
	uint32_t hash;
	uint16_t klen; /* 0: empty */
	char ja3[33];
	char hb[13], hc[13];
	uint8_t key[MEMO_KEY];
};

struct memo {
	uint64_t hits;
	struct memo_ent e[MEMO_SLOTS];
};

_Static_assert(sizeof(struct memo) <= VIGIL_L7_MEMO_BYTES,
	       "the TLS fingerprint memo must fit the crypto context's area");

struct mkey {
	uint32_t n;
	bool over;
	uint8_t b[MEMO_KEY];
};

static void
mk_put(struct mkey *k, const uint8_t *p, uint32_t n)
{
	if (k->over || n > MEMO_KEY - k->n) {
		k->over = true;
		return;
	}
	memcpy(k->b + k->n, p, n);
	k->n += n;
}

static void
mk_u16(struct mkey *k, uint32_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	mk_put(k, b, 2);
}

/* A list of 2-byte values, greased ones left out, after its count. */
static void
mk_list16(struct mkey *k, struct cur v)
{
	uint32_t at = k->n, n = 0;

	mk_u16(k, 0);
	while (cur_left(&v) >= 2) {
		uint32_t x = get(&v, 2);

		if (vigil_tls_is_grease((uint16_t)x))
			continue;
		mk_u16(k, x);
		n++;
	}
	if (!k->over) {
		k->b[at] = (uint8_t)(n >> 8);
		k->b[at + 1] = (uint8_t)n;
	}
}

static uint32_t
mk_hash(const struct mkey *k)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (uint32_t i = 0; i < k->n; i++)
		h = (h ^ k->b[i]) * 16777619u;
	return h;
}

static bool
alnum(uint8_t ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= 'A' && ch <= 'Z');
}

struct vigil_l7_ret
vigil_tls_parse_client_hello(struct vigil_l7_crypto *c, const uint8_t *p,
			     uint32_t len, bool quic,
			     struct vigil_tls_client_hello *out)
{
	uint16_t ciphers[VIGIL_TLS_FP_CIPHERS], exts[VIGIL_TLS_FP_EXTS];
	uint16_t sigs[VIGIL_TLS_FP_EXTS];
	unsigned nc = 0, ne = 0, ns = 0;
	struct cur m, cs, exl, groups = { 0 }, pf = { 0 }, alpn1 = { 0 };
	uint32_t hl;
	bool has_sni = false, has_sig = false;
	uint16_t rv = out->record_version;

	memset(out, 0, sizeof(*out));
	out->record_version = rv;
	if (len < 1)
		return VIGIL_L7_RET_MORE(4);
	if (p[0] != 1)
		return VIGIL_L7_RET_NOT_MINE();
	if (len < 4)
		return VIGIL_L7_RET_MORE(4);
	hl = vigil_l7_be24(p + 1);
	if (hl < 38 || hl > 0x10000)
		return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
	if (len < 4 + hl)
		return VIGIL_L7_RET_MORE(4 + hl);
	m.p = p + 4;
	m.end = p + 4 + hl;
	m.bad = false;

	out->legacy_version = (uint16_t)get(&m, 2);
	out->max_version = out->legacy_version;
	get(&m, 32); /* random */
	if (cur_left(&m) > 0 && m.p[0] > 32) /* session id <= 32 */
		return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
	vec(&m, 1); /* session id */
	cs = vec(&m, 2);
	if (m.bad || cur_left(&cs) % 2 != 0 || cur_left(&cs) == 0)
		return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
	vec(&m, 1); /* compression methods */
	if (m.bad)
		return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
	for (struct cur t = cs; cur_left(&t) >= 2;) {
		uint16_t v = (uint16_t)get(&t, 2);
		if (vigil_tls_is_grease(v))
			continue;
		out->n_ciphers++;
		if (nc < VIGIL_TLS_FP_CIPHERS)
			ciphers[nc++] = v;
		else
			out->fp_trunc = true;
	}

	if (cur_left(&m) > 0) {
		exl = vec(&m, 2);
		if (m.bad)
			return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
	} else {
		exl.p = exl.end = m.p;
		exl.bad = false;
	}
	/* Extensions: first a check pass (types, lengths, the fields we
	 * keep), so the hashes only ever see well-formed vectors. */
	for (struct cur t = exl; cur_left(&t) > 0;) {
		uint16_t type = (uint16_t)get(&t, 2);
		struct cur d = vec(&t, 2);
		if (t.bad)
			return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
		if (vigil_tls_is_grease(type))
			continue;
		out->n_extensions++;
		if (type != 0x0000 && type != 0x0010) {
			if (ne < VIGIL_TLS_FP_EXTS)
				exts[ne++] = type;
			else
				out->fp_trunc = true;
		}
		switch (type) {
		case 0x0000: { /* server_name */
			struct cur l = vec(&d, 2);
			has_sni = true;
			while (!l.bad && cur_left(&l) > 0) {
				uint8_t nt = (uint8_t)get(&l, 1);
				struct cur h = vec(&l, 2);
				if (l.bad)
					break;
				if (nt == 0 && out->server_name.len == 0)
					VIGIL_L7_SET(out->server_name, h.p,
						     cur_left(&h));
			}
			if (d.bad || l.bad)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			break;
		}
		case 0x0010: { /* ALPN */
			struct cur l = vec(&d, 2);
			while (!l.bad && cur_left(&l) > 0) {
				struct cur a = vec(&l, 1);
				if (l.bad)
					break;
				if (out->n_alpn == 0)
					alpn1 = a;
				if (out->n_alpn < VIGIL_TLS_ALPN_MAX) {
					VIGIL_L7_SET(out->alpn[out->n_alpn],
						     a.p, cur_left(&a));
					out->n_alpn++;
				} else {
					out->alpn_trunc = true;
				}
			}
			if (d.bad || l.bad)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			break;
		}
		case 0x000a: /* supported_groups */
			groups = vec(&d, 2);
			if (d.bad || cur_left(&groups) % 2 != 0)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			break;
		case 0x000b: /* ec_point_formats */
			pf = vec(&d, 1);
			if (d.bad)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			break;
		case 0x000d: { /* signature_algorithms */
			struct cur l = vec(&d, 2);
			if (d.bad || cur_left(&l) % 2 != 0)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			has_sig = true;
			while (cur_left(&l) >= 2) {
				uint16_t v = (uint16_t)get(&l, 2);
				if (vigil_tls_is_grease(v))
					continue;
				if (ns < VIGIL_TLS_FP_EXTS)
					sigs[ns++] = v;
				else
					out->fp_trunc = true;
			}
			break;
		}
		case 0x002b: { /* supported_versions */
			struct cur l = vec(&d, 1);
			if (d.bad || cur_left(&l) % 2 != 0)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			out->max_version = 0;
			while (cur_left(&l) >= 2) {
				uint16_t v = (uint16_t)get(&l, 2);
				if (!vigil_tls_is_grease(v) &&
				    v > out->max_version)
					out->max_version = v;
			}
			if (out->max_version == 0)
				out->max_version = out->legacy_version;
			break;
		}
		default:
			break;
		}
	}

	if (c != NULL) {
		char b[8];
		char a[4], hb[13], hc[13];
		unsigned nsni = (unsigned)has_sni;
		struct memo *mo = vigil_l7_crypto_memo(c);
		struct memo_ent *me = NULL;
		struct mkey key;
		uint32_t h = 0;

		/* The memo's key: everything the hashes below read. */
		key.n = 0;
		key.over = out->fp_trunc;
		mk_u16(&key, out->legacy_version);
		mk_list16(&key, cs);
		{
			uint32_t at = key.n, n = 0;

			mk_u16(&key, 0);
			for (struct cur t = exl; cur_left(&t) > 0;) {
				uint16_t type = (uint16_t)get(&t, 2);

				vec(&t, 2);
				if (vigil_tls_is_grease(type))
					continue;
				mk_u16(&key, type);
				n++;
			}
			if (!key.over) {
				key.b[at] = (uint8_t)(n >> 8);
				key.b[at + 1] = (uint8_t)n;
			}
		}
		mk_u16(&key, groups.p != NULL);
		if (groups.p != NULL)
			mk_list16(&key, groups);
		mk_u16(&key, pf.p != NULL ? cur_left(&pf) + 1 : 0);
		if (pf.p != NULL)
			mk_put(&key, pf.p, cur_left(&pf));
		mk_u16(&key, (has_sig ? 0x8000u : 0) | ns);
		for (unsigned i = 0; i < ns; i++)
			mk_u16(&key, sigs[i]);
		if (!key.over) {
			h = mk_hash(&key);
			me = &mo->e[h % MEMO_SLOTS];
			if (me->klen == key.n && me->hash == h &&
			    memcmp(me->key, key.b, key.n) == 0) {
				memcpy(out->ja3, me->ja3, sizeof(out->ja3));
				memcpy(hb, me->hb, sizeof(hb));
				memcpy(hc, me->hc, sizeof(hc));
				mo->hits++;
				goto ja4;
			}
		}

		/* JA3: version,ciphers,extensions,groups,point formats */
		vigil_l7_md5_init(c);
		vigil_l7_md5_update(c, b, dec(b, out->legacy_version));
		vigil_l7_md5_update(c, ",", 1);
		ja3_list(c, cs, 2);
		vigil_l7_md5_update(c, ",", 1);
		{
			bool first = true;
			for (struct cur t = exl; cur_left(&t) > 0;) {
				uint16_t type = (uint16_t)get(&t, 2);
				char e[8];
				size_t n = 0;
				vec(&t, 2);
				if (vigil_tls_is_grease(type))
					continue;
				if (!first)
					e[n++] = '-';
				n += dec(e + n, type);
				vigil_l7_md5_update(c, e, n);
				first = false;
			}
		}
		vigil_l7_md5_update(c, ",", 1);
		if (groups.p != NULL)
			ja3_list(c, groups, 2);
		vigil_l7_md5_update(c, ",", 1);
		if (pf.p != NULL)
			ja3_list(c, pf, 1);
		hash_hex(c, out->ja3);
		sort16(ciphers, nc);
		sort16(exts, ne);
		if (nc == 0)
			memcpy(hb, "000000000000", 13);
		else
			ja4_hash(c, ciphers, nc, NULL, 0, false, hb);
		if (ne == 0)
			memcpy(hc, "000000000000", 13);
		else
			ja4_hash(c, exts, ne, sigs, ns, has_sig && ns > 0, hc);
		if (me != NULL) {
			me->hash = h;
			me->klen = (uint16_t)key.n;
			memcpy(me->key, key.b, key.n);
			memcpy(me->ja3, out->ja3, sizeof(me->ja3));
			memcpy(me->hb, hb, sizeof(hb));
			memcpy(me->hc, hc, sizeof(hc));
		}
ja4:
		/* JA4 */
		(void)nsni;
		if (alpn1.p == NULL || cur_left(&alpn1) == 0) {
			a[0] = a[1] = '0';
		} else {
			uint8_t f = alpn1.p[0], l = alpn1.end[-1];
			if (alnum(f) && alnum(l)) {
				a[0] = (char)f;
				a[1] = (char)l;
			} else {
				static const char hx[] = "0123456789abcdef";
				a[0] = hx[f >> 4];
				a[1] = hx[l & 15];
			}
		}
		a[2] = '\0';
		/* "%c%s%c%02u%02u%s_%s_%s", written by hand (snprintf was a
		 * tenth of the ClientHello's cost) */
		{
			unsigned k = 0, ncs = out->n_ciphers > 99 ? 99u : out->n_ciphers,
				 nex = out->n_extensions > 99 ? 99u : out->n_extensions;
			const char *ver = ja4_version(out->max_version);

			out->ja4[k++] = quic ? 'q' : 't';
			out->ja4[k++] = ver[0];
			out->ja4[k++] = ver[1];
			out->ja4[k++] = has_sni ? 'd' : 'i';
			out->ja4[k++] = (char)('0' + ncs / 10);
			out->ja4[k++] = (char)('0' + ncs % 10);
			out->ja4[k++] = (char)('0' + nex / 10);
			out->ja4[k++] = (char)('0' + nex % 10);
			out->ja4[k++] = a[0];
			out->ja4[k++] = a[1];
			out->ja4[k++] = '_';
			memcpy(out->ja4 + k, hb, 12);
			k += 12;
			out->ja4[k++] = '_';
			memcpy(out->ja4 + k, hc, 12);
			k += 12;
			out->ja4[k] = '\0';
		}
	}
	return VIGIL_L7_RET_DONE(4 + hl);
}

uint64_t
vigil_tls_memo_hits(struct vigil_l7_crypto *c)
{
	return ((const struct memo *)vigil_l7_crypto_memo(c))->hits;
}

bool
vigil_tls_is_handshake_start(const uint8_t *p, uint32_t len, bool from_client)
{
	/* content type 22, version 3.0..3.4 (record versions of real hellos
	 * are 3.1..3.3), then the handshake type */
	if (len < 1 || p[0] != 0x16)
		return false;
	if (len >= 2 && p[1] != 3)
		return false;
	if (len >= 3 && p[2] > 4)
		return false;
	if (len >= 6 && p[5] != (from_client ? 1 : 2))
		return false;
	return len >= 6;
}

/* The record header at p: content type 22 expected. */
static struct vigil_l7_ret
record(const uint8_t *p, uint32_t len, uint32_t *rl)
{
	if (len < 5)
		return VIGIL_L7_RET_MORE(5);
	if (p[1] != 3 || p[2] > 4)
		return VIGIL_L7_RET_NOT_MINE();
	*rl = vigil_l7_be16(p + 3);
	if (*rl == 0 || *rl > 16384 + 2048)
		return VIGIL_L7_RET_BAD(TLS_BAD_RECORD);
	return VIGIL_L7_RET_DONE(5);
}

struct vigil_l7_ret
vigil_tls_parse_client(struct vigil_l7_crypto *c, const uint8_t *p,
		       uint32_t len, struct vigil_tls_client_hello *out)
{
	struct vigil_l7_ret r;
	uint32_t rl = 0, hl;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return VIGIL_L7_RET_MORE(5);
	if (p[0] != 0x16)
		return VIGIL_L7_RET_NOT_MINE();
	r = record(p, len, &rl);
	if (r.rc != VIGIL_L7_DONE)
		return r;
	if (len >= 6 && p[5] != 1)
		return VIGIL_L7_RET_NOT_MINE();
	if (len < 9)
		return VIGIL_L7_RET_MORE(9);
	hl = vigil_l7_be24(p + 6);
	if (hl + 4 > rl) {
		/* Larger than its record: fragmented over records, or the
		 * length is wrong. */
		if (hl > 0x10000)
			return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
		return VIGIL_L7_RET_BAD(TLS_FRAGMENTED_HELLO);
	}
	out->record_version = vigil_l7_be16(p + 1);
	r = vigil_tls_parse_client_hello(c, p + 5, len - 5, false, out);
	if (r.rc == VIGIL_L7_DONE || r.rc == VIGIL_L7_NEED_MORE)
		r.len += 5;
	return r;
}

/* --- ServerHello ---------------------------------------------------- */

static struct vigil_l7_ret
server_hello(struct vigil_l7_crypto *c, struct cur m,
	     struct vigil_tls_server_hello *out)
{
	struct cur exl = { m.p, m.p, false };

	out->legacy_version = (uint16_t)get(&m, 2);
	out->version = out->legacy_version;
	get(&m, 32);
	/* TLS 1.3 drafts before 22 (0x7fxx) have no session id and no
	 * compression method in the ServerHello */
	if ((out->legacy_version >> 8) == 0x7f) {
		out->cipher = (uint16_t)get(&m, 2);
	} else {
		vec(&m, 1);
		out->cipher = (uint16_t)get(&m, 2);
		get(&m, 1);
	}
	if (m.bad)
		return VIGIL_L7_RET_BAD(TLS_BAD_HANDSHAKE);
	if (cur_left(&m) > 0) {
		exl = vec(&m, 2);
		if (m.bad)
			return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
	}
	for (struct cur t = exl; cur_left(&t) > 0;) {
		uint16_t type = (uint16_t)get(&t, 2);
		struct cur d = vec(&t, 2);
		if (t.bad)
			return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
		if (type == 0x002b) {
			uint16_t v = (uint16_t)get(&d, 2);
			if (d.bad)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			out->version = v;
		} else if (type == 0x0010) {
			struct cur l = vec(&d, 2);
			struct cur a = vec(&l, 1);
			if (l.bad || d.bad)
				return VIGIL_L7_RET_BAD(TLS_BAD_EXTENSION);
			VIGIL_L7_SET(out->alpn, a.p, cur_left(&a));
		}
	}
	if (c != NULL) {
		char b[8];
		bool first = true;
		vigil_l7_md5_init(c);
		vigil_l7_md5_update(c, b, dec(b, out->legacy_version));
		vigil_l7_md5_update(c, ",", 1);
		vigil_l7_md5_update(c, b, dec(b, out->cipher));
		vigil_l7_md5_update(c, ",", 1);
		for (struct cur t = exl; cur_left(&t) > 0;) {
			uint16_t type = (uint16_t)get(&t, 2);
			size_t n = 0;
			vec(&t, 2);
			if (vigil_tls_is_grease(type))
				continue;
			if (!first)
				b[n++] = '-';
			n += dec(b + n, type);
			vigil_l7_md5_update(c, b, n);
			first = false;
		}
		hash_hex(c, out->ja3s);
	}
	out->has_server_hello = true;
	return VIGIL_L7_RET_DONE(0);
}

/* --- Certificate: subject and issuer ------------------------------------ */

/* One DER TLV at c: tag and a sub-cursor over its value. Definite lengths
 * only (DER), at most 4 length bytes. */
static struct cur
tlv(struct cur *c, uint8_t *tag)
{
	uint32_t l, nb;

	*tag = (uint8_t)get(c, 1);
	l = get(c, 1);
	if (l & 0x80) {
		nb = l & 0x7f;
		if (nb == 0 || nb > 4) {
			c->bad = true;
			nb = 0;
		}
		l = get(c, nb);
	}
	return sub(c, l);
}

static const struct {
	uint8_t len;
	uint8_t oid[10];
	const char *name;
} attrs[] = {
	{ 3, { 0x55, 0x04, 0x03 }, "CN" },
	{ 3, { 0x55, 0x04, 0x06 }, "C" },
	{ 3, { 0x55, 0x04, 0x07 }, "L" },
	{ 3, { 0x55, 0x04, 0x08 }, "ST" },
	{ 3, { 0x55, 0x04, 0x0a }, "O" },
	{ 3, { 0x55, 0x04, 0x0b }, "OU" },
	{ 3, { 0x55, 0x04, 0x09 }, "street" },
	{ 3, { 0x55, 0x04, 0x05 }, "serialNumber" },
	{ 3, { 0x55, 0x04, 0x0f }, "businessCategory" },
	{ 3, { 0x55, 0x04, 0x11 }, "postalCode" },
	{ 3, { 0x55, 0x04, 0x2a }, "GN" },
	{ 3, { 0x55, 0x04, 0x04 }, "SN" },
	{ 3, { 0x55, 0x04, 0x0c }, "title" },
	{ 3, { 0x55, 0x04, 0x61 }, "organizationIdentifier" },
	{ 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 },
	  "emailAddress" },
	{ 10, { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19 },
	  "DC" },
	{ 10, { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01 },
	  "UID" },
	{ 11, { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01 },
	  "jurisdictionC" },
};

struct sbuf {
	char *s;
	size_t cap, n;
	bool trunc;
};

static void
put(struct sbuf *b, const void *p, size_t n)
{
	const char *q = p;

	for (size_t i = 0; i < n; i++) {
		if (b->n < b->cap)
			b->s[b->n++] = q[i];
		else
			b->trunc = true;
	}
}

/* The dotted form of an OID we do not name. */
static void
put_oid(struct sbuf *b, struct cur o)
{
	uint32_t v = 0;
	bool first = true;
	char t[12];

	while (cur_left(&o) > 0) {
		uint8_t x = (uint8_t)get(&o, 1);
		if (v > (UINT32_MAX >> 7))
			return;
		v = (v << 7) | (x & 0x7f);
		if (x & 0x80)
			continue;
		if (first) {
			uint32_t a = v < 40 ? 0 : v < 80 ? 1 : 2;
			put(b, t, dec(t, a));
			put(b, ".", 1);
			put(b, t, dec(t, v - 40 * a));
			first = false;
		} else {
			put(b, ".", 1);
			put(b, t, dec(t, v));
		}
		v = 0;
	}
}

#define NAME_RDNS_MAX 32

/* Name ::= SEQUENCE OF RelativeDistinguishedName, rendered as RFC 2253
 * (last RDN first, ',' between RDNs, '+' inside one, ",+\"\\<>;" escaped
 * with '\'), the way Zeek writes subject and issuer. */
static bool
render_name(struct cur name, char *s, size_t cap, uint16_t *len, bool *trunc)
{
	struct cur rdns[NAME_RDNS_MAX];
	unsigned n = 0;
	struct sbuf b = { s, cap, 0, false };

	while (cur_left(&name) > 0) {
		uint8_t tag;
		struct cur set = tlv(&name, &tag);
		if (name.bad || tag != 0x31)
			return false;
		if (n == NAME_RDNS_MAX) {
			b.trunc = true;
			break;
		}
		rdns[n++] = set;
	}
	while (n > 0) {
		struct cur set = rdns[--n];
		bool first = true;
		while (cur_left(&set) > 0) {
			uint8_t tag;
			struct cur atv = tlv(&set, &tag), oid, val;
			size_t k;
			if (set.bad || tag != 0x30)
				return false;
			oid = tlv(&atv, &tag);
			if (atv.bad || tag != 0x06)
				return false;
			val = tlv(&atv, &tag);
			if (atv.bad)
				return false;
			if (!first)
				put(&b, "+", 1);
			first = false;
			for (k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++)
				if (attrs[k].len == cur_left(&oid) &&
				    memcmp(attrs[k].oid, oid.p, attrs[k].len) == 0)
					break;
			if (k < sizeof(attrs) / sizeof(attrs[0]))
				put(&b, attrs[k].name, strlen(attrs[k].name));
			else
				put_oid(&b, oid);
			put(&b, "=", 1);
			for (const uint8_t *q = val.p; q < val.end; q++) {
				if (strchr(",+\"\\<>;", *q) != NULL && *q != 0)
					put(&b, "\\", 1);
				put(&b, q, 1);
			}
		}
		if (n > 0)
			put(&b, ",", 1);
	}
	*len = (uint16_t)b.n;
	*trunc = b.trunc;
	return true;
}

/* Certificate handshake body: certificate_list<0..2^24-1>, first entry. */
static bool
certificate(struct cur m, struct vigil_tls_server_hello *out)
{
	struct cur crt, tbs, skip;
	uint32_t l;
	uint8_t tag;

	/* certificate_list length, then the first entry's length: m may be
	 * clipped to what the buffer holds (a long record still arriving);
	 * the walk below stops cleanly when the names are beyond it. */
	get(&m, 3);
	l = get(&m, 3);
	if (m.bad)
		return false;
	crt.p = m.p;
	crt.end = m.p + (l < cur_left(&m) ? l : cur_left(&m));
	crt.bad = false;
	/* Certificate ::= SEQUENCE { tbsCertificate, ... }: the outer lengths
	 * may run past a clipped buffer, so read them leniently. */
	if (get(&crt, 1) != 0x30)
		return false;
	l = get(&crt, 1);
	if (l & 0x80)
		get(&crt, l & 0x7f);
	tbs = crt;
	if (get(&tbs, 1) != 0x30)
		return false;
	l = get(&tbs, 1);
	if (l & 0x80)
		get(&tbs, l & 0x7f);
	if (tbs.bad)
		return false;
	/* [0] version (optional), serial, signature algorithm */
	if (cur_left(&tbs) > 0 && tbs.p[0] == 0xa0)
		tlv(&tbs, &tag);
	tlv(&tbs, &tag); /* serialNumber */
	tlv(&tbs, &tag); /* signature */
	skip = tlv(&tbs, &tag); /* issuer */
	if (tbs.bad || tag != 0x30 ||
	    !render_name(skip, out->issuer.s, sizeof(out->issuer.s),
			 &out->issuer.len, &out->issuer.trunc))
		return false;
	tlv(&tbs, &tag); /* validity */
	skip = tlv(&tbs, &tag); /* subject */
	if (tbs.bad || tag != 0x30 ||
	    !render_name(skip, out->subject.s, sizeof(out->subject.s),
			 &out->subject.len, &out->subject.trunc)) {
		out->issuer.len = out->subject.len = 0; /* both or none */
		return false;
	}
	out->has_cert = true;
	return true;
}

/* DONE through the end of the last record walked (a record still arriving
 * ends at the end of the buffer). */
static struct vigil_l7_ret
done_at(uint32_t off, uint32_t len)
{
	return VIGIL_L7_RET_DONE(off < len ? off : len);
}

struct vigil_l7_ret
vigil_tls_parse_server(struct vigil_l7_crypto *c, const uint8_t *p,
		       uint32_t len, struct vigil_tls_server_hello *out)
{
	uint32_t off = 0;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return VIGIL_L7_RET_MORE(5);
	if (p[0] != 0x16 && p[0] != 0x15 && p[0] != 0x14)
		return VIGIL_L7_RET_NOT_MINE();
	/* Records in turn; a bounded number (a server's clear-text flight
	 * is a handful of records). Before the ServerHello, an alert (a
	 * warning unrecognized_name) or a change_cipher_spec record is
	 * passed over. */
	for (unsigned nrec = 0; nrec < 16; nrec++) {
		struct vigil_l7_ret r;
		uint32_t rl = 0, ho, end;
		uint8_t type;
		bool clipped;

		if (off >= len && out->has_server_hello &&
		    out->version == 0x0304)
			return done_at(off, len);
		if (len - off < 1)
			return VIGIL_L7_RET_MORE(off + 5);
		type = p[off];
		if (out->has_server_hello &&
		    (type == 0x14 || type == 0x15 || type == 0x17))
			return done_at(off, len);
		if (!out->has_server_hello && (type == 0x14 || type == 0x15)) {
			r = record(p + off, len - off, &rl);
			if (r.rc == VIGIL_L7_NEED_MORE)
				return VIGIL_L7_RET_MORE(off + 5);
			if (r.rc == VIGIL_L7_NOT_MINE)
				return off == 0 ? VIGIL_L7_RET_NOT_MINE()
						: VIGIL_L7_RET_BAD(
							  TLS_BAD_RECORD);
			if (r.rc != VIGIL_L7_DONE)
				return r;
			if (len - off - 5 < rl)
				return VIGIL_L7_RET_MORE(off + 5 + rl);
			off += 5 + rl;
			continue;
		}
		if (type != 0x16)
			return off == 0 ? VIGIL_L7_RET_NOT_MINE()
					: VIGIL_L7_RET_BAD(TLS_BAD_RECORD);
		r = record(p + off, len - off, &rl);
		if (r.rc == VIGIL_L7_NEED_MORE)
			return VIGIL_L7_RET_MORE(off + 5);
		if (r.rc == VIGIL_L7_NOT_MINE && off > 0)
			return VIGIL_L7_RET_BAD(TLS_BAD_RECORD);
		if (r.rc != VIGIL_L7_DONE)
			return r;
		if (!out->has_server_hello)
			out->record_version = vigil_l7_be16(p + off + 1);
		/* Handshake messages inside this record. A record still
		 * arriving is walked as far as it goes: a long Certificate
		 * record shows the first certificate's names early. */
		ho = off + 5;
		clipped = len - off - 5 < rl;
		end = clipped ? len : off + 5 + rl;
		off += 5 + rl;
		while (ho + 4 <= end) {
			uint8_t ht = p[ho];
			uint32_t hl = vigil_l7_be24(p + ho + 1);
			bool whole = hl <= end - ho - 4;
			struct cur m = { p + ho + 4, whole ? p + ho + 4 + hl
							   : p + end,
					 false };
			if (!out->has_server_hello) {
				if (ht != 2)
					return VIGIL_L7_RET_NOT_MINE();
				if (!whole) {
					if (clipped || hl > 0x10000)
						break;
					return VIGIL_L7_RET_BAD(
						TLS_BAD_HANDSHAKE);
				}
				r = server_hello(c, m, out);
				if (r.rc != VIGIL_L7_DONE)
					return r;
				if (out->version == 0x0304 ||
				    (out->version >= 0x7f00 &&
				     out->version <= 0x7fff))
					return done_at(off, len);
			} else if (ht == 11) {
				if (certificate(m, out) || !clipped)
					return done_at(off, len);
				break;
			} else if (ht == 14) {
				return done_at(off, len);
			}
			if (!whole)
				break; /* continues in the next record */
			ho += 4 + hl;
		}
		if (clipped)
			return VIGIL_L7_RET_MORE(off);
	}
	return done_at(off, len);
}

const char *
vigil_tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0002: return "SSLv2";
	case 0x0300: return "SSLv3";
	case 0x0301: return "TLSv10";
	case 0x0302: return "TLSv11";
	case 0x0303: return "TLSv12";
	case 0x0304: return "TLSv13";
	case 0xfeff: return "DTLSv10";
	case 0xfefd: return "DTLSv12";
	case 0xfefc: return "DTLSv13";
	default: return NULL;
	}
}

const char *
vigil_tls_cipher_name(uint16_t cipher)
{
	static const struct {
		uint16_t v;
		const char *n;
	} t[] = {
		{ 0x0004, "TLS_RSA_WITH_RC4_128_MD5" },
		{ 0x0005, "TLS_RSA_WITH_RC4_128_SHA" },
		{ 0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
		{ 0x002f, "TLS_RSA_WITH_AES_128_CBC_SHA" },
		{ 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
		{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
		{ 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
		{ 0x003c, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0x003d, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
		{ 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0x006b, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
		{ 0x009c, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0x009d, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0x009e, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0x009f, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" },
		{ 0x1301, "TLS_AES_128_GCM_SHA256" },
		{ 0x1302, "TLS_AES_256_GCM_SHA384" },
		{ 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
		{ 0x1304, "TLS_AES_128_CCM_SHA256" },
		{ 0x1305, "TLS_AES_128_CCM_8_SHA256" },
		{ 0x5600, "TLS_FALLBACK_SCSV" },
		{ 0xc009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
		{ 0xc00a, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
		{ 0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA" },
		{ 0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
		{ 0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
		{ 0xc014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
		{ 0xc023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
		{ 0xc024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
		{ 0xc027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0xc028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
		{ 0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
		{ 0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
		{ 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0xccaa, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].v == cipher)
			return t[i].n;
	return NULL;
}
