/*
 * Unit tests of lib/decode: frames built by hand, every malformation with
 * its counter, direction-free keys, robustness against truncated and random
 * input, and the mbuf variant on chained mbufs (that last group starts the
 * EAL without hugepages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "vigil_decode.h"
#include "vigil_stats.h"

/* ---- frame builder -------------------------------------------------------- */

struct fb {
	uint8_t b[4096];
	uint32_t n;
};

static void
put8(struct fb *f, uint8_t v)
{
	f->b[f->n++] = v;
}

static void
put16(struct fb *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void
put32(struct fb *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void
putn(struct fb *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
putz(struct fb *f, uint32_t n)
{
	memset(f->b + f->n, 0, n);
	f->n += n;
}

static void
set16(struct fb *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void
fb_eth(struct fb *f, uint16_t type)
{
	static const uint8_t macs[12] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
					  0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb };

	f->n = 0;
	putn(f, macs, 12);
	put16(f, type);
}

/* Ethernet header followed by tags (tpid[i], vid[i]), last type `type`. */
static void
fb_eth_tags(struct fb *f, unsigned ntags, const uint16_t *tpid,
	    const uint16_t *vid, uint16_t type)
{
	fb_eth(f, ntags ? tpid[0] : type);
	for (unsigned i = 0; i < ntags; i++) {
		put16(f, vid[i]);
		put16(f, i + 1 < ntags ? tpid[i + 1] : type);
	}
}

static void
a4(const char *s, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void
a6(const char *s, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* IPv4 header (20 bytes, no options) with total length 20 + l4len. */
static uint32_t
fb_ipv4(struct fb *f, const char *src, const char *dst, uint8_t proto,
	uint32_t l4len)
{
	uint32_t off = f->n;
	uint8_t a[4];

	put8(f, 0x45);
	put8(f, 0);
	put16(f, (uint16_t)(20 + l4len));
	put16(f, 0x1234); /* id */
	put16(f, 0x4000); /* DF */
	put8(f, 64);
	put8(f, proto);
	put16(f, 0); /* checksum: not checked */
	a4(src, a);
	putn(f, a, 4);
	a4(dst, a);
	putn(f, a, 4);
	return off;
}

static uint32_t
fb_ipv6(struct fb *f, const char *src, const char *dst, uint8_t nh,
	uint32_t plen)
{
	uint32_t off = f->n;
	uint8_t a[16];

	put32(f, 0x60000000);
	put16(f, (uint16_t)plen);
	put8(f, nh);
	put8(f, 64);
	a6(src, a);
	putn(f, a, 16);
	a6(dst, a);
	putn(f, a, 16);
	return off;
}

/* TCP header without options, then `payload` bytes of 'x'. */
static uint32_t
fb_tcp(struct fb *f, uint16_t sport, uint16_t dport, uint8_t flags,
       uint32_t payload)
{
	uint32_t off = f->n;

	put16(f, sport);
	put16(f, dport);
	put32(f, 1000); /* seq */
	put32(f, 2000); /* ack */
	put8(f, 5 << 4);
	put8(f, flags);
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	memset(f->b + f->n, 'x', payload);
	f->n += payload;
	return off;
}

static uint32_t
fb_udp(struct fb *f, uint16_t sport, uint16_t dport, uint32_t payload)
{
	uint32_t off = f->n;

	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
	memset(f->b + f->n, 'u', payload);
	f->n += payload;
	return off;
}

static void
fb_icmp(struct fb *f, uint8_t type, uint8_t code, uint32_t payload)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put16(f, 0x0102); /* id */
	put16(f, 0x0001); /* seq */
	memset(f->b + f->n, 'i', payload);
	f->n += payload;
}

/* Ethernet minimum frame: pad with zeros to 60 bytes. */
static void
fb_pad60(struct fb *f)
{
	if (f->n < 60)
		putz(f, 60 - f->n);
}

static void
mk_tcp4(struct fb *f, const char *src, uint16_t sport, const char *dst,
	uint16_t dport, uint8_t flags, uint32_t payload)
{
	fb_eth(f, 0x0800);
	fb_ipv4(f, src, dst, VIGIL_IPPROTO_TCP, 20 + payload);
	fb_tcp(f, sport, dport, flags, payload);
	fb_pad60(f);
}

static void
mk_udp4(struct fb *f, const char *src, uint16_t sport, const char *dst,
	uint16_t dport, uint32_t payload)
{
	fb_eth(f, 0x0800);
	fb_ipv4(f, src, dst, VIGIL_IPPROTO_UDP, 8 + payload);
	fb_udp(f, sport, dport, payload);
	fb_pad60(f);
}

static void
mk_tcp6(struct fb *f, const char *src, uint16_t sport, const char *dst,
	uint16_t dport, uint8_t flags, uint32_t payload)
{
	fb_eth(f, 0x86dd);
	fb_ipv6(f, src, dst, VIGIL_IPPROTO_TCP, 20 + payload);
	fb_tcp(f, sport, dport, flags, payload);
}

static void
mk_icmp4(struct fb *f, const char *src, const char *dst, uint8_t type,
	 uint8_t code, uint32_t payload)
{
	fb_eth(f, 0x0800);
	fb_ipv4(f, src, dst, VIGIL_IPPROTO_ICMP, 8 + payload);
	fb_icmp(f, type, code, payload);
	fb_pad60(f);
}

static void
mk_icmp6(struct fb *f, const char *src, const char *dst, uint8_t type,
	 uint8_t code, uint32_t payload)
{
	fb_eth(f, 0x86dd);
	fb_ipv6(f, src, dst, VIGIL_IPPROTO_ICMPV6, 8 + payload);
	fb_icmp(f, type, code, payload);
}

/* IPv6: hop-by-hop (8 bytes) -> destination options (16 bytes) -> UDP. */
static void
mk_udp6_ext(struct fb *f, const char *src, uint16_t sport, const char *dst,
	    uint16_t dport, uint32_t payload)
{
	fb_eth(f, 0x86dd);
	fb_ipv6(f, src, dst, 0, 8 + 16 + 8 + payload);
	/* Hop-by-hop: next = dstopts, len 0 (8 bytes), PadN of 4. */
	put8(f, 60);
	put8(f, 0);
	put8(f, 1);
	put8(f, 4);
	putz(f, 4);
	/* Destination options: next = UDP, len 1 (16 bytes), PadN of 12. */
	put8(f, VIGIL_IPPROTO_UDP);
	put8(f, 1);
	put8(f, 1);
	put8(f, 12);
	putz(f, 12);
	fb_udp(f, sport, dport, payload);
}

static int
dec(const struct fb *f, struct vigil_pkt_meta *m)
{
	int rc;

	memset(m, 0xa5, sizeof(*m)); /* stale garbage must be overwritten */
	rc = vigil_decode(f->b, f->n, m);
	if (rc == VIGIL_DECODE_OK) {
		/* The hash that picks the worker and signs the table entry. */
		assert_int_equal(m->rx_hash, vigil_key_hash(&m->key));
		assert_int_equal(m->key.vni, 0);
		assert_int_equal(m->key.pad, 0);
	}
	return rc;
}

static void
assert_addr4(const struct vigil_flow_key *k, int side, const char *s)
{
	uint8_t want[16] = { 0 };

	a4(s, want);
	assert_memory_equal(k->addr[side], want, 16);
}

static void
assert_addr6(const struct vigil_flow_key *k, int side, const char *s)
{
	uint8_t want[16];

	a6(s, want);
	assert_memory_equal(k->addr[side], want, 16);
}

/* ---- well-formed packets -------------------------------------------------- */

static void
test_ipv4_tcp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* 10.0.0.1:40000 -> 10.0.0.2:80, SYN+ACK, 100 bytes of payload. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 80,
		VIGIL_TCP_SYN | VIGIL_TCP_ACK, 100);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_TCP);
	assert_addr4(&m.key, 0, "10.0.0.1");
	assert_addr4(&m.key, 1, "10.0.0.2");
	assert_int_equal(m.key.port[0], 40000);
	assert_int_equal(m.key.port[1], 80);
	assert_int_equal(m.key.vlan, 0);
	assert_int_equal(m.key.vni, 0);
	assert_int_equal(m.key.pad, 0);
	assert_int_equal(m.dir, 0);
	assert_int_equal(m.tcp_flags, VIGIL_TCP_SYN | VIGIL_TCP_ACK);
	assert_int_equal(m.l2_len, 14 + 20 + 20 + 100);
	assert_int_equal(m.ip_len, 140);
	assert_int_equal(m.payload_len, 100);
	assert_int_equal(m.icmp_type, 0);
	assert_int_equal(m.icmp_code, 0);

	/* FIN|PSH|ACK with 2 bytes of payload, padded to 60 bytes by
	 * Ethernet: lengths come from the IP header, not the frame. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 80,
		VIGIL_TCP_FIN | VIGIL_TCP_PSH | VIGIL_TCP_ACK, 2);
	memset(f.b + 56, 0xee, 4); /* padding that is not zero */
	assert_int_equal(f.n, 60);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.tcp_flags, 0x19);
	assert_int_equal(m.l2_len, 60);
	assert_int_equal(m.ip_len, 42);
	assert_int_equal(m.payload_len, 2);

	/* Pure ACK (54 bytes padded to 60): no payload. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 80, VIGIL_TCP_ACK, 0);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.l2_len, 60);
	assert_int_equal(m.ip_len, 40);
	assert_int_equal(m.payload_len, 0);
	assert_int_equal(m.tcp_flags, VIGIL_TCP_ACK);

	/* TCP options (data offset 8 = 32 bytes) are not payload. */
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 32 + 10);
	fb_tcp(&f, 40000, 80, VIGIL_TCP_ACK, 22);
	f.b[14 + 20 + 12] = 8 << 4;
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.ip_len, 62);
	assert_int_equal(m.payload_len, 10);

	/* IPv4 options (IHL 6) are skipped: ports read after them. */
	fb_eth(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 4 + 20 + 3);
	f.b[14] = 0x46;
	put32(&f, 0x01010101); /* NOP options */
	fb_tcp(&f, 1234, 443, VIGIL_TCP_PSH | VIGIL_TCP_ACK, 3);
	fb_pad60(&f);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.port[0], 1234);
	assert_int_equal(m.key.port[1], 443);
	assert_int_equal(m.ip_len, 47);
	assert_int_equal(m.payload_len, 3);
}

