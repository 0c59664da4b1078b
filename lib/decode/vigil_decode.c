/*
 * vigil decode: see vigil_decode.h.
 *
 * The parse is a descent through the layers, one function per header,
 * each given a pointer, the bytes captured from there (`avail`) and the
 * bytes the enclosing headers say the layer spans (`len`; at the top, the
 * frame length on the wire). Every read is preceded by a check against
 * `avail`; a header that contradicts `len` is malformed (its own counter),
 * one that runs past `avail` only is truncated (drop_truncated).
 *
 * Nothing allocates and every loop has a fixed bound: VLAN tags, MPLS
 * labels, IPv6 extension headers, option lists (bounded by their header
 * length), and tunnels (VIGIL_MAX_TUNNEL_DEPTH; an MPLS pseudowire counts
 * as one level too), which also bounds the recursion.
 *
 * The state of the descent (VLAN, VNI, tunnel, pending fragment-table
 * inserts) is in a `struct dctx` on the caller's stack; the key is written
 * once, at the layer that keys the flow, by canonicalize().
 *
 * Speed: the common frame (Ethernet, up to two tags, IPv4, a transport
 * header, no tunnel) is decoded by one function: the bodies on that path
 * are always inlined into the entry point (ethertype_body, ipv4_body,
 * decode_ip_payload, decode_l4, canonicalize), and the rest (tunnels,
 * fragments, other link types, inner frames) sits behind noinline
 * wrappers. Built naively (a call per layer, the CRC through its runtime
 * dispatch) the same code ran at half the speed of the Ethernet-only
 * decoder before it; this way it costs a few nanoseconds more per packet
 * (the tunnel port test, the TCP fields, zeroing the tunnel record).
 */
#include "vigil_decode.h"

#include <arpa/inet.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#include "vigil_frag.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_RARP 0x8035
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_MPLS_MC 0x8848
#define ETHERTYPE_TEB 0x6558	 /* transparent Ethernet bridging */
#define ETHERTYPE_ERSPAN2 0x88be /* ERSPAN type I and II */
#define ETHERTYPE_ERSPAN3 0x22eb
#define ETHERTYPE_PPPOE_SESS 0x8864 /* PPPoE session stage (RFC 2516) */
#define ETHERTYPE_VNTAG 0x8926	    /* Cisco VN-Tag */
#define ETHERTYPE_FABRICPATH 0x8903 /* Cisco FabricPath (DCE) */
#define ETHERTYPE_ETAG 0x893f	    /* IEEE 802.1BR E-Tag */
#define ETHERTYPE_NSH 0x894f	    /* Network Service Header (RFC 8300) */
#define MAX_L2_TAGS 6 /* VLAN, E-Tag and VN-Tag headers in one frame */
#define MAX_MPLS_LABELS 8
#define MAX_IPV6_EXT 8

#define IPPROTO_V6_HOPOPTS 0
#define IPPROTO_V4_ICMP 1
#define IPPROTO_V4_IPIP 4
#define IPPROTO_V4_TCP 6
#define IPPROTO_V4_UDP 17
#define IPPROTO_V6_IPV6 41
#define IPPROTO_V6_ROUTING 43
#define IPPROTO_V6_FRAGMENT 44
#define IPPROTO_V4_GRE 47
#define IPPROTO_V6_AH 51
#define IPPROTO_V6_ICMP 58
#define IPPROTO_V6_DSTOPTS 60
#define IPPROTO_V4_SCTP 132

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_VER 0x0007

/* First fragments seen on the way down, inserted in the fragment table
 * once the packet is keyed. One per IP layer at most. */
#define MAX_PENDING (VIGIL_MAX_TUNNEL_DEPTH + 2)

struct pending {
	struct vigil_frag_id fid;
	uint32_t ipay;	/* IP payload bytes in this fragment */
	uint8_t ntun;	/* tunnels entered above this layer */
};

struct dctx {
	const struct vigil_decoder *d;
	struct vigil_frag_table *ft;
	const uint8_t *frame; /* the frame start, for payload offsets */
	uint64_t now_us;
	struct vigil_pkt_meta *m;
	uint32_t vni;	  /* id of the innermost tunnel that has one */
	uint16_t vlan;	  /* first tag of the last Ethernet header */
	uint8_t l2tags;	  /* VLAN, E-Tag, VN-Tag headers of that header */
	bool vlan_seen;	  /* its first VLAN tag was read */
	uint8_t tun_type; /* outermost tunnel */
	uint8_t depth;	  /* tunnel levels entered (pseudowires included) */
	uint8_t ntun;	  /* tunnels entered */
	uint8_t npend;
	struct pending pend[MAX_PENDING];
};

static int decode_eth(struct dctx *c, const uint8_t *p, uint32_t avail,
		      uint32_t len);
static int decode_ethertype(struct dctx *c, uint16_t type, const uint8_t *p,
			    uint32_t avail, uint32_t len);
static int decode_ipv4(struct dctx *c, const uint8_t *p, uint32_t avail,
		       uint32_t len);
static int decode_ipv6(struct dctx *c, const uint8_t *p, uint32_t avail,
		       uint32_t len);
static int decode_mpls(struct dctx *c, const uint8_t *p, uint32_t avail,
		       uint32_t len);
static int decode_nsh(struct dctx *c, const uint8_t *p, uint32_t avail,
		      uint32_t len);

static __rte_always_inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static __rte_always_inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rte_be_to_cpu_32(v);
}

static __rte_always_inline uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return rte_be_to_cpu_64(v);
}

static __rte_always_inline uint32_t
min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void
vigil_decoder_defaults(struct vigil_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->vxlan_ports[0] = 4789;
	d->vxlan_ports[1] = 8472;
	d->n_vxlan = 2;
	d->geneve_port = 6081;
	d->decap = true;
}

const char *
vigil_tunnel_name(uint8_t type)
{
	switch (type) {
	case VIGIL_TUN_NONE: return "";
	case VIGIL_TUN_VXLAN: return "vxlan";
	case VIGIL_TUN_GENEVE: return "geneve";
	case VIGIL_TUN_GRE: return "gre";
	case VIGIL_TUN_ERSPAN2: return "erspan2";
	case VIGIL_TUN_ERSPAN3: return "erspan3";
	case VIGIL_TUN_IPIP: return "ipip";
	default: return "unknown";
	}
}

