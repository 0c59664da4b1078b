/*
 * vigil decode: see vigil_decode.h. Every read is preceded by a length
 * check against the captured bytes; the parse never allocates and never
 * loops more than a fixed number of times (VLAN tags, IPv6 extension
 * headers).
 */
#include "vigil_decode.h"

#include <arpa/inet.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 2
#define MAX_IPV6_EXT 8

#define IPPROTO_V6_HOPOPTS 0
#define IPPROTO_V4_ICMP 1
#define IPPROTO_V4_TCP 6
#define IPPROTO_V4_UDP 17
#define IPPROTO_V6_ROUTING 43
#define IPPROTO_V6_FRAGMENT 44
#define IPPROTO_V6_AH 51
#define IPPROTO_V6_ICMP 58
#define IPPROTO_V6_DSTOPTS 60
#define IPPROTO_V4_SCTP 132

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
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

/* Transport header at `p` with `avail` captured bytes and `l4len` bytes
 * according to the IP header. `src`/`dst` are the packet's endpoints. */
static int
decode_l4(const uint8_t *p, uint32_t avail, uint32_t l4len,
	  struct vigil_pkt_meta *m, uint16_t *sport, uint16_t *dport)
{
	switch (m->key.proto) {
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
		m->tcp_flags = p[13];
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
		/* A zero length is legal for IPv6 jumbograms only; trust IP. */
		if (ulen == 0)
			ulen = l4len;
		if (ulen < 8 || ulen > l4len)
			return VIGIL_CTR_drop_bad_l4;
		*sport = rd16(p);
		*dport = rd16(p + 2);
		m->payload_len = ulen - 8;
		return VIGIL_DECODE_OK;
	}
	case IPPROTO_V4_ICMP:
	case IPPROTO_V6_ICMP: {
		int cp;

		if ((m->key.proto == IPPROTO_V4_ICMP) !=
		    (m->key.family == VIGIL_AF_INET))
			goto other; /* ICMPv4 in IPv6 or the reverse: opaque */
		if (l4len < 4)
			return VIGIL_CTR_drop_bad_l4;
		if (avail < 4)
			return VIGIL_CTR_drop_truncated;
		m->icmp_type = p[0];
		m->icmp_code = p[1];
		m->payload_len = l4len - 4;
		cp = vigil_icmp_counterpart(m->key.family, p[0]);
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

static inline uint64_t
rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return rte_be_to_cpu_64(v);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rte_be_to_cpu_32(v);
}

/* memcmp() of two addresses, inlined: this runs for every packet. */
static inline int
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
static inline void
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
static void
canonicalize(struct vigil_pkt_meta *m, const uint8_t *src, const uint8_t *dst,
	     unsigned alen, uint16_t sport, uint16_t dport)
{
	int c = addr_cmp(src, dst, alen);
	uint64_t s[2], d[2], w0, w1, w2, w3, w4, w5;
	uint8_t *k = (uint8_t *)&m->key;
	uint32_t h;

	addr_words(src, alen, s);
	addr_words(dst, alen, d);
	m->dir = !(c < 0 || (c == 0 && sport <= dport));
	if (m->dir == 0) {
		w0 = s[0], w1 = s[1], w2 = d[0], w3 = d[1];
		w4 = (uint64_t)sport | (uint64_t)dport << 16;
	} else {
		w0 = d[0], w1 = d[1], w2 = s[0], w3 = s[1];
		w4 = (uint64_t)dport | (uint64_t)sport << 16;
	}
	/* vni (0 until overlays are decoded) in the upper half of w4. */
	w5 = (uint64_t)m->key.vlan | (uint64_t)m->key.proto << 16 |
	     (uint64_t)m->key.family << 24;
	RTE_BUILD_BUG_ON(sizeof(m->key) != 6 * sizeof(uint64_t));
	/* Scalars, not an array: an array goes through the stack and its
	 * reload stalls just the same. */
	memcpy(k, &w0, 8);
	memcpy(k + 8, &w1, 8);
	memcpy(k + 16, &w2, 8);
	memcpy(k + 24, &w3, 8);
	memcpy(k + 32, &w4, 8);
	memcpy(k + 40, &w5, 8);
	h = rte_hash_crc_8byte(w0, VIGIL_KEY_HASH_SEED);
	h = rte_hash_crc_8byte(w1, h);
	h = rte_hash_crc_8byte(w2, h);
	h = rte_hash_crc_8byte(w3, h);
	h = rte_hash_crc_8byte(w4, h);
	m->rx_hash = rte_hash_crc_8byte(w5, h);
}

static int
decode_ipv4(const uint8_t *p, uint32_t avail, uint32_t wire,
	    struct vigil_pkt_meta *m)
{
	uint32_t ihl, tot;
	uint16_t frag, sport, dport;
	int rc;