static void
test_ipv4_total_length_zero(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* Captured before TCP segmentation offload filled in the IPv4 total
	 * length: the length comes from the frame, and a note says so. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 443,
		VIGIL_TCP_PSH | VIGIL_TCP_ACK, 3000);
	set16(&f, 14 + 2, 0);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.ip_len, 3040);
	assert_int_equal(m.payload_len, 3000);
	assert_int_equal(m.l2_len, 3054);
	assert_true(m.notes & VIGIL_NOTE_IP_LEN_ZERO);
	/* Same frame captured with a snap length: vigil_decode_len() takes
	 * the wire length apart from the captured bytes. */
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(vigil_decode_len(f.b, 96, 3054, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.ip_len, 3040);
	assert_int_equal(m.payload_len, 3000);
	assert_int_equal(m.l2_len, 3054);
	assert_true(m.notes & VIGIL_NOTE_IP_LEN_ZERO);
	assert_int_equal(m.rx_hash, vigil_key_hash(&m.key));
	/* A normal packet carries no note. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 443, VIGIL_TCP_ACK, 10);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, 0);
	/* vigil_decode_len() with the whole frame contiguous is
	 * vigil_decode(). */
	{
		struct vigil_pkt_meta m2;

		assert_int_equal(vigil_decode_len(f.b, f.n, f.n, &m2),
				 VIGIL_DECODE_OK);
		assert_memory_equal(&m2.key, &m.key, sizeof(m.key));
		assert_int_equal(m2.ip_len, m.ip_len);
		assert_int_equal(m2.payload_len, m.payload_len);
	}
}