bool
vigil_linktype_supported(int linktype)
{
	switch (linktype) {
	case VIGIL_DLT_NULL:
	case VIGIL_DLT_EN10MB:
	case VIGIL_DLT_RAW_12:
	case VIGIL_DLT_RAW_14:
	case VIGIL_DLT_RAW:
	case VIGIL_DLT_LOOP:
	case VIGIL_DLT_LINUX_SLL:
	case VIGIL_DLT_IPV4:
	case VIGIL_DLT_IPV6:
	case VIGIL_DLT_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

int
vigil_icmp_counterpart(uint8_t family, uint8_t type)
{
	if (family == VIGIL_AF_INET) {
		switch (type) {
		case 8: return 0;   /* echo */
		case 0: return 8;
		case 13: return 14; /* timestamp */
		case 14: return 13;
		case 15: return 16; /* information */
		case 16: return 15;
		case 10: return 9;  /* router solicitation / advertisement */
		case 9: return 10;
		case 17: return 18; /* address mask */
		case 18: return 17;
		default: return -1;
		}
	}
	switch (type) {
	case 128: return 129; /* echo */
	case 129: return 128;
	case 130: return 131; /* multicast listener query / report */
	case 131: return 130;
	case 133: return 134; /* router solicitation / advertisement */
	case 134: return 133;
	case 135: return 136; /* neighbor solicitation / advertisement */
	case 136: return 135;
	case 139: return 140; /* node information */
	case 140: return 139;
	case 144: return 145; /* home agent address discovery */
	case 145: return 144;
	default: return -1;
	}
}

/* ---- options ------------------------------------------------------------ */

/*
 * An IPv4 or TCP option list of `n` bytes (all captured): kinds 0 (end)
 * and 1 (no-op) are one byte, every other kind has a length byte of at
 * least 2 that stays inside the list. TCP also checks the fixed lengths
 * of the options it defines (MSS 4, window scale 3, SACK permitted 2,
 * SACK 2 + 8n, timestamps 10).
 */
static bool
options_ok(const uint8_t *o, uint32_t n, bool tcp)
{
	uint32_t i = 0;

	while (i < n) {
		uint8_t kind = o[i], olen;

		if (kind == 0)
			return true;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n)
			return false;
		olen = o[i + 1];
		if (olen < 2 || olen > n - i)
			return false;
		if (tcp) {
			switch (kind) {
			case 2: if (olen != 4) return false; break;
			case 3: if (olen != 3) return false; break;
			case 4: if (olen != 2) return false; break;
			case 5:
				if (olen < 10 || olen > 34 || (olen - 2) % 8)
					return false;
				break;
			case 8: if (olen != 10) return false; break;
			default: break;
			}
		}
		i += olen;
	}
	return true;
}

/* ---- transport ---------------------------------------------------------- */

/* Transport header at `p` with `avail` captured bytes and `l4len` bytes
 * according to the IP header. `frag`: this is the first fragment of a
 * datagram, whose transport lengths run past this packet. */
static __rte_always_inline int
decode_l4(const uint8_t *p, uint32_t avail, uint32_t l4len, uint8_t family,
	  uint8_t proto, bool frag, struct vigil_pkt_meta *m,
	  uint16_t *sport, uint16_t *dport)
{
	switch (proto) {
	case IPPROTO_V4_TCP: {
		uint32_t hl;

		/* The IP header says too short: malformed. Captured too
		 * short: truncated. (avail <= l4len, so test l4len first.) */
		if (l4len < 20)
			return VIGIL_CTR_drop_bad_l4;
		if (avail < 20)
			return VIGIL_CTR_drop_truncated;
		hl = (uint32_t)(p[12] >> 4) * 4;
		if (hl < 20 || hl > l4len)
			return VIGIL_CTR_drop_bad_l4;
		*sport = rd16(p);
		*dport = rd16(p + 2);
		m->tcp_seq = rd32(p + 4);
		m->tcp_ack = rd32(p + 8);
		m->tcp_flags = p[13];
		m->tcp_win = rd16(p + 14);
		/* Options: check what was captured of them. A list cut by the
		 * snap length is only judged up to the cut. */
		if (hl > 20 &&
		    !options_ok(p + 20, min32(hl, avail) - 20, true) &&
		    avail >= hl)
			m->notes |= VIGIL_NOTE_TCP_OPTS_BAD;
		m->payload_len = l4len - hl;
		return VIGIL_DECODE_OK;
	}
	case IPPROTO_V4_UDP: {
		uint32_t ulen;

		if (l4len < 8)
			return VIGIL_CTR_drop_bad_l4;
		if (avail < 8)
			return VIGIL_CTR_drop_truncated;
		ulen = rd16(p + 4);
		/* A zero length is legal in IPv6 only (jumbograms, RFC 2675):
		 * there, trust IP. In IPv4 it is malformed (RFC 768). */
		if (ulen == 0 && family == VIGIL_AF_INET6)
			ulen = l4len;
		if (ulen < 8 || (ulen > l4len && !frag))
			return VIGIL_CTR_drop_bad_l4;
		*sport = rd16(p);
		*dport = rd16(p + 2);
		/* A first fragment: what this packet carries. */
		m->payload_len = (frag ? l4len : ulen) - 8;
		return VIGIL_DECODE_OK;
	}
	case IPPROTO_V4_ICMP:
	case IPPROTO_V6_ICMP: {
		int cp;

		if ((proto == IPPROTO_V4_ICMP) != (family == VIGIL_AF_INET))
			goto other; /* ICMPv4 in IPv6 or the reverse: opaque */
		if (l4len < 4)
			return VIGIL_CTR_drop_bad_l4;
		if (avail < 4)
			return VIGIL_CTR_drop_truncated;
		m->icmp_type = p[0];
		m->icmp_code = p[1];
		m->payload_len = l4len - 4;
		cp = vigil_icmp_counterpart(family, p[0]);
		*sport = p[0];
		*dport = cp >= 0 ? (uint16_t)cp : p[1];
		return VIGIL_DECODE_OK;
	}
	case IPPROTO_V4_SCTP:
		/* Common header: ports, verification tag, checksum. */
		if (l4len < 12)
			return VIGIL_CTR_drop_bad_l4;
		if (avail < 12)
			return VIGIL_CTR_drop_truncated;
		*sport = rd16(p);
		*dport = rd16(p + 2);
		m->payload_len = l4len - 12;
		return VIGIL_DECODE_OK;
	default:
	other:
		*sport = 0;
		*dport = 0;
		m->payload_len = l4len;
		return VIGIL_DECODE_OK;
	}
}

/* ---- the key ------------------------------------------------------------ */

/* One step of the key hash: rte_hash_crc_8byte(), whose result it is
 * (CRC32-C, what rte_hash_crc computes in hardware or software alike),
 * but always inlined: the per-call check of the CRC implementation is
 * measurable on this path. */
static __rte_always_inline uint32_t
crc8(uint64_t v, uint32_t h)
{
#if defined(RTE_ARCH_X86_64) && defined(__SSE4_2__)
	return (uint32_t)_mm_crc32_u64(h, v);
#else
	return rte_hash_crc_8byte(v, h);
#endif
}

/* memcmp() of two addresses, inlined: this runs for every packet. */
static __rte_always_inline int
addr_cmp(const uint8_t *a, const uint8_t *b, unsigned alen)
{
	if (alen == 4) {
		uint32_t x = rd32(a), y = rd32(b);

		return (x > y) - (x < y);
	}
	uint64_t x = rd64(a), y = rd64(b);

	if (x == y) {
		x = rd64(a + 8);
		y = rd64(b + 8);
	}
	return (x > y) - (x < y);
}

/* Native-order 64-bit words of an address (IPv4: one word, zero-extended). */
static __rte_always_inline void
addr_words(const uint8_t *a, unsigned alen, uint64_t w[2])
{
	if (alen == 4) {
		uint32_t v;

		memcpy(&v, a, 4);
		w[0] = v;
		w[1] = 0;
	} else {
		memcpy(&w[0], a, 8);
		memcpy(&w[1], a + 8, 8);
	}
}

/*
 * Order the two endpoints so that the lower (address, port) is side 0, and
 * write the whole key with six 8-byte stores while hashing the same six
 * words from registers. Building the key from narrow stores and hashing it
 * with 8-byte loads would stall on store forwarding for every packet.
 */
static __rte_always_inline void
canonicalize(struct dctx *c, uint8_t family, uint8_t proto,
	     const uint8_t *src, const uint8_t *dst, unsigned alen,
	     uint16_t sport, uint16_t dport)
{
	struct vigil_pkt_meta *m = c->m;
	int cmp = addr_cmp(src, dst, alen);
	uint64_t s[2], d[2], w0, w1, w2, w3, w4, w5;
	uint8_t *k = (uint8_t *)&m->key;
	uint32_t h;

	addr_words(src, alen, s);
	addr_words(dst, alen, d);
	m->dir = !(cmp < 0 || (cmp == 0 && sport <= dport));
	if (m->dir == 0) {
		w0 = s[0], w1 = s[1], w2 = d[0], w3 = d[1];
		w4 = (uint64_t)sport | (uint64_t)dport << 16;
	} else {
		w0 = d[0], w1 = d[1], w2 = s[0], w3 = s[1];
		w4 = (uint64_t)dport | (uint64_t)sport << 16;
	}
	w4 |= (uint64_t)c->vni << 32;
	w5 = (uint64_t)c->vlan | (uint64_t)proto << 16 |
	     (uint64_t)family << 24 | (uint64_t)c->tun_type << 32;
	RTE_BUILD_BUG_ON(sizeof(m->key) != 6 * sizeof(uint64_t));
	RTE_BUILD_BUG_ON(offsetof(struct vigil_flow_key, vni) != 36);
	RTE_BUILD_BUG_ON(offsetof(struct vigil_flow_key, tun_type) != 44);
	/* Scalars, not an array: an array goes through the stack and its
	 * reload stalls just the same. */
	memcpy(k, &w0, 8);
	memcpy(k + 8, &w1, 8);
	memcpy(k + 16, &w2, 8);
	memcpy(k + 24, &w3, 8);
	memcpy(k + 32, &w4, 8);
	memcpy(k + 40, &w5, 8);
	h = crc8(w0, VIGIL_KEY_HASH_SEED);
	h = crc8(w1, h);
	h = crc8(w2, h);
	h = crc8(w3, h);
	h = crc8(w4, h);
	m->rx_hash = crc8(w5, h);
	if (c->tun_type != VIGIL_TUN_NONE)
		m->tun.id = c->vni;
}

/* ---- tunnels ------------------------------------------------------------ */

/* One level down into a tunnel whose outer IP addresses are src/dst. */
static int
tunnel_enter(struct dctx *c, uint8_t type, bool has_id, uint32_t id,
	     uint8_t family, const uint8_t *src, const uint8_t *dst,
	     unsigned alen)
{
	struct vigil_tunnel *t = &c->m->tun;

	if (c->depth >= VIGIL_MAX_TUNNEL_DEPTH)
		return VIGIL_CTR_drop_tunnel_depth;
	c->depth++;
	c->ntun++;
	if (t->type == VIGIL_TUN_NONE) {
		t->type = type;
		t->family = family;
		memcpy(t->src, src, alen);
		memcpy(t->dst, dst, alen);
		c->tun_type = type;
	}
	if (has_id)
		c->vni = id;
	return VIGIL_DECODE_OK;
}

/* An IP packet of either version, told apart by its first nibble. */
static int
decode_ip_any(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len,
	      int bad)
{
	if (avail < 1)
		return VIGIL_CTR_drop_truncated;
	switch (p[0] >> 4) {
	case 4: return decode_ipv4(c, p, avail, len);
	case 6: return decode_ipv6(c, p, avail, len);
	default: return bad;
	}
}

/* VXLAN (RFC 7348): flags (I = VNI valid), 24 reserved bits, VNI, 8
 * reserved bits; an Ethernet frame follows. Other flag and reserved bits
 * are ignored (VXLAN-GBP and others set them), except on the VXLAN-GPE
 * port 4790 (draft-ietf-nvo3-vxlan-gpe) when it is configured: there the
 * P flag says that the last byte of the first word names what follows:
 * 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS. */
#define VXLAN_GPE_PORT 4790
static int
decode_vxlan(struct dctx *c, uint8_t family, const uint8_t *src,
	     const uint8_t *dst, unsigned alen, const uint8_t *p,
	     uint32_t avail, uint32_t len, uint16_t port)
{
	uint8_t next = 3;
	int rc;

	if (len < 8)
		return VIGIL_CTR_drop_bad_tunnel;
	if (avail < 8)
		return VIGIL_CTR_drop_truncated;
	if (!(p[0] & 0x08))
		return VIGIL_CTR_drop_bad_tunnel;
	if (port == VXLAN_GPE_PORT && (p[0] & 0x04))
		next = p[3];
	rc = tunnel_enter(c, VIGIL_TUN_VXLAN, true,
			  (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6],
			  family, src, dst, alen);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	switch (next) {
	case 1: return decode_ipv4(c, p + 8, avail - 8, len - 8);
	case 2: return decode_ipv6(c, p + 8, avail - 8, len - 8);
	case 3: return decode_eth(c, p + 8, avail - 8, len - 8);
	case 4: return decode_nsh(c, p + 8, avail - 8, len - 8);
	case 5: return decode_mpls(c, p + 8, avail - 8, len - 8);
	default: return VIGIL_CTR_drop_non_ip;
	}
}

/* Geneve (RFC 8926): version 0, option length in 4-byte words, protocol
 * type, VNI; then the options, each a class, type and length in 4-byte
 * words, which must exactly fill the option length. */
static int
decode_geneve(struct dctx *c, uint8_t family, const uint8_t *src,
	      const uint8_t *dst, unsigned alen, const uint8_t *p,
	      uint32_t avail, uint32_t len)
{
	uint32_t hl, i;
	uint16_t proto;
	int rc;

	if (len < 8)
		return VIGIL_CTR_drop_bad_tunnel;
	if (avail < 8)
		return VIGIL_CTR_drop_truncated;
	if ((p[0] >> 6) != 0)
		return VIGIL_CTR_drop_bad_tunnel;
	hl = 8 + (uint32_t)(p[0] & 0x3f) * 4;
	proto = rd16(p + 2);
	if (len < hl)
		return VIGIL_CTR_drop_bad_tunnel;
	if (avail < hl)
		return VIGIL_CTR_drop_truncated;
	for (i = 8; i < hl;) {
		uint32_t olen;

		if (hl - i < 4)
			return VIGIL_CTR_drop_bad_tunnel;
		olen = 4 + (uint32_t)(p[i + 3] & 0x1f) * 4;
		if (olen > hl - i)
			return VIGIL_CTR_drop_bad_tunnel;
		i += olen;
	}
	rc = tunnel_enter(c, VIGIL_TUN_GENEVE, true,
			  (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6],
			  family, src, dst, alen);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	if (proto == ETHERTYPE_TEB)
		return decode_eth(c, p + hl, avail - hl, len - hl);
	return decode_ethertype(c, proto, p + hl, avail - hl, len - hl);
}

/*
 * PPTP's enhanced GRE (RFC 2637, version 1): key present (payload length,
 * call id), sequence and acknowledgement numbers by their flags, then a PPP frame: address and control (0xff 0x03) unless
 * compressed away, protocol in one byte (odd) or two; 0x21 is IPv4, 0x57
 * IPv6.
 */
static int
decode_gre_pptp(struct dctx *c, uint16_t flags, uint16_t proto,
		uint8_t family, const uint8_t *src, const uint8_t *dst,
		unsigned alen, const uint8_t *p, uint32_t avail, uint32_t len)
{
	uint32_t hl = 8;
	uint16_t ppp;
	int rc;

	if (!(flags & GRE_K) || (flags & (GRE_C | GRE_R)) || proto != 0x880b)
		return VIGIL_CTR_drop_bad_gre;
	hl += (flags & GRE_S) ? 4 : 0;
	hl += (flags & 0x0080) ? 4 : 0; /* A: acknowledgement number */
	if (len < hl)
		return VIGIL_CTR_drop_bad_gre;
	if (avail < hl)
		return VIGIL_CTR_drop_truncated;
	/* Each end puts its peer's call id in the key: the two directions
	 * differ, so the call id cannot be part of the flow key. */
	rc = tunnel_enter(c, VIGIL_TUN_GRE, false, 0, family, src, dst,
			  alen);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	p += hl;
	avail -= hl;
	len -= hl;
	if (avail >= 2 && p[0] == 0xff && p[1] == 0x03) {
		p += 2;
		avail -= 2;
		len = len > 2 ? len - 2 : 0;
	}
	if (avail < 1)
		return len == 0 ? VIGIL_CTR_drop_non_ip
				: VIGIL_CTR_drop_truncated;
	if (p[0] & 0x01) {
		ppp = p[0];
		p += 1;
		avail -= 1;
		len = len > 1 ? len - 1 : 0;
	} else {
		if (avail < 2)
			return VIGIL_CTR_drop_truncated;
		ppp = rd16(p);
		p += 2;
		avail -= 2;
		len = len > 2 ? len - 2 : 0;
	}
	switch (ppp) {
	case 0x21: return decode_ipv4(c, p, avail, len);
	case 0x57: return decode_ipv6(c, p, avail, len);
	default: return VIGIL_CTR_drop_non_ip; /* LCP, compressed, ... */
	}
}

/*
 * GRE (RFC 2784, key and sequence number RFC 2890): checksum, key and
 * sequence number present by their flag bits; source routing (RFC 1701)
 * and versions other than 0 and 1 (PPTP, above) are refused as bad GRE,
 * as Linux does. Protocol 0x88be is ERSPAN type II (type I without the
 * sequence number: no ERSPAN header), 0x22eb ERSPAN type III, 0x6558
 * Ethernet, anything else an ethertype.
 */
static int
decode_gre(struct dctx *c, uint8_t family, const uint8_t *src,
	   const uint8_t *dst, unsigned alen, const uint8_t *p, uint32_t avail,
	   uint32_t len)
{
	uint16_t flags, proto;
	uint32_t hl = 4, key = 0;
	int rc;

	if (len < 4)
		return VIGIL_CTR_drop_bad_gre;
	if (avail < 4)
		return VIGIL_CTR_drop_truncated;
	flags = rd16(p);
	proto = rd16(p + 2);
	if ((flags & GRE_VER) == 1)
		return decode_gre_pptp(c, flags, proto, family, src, dst, alen,
				       p, avail, len);
	if ((flags & (GRE_VER | GRE_R)) != 0)
		return VIGIL_CTR_drop_bad_gre;
	hl += (flags & GRE_C) ? 4 : 0;
	if (flags & GRE_K)
		hl += 4;
	hl += (flags & GRE_S) ? 4 : 0;
	if (len < hl)
		return VIGIL_CTR_drop_bad_gre;
	if (avail < hl)
		return VIGIL_CTR_drop_truncated;
	if (flags & GRE_K)
		key = rd32(p + 4 + ((flags & GRE_C) ? 4 : 0));
	p += hl;
	avail -= hl;
	len -= hl;

	if (proto == ETHERTYPE_ERSPAN2) {
		uint32_t session = 0;

		if (flags & GRE_S) {
			/* Version 1, VLAN, COS, En, T, session id (10 bits);
			 * reserved, index. */
			if (len < 8)
				return VIGIL_CTR_drop_bad_tunnel;
			if (avail < 8)
				return VIGIL_CTR_drop_truncated;
			if ((p[0] >> 4) != 1)
				return VIGIL_CTR_drop_bad_tunnel;
			session = rd16(p + 2) & 0x3ff;
			p += 8;
			avail -= 8;
			len -= 8;
		}
		rc = tunnel_enter(c, VIGIL_TUN_ERSPAN2, flags & GRE_S, session,
				  family, src, dst, alen);
		if (rc != VIGIL_DECODE_OK)
			return rc;
		return decode_eth(c, p, avail, len);
	}
	if (proto == ETHERTYPE_ERSPAN3) {
		uint32_t ehl = 12, ft;

		/* Version 2, VLAN, COS, BSO, T, session id; timestamp; SGT,
		 * P, frame type (5 bits), hardware id, D, Gra, O (an 8-byte
		 * platform-specific subheader follows). */
		if (len < 12)
			return VIGIL_CTR_drop_bad_tunnel;
		if (avail < 12)
			return VIGIL_CTR_drop_truncated;
		if ((p[0] >> 4) != 2)
			return VIGIL_CTR_drop_bad_tunnel;
		ft = (p[10] >> 2) & 0x1f;
		if (p[11] & 0x01)
			ehl += 8;
		if (len < ehl || (ft != 0 && ft != 2))
			return VIGIL_CTR_drop_bad_tunnel;
		if (avail < ehl)
			return VIGIL_CTR_drop_truncated;
		rc = tunnel_enter(c, VIGIL_TUN_ERSPAN3, true,
				  rd16(p + 2) & 0x3ff, family, src, dst, alen);
		if (rc != VIGIL_DECODE_OK)
			return rc;
		if (ft == 2)
			return decode_ip_any(c, p + ehl, avail - ehl,
					     len - ehl,
					     VIGIL_CTR_drop_bad_tunnel);
		return decode_eth(c, p + ehl, avail - ehl, len - ehl);
	}
	rc = tunnel_enter(c, VIGIL_TUN_GRE, flags & GRE_K, key, family, src,
			  dst, alen);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	if (proto == ETHERTYPE_TEB)
		return decode_eth(c, p, avail, len);
	return decode_ethertype(c, proto, p, avail, len);
}

/* ---- IP ----------------------------------------------------------------- */

/* The fragment identity of an IP packet in the current tunnel context. */
static void
frag_id(const struct dctx *c, struct vigil_frag_id *f, uint8_t family,
	const uint8_t *src, const uint8_t *dst, unsigned alen, uint32_t id,
	uint8_t proto)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->src, src, alen);
	memcpy(f->dst, dst, alen);
	f->id = id;
	f->vni = c->vni;
	f->vlan = c->vlan;
	f->proto = proto;
	f->family = family;
	f->tun_type = c->tun_type;
}