	if (avail < 20)
		return VIGIL_CTR_drop_truncated;
	if ((p[0] >> 4) != 4)
		return VIGIL_CTR_drop_bad_ipv4;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = rd16(p + 2);
	if (tot == 0 && wire >= ihl) {
		/* Captured before segmentation offload filled it in: the
		 * packet is as long as the frame says (what tshark does). */
		tot = wire > 0xffff ? 0xffff : wire;
		m->notes |= VIGIL_NOTE_IP_LEN_ZERO;
	}
	if (ihl < 20 || tot < ihl)
		return VIGIL_CTR_drop_bad_ipv4;
	if (avail < ihl)
		return VIGIL_CTR_drop_truncated;
	frag = rd16(p + 6);
	if ((frag & 0x1fff) != 0)
		return VIGIL_CTR_drop_fragment;
	m->key.family = VIGIL_AF_INET;
	m->key.proto = p[9];
	m->ip_len = tot;
	/* Bytes beyond the IP total length are Ethernet padding. */
	if (avail > tot)
		avail = tot;
	rc = decode_l4(p + ihl, avail - ihl, tot - ihl, m, &sport, &dport);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	canonicalize(m, p + 12, p + 16, 4, sport, dport);
	return VIGIL_DECODE_OK;
}

static int
decode_ipv6(const uint8_t *p, uint32_t avail, struct vigil_pkt_meta *m)
{
	uint32_t plen, off = 40;
	uint8_t nh;
	uint16_t sport, dport;
	int rc;

	if (avail < 40)
		return VIGIL_CTR_drop_truncated;
	if ((p[0] >> 4) != 6)
		return VIGIL_CTR_drop_bad_ipv6;
	plen = rd16(p + 4);
	nh = p[6];
	m->key.family = VIGIL_AF_INET6;
	m->ip_len = 40 + plen;
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
			if ((rd16(p + off + 2) & 0xfff8) != 0)
				return VIGIL_CTR_drop_fragment;
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
	m->key.proto = nh;
	rc = decode_l4(p + off, avail - off, 40 + plen - off, m, &sport,
		       &dport);
	if (rc != VIGIL_DECODE_OK)
		return rc;
	canonicalize(m, p + 8, p + 24, 16, sport, dport);
	return VIGIL_DECODE_OK;
}

int
vigil_decode(const uint8_t *frame, uint32_t caplen, struct vigil_pkt_meta *m)
{
	return vigil_decode_len(frame, caplen, caplen, m);
}

int
vigil_decode_len(const uint8_t *frame, uint32_t caplen, uint32_t framelen,
		 struct vigil_pkt_meta *m)
{
	uint32_t off = ETH_HLEN;
	uint16_t type;

	m->key.vlan = 0;
	m->l2_len = framelen;
	m->ip_len = 0;
	m->notes = 0;
	m->payload_len = 0;
	m->dir = 0;
	m->tcp_flags = 0;
	m->icmp_type = 0;
	m->icmp_code = 0;

	if (caplen < ETH_HLEN)
		return VIGIL_CTR_drop_truncated;
	type = rd16(frame + 12);
	for (int tags = 0;; tags++) {
		if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ &&
		    type != ETHERTYPE_QINQ_OLD)
			break;
		if (tags == MAX_VLAN_TAGS)
			return VIGIL_CTR_drop_bad_l2;
		if (caplen < off + 4)
			return VIGIL_CTR_drop_truncated;
		if (tags == 0)
			m->key.vlan = rd16(frame + off) & 0x0fff;
		type = rd16(frame + off + 2);
		off += 4;
	}
	switch (type) {
	case ETHERTYPE_IPV4:
		return decode_ipv4(frame + off, caplen - off, framelen - off, m);
	case ETHERTYPE_IPV6:
		return decode_ipv6(frame + off, caplen - off, m);
	default:
		return VIGIL_CTR_drop_non_ip;
	}
}

/* Enough for Ethernet, two tags, IPv6 with extension headers and TCP with
 * options: headers deeper than this in a chained mbuf count as truncated. */
#define HDR_COPY 512

int
vigil_decode_mbuf(const struct rte_mbuf *mb, struct vigil_pkt_meta *m)
{
	uint8_t copy[HDR_COPY];
	const uint8_t *p = rte_pktmbuf_mtod(mb, const uint8_t *);
	uint32_t len = rte_pktmbuf_pkt_len(mb), first = rte_pktmbuf_data_len(mb);

	if (mb->nb_segs == 1)
		return vigil_decode_len(p, len, len, m);
	if (first < HDR_COPY) {
		/* Headers may straddle segments: gather them. */
		first = len < HDR_COPY ? len : HDR_COPY;
		p = rte_pktmbuf_read(mb, 0, first, copy);
		if (p == NULL)
			return VIGIL_CTR_drop_truncated;
	}
	return vigil_decode_len(p, first, len, m);
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