static void
test_ipv4_udp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* 192.168.1.52:54585 -> 8.8.8.8:53: the sender is key side 1. */
	mk_udp4(&f, "192.168.1.52", 54585, "8.8.8.8", 53, 33);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_UDP);
	assert_addr4(&m.key, 0, "8.8.8.8");
	assert_addr4(&m.key, 1, "192.168.1.52");
	assert_int_equal(m.key.port[0], 53);
	assert_int_equal(m.key.port[1], 54585);
	assert_int_equal(m.dir, 1);
	assert_int_equal(m.tcp_flags, 0);
	assert_int_equal(m.ip_len, 20 + 8 + 33);
	assert_int_equal(m.payload_len, 33);
	assert_int_equal(m.l2_len, 14 + 20 + 8 + 33);

	/* UDP length shorter than the IP payload: UDP length wins. */
	mk_udp4(&f, "192.168.1.52", 54585, "8.8.8.8", 53, 33);
	set16(&f, 14 + 20 + 4, 8 + 30);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.payload_len, 30);
	assert_int_equal(m.ip_len, 61);
}

static void
test_ipv6_tcp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	mk_tcp6(&f, "fd00::20", 443, "fd00::1", 51000,
		VIGIL_TCP_PSH | VIGIL_TCP_ACK, 1200);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_TCP);
	assert_addr6(&m.key, 0, "fd00::1");
	assert_addr6(&m.key, 1, "fd00::20");
	assert_int_equal(m.key.port[0], 51000);
	assert_int_equal(m.key.port[1], 443);
	assert_int_equal(m.dir, 1);
	assert_int_equal(m.tcp_flags, VIGIL_TCP_PSH | VIGIL_TCP_ACK);
	assert_int_equal(m.ip_len, 40 + 20 + 1200);
	assert_int_equal(m.payload_len, 1200);
	assert_int_equal(m.l2_len, 14 + 40 + 20 + 1200);
	assert_int_equal(m.key.vlan, 0);
	assert_int_equal(m.key.pad, 0);
}

static void
test_ipv6_ext_chain_udp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	mk_udp6_ext(&f, "2001:db8::1", 5353, "2001:db8::2", 5353, 21);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_UDP);
	assert_addr6(&m.key, 0, "2001:db8::1");
	assert_addr6(&m.key, 1, "2001:db8::2");
	assert_int_equal(m.key.port[0], 5353);
	assert_int_equal(m.key.port[1], 5353);
	assert_int_equal(m.dir, 0);
	assert_int_equal(m.ip_len, 40 + 8 + 16 + 8 + 21);
	assert_int_equal(m.payload_len, 21);

	/* An extension header running past the IPv6 payload length. */
	mk_udp6_ext(&f, "2001:db8::1", 5353, "2001:db8::2", 5353, 21);
	f.b[14 + 40 + 8 + 1] = 200; /* dstopts claims 1608 bytes */
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_ipv6);

	/* The chain cut by the capture inside the extension headers. */
	mk_udp6_ext(&f, "2001:db8::1", 5353, "2001:db8::2", 5353, 21);
	f.n = 14 + 40 + 8 + 4;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
}

static void
test_icmp_echo_request_reply(void **state)
{
	struct fb f;
	struct vigil_pkt_meta req, rep;

	(void)state;
	mk_icmp4(&f, "192.168.0.89", "192.168.0.1", 8, 0, 56);
	assert_int_equal(dec(&f, &req), VIGIL_DECODE_OK);
	assert_int_equal(req.key.proto, VIGIL_IPPROTO_ICMP);
	assert_int_equal(req.icmp_type, 8);
	assert_int_equal(req.icmp_code, 0);
	assert_int_equal(req.ip_len, 20 + 8 + 56);
	assert_int_equal(req.payload_len, 4 + 56);
	mk_icmp4(&f, "192.168.0.1", "192.168.0.89", 0, 0, 56);
	assert_int_equal(dec(&f, &rep), VIGIL_DECODE_OK);
	assert_int_equal(rep.icmp_type, 0);

	assert_memory_equal(&req.key, &rep.key, sizeof(req.key));
	assert_int_not_equal(req.dir, rep.dir);
	assert_int_equal(vigil_key_hash(&req.key), vigil_key_hash(&rep.key));
	/* Canonical: 192.168.0.1 is side 0, with the reply type as port. */
	assert_addr4(&req.key, 0, "192.168.0.1");
	assert_addr4(&req.key, 1, "192.168.0.89");
	assert_int_equal(req.dir, 1);
	assert_int_equal(req.key.port[0], 0);
	assert_int_equal(req.key.port[1], 8);

	/* A one-way type keys on type and code. */
	mk_icmp4(&f, "10.0.0.1", "10.0.0.9", 3, 1, 28);
	assert_int_equal(dec(&f, &req), VIGIL_DECODE_OK);
	assert_int_equal(req.icmp_type, 3);
	assert_int_equal(req.icmp_code, 1);
	assert_int_equal(req.key.port[0], 3);
	assert_int_equal(req.key.port[1], 1);
}

static void
test_icmpv6_echo(void **state)
{
	struct fb f;
	struct vigil_pkt_meta req, rep;

	(void)state;
	mk_icmp6(&f, "fe80::1", "fe80::2", 128, 0, 32);
	assert_int_equal(dec(&f, &req), VIGIL_DECODE_OK);
	assert_int_equal(req.key.family, VIGIL_AF_INET6);
	assert_int_equal(req.key.proto, VIGIL_IPPROTO_ICMPV6);
	assert_int_equal(req.icmp_type, 128);
	assert_int_equal(req.ip_len, 40 + 8 + 32);
	assert_int_equal(req.payload_len, 4 + 32);
	assert_int_equal(req.dir, 0);
	assert_int_equal(req.key.port[0], 128);
	assert_int_equal(req.key.port[1], 129);
	mk_icmp6(&f, "fe80::2", "fe80::1", 129, 0, 32);
	assert_int_equal(dec(&f, &rep), VIGIL_DECODE_OK);
	assert_int_equal(rep.icmp_type, 129);
	assert_int_equal(rep.dir, 1);
	assert_memory_equal(&req.key, &rep.key, sizeof(req.key));
	assert_int_equal(vigil_key_hash(&req.key), vigil_key_hash(&rep.key));
}