/*
 * A later fragment (offset > 0): keyed like its first fragment if the
 * table has it. `ip_len` is the packet's IP length, `ipay` its IP payload
 * (after the fragment header for IPv6), `off` the payload's offset in the
 * datagram, `last`: no more fragments follow.
 */
static int __rte_noinline __rte_cold
frag_later(struct dctx *c, uint8_t family, const uint8_t *src,
	   const uint8_t *dst, unsigned alen, uint32_t id, uint8_t proto,
	   uint32_t ip_len, uint32_t ipay, uint32_t off, bool last)
{
	struct vigil_pkt_meta *m = c->m;
	struct vigil_frag_id fid;
	struct vigil_frag_entry *e;

	if (c->ft == NULL)
		return VIGIL_CTR_drop_fragment_unmatched;
	frag_id(c, &fid, family, src, dst, alen, id, proto);
	e = vigil_frag_find(c->ft, &fid, c->now_us);
	if (e == NULL)
		return VIGIL_CTR_drop_fragment_unmatched;
	memcpy(&m->key, &e->key, sizeof(m->key));
	m->rx_hash = e->rx_hash;
	m->dir = e->dir;
	m->icmp_type = e->icmp_type;
	m->icmp_code = e->icmp_code;
	if (e->deep) {
		/* The first fragment carried a tunnel whose inner packet it
		 * counted whole (lengths from the inner headers). */
		m->ip_len = 0;
		m->payload_len = 0;
		if (m->tun.type == VIGIL_TUN_NONE) {
			m->tun.type = e->key.tun_type;
			m->tun.family = family;
			m->tun.id = e->key.vni;
			memcpy(m->tun.src, src, alen);
			memcpy(m->tun.dst, dst, alen);
		}
	} else {
		m->ip_len = ip_len;
		m->payload_len = ipay;
	}
	if (m->tun.type != VIGIL_TUN_NONE)
		m->tun.id = m->key.vni;
	m->notes |= VIGIL_NOTE_FRAGMENT;
	vigil_frag_account(c->ft, e, off, ipay, last);
	return VIGIL_DECODE_OK;
}