static void
test_icmp_counterparts(void **state)
{
	(void)state;
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 8), 0);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 0), 8);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 13), 14);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 10), 9);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 17), 18);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 3), -1);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET, 11), -1);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET6, 128), 129);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET6, 129), 128);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET6, 135), 136);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET6, 133), 134);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET6, 1), -1);
	assert_int_equal(vigil_icmp_counterpart(VIGIL_AF_INET6, 8), -1);
}

static void
test_vlan_8021q(void **state)
{
	static const uint16_t tpid[] = { 0x8100 };
	static const uint16_t vid[] = { 0x2000 | 100 }; /* PCP 1, VID 100 */
	struct fb f, plain;
	struct vigil_pkt_meta m, mp;

	(void)state;
	fb_eth_tags(&f, 1, tpid, vid, 0x0800);
	fb_ipv4(&f, "10.1.1.1", "10.1.1.2", VIGIL_IPPROTO_UDP, 8 + 10);
	fb_udp(&f, 1000, 2000, 10);
	fb_pad60(&f);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.vlan, 100);
	assert_int_equal(m.key.port[0], 1000);
	assert_int_equal(m.ip_len, 38);
	assert_int_equal(m.payload_len, 10);
	assert_int_equal(m.l2_len, 60);

	/* Same flow untagged: same key except the VLAN id. */
	mk_udp4(&plain, "10.1.1.1", 1000, "10.1.1.2", 2000, 10);
	assert_int_equal(dec(&plain, &mp), VIGIL_DECODE_OK);
	assert_int_equal(mp.key.vlan, 0);
	mp.key.vlan = 100;
	assert_memory_equal(&m.key, &mp.key, sizeof(m.key));
}

static void
test_vlan_qinq_keeps_outer(void **state)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100 };
	static const uint16_t vid[] = { 200, 300 };
	static const uint16_t tpid_old[] = { 0x9100, 0x8100 };
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	fb_eth_tags(&f, 2, tpid, vid, 0x86dd);
	fb_ipv6(&f, "fd00::1", "fd00::2", VIGIL_IPPROTO_TCP, 20);
	fb_tcp(&f, 5000, 22, VIGIL_TCP_SYN, 0);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.vlan, 200);
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_int_equal(m.key.port[0], 5000);
	assert_int_equal(m.key.port[1], 22);
	assert_int_equal(m.tcp_flags, VIGIL_TCP_SYN);

	fb_eth_tags(&f, 2, tpid_old, vid, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_UDP, 8);
	fb_udp(&f, 1, 2, 0);
	fb_pad60(&f);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.vlan, 200);
}

static void
test_three_tags_bad_l2(void **state)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100, 0x8100 };
	static const uint16_t vid[] = { 1, 2, 3 };
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	fb_eth_tags(&f, 3, tpid, vid, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_UDP, 8);
	fb_udp(&f, 1, 2, 0);
	fb_pad60(&f);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l2);
}

static void
test_non_ip(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* ARP request. */
	fb_eth(&f, 0x0806);
	put16(&f, 1);
	put16(&f, 0x0800);
	put8(&f, 6);
	put8(&f, 4);
	put16(&f, 1);
	putz(&f, 20);
	fb_pad60(&f);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_non_ip);
	/* LLDP behind a VLAN tag. */
	fb_eth(&f, 0x8100);
	put16(&f, 5);
	put16(&f, 0x88cc);
	fb_pad60(&f);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_non_ip);
}

/* ---- symmetry ------------------------------------------------------------ */

static void
check_symmetric(const struct fb *a, const struct fb *b)
{
	struct vigil_pkt_meta ma, mb;

	assert_int_equal(dec(a, &ma), VIGIL_DECODE_OK);
	assert_int_equal(dec(b, &mb), VIGIL_DECODE_OK);
	assert_memory_equal(&ma.key, &mb.key, sizeof(ma.key));
	assert_int_equal(ma.dir ^ mb.dir, 1);
	assert_int_equal(vigil_key_hash(&ma.key), vigil_key_hash(&mb.key));
}

static void
test_symmetry(void **state)
{
	struct fb a, b;
	struct vigil_pkt_meta ma, mc;

	(void)state;
	mk_tcp4(&a, "172.16.5.4", 33000, "10.9.8.7", 8080, VIGIL_TCP_SYN, 0);
	mk_tcp4(&b, "10.9.8.7", 8080, "172.16.5.4", 33000,
		VIGIL_TCP_SYN | VIGIL_TCP_ACK, 0);
	check_symmetric(&a, &b);

	mk_udp4(&a, "10.0.0.1", 53, "10.0.0.2", 53, 40);
	mk_udp4(&b, "10.0.0.2", 53, "10.0.0.1", 53, 80);
	check_symmetric(&a, &b);

	/* Same address both ends: ports decide. */
	mk_tcp4(&a, "127.0.0.1", 6379, "127.0.0.1", 41000, VIGIL_TCP_ACK, 5);
	mk_tcp4(&b, "127.0.0.1", 41000, "127.0.0.1", 6379, VIGIL_TCP_ACK, 5);
	check_symmetric(&a, &b);

	mk_tcp6(&a, "2001:db8::ff", 22, "2001:db8::1:0", 60000, VIGIL_TCP_ACK,
		0);
	mk_tcp6(&b, "2001:db8::1:0", 60000, "2001:db8::ff", 22, VIGIL_TCP_ACK,
		0);
	check_symmetric(&a, &b);

	mk_udp6_ext(&a, "fe80::a", 546, "ff02::1:2", 547, 10);
	mk_udp6_ext(&b, "ff02::1:2", 547, "fe80::a", 546, 10);
	check_symmetric(&a, &b);

	/* A different flow gets a different key and (here) hash. */
	mk_tcp4(&a, "172.16.5.4", 33000, "10.9.8.7", 8080, VIGIL_TCP_SYN, 0);
	mk_tcp4(&b, "172.16.5.4", 33001, "10.9.8.7", 8080, VIGIL_TCP_SYN, 0);
	assert_int_equal(dec(&a, &ma), VIGIL_DECODE_OK);
	assert_int_equal(dec(&b, &mc), VIGIL_DECODE_OK);
	assert_memory_not_equal(&ma.key, &mc.key, sizeof(ma.key));
	assert_int_not_equal(vigil_key_hash(&ma.key), vigil_key_hash(&mc.key));
}

static void
test_key_addr_str(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;
	char s[64];

	(void)state;
	mk_udp4(&f, "192.168.1.52", 54585, "8.8.8.8", 53, 0);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	vigil_key_addr_str(&m.key, 0, s, sizeof(s));
	assert_string_equal(s, "8.8.8.8");
	vigil_key_addr_str(&m.key, 1, s, sizeof(s));
	assert_string_equal(s, "192.168.1.52");
	mk_tcp6(&f, "fd00:0:0:0:0:0:0:1", 1, "2001:db8:0:0:1:0:0:1", 2, 0, 0);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	vigil_key_addr_str(&m.key, 1, s, sizeof(s));
	assert_string_equal(s, "fd00::1");
	vigil_key_addr_str(&m.key, 0, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1:0:0:1");
}

/* ---- malformations, each with its counter -------------------------------- */

static void
test_short_ethernet(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
	for (uint32_t n = 0; n < 14; n++) {
		f.n = n;
		assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
	}
	/* Ethernet header only. */
	f.n = 14;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
	/* A VLAN tag cut in the middle. */
	fb_eth(&f, 0x8100);
	put16(&f, 7);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
}

static void
test_bad_ipv4(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* IHL < 5. */
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
		f.b[14] = (uint8_t)(0x40 | ihl);
		assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_ipv4);
	}
	/* Total length smaller than the header (IHL 5 = 20 bytes). */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
	set16(&f, 14 + 2, 19);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_ipv4);
	/* Total length smaller than IHL 6 = 24 bytes. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
	f.b[14] = 0x46;
	set16(&f, 14 + 2, 22);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_ipv4);
	/* Version 6 in an IPv4 ethertype. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
	f.b[14] = 0x65;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_ipv4);
	/* Header cut by the capture. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
	f.n = 14 + 19;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
	/* IHL 15 (60 bytes) with only 40 captured. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_SYN, 0);
	f.b[14] = 0x4f;
	set16(&f, 14 + 2, 80);
	f.n = 14 + 40;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
}

static void
test_ipv4_fragments(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* Non-first fragment (offset 185 x 8 bytes): no ports to key it. */
	mk_udp4(&f, "10.0.0.1", 1000, "10.0.0.2", 2000, 100);
	set16(&f, 14 + 6, 185);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment);
	/* Last fragment, MF clear, offset > 0. */
	set16(&f, 14 + 6, 0x0001);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment);
	/* The highest offset bit (0x1000 x 8 bytes), DF set. */
	set16(&f, 14 + 6, 0x5000);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment);
	/* First fragment (MF set, offset 0) carries the ports. */
	mk_udp4(&f, "10.0.0.1", 1000, "10.0.0.2", 2000, 100);
	set16(&f, 14 + 6, 0x2000);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.port[0], 1000);
	assert_int_equal(m.key.port[1], 2000);
}

static void
test_bad_tcp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* Data offset < 5. */
	for (uint8_t doff = 0; doff < 5; doff++) {
		mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_ACK, 40);
		f.b[14 + 20 + 12] = (uint8_t)(doff << 4);
		assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	}
	/* Data offset 15 (60 bytes) with 40 bytes of TCP in the IP packet. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_ACK, 20);
	f.b[14 + 20 + 12] = 15 << 4;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* Data offset 11 (44 bytes) with 40: one word too many. */
	f.b[14 + 20 + 12] = 11 << 4;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* Exactly 40: fine, no payload. */
	f.b[14 + 20 + 12] = 10 << 4;
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.payload_len, 0);
	/* IPv6 too. */
	mk_tcp6(&f, "fd00::1", 1, "fd00::2", 2, VIGIL_TCP_ACK, 8);
	f.b[14 + 40 + 12] = 8 << 4;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
}

/*
 * Regression (was a bug in lib/decode/vigil_decode.c, decode_l4(), lines ~86-89, 105-107,
 * 126-128): when the IP header leaves less room than a TCP (20), UDP (8) or
 * ICMP (4) header needs, e.g. IPv4 total length 32 carrying TCP in a fully
 * captured 60-byte frame, the packet is malformed, not cut by the capture,
 * and must count as drop_bad_l4. decode_l4() tests `avail < 20` first, but
 * `avail` has already been clamped to the IP length by its callers, so
 * `avail <= l4len` always holds and the drop_bad_l4 arm of
 * `avail < 20 ? drop_truncated : drop_bad_l4` can never be taken: the packet
 * is reported as drop_truncated. Fix: test `l4len < N` (-> drop_bad_l4)
 * before `avail < N` (-> drop_truncated).
 */
static void
test_ip_length_too_short_for_l4_is_bad_l4(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* IPv4 says 12 bytes of TCP; the whole 60-byte frame is captured. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_ACK, 0);
	set16(&f, 14 + 2, 20 + 12);
	assert_int_equal(f.n, 60);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* IPv4 says 4 bytes of UDP. */
	mk_udp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, 0);
	set16(&f, 14 + 2, 20 + 4);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* IPv6 payload length 10 for TCP, frame fully captured. */
	mk_tcp6(&f, "fd00::1", 1, "fd00::2", 2, VIGIL_TCP_ACK, 0);
	set16(&f, 14 + 4, 10);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* ICMP with 2 bytes according to IPv4. */
	mk_icmp4(&f, "10.0.0.1", "10.0.0.2", 8, 0, 0);
	set16(&f, 14 + 2, 20 + 2);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
}

static void
test_bad_udp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* UDP length larger than the IP payload. */
	mk_udp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, 20);
	set16(&f, 14 + 20 + 4, 8 + 21);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* UDP length below its own header. */
	set16(&f, 14 + 20 + 4, 7);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* IPv6 too. */
	mk_udp6_ext(&f, "fd00::1", 1, "fd00::2", 2, 10);
	set16(&f, 14 + 40 + 24 + 4, 8 + 11);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
}

static void
test_bad_ipv6(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* Truncated fixed header. */
	mk_tcp6(&f, "fd00::1", 1, "fd00::2", 2, VIGIL_TCP_SYN, 0);
	for (uint32_t n = 14; n < 14 + 40; n++) {
		f.n = n;
		assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
	}
	/* Version 4 in an IPv6 ethertype. */
	mk_tcp6(&f, "fd00::1", 1, "fd00::2", 2, VIGIL_TCP_SYN, 0);
	f.b[14] = 0x40;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_ipv6);
}