/* Remember a first fragment, to be inserted once the packet is keyed. */
static void __rte_noinline __rte_cold
frag_first(struct dctx *c, uint8_t family, const uint8_t *src,
	   const uint8_t *dst, unsigned alen, uint32_t id, uint8_t proto,
	   uint32_t ipay)
{
	struct pending *p;

	if (c->ft == NULL || c->npend == MAX_PENDING)
		return;
	p = &c->pend[c->npend++];
	frag_id(c, &p->fid, family, src, dst, alen, id, proto);
	p->ipay = ipay;
	p->ntun = c->ntun;
}

/*
 * What an IP header carries: a tunnel to go down into (when decap is on),
 * or the transport header that keys the flow. `l4len` is the payload
 * length from the IP header, `ip_len` the IP length, `frag`: a first
 * fragment (its transport lengths run past this packet).
 */
/* Could this IP payload be a tunnel to go down into? A quick test on the
 * hot path; decode_tunnel() does the real work. */
static __rte_always_inline bool
maybe_tunnel(const struct vigil_decoder *d, uint8_t proto, const uint8_t *p,
	     uint32_t avail, uint32_t l4len)
{
	uint16_t port;

	if (!d->decap)
		return false;
	if (proto == IPPROTO_V4_IPIP || proto == IPPROTO_V6_IPV6 ||
	    proto == IPPROTO_V4_GRE)
		return true;
	if (proto != IPPROTO_V4_UDP || l4len < 8 || avail < 8)
		return false; /* (a short UDP header: decode_l4 says which) */
	port = rd16(p + 2);
	if (port == d->geneve_port && port != 0)
		return true;
	for (unsigned i = 0; i < d->n_vxlan; i++)
		if (port == d->vxlan_ports[i])
			return true;
	return false;
}

/* IP-in-IP, GRE, or VXLAN / Geneve by UDP destination port. */
static int __rte_noinline
decode_tunnel(struct dctx *c, uint8_t family, uint8_t proto,
	      const uint8_t *src, const uint8_t *dst, unsigned alen,
	      const uint8_t *p, uint32_t avail, uint32_t l4len, bool frag)
{
	uint32_t ulen;
	uint16_t udport;
	bool vxlan = false;
	int rc;

	switch (proto) {
	case IPPROTO_V4_IPIP:
	case IPPROTO_V6_IPV6:
		rc = tunnel_enter(c, VIGIL_TUN_IPIP, false, 0, family, src, dst,
				  alen);
		if (rc != VIGIL_DECODE_OK)
			return rc;
		if (proto == IPPROTO_V4_IPIP)
			return decode_ipv4(c, p, avail, l4len);
		return decode_ipv6(c, p, avail, l4len);
	case IPPROTO_V4_GRE:
		return decode_gre(c, family, src, dst, alen, p, avail, l4len);
	default:
		break;
	}
	udport = rd16(p + 2);
	for (unsigned i = 0; i < c->d->n_vxlan; i++)
		vxlan |= c->d->vxlan_ports[i] == udport;
	ulen = rd16(p + 4);
	if (ulen == 0 && family == VIGIL_AF_INET6)
		ulen = l4len;
	if (ulen < 8 || (ulen > l4len && !frag))
		return VIGIL_CTR_drop_bad_l4;
	avail = min32(avail, ulen);
	if (vxlan)
		return decode_vxlan(c, family, src, dst, alen, p + 8, avail - 8,
				    ulen - 8, udport);
	return decode_geneve(c, family, src, dst, alen, p + 8, avail - 8,
			     ulen - 8);
}

/*
 * What an IP header carries: a tunnel to go down into (when decap is on),
 * or the transport header that keys the flow. `l4len` is the payload
 * length from the IP header, `ip_len` the IP length, `frag`: a first
 * fragment (its transport lengths run past this packet).
 */
static __rte_always_inline int
decode_ip_payload(struct dctx *c, uint8_t family, uint8_t proto,
		  const uint8_t *src, const uint8_t *dst, unsigned alen,
		  const uint8_t *p, uint32_t avail, uint32_t l4len,
		  uint32_t ip_len, bool frag)
{
	struct vigil_pkt_meta *m = c->m;
	uint16_t sport, dport;
	int rc;

	if (unlikely(maybe_tunnel(c->d, proto, p, avail, l4len)))
		return decode_tunnel(c, family, proto, src, dst, alen, p, avail,
				     l4len, frag);
	m->ip_len = ip_len;
	rc = decode_l4(p, avail, l4len, family, proto, frag, m, &sport,
		       &dport);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	/* Where the payload starts, for inspection (decode_l4 checked the
	 * header is there). */
	if (proto == IPPROTO_V4_TCP || proto == IPPROTO_V4_UDP) {
		size_t off = (size_t)(p - c->frame) +
			     (proto == IPPROTO_V4_TCP ? (size_t)(p[12] >> 4) * 4
						      : 8);

		m->payload_off = off > UINT16_MAX ? 0 : (uint16_t)off;
	}
	canonicalize(c, family, proto, src, dst, alen, sport, dport);
	return VIGIL_DECODE_OK;
}

/* A fragment: a later one is keyed through the fragment table, a first
 * one remembered for it. Off the hot path. */
static int __rte_noinline __rte_cold
decode_ipv4_frag(struct dctx *c, const uint8_t *p, uint32_t avail,
		 uint32_t ihl, uint32_t tot)
{
	uint16_t frag = rd16(p + 6);
	uint32_t off = (uint32_t)(frag & 0x1fff) * 8;

	if (off != 0)
		return frag_later(c, VIGIL_AF_INET, p + 12, p + 16, 4,
				  rd16(p + 4), p[9], tot, tot - ihl, off,
				  !(frag & 0x2000));
	frag_first(c, VIGIL_AF_INET, p + 12, p + 16, 4, rd16(p + 4), p[9],
		   tot - ihl);
	return decode_ip_payload(c, VIGIL_AF_INET, p[9], p + 12, p + 16, 4,
				 p + ihl, avail - ihl, tot - ihl, tot, true);
}