static void
mk_frag6(struct fb *f, uint16_t offset_field)
{
	fb_eth(f, 0x86dd);
	fb_ipv6(f, "fd00::1", "fd00::2", 44, 8 + 20 + 100);
	put8(f, VIGIL_IPPROTO_TCP);
	put8(f, 0);
	put16(f, offset_field);
	put32(f, 0xdeadbeef);
	fb_tcp(f, 7000, 80, VIGIL_TCP_ACK, 100);
}

static void
test_ipv6_fragments(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	mk_frag6(&f, (uint16_t)(100 << 3)); /* offset 800, last fragment */
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment);
	mk_frag6(&f, (uint16_t)((1 << 3) | 1)); /* offset 8, more */
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment);
	mk_frag6(&f, 1); /* first fragment: offset 0, M set */
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_TCP);
	assert_int_equal(m.key.port[0], 7000);
	assert_int_equal(m.key.port[1], 80);
	assert_int_equal(m.payload_len, 100);
	assert_int_equal(m.ip_len, 40 + 8 + 20 + 100);
}

static void
test_snaplen_truncated_tcp(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* 1400 bytes of payload, captured with a snap length that keeps the
	 * TCP header only: counts come from the IP header. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 443,
		VIGIL_TCP_PSH | VIGIL_TCP_ACK, 1400);
	f.n = 14 + 20 + 20;
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.l2_len, 54);
	assert_int_equal(m.ip_len, 1440);
	assert_int_equal(m.payload_len, 1400);
	assert_int_equal(m.tcp_flags, VIGIL_TCP_PSH | VIGIL_TCP_ACK);
	assert_int_equal(m.key.port[0], 40000);
	/* Same for IPv6 cut at 96 bytes. */
	mk_tcp6(&f, "fd00::1", 40000, "fd00::2", 443, VIGIL_TCP_ACK, 1000);
	f.n = 96;
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.ip_len, 1060);
	assert_int_equal(m.payload_len, 1000);
	/* Cut inside the TCP header: cannot be keyed. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 443, VIGIL_TCP_ACK, 1400);
	f.n = 14 + 20 + 19;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
	/* Cut inside the UDP header. */
	mk_udp4(&f, "10.0.0.1", 40000, "10.0.0.2", 53, 500);
	f.n = 14 + 20 + 7;
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_truncated);
	f.n = 14 + 20 + 8;
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.payload_len, 500);
}

/* ---- robustness ----------------------------------------------------------- */

/*
 * Decode `len` bytes twice: from a malloc'd copy of exactly `len` bytes
 * (caught by ASan when enabled) and from a copy that ends right at a
 * PROT_NONE page, so a read past `caplen` crashes even without ASan.
 */
static uint8_t *guard_area;
static size_t page;

static int
decode_guarded(const uint8_t *src, uint32_t len, struct vigil_pkt_meta *m)
{
	uint8_t *exact = malloc(len ? len : 1);
	uint8_t *tail;
	struct vigil_pkt_meta m2;
	int rc, rc2;

	assert_true(len <= page);
	assert_non_null(exact);
	memcpy(exact, src, len);
	rc = vigil_decode(exact, len, m);
	free(exact);
	tail = guard_area + page - len;
	memcpy(tail, src, len);
	rc2 = vigil_decode(tail, len, &m2);
	assert_int_equal(rc, rc2);
	if (rc == VIGIL_DECODE_OK)
		assert_memory_equal(&m->key, &m2.key, sizeof(m2.key));
	return rc;
}

static int
guard_setup(void **state)
{
	(void)state;
	page = (size_t)sysconf(_SC_PAGESIZE);
	guard_area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_area == MAP_FAILED)
		return -1;
	return mprotect(guard_area + page, page, PROT_NONE);
}

static int
guard_teardown(void **state)
{
	(void)state;
	munmap(guard_area, 2 * page);
	return 0;
}

static void
check_result_sane(int rc, const struct vigil_pkt_meta *m, uint32_t len)
{
	static const uint8_t zero[12];

	if (rc != VIGIL_DECODE_OK) {
		assert_true(rc > 0 && rc < VIGIL_CTR_MAX);
		assert_true(vigil_ctr_is_drop((enum vigil_ctr)rc));
		return;
	}
	assert_true(m->key.family == VIGIL_AF_INET ||
		    m->key.family == VIGIL_AF_INET6);
	if (m->key.family == VIGIL_AF_INET) {
		assert_memory_equal(m->key.addr[0] + 4, zero, 12);
		assert_memory_equal(m->key.addr[1] + 4, zero, 12);
	}
	assert_int_equal(m->key.pad, 0);
	assert_int_equal(m->key.vni, 0);
	assert_int_equal(m->rx_hash, vigil_key_hash(&m->key));
	assert_true(m->dir <= 1);
	assert_int_equal(m->l2_len, len);
	assert_true(m->payload_len <= m->ip_len);
}

/* Every prefix of a valid frame: no crash, no read past the prefix, and
 * keyed exactly when the headers up to the transport header are there. */
static void
check_prefixes(const struct fb *f, uint32_t hdr_end)
{
	struct vigil_pkt_meta full, m;

	assert_int_equal(decode_guarded(f->b, f->n, &full), VIGIL_DECODE_OK);
	for (uint32_t n = 0; n <= f->n; n++) {
		int rc = decode_guarded(f->b, n, &m);

		check_result_sane(rc, &m, n);
		if (n < hdr_end) {
			assert_int_equal(rc, VIGIL_CTR_drop_truncated);
		} else {
			assert_int_equal(rc, VIGIL_DECODE_OK);
			assert_memory_equal(&m.key, &full.key, sizeof(m.key));
			assert_int_equal(m.ip_len, full.ip_len);
			assert_int_equal(m.payload_len, full.payload_len);
		}
	}
}