static __rte_always_inline int
ipv4_body(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len)
{
	uint32_t ihl, tot;

	if (avail < 20)
		return VIGIL_CTR_drop_truncated;
	if ((p[0] >> 4) != 4)
		return VIGIL_CTR_drop_bad_ipv4;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (unlikely(tot == 0) && len >= ihl) {
		/* Captured before segmentation offload filled it in: the
		 * packet is as long as the frame says (what tshark does). */
		tot = len > 0xffff ? 0xffff : len;
		c->m->notes |= VIGIL_NOTE_IP_LEN_ZERO;
	}
	if (ihl < 20 || tot < ihl)
		return VIGIL_CTR_drop_bad_ipv4;
	if (avail < ihl)
		return VIGIL_CTR_drop_truncated;
	if (unlikely(ihl > 20) && !options_ok(p + 20, ihl - 20, false))
		c->m->notes |= VIGIL_NOTE_IPV4_OPTS_BAD;
	/* Bytes beyond the IP total length are link-layer padding. */
	if (avail > tot)
		avail = tot;
	if (unlikely((rd16(p + 6) & 0x3fff) != 0)) /* MF or an offset */
		return decode_ipv4_frag(c, p, avail, ihl, tot);
	return decode_ip_payload(c, VIGIL_AF_INET, p[9], p + 12, p + 16, 4,
				 p + ihl, avail - ihl, tot - ihl, tot, false);
}

static int __rte_noinline
decode_ipv4(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len)
{
	return ipv4_body(c, p, avail, len);
}

static int
decode_ipv6(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len)
{
	uint32_t plen, off = 40;
	uint8_t nh;
	bool first_frag = false;

	(void)len;
	if (avail < 40)
		return VIGIL_CTR_drop_truncated;
	if ((p[0] >> 4) != 6)
		return VIGIL_CTR_drop_bad_ipv6;
	plen = rd16(p + 4);
	nh = p[6];
	if (avail > 40 + plen)
		avail = 40 + plen;
	for (int i = 0; i < MAX_IPV6_EXT; i++) {
		uint32_t elen;

		if (nh != IPPROTO_V6_HOPOPTS && nh != IPPROTO_V6_ROUTING &&
		    nh != IPPROTO_V6_DSTOPTS && nh != IPPROTO_V6_FRAGMENT &&
		    nh != IPPROTO_V6_AH)
			break;
		if (off + 8 > 40 + plen)
			return VIGIL_CTR_drop_bad_ipv6;
		if (off + 8 > avail)
			return VIGIL_CTR_drop_truncated;
		if (nh == IPPROTO_V6_FRAGMENT) {
			uint16_t fo = rd16(p + off + 2);
			uint32_t id = rd32(p + off + 4);
			uint32_t ipay = 40 + plen - (off + 8);

			if ((fo & 0xfff8) != 0)
				return frag_later(c, VIGIL_AF_INET6, p + 8,
						  p + 24, 16, id, p[off],
						  40 + plen, ipay, fo & 0xfff8,
						  !(fo & 1));
			if ((fo & 1) && !first_frag) {
				first_frag = true;
				frag_first(c, VIGIL_AF_INET6, p + 8, p + 24,
					   16, id, p[off], ipay);
			}
			elen = 8;
		} else if (nh == IPPROTO_V6_AH) {
			elen = ((uint32_t)p[off + 1] + 2) * 4;
		} else {
			elen = ((uint32_t)p[off + 1] + 1) * 8;
		}
		nh = p[off];
		off += elen;
		if (off > 40 + plen)
			return VIGIL_CTR_drop_bad_ipv6;
	}
	if (off > avail)
		return VIGIL_CTR_drop_truncated;
	return decode_ip_payload(c, VIGIL_AF_INET6, nh, p + 8, p + 24, 16,
				 p + off, avail - off, 40 + plen - off,
				 40 + plen, first_frag);
}

/* ---- link layers -------------------------------------------------------- */

/* MPLS label stack (RFC 3032), then IPv4 or IPv6 by the first nibble, or
 * a pseudowire control word (first nibble 0, RFC 4385) and an Ethernet
 * frame. MPLS has no length of its own: running out of bytes is
 * truncation, whatever the frame length says. */
static int
decode_mpls(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len)
{
	int i;

	for (i = 0; i < MAX_MPLS_LABELS; i++) {
		bool bos;

		if (avail < 4)
			return VIGIL_CTR_drop_truncated;
		bos = p[2] & 0x01;
		p += 4;
		avail -= 4;
		len = len > 4 ? len - 4 : 0;
		if (bos)
			break;
	}
	if (i == MAX_MPLS_LABELS)
		return VIGIL_CTR_drop_mpls;
	if (avail < 1)
		return VIGIL_CTR_drop_truncated;
	switch (p[0] >> 4) {
	case 4: return decode_ipv4(c, p, avail, len);
	case 6: return decode_ipv6(c, p, avail, len);
	case 0:
		if (avail < 4)
			return VIGIL_CTR_drop_truncated;
		/* An Ethernet pseudowire is a level like a tunnel: it bounds
		 * MPLS-in-Ethernet-in-MPLS recursion. */
		if (c->depth >= VIGIL_MAX_TUNNEL_DEPTH)
			return VIGIL_CTR_drop_tunnel_depth;
		c->depth++;
		return decode_eth(c, p + 4, avail - 4, len > 4 ? len - 4 : 0);
	default:
		return VIGIL_CTR_drop_mpls;
	}
}

static int decode_l2_other(struct dctx *c, uint16_t type, const uint8_t *p,
			   uint32_t avail, uint32_t len);

/* What follows an ethertype: VLAN tags (the first one's id is the key's
 * VLAN), then IPv4, IPv6, MPLS or ARP, or the rarer headers of
 * decode_l2_other(). At most MAX_L2_TAGS VLAN, E-Tag and VN-Tag headers
 * in all. Inlined at the top of the frame (the hot path), called for
 * inner frames. */
static __rte_always_inline int
ethertype_body(struct dctx *c, uint16_t type, const uint8_t *p,
	       uint32_t avail, uint32_t len)
{
	for (;;) {
		if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ &&
		    type != ETHERTYPE_QINQ_OLD)
			break;
		if (c->l2tags == MAX_L2_TAGS)
			return VIGIL_CTR_drop_bad_l2;
		if (avail < 4)
			return VIGIL_CTR_drop_truncated;
		if (!c->vlan_seen) {
			c->vlan = rd16(p) & 0x0fff;
			c->vlan_seen = true;
		}
		c->l2tags++;
		type = rd16(p + 2);
		p += 4;
		avail -= 4;
		len = len > 4 ? len - 4 : 0;
	}
	switch (type) {
	case ETHERTYPE_IPV4:
		return ipv4_body(c, p, avail, len);
	case ETHERTYPE_IPV6:
		return decode_ipv6(c, p, avail, len);
	case ETHERTYPE_MPLS:
	case ETHERTYPE_MPLS_MC:
		return decode_mpls(c, p, avail, len);
	case ETHERTYPE_ARP:
	case ETHERTYPE_RARP:
		return VIGIL_CTR_drop_arp;
	default:
		return decode_l2_other(c, type, p, avail, len);
	}
}

static int __rte_noinline
decode_ethertype(struct dctx *c, uint16_t type, const uint8_t *p,
		 uint32_t avail, uint32_t len)
{
	return ethertype_body(c, type, p, avail, len);
}

/*
 * PPPoE session stage (RFC 2516): version and type (1, 1), code 0, session
 * id, length of the PPP frame; then the PPP protocol, two bytes (one when
 * compressed, RFC 1661: odd), 0x21 IPv4, 0x57 IPv6, 0x281 MPLS. Other PPP
 * protocols (LCP, IPCP, ...) are not IP. The PPPoE length bounds the
 * packet inside (what follows is Ethernet padding); a frame that ends
 * before it is truncated, like an IP packet whose total length runs past
 * the frame (a replayed frame's wire length is not known).
 */
static int
decode_pppoe(struct dctx *c, const uint8_t *p, uint32_t avail)
{
	uint32_t plen, hl, len;
	uint16_t ppp;

	if (avail < 7)
		return VIGIL_CTR_drop_truncated;
	if (p[0] != 0x11 || p[1] != 0)
		return VIGIL_CTR_drop_bad_pppoe;
	plen = rd16(p + 4);
	hl = (p[6] & 0x01) ? 7 : 8;
	if (plen < hl - 6)
		return VIGIL_CTR_drop_bad_pppoe;
	if (avail < hl)
		return VIGIL_CTR_drop_truncated;
	ppp = hl == 7 ? p[6] : rd16(p + 6);
	len = 6 + plen - hl;
	avail = min32(avail - hl, len);
	switch (ppp) {
	case 0x21: return decode_ipv4(c, p + hl, avail, len);
	case 0x57: return decode_ipv6(c, p + hl, avail, len);
	case 0x281: return decode_mpls(c, p + hl, avail, len);
	default: return VIGIL_CTR_drop_non_ip;
	}
}

/*
 * Network Service Header (RFC 8300): version 0, O, U, TTL, length in
 * 4-byte words (6 bits); MD type (4 bits); next protocol; service path id
 * and index; context headers up to the length (MD type 1: exactly 6
 * words; MD type 2: at least 2, variable-length contexts). Next protocol
 * 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS. A service header is a level
 * like a tunnel for the depth bound, but not a tunnel: no outer addresses,
 * nothing in the key. It has no length of its own beyond its header:
 * running out of bytes is truncation, as for MPLS.
 */
static int
decode_nsh(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len)
{
	uint32_t hl;
	uint8_t md, next;

	if (avail < 8)
		return VIGIL_CTR_drop_truncated;
	hl = (uint32_t)(p[1] & 0x3f) * 4;
	md = p[2] & 0x0f;
	next = p[3];
	if ((p[0] >> 6) != 0 || hl < 8 || (md == 1 && hl != 24) ||
	    (md != 1 && md != 2))
		return VIGIL_CTR_drop_bad_nsh;
	if (avail < hl)
		return VIGIL_CTR_drop_truncated;
	if (c->depth >= VIGIL_MAX_TUNNEL_DEPTH)
		return VIGIL_CTR_drop_tunnel_depth;
	c->depth++;
	p += hl;
	avail -= hl;
	len = len > hl ? len - hl : 0;
	switch (next) {
	case 1: return decode_ipv4(c, p, avail, len);
	case 2: return decode_ipv6(c, p, avail, len);
	case 3: return decode_eth(c, p, avail, len);
	case 4: return decode_nsh(c, p, avail, len);
	case 5: return decode_mpls(c, p, avail, len);
	default: return VIGIL_CTR_drop_non_ip;
	}
}

/*
 * The rarer things an ethertype names, off the hot path: E-Tag (802.1BR,
 * 6 bytes then the next ethertype) and VN-Tag (4 bytes, then the next
 * ethertype), counted with the VLAN tags; Cisco FabricPath (2 bytes of
 * forwarding tag and TTL, then the whole original Ethernet frame, whose
 * VLAN is the key's); PPPoE session; NSH. PPPoE discovery, LLDP, ... are
 * not IP.
 */
static int __rte_noinline __rte_cold
decode_l2_other(struct dctx *c, uint16_t type, const uint8_t *p,
		uint32_t avail, uint32_t len)
{
	uint32_t hl;

	switch (type) {
	case ETHERTYPE_ETAG:
	case ETHERTYPE_VNTAG:
		hl = type == ETHERTYPE_ETAG ? 8 : 6;
		if (c->l2tags == MAX_L2_TAGS)
			return VIGIL_CTR_drop_bad_l2;
		if (avail < hl)
			return VIGIL_CTR_drop_truncated;
		c->l2tags++;
		return decode_ethertype(c, rd16(p + hl - 2), p + hl,
					avail - hl, len > hl ? len - hl : 0);
	case ETHERTYPE_FABRICPATH:
		if (avail < 2)
			return VIGIL_CTR_drop_truncated;
		/* The original frame inside: a level, as for a pseudowire. */
		if (c->depth >= VIGIL_MAX_TUNNEL_DEPTH)
			return VIGIL_CTR_drop_tunnel_depth;
		c->depth++;
		return decode_eth(c, p + 2, avail - 2, len - 2);
	case ETHERTYPE_PPPOE_SESS:
		return decode_pppoe(c, p, avail);
	case ETHERTYPE_NSH:
		return decode_nsh(c, p, avail, len);
	default:
		return VIGIL_CTR_drop_non_ip;
	}
}

static int
decode_eth(struct dctx *c, const uint8_t *p, uint32_t avail, uint32_t len)
{
	if (avail < ETH_HLEN)
		return VIGIL_CTR_drop_truncated;
	c->vlan = 0; /* the tag of the Ethernet header nearest the packet */
	c->vlan_seen = false;
	c->l2tags = 0;
	return decode_ethertype(c, rd16(p + 12), p + ETH_HLEN,
				avail - ETH_HLEN,
				len > ETH_HLEN ? len - ETH_HLEN : 0);
}

/* BSD loopback: the address family, 2 for IPv4; IPv6 is 10 (Linux), 23
 * (Windows), 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (Darwin). */
static int
decode_af(struct dctx *c, uint32_t af, const uint8_t *p, uint32_t avail,
	  uint32_t len)
{
	switch (af) {
	case 2:
		return decode_ipv4(c, p, avail, len);
	case 10:
	case 23:
	case 24:
	case 28:
	case 30:
		return decode_ipv6(c, p, avail, len);
	default:
		return VIGIL_CTR_drop_bad_linktype;
	}
}