static void
test_every_prefix(void **state)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100 };
	static const uint16_t vid[] = { 10, 20 };
	struct fb f;

	(void)state;
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 80, VIGIL_TCP_ACK, 300);
	check_prefixes(&f, 14 + 20 + 20);
	mk_udp4(&f, "10.0.0.1", 40000, "10.0.0.2", 53, 50);
	check_prefixes(&f, 14 + 20 + 8);
	mk_icmp4(&f, "10.0.0.1", "10.0.0.2", 8, 0, 40);
	check_prefixes(&f, 14 + 20 + 4);
	mk_tcp6(&f, "fd00::1", 40000, "fd00::2", 80, VIGIL_TCP_ACK, 200);
	check_prefixes(&f, 14 + 40 + 20);
	mk_udp6_ext(&f, "fd00::1", 40000, "fd00::2", 53, 64);
	check_prefixes(&f, 14 + 40 + 24 + 8);
	mk_icmp6(&f, "fd00::1", "fd00::2", 128, 0, 40);
	check_prefixes(&f, 14 + 40 + 4);
	mk_frag6(&f, 1);
	check_prefixes(&f, 14 + 40 + 8 + 20);
	fb_eth_tags(&f, 2, tpid, vid, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 20 + 30);
	fb_tcp(&f, 1, 2, VIGIL_TCP_SYN, 30);
	check_prefixes(&f, 22 + 20 + 20);
}

static uint32_t rng_state = 20250101u;

static uint32_t
rnd(void)
{
	/* xorshift32: fixed sequence on every platform. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
test_random_frames(void **state)
{
	static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8,
					  0x9100, 0x0806 };
	static const uint8_t protos[] = { 0, 1, 6, 17, 43, 44, 51, 58, 60, 47 };
	uint8_t buf[512];
	struct vigil_pkt_meta m;
	unsigned ok = 0, drops = 0;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		uint32_t len = rnd() % 300;

		for (uint32_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rnd();
		/* Bias towards headers the parser goes deeper into. */
		if (len >= 14 && rnd() % 4 != 0) {
			uint16_t t = types[rnd() % 6];
			uint32_t l3 = 14;

			buf[12] = (uint8_t)(t >> 8);
			buf[13] = (uint8_t)t;
			if ((t == 0x8100 || t == 0x88a8 || t == 0x9100) &&
			    len >= 18 && rnd() % 2) {
				t = rnd() % 2 ? 0x0800 : 0x86dd;
				buf[16] = (uint8_t)(t >> 8);
				buf[17] = (uint8_t)t;
				l3 = 18;
			}
			if (t == 0x0800 && len > l3 + 20) {
				uint16_t tot = (uint16_t)(len - l3 - rnd() % 8);

				buf[l3] = (uint8_t)(0x45 + rnd() % 3);
				buf[l3 + 2] = (uint8_t)(tot >> 8);
				buf[l3 + 3] = (uint8_t)tot;
				buf[l3 + 6] &= rnd() % 2 ? 0xe0 : 0xff;
				buf[l3 + 7] = rnd() % 2 ? 0 : buf[l3 + 7];
				buf[l3 + 9] = protos[rnd() % 10];
			} else if (t == 0x86dd && len > l3 + 40) {
				uint16_t pl = (uint16_t)(len - l3 - 40 -
							 rnd() % 8);

				buf[l3] = 0x60;
				buf[l3 + 4] = (uint8_t)(pl >> 8);
				buf[l3 + 5] = (uint8_t)pl;
				buf[l3 + 6] = protos[rnd() % 10];
				if (len > l3 + 48) {
					buf[l3 + 40] = protos[rnd() % 10];
					buf[l3 + 41] = (uint8_t)(rnd() % 3);
				}
			}
		}
		int rc = decode_guarded(buf, len, &m);

		check_result_sane(rc, &m, len);
		if (rc == VIGIL_DECODE_OK)
			ok++;
		else
			drops++;
	}
	/* The generator reaches both outcomes (not only early drops). */
	assert_true(ok > 100);
	assert_true(drops > 100);
	assert_int_equal(ok + drops, 10000);
}

/* ---- vigil_decode_mbuf (EAL) ---------------------------------------------- */

static struct rte_mempool *mp;