static __rte_always_inline int
decode_link(struct dctx *c, int linktype, const uint8_t *p, uint32_t avail,
	    uint32_t len)
{
	switch (linktype) {
	case VIGIL_DLT_EN10MB:
		/* The hot path: Ethernet, IPv4 and the transport header
		 * inlined here. */
		if (avail < ETH_HLEN)
			return VIGIL_CTR_drop_truncated;
		return ethertype_body(c, rd16(p + 12), p + ETH_HLEN,
				      avail - ETH_HLEN, len - ETH_HLEN);
	case VIGIL_DLT_LINUX_SLL: {
		/* Packet type, ARPHRD type, address length, 8 address
		 * bytes, protocol (an ethertype from 0x0600 up; below, the
		 * kernel's own values: 802.2 LLC, Novell, CAN, ...). */
		uint16_t proto;

		if (avail < 16)
			return VIGIL_CTR_drop_bad_linktype;
		proto = rd16(p + 14);
		if (proto < 0x0600)
			return VIGIL_CTR_drop_bad_linktype;
		return decode_ethertype(c, proto, p + 16, avail - 16,
					len - 16);
	}
	case VIGIL_DLT_LINUX_SLL2: {
		/* Protocol, reserved, interface index, ARPHRD type, packet
		 * type, address length, 8 address bytes. */
		uint16_t proto;

		if (avail < 20)
			return VIGIL_CTR_drop_bad_linktype;
		proto = rd16(p);
		if (proto < 0x0600)
			return VIGIL_CTR_drop_bad_linktype;
		return decode_ethertype(c, proto, p + 20, avail - 20,
					len - 20);
	}
	case VIGIL_DLT_RAW_12:
	case VIGIL_DLT_RAW_14:
	case VIGIL_DLT_RAW:
		return decode_ip_any(c, p, avail, len,
				     VIGIL_CTR_drop_bad_linktype);
	case VIGIL_DLT_IPV4:
		return decode_ipv4(c, p, avail, len);
	case VIGIL_DLT_IPV6:
		return decode_ipv6(c, p, avail, len);
	case VIGIL_DLT_NULL: {
		uint32_t af;

		if (avail < 4)
			return VIGIL_CTR_drop_bad_linktype;
		/* Host order of the capturing machine: a small number read
		 * one way is a huge one the other way. */
		af = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		if (af > 0xffff)
			af = rd32(p);
		return decode_af(c, af, p + 4, avail - 4, len - 4);
	}
	case VIGIL_DLT_LOOP:
		if (avail < 4)
			return VIGIL_CTR_drop_bad_linktype;
		return decode_af(c, rd32(p), p + 4, avail - 4, len - 4);
	default:
		return VIGIL_CTR_drop_bad_linktype;
	}
}

/* ---- entry points ------------------------------------------------------- */

int
vigil_decode_pkt_ft(const struct vigil_decoder *d, struct vigil_frag_table *ft,
		    uint64_t now_us, int linktype, const uint8_t *frame,
		    uint32_t caplen, uint32_t framelen,
		    struct vigil_pkt_meta *m)
{
	struct dctx c;
	int rc;

	c.d = d;
	c.ft = ft;
	c.frame = frame;
	c.now_us = now_us;
	c.m = m;
	c.vni = 0;
	c.vlan = 0;
	c.l2tags = 0;
	c.vlan_seen = false;
	c.tun_type = VIGIL_TUN_NONE;
	c.depth = 0;
	c.ntun = 0;
	c.npend = 0;

	m->l2_len = framelen;
	m->ip_len = 0;
	m->payload_len = 0;
	m->dir = 0;
	m->tcp_flags = 0;
	m->icmp_type = 0;
	m->icmp_code = 0;
	m->notes = 0;
	m->pad = 0;
	m->tcp_win = 0;
	m->tcp_seq = 0;
	m->tcp_ack = 0;
	memset(&m->tun, 0, sizeof(m->tun));

	/* The wire length cannot be less than what was captured. */
	rc = decode_link(&c, linktype, frame, caplen,
			 framelen > caplen ? framelen : caplen);
	if (rc != VIGIL_DECODE_OK || c.npend == 0)
		return rc;
	for (unsigned i = 0; i < c.npend; i++) {
		const struct pending *p = &c.pend[i];
		struct vigil_frag_entry *e;
		bool evicted;

		e = vigil_frag_insert(ft, &p->fid, now_us, &evicted);
		if (evicted)
			m->notes |= VIGIL_NOTE_FRAG_EVICT;
		memcpy(&e->key, &m->key, sizeof(e->key));
		e->rx_hash = m->rx_hash;
		e->dir = m->dir;
		e->icmp_type = m->icmp_type;
		e->icmp_code = m->icmp_code;
		e->deep = c.ntun > p->ntun;
		vigil_frag_account(ft, e, 0, p->ipay, false);
	}
	return rc;
}

int
vigil_decode_pkt(const struct vigil_decoder *d, int linktype,
		 const uint8_t *frame, uint32_t caplen, uint32_t framelen,
		 struct vigil_pkt_meta *m)
{
	return vigil_decode_pkt_ft(d, NULL, 0, linktype, frame, caplen,
				   framelen, m);
}

static const struct vigil_decoder default_decoder = {
	.vxlan_ports = { 4789, 8472 },
	.n_vxlan = 2,
	.geneve_port = 6081,
	.decap = true,
};

int
vigil_decode(const uint8_t *frame, uint32_t caplen, struct vigil_pkt_meta *m)
{
	return vigil_decode_pkt(&default_decoder, VIGIL_DLT_EN10MB, frame,
				caplen, caplen, m);
}

int
vigil_decode_len(const uint8_t *frame, uint32_t caplen, uint32_t framelen,
		 struct vigil_pkt_meta *m)
{
	return vigil_decode_pkt(&default_decoder, VIGIL_DLT_EN10MB, frame,
				caplen, framelen, m);
}

/* Enough for two link headers, two IPv6 headers with extension headers, a
 * Geneve header with the longest option list and TCP with options: headers
 * deeper than this in a chained mbuf count as truncated. */
#define HDR_COPY 1024

int
vigil_decode_mbuf_lt(const struct vigil_decoder *d,
		     struct vigil_frag_table *ft, uint64_t now_us,
		     int linktype, const struct rte_mbuf *mb,
		     struct vigil_pkt_meta *m)
{
	uint8_t copy[HDR_COPY];
	const uint8_t *p = rte_pktmbuf_mtod(mb, const uint8_t *);
	uint32_t len = rte_pktmbuf_pkt_len(mb), first = rte_pktmbuf_data_len(mb);

	if (mb->nb_segs == 1)
		return vigil_decode_pkt_ft(d, ft, now_us, linktype, p, len,
					   len, m);
	if (first < HDR_COPY) {
		/* Headers may straddle segments: gather them. */
		first = len < HDR_COPY ? len : HDR_COPY;
		p = rte_pktmbuf_read(mb, 0, first, copy);
		if (p == NULL) {
			m->l2_len = len;
			return VIGIL_CTR_drop_truncated;
		}
	}
	return vigil_decode_pkt_ft(d, ft, now_us, linktype, p, first, len, m);
}

int
vigil_decode_mbuf(const struct rte_mbuf *mb, struct vigil_pkt_meta *m)
{
	return vigil_decode_mbuf_lt(&default_decoder, NULL, 0,
				    VIGIL_DLT_EN10MB, mb, m);
}

uint32_t
vigil_key_hash(const struct vigil_flow_key *k)
{
	return rte_hash_crc(k, sizeof(*k), VIGIL_KEY_HASH_SEED);
}

void
vigil_key_addr_str(const struct vigil_flow_key *k, int side, char *buf,
		   unsigned len)
{
	int af = k->family == VIGIL_AF_INET ? AF_INET : AF_INET6;

	if (inet_ntop(af, k->addr[side & 1], buf, len) == NULL && len > 0)
		buf[0] = '\0';
}