static int
eal_setup(void **state)
{
	char *argv[] = { "test", "--no-huge", "-m", "256", "--no-pci",
			 "--no-shconf", "-l", "0", "--log-level=4" };

	(void)state;
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		return -1;
	mp = rte_pktmbuf_pool_create("decode_pool", 255, 0,
				     RTE_ALIGN(sizeof(struct vigil_pkt_meta),
					       RTE_MBUF_PRIV_ALIGN),
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return mp == NULL ? -1 : 0;
}

static int
eal_teardown(void **state)
{
	(void)state;
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}

/* An mbuf chain holding `f` split at the given offsets. */
static struct rte_mbuf *
chain(const struct fb *f, const uint32_t *cuts, unsigned ncuts)
{
	struct rte_mbuf *head = NULL;
	uint32_t from = 0;

	for (unsigned i = 0; i <= ncuts; i++) {
		uint32_t to = i < ncuts ? cuts[i] : f->n;
		struct rte_mbuf *s = rte_pktmbuf_alloc(mp);
		char *d;

		assert_non_null(s);
		d = rte_pktmbuf_append(s, (uint16_t)(to - from));
		assert_non_null(d);
		memcpy(d, f->b + from, to - from);
		if (head == NULL)
			head = s;
		else
			assert_int_equal(rte_pktmbuf_chain(head, s), 0);
		from = to;
	}
	return head;
}

static void
check_mbuf_same_as_flat(const struct fb *f, const uint32_t *cuts,
			unsigned ncuts)
{
	struct vigil_pkt_meta flat, mm;
	struct rte_mbuf *m = chain(f, cuts, ncuts);

	assert_int_equal(m->nb_segs, ncuts + 1);
	assert_int_equal(rte_pktmbuf_pkt_len(m), f->n);
	assert_int_equal(vigil_decode(f->b, f->n, &flat), VIGIL_DECODE_OK);
	memset(&mm, 0x5a, sizeof(mm));
	assert_int_equal(vigil_decode_mbuf(m, &mm), VIGIL_DECODE_OK);
	assert_memory_equal(&mm.key, &flat.key, sizeof(flat.key));
	assert_int_equal(mm.dir, flat.dir);
	assert_int_equal(mm.l2_len, f->n);
	assert_int_equal(mm.ip_len, flat.ip_len);
	assert_int_equal(mm.payload_len, flat.payload_len);
	assert_int_equal(mm.tcp_flags, flat.tcp_flags);
	assert_int_equal(mm.rx_hash, flat.rx_hash);
	rte_pktmbuf_free(m);
}

static void
test_mbuf_straddling_segments(void **state)
{
	static const uint16_t tpid[] = { 0x8100 };
	static const uint16_t vid[] = { 42 };
	struct fb f;
	uint32_t cuts[2];

	(void)state;
	mk_tcp4(&f, "10.0.0.9", 5555, "10.0.0.1", 80,
		VIGIL_TCP_PSH | VIGIL_TCP_ACK, 700);
	/* Cut inside the IPv4 addresses, then inside the TCP ports. */
	cuts[0] = 14 + 14;
	check_mbuf_same_as_flat(&f, cuts, 1);
	cuts[0] = 14 + 20 + 1;
	check_mbuf_same_as_flat(&f, cuts, 1);
	/* Ethernet header itself split, three segments. */
	cuts[0] = 7;
	cuts[1] = 14 + 20 + 13;
	check_mbuf_same_as_flat(&f, cuts, 2);

	mk_udp6_ext(&f, "fd00::9", 53, "fd00::1", 40000, 900);
	cuts[0] = 14 + 40 + 10; /* inside the destination options */
	check_mbuf_same_as_flat(&f, cuts, 1);

	fb_eth_tags(&f, 1, tpid, vid, 0x86dd);
	fb_ipv6(&f, "fd00::1", "fd00::2", VIGIL_IPPROTO_TCP, 20 + 10);
	fb_tcp(&f, 1, 2, VIGIL_TCP_SYN, 10);
	cuts[0] = 16; /* inside the VLAN tag */
	check_mbuf_same_as_flat(&f, cuts, 1);

	/* Single segment. */
	mk_udp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, 100);
	check_mbuf_same_as_flat(&f, NULL, 0);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

static void
test_mbuf_tso_length_from_chain(void **state)
{
	struct fb f;
	struct vigil_pkt_meta mm;
	struct rte_mbuf *m;
	uint32_t cut = 1500;

	(void)state;
	/* A 2-segment TSO capture whose IPv4 total length is 0: the length
	 * is the chain's, not the first segment's. */
	mk_tcp4(&f, "10.0.0.1", 40000, "10.0.0.2", 443, VIGIL_TCP_ACK, 1900);
	set16(&f, 14 + 2, 0);
	m = chain(&f, &cut, 1);
	assert_int_equal(vigil_decode_mbuf(m, &mm), VIGIL_DECODE_OK);
	assert_int_equal(mm.l2_len, 1954);
	assert_int_equal(mm.ip_len, 1940);
	assert_int_equal(mm.payload_len, 1900);
	assert_true(mm.notes & VIGIL_NOTE_IP_LEN_ZERO);
	assert_int_equal(mm.rx_hash, vigil_key_hash(&mm.key));
	rte_pktmbuf_free(m);
	/* Same with the headers split across the segments. */
	cut = 30;
	m = chain(&f, &cut, 1);
	assert_int_equal(vigil_decode_mbuf(m, &mm), VIGIL_DECODE_OK);
	assert_int_equal(mm.ip_len, 1940);
	assert_int_equal(mm.payload_len, 1900);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

static void
test_mbuf_errors(void **state)
{
	struct fb f;
	struct vigil_pkt_meta mm;
	struct rte_mbuf *m;
	uint32_t cut = 10;

	(void)state;
	/* ARP split in two segments. */
	fb_eth(&f, 0x0806);
	putz(&f, 46);
	m = chain(&f, &cut, 1);
	assert_int_equal(vigil_decode_mbuf(m, &mm), VIGIL_CTR_drop_non_ip);
	assert_int_equal(mm.l2_len, 60);
	rte_pktmbuf_free(m);
	/* A chained IPv4 packet whose total length says more than there is:
	 * the TCP header is missing. */
	mk_tcp4(&f, "10.0.0.1", 1, "10.0.0.2", 2, VIGIL_TCP_ACK, 0);
	f.n = 14 + 20 + 10;
	cut = 20;
	m = chain(&f, &cut, 1);
	assert_int_equal(vigil_decode_mbuf(m, &mm), VIGIL_CTR_drop_truncated);
	rte_pktmbuf_free(m);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_ipv4_total_length_zero),
		cmocka_unit_test(test_ipv4_udp),
		cmocka_unit_test(test_ipv6_tcp),
		cmocka_unit_test(test_ipv6_ext_chain_udp),
		cmocka_unit_test(test_icmp_echo_request_reply),
		cmocka_unit_test(test_icmpv6_echo),
		cmocka_unit_test(test_icmp_counterparts),
		cmocka_unit_test(test_vlan_8021q),
		cmocka_unit_test(test_vlan_qinq_keeps_outer),
		cmocka_unit_test(test_three_tags_bad_l2),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_symmetry),
		cmocka_unit_test(test_key_addr_str),
		cmocka_unit_test(test_short_ethernet),
		cmocka_unit_test(test_bad_ipv4),
		cmocka_unit_test(test_ipv4_fragments),
		cmocka_unit_test(test_bad_tcp),
		cmocka_unit_test(test_ip_length_too_short_for_l4_is_bad_l4),
		cmocka_unit_test(test_bad_udp),
		cmocka_unit_test(test_bad_ipv6),
		cmocka_unit_test(test_ipv6_fragments),
		cmocka_unit_test(test_snaplen_truncated_tcp),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_random_frames),
	};
	const struct CMUnitTest mbuf[] = {
		cmocka_unit_test(test_mbuf_straddling_segments),
		cmocka_unit_test(test_mbuf_tso_length_from_chain),
		cmocka_unit_test(test_mbuf_errors),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("decode", pure, guard_setup,
					     guard_teardown);
	fails += cmocka_run_group_tests_name("decode_mbuf", mbuf, eal_setup,
					     eal_teardown);
	return fails;
}
