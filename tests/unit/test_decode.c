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
#include "vigil_frag.h"
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

static void
assert_pad_zero(const struct vigil_flow_key *k)
{
	assert_int_equal(k->pad[0], 0);
	assert_int_equal(k->pad[1], 0);
	assert_int_equal(k->pad[2], 0);
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
		assert_int_equal(m->key.tun_type, 0);
		assert_int_equal(m->tun.type, 0);
		assert_pad_zero(&m->key);
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
	assert_pad_zero(&m.key);
	assert_int_equal(m.dir, 0);
	assert_int_equal(m.tcp_flags, VIGIL_TCP_SYN | VIGIL_TCP_ACK);
	assert_int_equal(m.l2_len, 14 + 20 + 20 + 100);
	assert_int_equal(m.ip_len, 140);
	assert_int_equal(m.payload_len, 100);
	/* The payload starts after Ethernet, IPv4 and TCP (shares its
	 * bytes with the ICMP type and code). */
	assert_int_equal(m.payload_off, 14 + 20 + 20);

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
	assert_int_equal(m.payload_off, 14 + 20 + 8);
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
	assert_pad_zero(&m.key);
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
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_arp);
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
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment_unmatched);
	/* Last fragment, MF clear, offset > 0. */
	set16(&f, 14 + 6, 0x0001);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment_unmatched);
	/* The highest offset bit (0x1000 x 8 bytes), DF set. */
	set16(&f, 14 + 6, 0x5000);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment_unmatched);
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
	/* UDP length 0: malformed in IPv4 (RFC 768), as Arkime and
	 * Suricata judge it. */
	set16(&f, 14 + 20 + 4, 0);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* IPv6 too. */
	mk_udp6_ext(&f, "fd00::1", 1, "fd00::2", 2, 10);
	set16(&f, 14 + 40 + 24 + 4, 8 + 11);
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* In IPv6 a zero length is a jumbogram's (RFC 2675): the IP
	 * payload length counts. */
	set16(&f, 14 + 40 + 24 + 4, 0);
	assert_int_equal(dec(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.payload_len, 10);
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
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment_unmatched);
	mk_frag6(&f, (uint16_t)((1 << 3) | 1)); /* offset 8, more */
	assert_int_equal(dec(&f, &m), VIGIL_CTR_drop_fragment_unmatched);
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
decode_guarded_lt(const struct vigil_decoder *d, int lt, const uint8_t *src,
		  uint32_t len, struct vigil_pkt_meta *m)
{
	uint8_t *exact = malloc(len ? len : 1);
	uint8_t *tail;
	struct vigil_pkt_meta m2;
	int rc, rc2;

	assert_true(len <= page);
	assert_non_null(exact);
	memcpy(exact, src, len);
	rc = vigil_decode_pkt(d, lt, exact, len, len, m);
	free(exact);
	tail = guard_area + page - len;
	memcpy(tail, src, len);
	memset(&m2, 0x5a, sizeof(m2));
	rc2 = vigil_decode_pkt(d, lt, tail, len, len, &m2);
	assert_int_equal(rc, rc2);
	if (rc == VIGIL_DECODE_OK) {
		assert_memory_equal(&m->key, &m2.key, sizeof(m2.key));
		assert_memory_equal(&m->tun, &m2.tun, sizeof(m2.tun));
	}
	return rc;
}

static int
decode_guarded(const uint8_t *src, uint32_t len, struct vigil_pkt_meta *m)
{
	struct vigil_decoder d;

	vigil_decoder_defaults(&d);
	return decode_guarded_lt(&d, VIGIL_DLT_EN10MB, src, len, m);
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

/* The documented properties of a decode result. */
static void
check_result_sane(int rc, const struct vigil_pkt_meta *m, uint32_t len)
{
	static const uint8_t zero[40];

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
	assert_pad_zero(&m->key);
	assert_true(m->key.vlan <= 0x0fff);
	assert_int_equal(m->key.tun_type, m->tun.type);
	if (m->tun.type == VIGIL_TUN_NONE) {
		assert_int_equal(m->key.vni, 0);
		assert_memory_equal(&m->tun, zero, sizeof(m->tun));
	} else {
		assert_true(m->tun.type <= VIGIL_TUN_MAX);
		assert_int_equal(m->tun.id, m->key.vni);
		assert_true(m->tun.family == VIGIL_AF_INET ||
			    m->tun.family == VIGIL_AF_INET6);
	}
	assert_int_equal(m->rx_hash, vigil_key_hash(&m->key));
	assert_true(m->dir <= 1);
	assert_int_equal(m->l2_len, len);
	assert_true(m->payload_len <= m->ip_len);
	if (m->key.proto != VIGIL_IPPROTO_TCP)
		assert_true(m->tcp_flags == 0 && m->tcp_seq == 0 &&
			    m->tcp_ack == 0 && m->tcp_win == 0);
}

/*
 * Every prefix of a valid frame of link type `lt`: no crash, no read past
 * the prefix, and keyed exactly when the headers up to the (inner)
 * transport header are there. Prefixes shorter than `link_end` (the link
 * header) give `short_rc`, longer ones drop_truncated.
 */
static void
check_prefixes_lt(const struct vigil_decoder *d, int lt, const struct fb *f,
		  uint32_t link_end, int short_rc, uint32_t hdr_end)
{
	struct vigil_pkt_meta full, m;

	assert_int_equal(decode_guarded_lt(d, lt, f->b, f->n, &full),
			 VIGIL_DECODE_OK);
	for (uint32_t n = 0; n <= f->n; n++) {
		int rc = decode_guarded_lt(d, lt, f->b, n, &m);

		check_result_sane(rc, &m, n);
		if (n < link_end) {
			assert_int_equal(rc, short_rc);
		} else if (n < hdr_end) {
			assert_int_equal(rc, VIGIL_CTR_drop_truncated);
		} else {
			assert_int_equal(rc, VIGIL_DECODE_OK);
			assert_memory_equal(&m.key, &full.key, sizeof(m.key));
			assert_memory_equal(&m.tun, &full.tun, sizeof(m.tun));
			assert_int_equal(m.ip_len, full.ip_len);
			assert_int_equal(m.payload_len, full.payload_len);
		}
	}
}

static void
check_prefixes(const struct fb *f, uint32_t hdr_end)
{
	struct vigil_decoder d;

	vigil_decoder_defaults(&d);
	check_prefixes_lt(&d, VIGIL_DLT_EN10MB, f, 0, 0, hdr_end);
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

/* ---- link types, tunnels, MPLS, fragments, options ------------------------ */

static struct vigil_decoder dflt;

static uint16_t
rd16_(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Decode with a decoder and a link type, check the documented properties
 * and that nothing past the frame is read (guard page). */
static int
decx(const struct vigil_decoder *d, int lt, const struct fb *f,
     struct vigil_pkt_meta *m)
{
	int rc;

	memset(m, 0xa5, sizeof(*m));
	rc = decode_guarded_lt(d, lt, f->b, f->n, m);
	check_result_sane(rc, m, f->n);
	return rc;
}

static int
dect(const struct fb *f, struct vigil_pkt_meta *m)
{
	vigil_decoder_defaults(&dflt);
	return decx(&dflt, VIGIL_DLT_EN10MB, f, m);
}

/* Outer Ethernet (optionally tagged) + IPv4 / IPv6 header whose length
 * fix_ip4()/fix_ip6() set once the payload is in. Returns the IP offset. */
static uint32_t
fb_outer4(struct fb *f, uint16_t vlan, const char *src, const char *dst,
	  uint8_t proto)
{
	static const uint16_t tpid[] = { 0x8100 };

	if (vlan)
		fb_eth_tags(f, 1, tpid, &vlan, 0x0800);
	else
		fb_eth(f, 0x0800);
	return fb_ipv4(f, src, dst, proto, 0);
}

static uint32_t
fb_outer6(struct fb *f, const char *src, const char *dst, uint8_t nh)
{
	fb_eth(f, 0x86dd);
	return fb_ipv6(f, src, dst, nh, 0);
}

static void
fix_ip4(struct fb *f, uint32_t ip)
{
	set16(f, ip + 2, (uint16_t)(f->n - ip));
}

static void
fix_ip6(struct fb *f, uint32_t ip)
{
	set16(f, ip + 4, (uint16_t)(f->n - ip - 40));
}

static uint32_t
fb_udph(struct fb *f, uint16_t sport, uint16_t dport)
{
	uint32_t off = f->n;

	put16(f, sport);
	put16(f, dport);
	put16(f, 0);
	put16(f, 0);
	return off;
}

static void
fix_udp(struct fb *f, uint32_t u)
{
	set16(f, u + 4, (uint16_t)(f->n - u));
}

/* The IP packet of an Ethernet frame built by mk_*() (untagged), without
 * the Ethernet padding. */
static void
put_ip_of(struct fb *f, const struct fb *eth)
{
	const uint8_t *ip = eth->b + 14;
	uint32_t n = (ip[0] >> 4) == 4 ? rd16_(ip + 2) : 40u + rd16_(ip + 4);

	putn(f, ip, n);
}

static void
assert_tun_addr(const uint8_t a[16], const char *s)
{
	uint8_t want[16] = { 0 };

	if (strchr(s, ':'))
		a6(s, want);
	else
		a4(s, want);
	assert_memory_equal(a, want, 16);
}

static void
check_tunnel(const struct vigil_pkt_meta *m, uint8_t type, uint32_t vni,
	     const char *osrc, const char *odst)
{
	assert_int_equal(m->key.tun_type, type);
	assert_int_equal(m->tun.type, type);
	assert_int_equal(m->key.vni, vni);
	assert_int_equal(m->tun.id, vni);
	assert_int_equal(m->tun.family,
			 strchr(osrc, ':') ? VIGIL_AF_INET6 : VIGIL_AF_INET);
	assert_tun_addr(m->tun.src, osrc);
	assert_tun_addr(m->tun.dst, odst);
}

/* The inner flow of the tunnel tests: 10.0.0.1:40000 -> 10.0.0.2:80,
 * 100 bytes of TCP payload, behind 802.1Q tag `vlan` (0: none). */
static void
inner_tcp4(struct fb *in, uint16_t vlan, bool reverse)
{
	static const uint16_t tpid[] = { 0x8100 };

	if (vlan)
		fb_eth_tags(in, 1, tpid, &vlan, 0x0800);
	else
		fb_eth(in, 0x0800);
	if (!reverse) {
		fb_ipv4(in, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 120);
		fb_tcp(in, 40000, 80, VIGIL_TCP_ACK, 100);
	} else {
		fb_ipv4(in, "10.0.0.2", "10.0.0.1", VIGIL_IPPROTO_TCP, 120);
		fb_tcp(in, 80, 40000, VIGIL_TCP_ACK, 100);
	}
}

static void
check_inner_tcp4(const struct vigil_pkt_meta *m, uint16_t vlan)
{
	assert_int_equal(m->key.family, VIGIL_AF_INET);
	assert_int_equal(m->key.proto, VIGIL_IPPROTO_TCP);
	assert_addr4(&m->key, 0, "10.0.0.1");
	assert_addr4(&m->key, 1, "10.0.0.2");
	assert_int_equal(m->key.port[0], 40000);
	assert_int_equal(m->key.port[1], 80);
	assert_int_equal(m->key.vlan, vlan);
	assert_int_equal(m->ip_len, 140);
	assert_int_equal(m->payload_len, 100);
	assert_int_equal(m->tcp_flags, VIGIL_TCP_ACK);
	assert_int_equal(m->tcp_seq, 1000);
	assert_int_equal(m->tcp_ack, 2000);
	assert_int_equal(m->tcp_win, 65535);
}

/* VXLAN: outer 192.168.50.1 -> .2 (or back), UDP to `port`, VNI `vni`,
 * the inner frame `in`. */
static void
mk_vxlan(struct fb *f, uint16_t outer_vlan, bool reverse, uint16_t port,
	 uint32_t vni, const struct fb *in)
{
	uint32_t ip, u;

	ip = fb_outer4(f, outer_vlan, reverse ? "192.168.50.2" : "192.168.50.1",
		       reverse ? "192.168.50.1" : "192.168.50.2",
		       VIGIL_IPPROTO_UDP);
	u = fb_udph(f, 51234, port);
	put8(f, 0x08);
	putz(f, 3);
	put8(f, (uint8_t)(vni >> 16));
	put8(f, (uint8_t)(vni >> 8));
	put8(f, (uint8_t)vni);
	put8(f, 0);
	putn(f, in->b, in->n);
	fix_udp(f, u);
	fix_ip4(f, ip);
}

static void
test_tunnel_vxlan(void **state)
{
	struct fb in, f, g;
	struct vigil_pkt_meta m, r;
	struct vigil_decoder d;

	(void)state;
	/* Default port 4789, inner frame tagged 100. */
	inner_tcp4(&in, 100, false);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 100);
	check_tunnel(&m, VIGIL_TUN_VXLAN, 42, "192.168.50.1", "192.168.50.2");
	assert_int_equal(m.l2_len, 14 + 20 + 8 + 8 + 18 + 140);
	assert_int_equal(f.n, m.l2_len);
	assert_int_equal(m.dir, 0);
	/* The other direction, from the other VTEP: same key. */
	inner_tcp4(&in, 100, true);
	mk_vxlan(&g, 0, true, 4789, 42, &in);
	assert_int_equal(dect(&g, &r), VIGIL_DECODE_OK);
	assert_memory_equal(&m.key, &r.key, sizeof(m.key));
	assert_int_equal(r.dir, 1);
	assert_int_equal(r.rx_hash, m.rx_hash);
	check_tunnel(&r, VIGIL_TUN_VXLAN, 42, "192.168.50.2", "192.168.50.1");

	/* Port 8472 (Linux default: flannel, Cilium); the key's VLAN is the
	 * inner frame's, not the outer one. */
	inner_tcp4(&in, 0, false);
	mk_vxlan(&f, 55, false, 8472, 0xabcdef, &in);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	check_tunnel(&m, VIGIL_TUN_VXLAN, 0xabcdef, "192.168.50.1",
		     "192.168.50.2");
	assert_int_equal(m.l2_len, 18 + 20 + 8 + 8 + 14 + 140);

	/* Another VNI is another flow. */
	mk_vxlan(&g, 55, false, 8472, 7, &in);
	assert_int_equal(dect(&g, &r), VIGIL_DECODE_OK);
	assert_int_equal(r.key.vni, 7);
	assert_memory_not_equal(&m.key, &r.key, sizeof(m.key));

	/* VXLAN-GPE (P flag) on a configured port 4790: IPv4 next. */
	{
		struct fb ipo;

		ipo.n = 0;
		put_ip_of(&ipo, &in);
		mk_vxlan(&g, 0, false, 4790, 5, &ipo);
		g.b[14 + 20 + 8] = 0x0c;
		g.b[14 + 20 + 8 + 3] = 1;
		vigil_decoder_defaults(&d);
		d.vxlan_ports[2] = 4790;
		d.n_vxlan = 3;
		assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &g, &r),
				 VIGIL_DECODE_OK);
		check_inner_tcp4(&r, 0);
		check_tunnel(&r, VIGIL_TUN_VXLAN, 5, "192.168.50.1",
			     "192.168.50.2");
		g.b[14 + 20 + 8 + 3] = 4; /* NSH: version 1 here, bad */
		assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &g, &r),
				 VIGIL_CTR_drop_bad_nsh);
		g.b[14 + 20 + 8 + 3] = 6; /* unknown */
		assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &g, &r),
				 VIGIL_CTR_drop_non_ip);
	}
	/* On a plain VXLAN port the other flag and reserved bits are
	 * ignored (VXLAN-GBP sets some; Suricata's vxlan-non-zero-reserved-
	 * fields capture sets them all). */
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	memset(f.b + 14 + 20 + 8, 0xff, 4);
	f.b[14 + 20 + 8 + 7] = 0xff;
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	assert_int_equal(m.key.vni, 42);

	/* Not a VXLAN port: the outer UDP flow. */
	mk_vxlan(&f, 0, false, 4790, 42, &in);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_UDP);
	assert_addr4(&m.key, 0, "192.168.50.1");
	assert_int_equal(m.key.port[1], 4790);
	assert_int_equal(m.tun.type, VIGIL_TUN_NONE);

	/* Configured ports only; decap off keys the outer flow. */
	vigil_decoder_defaults(&d);
	d.vxlan_ports[0] = 4790;
	d.n_vxlan = 1;
	assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.port[1], 4789);
	assert_int_equal(m.key.tun_type, 0);
	vigil_decoder_defaults(&d);
	d.decap = false;
	assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_UDP);
	assert_addr4(&m.key, 0, "192.168.50.1");
	assert_int_equal(m.key.port[0], 51234);
	assert_int_equal(m.key.port[1], 4789);
	assert_int_equal(m.payload_len, 8 + 14 + 140);
}

/* Up to six VLAN, E-Tag and VN-Tag headers; the key's VLAN is the first
 * VLAN tag, wherever it is among them. */
static void
test_many_tags_bad_l2(void **state)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100, 0x8100, 0x9100,
					 0x8100, 0x8100, 0x8100 };
	static const uint16_t vid[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	for (unsigned n = 3; n <= 7; n++) {
		fb_eth_tags(&f, n, tpid, vid, 0x0800);
		fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_UDP, 8);
		fb_udp(&f, 1, 2, 0);
		fb_pad60(&f);
		if (n <= 6) {
			assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
			assert_int_equal(m.key.vlan, 1);
			assert_int_equal(m.ip_len, 28);
			assert_int_equal(m.key.port[0], 1);
			assert_int_equal(m.key.port[1], 2);
			if (n == 3)
				check_prefixes(&f, 14 + 12 + 28);
		} else {
			assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_l2);
		}
	}
}

/* E-Tag (802.1BR: 6 bytes, then the ethertype) and VN-Tag (4 bytes, then
 * the ethertype) before or between VLAN tags. */
static void
test_etag_vntag(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	/* E-Tag, IPv4 TCP. */
	fb_eth(&f, 0x893f);
	put16(&f, 0x1000);
	put32(&f, 0x00d30000);
	put16(&f, 0x0800);
	fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 20);
	fb_tcp(&f, 443, 52566, VIGIL_TCP_ACK, 0);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.vlan, 0);
	assert_addr4(&m.key, 0, "10.0.0.1");
	assert_int_equal(m.key.port[0], 443);
	assert_int_equal(m.key.port[1], 52566);
	assert_int_equal(m.ip_len, 40);
	assert_int_equal(m.l2_len, 14 + 8 + 40);
	check_prefixes(&f, 14 + 8 + 40);
	/* VN-Tag, then a VLAN tag (11): the key has the VLAN. */
	fb_eth(&f, 0x8926);
	put32(&f, 0);
	put16(&f, 0x8100);
	put16(&f, 11);
	put16(&f, 0x0800);
	fb_ipv4(&f, "1.1.1.1", "2.2.2.2", VIGIL_IPPROTO_UDP, 8 + 4);
	fb_udp(&f, 53, 1024, 4);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.vlan, 11);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_UDP);
	assert_int_equal(m.payload_len, 4);
	assert_int_equal(m.dir, 0);
	check_prefixes(&f, 14 + 6 + 4 + 28);
	/* A VLAN tag, then a VN-Tag, then another VLAN tag: the first. */
	fb_eth(&f, 0x8100);
	put16(&f, 21);
	put16(&f, 0x8926);
	put32(&f, 0);
	put16(&f, 0x8100);
	put16(&f, 22);
	put16(&f, 0x0800);
	fb_ipv4(&f, "1.1.1.1", "2.2.2.2", VIGIL_IPPROTO_UDP, 8);
	fb_udp(&f, 53, 1024, 0);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.vlan, 21);
	/* Seven tag headers in all: bad L2. */
	fb_eth(&f, 0x893f);
	for (int i = 0; i < 6; i++) {
		putz(&f, 6);
		put16(&f, i < 5 ? 0x893f : 0x8926);
	}
	putz(&f, 4);
	put16(&f, 0x0800);
	fb_ipv4(&f, "1.1.1.1", "2.2.2.2", VIGIL_IPPROTO_UDP, 8);
	fb_udp(&f, 53, 1024, 0);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_l2);
	/* Counted per Ethernet header: the same six tags on the inner
	 * frame of a VXLAN packet whose outer frame has one are fine. */
}

/* PPPoE session (RFC 2516) carrying IPv4, IPv6; its malformations. */
static uint32_t
fb_pppoe(struct fb *f, uint16_t ppp, bool compressed)
{
	uint32_t off;

	fb_eth(f, 0x8864);
	off = f->n;
	put8(f, 0x11);
	put8(f, 0);
	put16(f, 0x1234); /* session */
	put16(f, 0);	  /* length: fix_pppoe() */
	if (compressed)
		put8(f, (uint8_t)ppp);
	else
		put16(f, ppp);
	return off;
}

static void
fix_pppoe(struct fb *f, uint32_t off)
{
	set16(f, off + 4, (uint16_t)(f->n - off - 6));
}

static void
test_pppoe(void **state)
{
	struct fb f;
	struct vigil_pkt_meta m;
	uint32_t o;

	(void)state;
	/* IPv4 TCP, 100 bytes of payload. */
	o = fb_pppoe(&f, 0x0021, false);
	fb_ipv4(&f, "100.64.0.1", "93.184.216.34", VIGIL_IPPROTO_TCP, 120);
	fb_tcp(&f, 50000, 80, VIGIL_TCP_ACK | VIGIL_TCP_PSH, 100);
	fix_pppoe(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_TCP);
	assert_addr4(&m.key, 0, "93.184.216.34");
	assert_addr4(&m.key, 1, "100.64.0.1");
	assert_int_equal(m.key.port[0], 80);
	assert_int_equal(m.key.port[1], 50000);
	assert_int_equal(m.dir, 1);
	assert_int_equal(m.key.vlan, 0);
	assert_int_equal(m.key.tun_type, 0);
	assert_int_equal(m.ip_len, 140);
	assert_int_equal(m.payload_len, 100);
	assert_int_equal(m.l2_len, 14 + 8 + 140);
	check_prefixes(&f, 14 + 8 + 40);
	/* Ethernet padding after the PPP frame is not the packet's. */
	o = fb_pppoe(&f, 0x0021, false);
	fb_ipv4(&f, "100.64.0.1", "8.8.8.8", VIGIL_IPPROTO_UDP, 8 + 2);
	fb_udp(&f, 5353, 53, 2);
	fix_pppoe(&f, o);
	putz(&f, 8);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.ip_len, 30);
	assert_int_equal(m.payload_len, 2);
	assert_int_equal(m.l2_len, 14 + 8 + 30 + 8);
	/* IPv6 UDP, protocol field compressed to one byte. */
	o = fb_pppoe(&f, 0x57, true);
	fb_ipv6(&f, "2001:db8::1", "2001:db8::2", VIGIL_IPPROTO_UDP, 8 + 5);
	fb_udp(&f, 1000, 53, 5);
	fix_pppoe(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_addr6(&m.key, 0, "2001:db8::1");
	assert_int_equal(m.key.port[0], 1000);
	assert_int_equal(m.key.port[1], 53);
	assert_int_equal(m.ip_len, 40 + 13);
	assert_int_equal(m.payload_len, 5);
	check_prefixes(&f, 14 + 7 + 48);
	/* Behind a VLAN tag (a BRAS uplink): the key has the tag. */
	{
		static const uint16_t tpid[] = { 0x8100 };
		static const uint16_t vid[] = { 300 };
		struct fb g;

		o = fb_pppoe(&f, 0x0021, false);
		fb_ipv4(&f, "100.64.0.1", "8.8.8.8", VIGIL_IPPROTO_UDP, 8);
		fb_udp(&f, 5353, 53, 0);
		fix_pppoe(&f, o);
		fb_eth_tags(&g, 1, tpid, vid, 0x8864);
		putn(&g, f.b + 14, f.n - 14);
		assert_int_equal(dect(&g, &m), VIGIL_DECODE_OK);
		assert_int_equal(m.key.vlan, 300);
		assert_int_equal(m.ip_len, 28);
	}
	/* LCP, and the discovery stage: not IP. */
	o = fb_pppoe(&f, 0xc021, false);
	putz(&f, 10);
	fix_pppoe(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
	f.b[12] = 0x88;
	f.b[13] = 0x63;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
	/* Version/type other than 1/1, a code other than 0 (session data),
	 * a length shorter than the protocol field: bad PPPoE. */
	o = fb_pppoe(&f, 0x0021, false);
	fb_ipv4(&f, "100.64.0.1", "8.8.8.8", VIGIL_IPPROTO_UDP, 8);
	fb_udp(&f, 5353, 53, 0);
	fix_pppoe(&f, o);
	f.b[o] = 0x21;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_pppoe);
	f.b[o] = 0x11;
	f.b[o + 1] = 0x09; /* PADI */
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_pppoe);
	f.b[o + 1] = 0;
	set16(&f, o + 4, 1);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_pppoe);
	/* A length that leaves the IP header out: truncated, as an IP
	 * length running past a frame is. */
	set16(&f, o + 4, 2 + 10);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_truncated);
	set16(&f, o + 4, 2 + 28);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
}

/* Cisco FabricPath: outer MACs, ethertype 0x8903, forwarding tag and TTL,
 * then the original frame. */
static void
fb_fabricpath(struct fb *f, const struct fb *in)
{
	fb_eth(f, 0x8903);
	put16(f, 0x0020);
	putn(f, in->b, in->n);
}

static void
test_fabricpath(void **state)
{
	struct fb in, f, g;
	struct vigil_pkt_meta m;

	(void)state;
	inner_tcp4(&in, 30, false);
	fb_fabricpath(&f, &in);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 30);
	assert_int_equal(m.key.tun_type, 0);
	assert_int_equal(m.tun.type, 0);
	assert_int_equal(m.l2_len, 16 + 18 + 140);
	check_prefixes(&f, 16 + 18 + 40);
	/* FabricPath inside FabricPath, three levels deep: the depth bound
	 * (a level each, as for an MPLS pseudowire). */
	fb_fabricpath(&g, &f);
	assert_int_equal(dect(&g, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 30);
	fb_fabricpath(&f, &g);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	fb_fabricpath(&g, &f);
	assert_int_equal(dect(&g, &m), VIGIL_CTR_drop_tunnel_depth);
}

/* NSH (RFC 8300): base header, service path, contexts. */
static void
fb_nsh(struct fb *f, uint8_t words, uint8_t md, uint8_t next)
{
	put8(f, 0x00);	   /* version 0, O 0, U 0, TTL high bits */
	put8(f, (uint8_t)(0xc0 | words)); /* TTL low bits, length */
	put8(f, md);
	put8(f, next);
	put32(f, 0x00000102); /* SPI 1, SI 2 */
	putz(f, (uint32_t)words * 4 - 8);
}

static void
test_nsh(void **state)
{
	struct fb in, ip, f, g;
	struct vigil_pkt_meta m;
	struct vigil_decoder d;
	uint32_t o;

	(void)state;
	inner_tcp4(&in, 0, false);
	ip.n = 0;
	put_ip_of(&ip, &in);
	/* MD type 1 (6 words), IPv4 next. */
	fb_eth(&f, 0x894f);
	fb_nsh(&f, 6, 1, 1);
	putn(&f, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	assert_int_equal(m.key.tun_type, 0);
	assert_int_equal(m.l2_len, 14 + 24 + 140);
	check_prefixes(&f, 14 + 24 + 40);
	/* MD type 2 (2 words: no context), Ethernet next with VLAN 40. */
	inner_tcp4(&in, 40, false);
	fb_eth(&f, 0x894f);
	fb_nsh(&f, 2, 2, 3);
	putn(&f, in.b, in.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 40);
	/* NSH in NSH, then IPv4. */
	fb_eth(&f, 0x894f);
	fb_nsh(&f, 2, 2, 4);
	fb_nsh(&f, 3, 2, 1);
	putn(&f, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	/* Unknown next protocol: not IP. */
	fb_eth(&f, 0x894f);
	o = f.n;
	fb_nsh(&f, 6, 1, 0x99);
	putn(&f, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
	/* Version 1; MD type 1 with 5 words; MD type 0; length under the
	 * base and service path headers: bad NSH. */
	f.b[o + 3] = 1;
	f.b[o] = 0x40;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_nsh);
	f.b[o] = 0;
	f.b[o + 1] = 0xc5;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_nsh);
	f.b[o + 1] = 0xc6;
	f.b[o + 2] = 0;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_nsh);
	f.b[o + 2] = 2;
	f.b[o + 1] = 0xc1;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_nsh);
	f.b[o + 1] = 0xc6;
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	/* In VXLAN-GPE (next protocol 4) on a configured port 4790: the
	 * VXLAN tunnel, the inner flow. */
	g.n = 0;
	fb_nsh(&g, 6, 1, 1);
	putn(&g, ip.b, ip.n);
	mk_vxlan(&f, 0, false, 4790, 77, &g);
	f.b[14 + 20 + 8] = 0x0c;
	f.b[14 + 20 + 8 + 3] = 4;
	vigil_decoder_defaults(&d);
	d.vxlan_ports[2] = 4790;
	d.n_vxlan = 3;
	assert_int_equal(decx(&d, VIGIL_DLT_EN10MB, &f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	check_tunnel(&m, VIGIL_TUN_VXLAN, 77, "192.168.50.1", "192.168.50.2");
}

static void
test_tunnel_vxlan_malformed(void **state)
{
	struct fb in, f;
	struct vigil_pkt_meta m;

	(void)state;
	inner_tcp4(&in, 0, false);
	/* I flag clear: the VNI is not valid. */
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	f.b[14 + 20 + 8] = 0x00;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	/* UDP length leaves no room for the VXLAN header. */
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	set16(&f, 14 + 20 + 4, 8 + 4);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	/* UDP length beyond the IP payload. */
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	set16(&f, 14 + 20 + 4, (uint16_t)(f.n - 14 - 20 + 1));
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_l4);
	/* Inner frame cut by the capture. */
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	f.n = 14 + 20 + 8 + 8 + 14 + 20 + 10;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_truncated);
	/* Inner frame not IP. */
	fb_eth(&in, 0x88cc);
	putz(&in, 46);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
	fb_eth(&in, 0x0806);
	putz(&in, 46);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_arp);
}

/* Geneve to 6081 from fd00:50::1 to fd00:50::2 with `optwords` 4-byte words
 * of options (taken from `opts`), protocol `proto`, then `inner`. */
static void
mk_geneve(struct fb *f, uint8_t optwords, const uint8_t *opts, uint16_t proto,
	  uint32_t vni, const uint8_t *inner, uint32_t inlen)
{
	uint32_t ip, u;

	ip = fb_outer6(f, "fd00:50::1", "fd00:50::2", VIGIL_IPPROTO_UDP);
	u = fb_udph(f, 40001, 6081);
	put8(f, optwords);
	put8(f, 0);
	put16(f, proto);
	put8(f, (uint8_t)(vni >> 16));
	put8(f, (uint8_t)(vni >> 8));
	put8(f, (uint8_t)vni);
	put8(f, 0);
	putn(f, opts, optwords * 4u);
	putn(f, inner, inlen);
	fix_udp(f, u);
	fix_ip6(f, ip);
}

static void
test_tunnel_geneve(void **state)
{
	/* Two options: class 0x0102 type 0x80 with 4 bytes of data, class
	 * 0xffff type 1 with none. */
	static const uint8_t opts[12] = { 0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4,
					  0xff, 0xff, 0x01, 0x00 };
	static const uint8_t bad_opts[12] = { 0x01, 0x02, 0x80, 0x05 };
	struct fb in, f, in6;
	struct vigil_pkt_meta m;

	(void)state;
	/* Ethernet inside, IPv6 UDP flow. */
	mk_udp6_ext(&in6, "fd00::1", 5353, "fd00::2", 53, 21);
	mk_geneve(&f, 3, opts, 0x6558, 0x123456, in6.b, in6.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_tunnel(&m, VIGIL_TUN_GENEVE, 0x123456, "fd00:50::1",
		     "fd00:50::2");
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_int_equal(m.key.proto, VIGIL_IPPROTO_UDP);
	assert_addr6(&m.key, 0, "fd00::1");
	assert_int_equal(m.key.port[0], 5353);
	assert_int_equal(m.key.port[1], 53);
	assert_int_equal(m.ip_len, 40 + 8 + 16 + 8 + 21);
	assert_int_equal(m.payload_len, 21);
	assert_int_equal(m.l2_len, 14 + 40 + 8 + 8 + 12 + in6.n);

	/* IPv4 directly inside (protocol type 0x0800), no options. */
	inner_tcp4(&in, 0, false);
	mk_geneve(&f, 0, opts, 0x0800, 9, in.b + 14, in.n - 14);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	check_tunnel(&m, VIGIL_TUN_GENEVE, 9, "fd00:50::1", "fd00:50::2");

	/* Version 1. */
	mk_geneve(&f, 3, opts, 0x6558, 1, in.b, in.n);
	f.b[14 + 40 + 8] |= 0x40;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	/* An option running past the option length. */
	mk_geneve(&f, 3, bad_opts, 0x6558, 1, in.b, in.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	/* Option length past the UDP payload. */
	mk_geneve(&f, 3, opts, 0x6558, 1, NULL, 0);
	f.b[14 + 40 + 8] = 4;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	/* Options cut by the capture. */
	mk_geneve(&f, 3, opts, 0x6558, 1, in.b, in.n);
	f.n = 14 + 40 + 8 + 8 + 6;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_truncated);
}

/* GRE over IPv4 192.168.60.1 -> .2 (outer VLAN 300): flags, protocol,
 * then the optional words, then `inner`. */
static void
mk_gre(struct fb *f, uint16_t flags, uint16_t proto, uint32_t key,
       const uint8_t *inner, uint32_t inlen)
{
	uint32_t ip = fb_outer4(f, 300, "192.168.60.1", "192.168.60.2",
				VIGIL_IPPROTO_GRE);

	put16(f, flags);
	put16(f, proto);
	if (flags & 0x8000)
		put32(f, 0xbeef0000); /* checksum, reserved */
	if (flags & 0x2000)
		put32(f, key);
	if (flags & 0x1000)
		put32(f, 77); /* sequence number */
	putn(f, inner, inlen);
	fix_ip4(f, ip);
}

static void
test_tunnel_gre(void **state)
{
	struct fb in, in6, f, g, ip;
	struct vigil_pkt_meta m, r;

	(void)state;
	/* With a key: IPv4 inside; the outer VLAN is the key's (there is
	 * no inner Ethernet header). */
	inner_tcp4(&in, 0, false);
	ip.n = 0;
	put_ip_of(&ip, &in);
	mk_gre(&f, 0x2000, 0x0800, 0x01020304, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 300);
	check_tunnel(&m, VIGIL_TUN_GRE, 0x01020304, "192.168.60.1",
		     "192.168.60.2");
	assert_int_equal(m.l2_len, 18 + 20 + 8 + 140);
	/* Reverse direction inside the same tunnel. */
	inner_tcp4(&in, 0, true);
	ip.n = 0;
	put_ip_of(&ip, &in);
	mk_gre(&g, 0x2000, 0x0800, 0x01020304, ip.b, ip.n);
	assert_int_equal(dect(&g, &r), VIGIL_DECODE_OK);
	assert_memory_equal(&m.key, &r.key, sizeof(m.key));
	assert_int_equal(r.dir, 1);

	/* Checksum, key and sequence number all present. */
	inner_tcp4(&in, 0, false);
	ip.n = 0;
	put_ip_of(&ip, &in);
	mk_gre(&f, 0xb000, 0x0800, 5, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 300);
	check_tunnel(&m, VIGIL_TUN_GRE, 5, "192.168.60.1", "192.168.60.2");

	/* Without a key: IPv6 inside, VNI 0. */
	mk_tcp6(&in6, "fd00::20", 443, "fd00::1", 51000, VIGIL_TCP_ACK, 50);
	ip.n = 0;
	put_ip_of(&ip, &in6);
	mk_gre(&f, 0, 0x86dd, 0, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_tunnel(&m, VIGIL_TUN_GRE, 0, "192.168.60.1", "192.168.60.2");
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_addr6(&m.key, 0, "fd00::1");
	assert_int_equal(m.key.port[1], 443);
	assert_int_equal(m.ip_len, 40 + 20 + 50);
	assert_int_equal(m.payload_len, 50);

	/* Transparent Ethernet bridging (NVGRE-like): the inner tag. */
	inner_tcp4(&in, 12, false);
	mk_gre(&f, 0x2000, 0x6558, 0x00abcd01, in.b, in.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 12);
	check_tunnel(&m, VIGIL_TUN_GRE, 0x00abcd01, "192.168.60.1",
		     "192.168.60.2");

	/* Malformed: version 2, routing present, key past the packet; cut
	 * by the capture; not IP inside. */
	mk_gre(&f, 0x2002, 0x0800, 1, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_gre);
	mk_gre(&f, 0x4000, 0x0800, 0, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_gre);
	mk_gre(&f, 0xb000, 0x0800, 1, NULL, 0);
	set16(&f, 18 + 2, 20 + 10);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_gre);
	mk_gre(&f, 0x0000, 0x0800, 1, NULL, 0);
	set16(&f, 18 + 2, 20 + 3);
	f.n = 18 + 20 + 4;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_gre);
	mk_gre(&f, 0xb000, 0x0800, 1, ip.b, ip.n);
	f.n = 18 + 20 + 10;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_truncated);
	mk_gre(&f, 0x2000, 0x88cc, 1, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
}

/* PPTP: enhanced GRE (version 1), call id 0x8fb1, then PPP. */
static void
mk_pptp(struct fb *f, uint16_t flags, bool addr_ctl, bool short_proto,
	uint16_t ppp, const struct fb *ip)
{
	uint32_t o = fb_outer4(f, 0, "192.168.80.1", "192.168.80.2",
			       VIGIL_IPPROTO_GRE);

	put16(f, flags);
	put16(f, 0x880b);
	put16(f, (uint16_t)(ip->n + 4));
	put16(f, 0x8fb1);
	if (flags & 0x1000)
		put32(f, 11);
	if (flags & 0x0080)
		put32(f, 10);
	if (addr_ctl)
		put16(f, 0xff03);
	if (short_proto)
		put8(f, (uint8_t)ppp);
	else
		put16(f, ppp);
	putn(f, ip->b, ip->n);
	fix_ip4(f, o);
}

static void
test_tunnel_gre_pptp(void **state)
{
	struct fb in, in6, f, ip, ip6;
	struct vigil_pkt_meta m;

	(void)state;
	inner_tcp4(&in, 0, false);
	ip.n = 0;
	put_ip_of(&ip, &in);
	mk_tcp6(&in6, "fd00::20", 443, "fd00::1", 51000, VIGIL_TCP_ACK, 50);
	ip6.n = 0;
	put_ip_of(&ip6, &in6);
	/* Sequence and acknowledgement numbers, address and control. */
	mk_pptp(&f, 0x3081, true, false, 0x0021, &ip);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	/* The call id is the peer's, different each way: not in the key. */
	check_tunnel(&m, VIGIL_TUN_GRE, 0, "192.168.80.1", "192.168.80.2");
	/* Compressed: no address/control, one-byte protocol; IPv6. */
	mk_pptp(&f, 0x2001, false, true, 0x57, &ip6);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_int_equal(m.key.vni, 0);
	/* LCP, an acknowledgement alone, no key, another protocol. */
	mk_pptp(&f, 0x3001, true, false, 0xc021, &ip);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
	mk_pptp(&f, 0x2081, true, false, 0x0021, &ip);
	f.n = 14 + 20 + 12;
	set16(&f, 14 + 2, 32);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_non_ip);
	mk_pptp(&f, 0x1001, true, false, 0x0021, &ip);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_gre);
	mk_pptp(&f, 0x3081, true, false, 0x0021, &ip);
	set16(&f, 14 + 20 + 2, 0x0800);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_gre);
	/* Cut inside the acknowledgement number. */
	mk_pptp(&f, 0x3081, true, false, 0x0021, &ip);
	f.n = 14 + 20 + 14;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_truncated);
}

static void
test_tunnel_erspan(void **state)
{
	struct fb in, f, ip;
	uint8_t hdr[20];
	struct vigil_pkt_meta m;

	(void)state;
	inner_tcp4(&in, 20, false);
	/* Type II: GRE with a sequence number, version 1, session 0x155. */
	memset(hdr, 0, sizeof(hdr));
	hdr[0] = 0x10;
	hdr[2] = 0x01;
	hdr[3] = 0x55;
	{
		struct fb pl;

		pl.n = 0;
		putn(&pl, hdr, 8);
		putn(&pl, in.b, in.n);
		mk_gre(&f, 0x1000, 0x88be, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		check_inner_tcp4(&m, 20);
		check_tunnel(&m, VIGIL_TUN_ERSPAN2, 0x155, "192.168.60.1",
			     "192.168.60.2");
		assert_int_equal(m.l2_len, 18 + 20 + 8 + 8 + 18 + 140);
		/* Version 2 in a type II header. */
		pl.b[0] = 0x20;
		mk_gre(&f, 0x1000, 0x88be, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
		/* Header cut. */
		mk_gre(&f, 0x1000, 0x88be, 0, pl.b, 4);
		assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	}
	/* Type I: no sequence number, no ERSPAN header. */
	mk_gre(&f, 0x0000, 0x88be, 0, in.b, in.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 20);
	check_tunnel(&m, VIGIL_TUN_ERSPAN2, 0, "192.168.60.1", "192.168.60.2");

	/* Type III: version 2, session 0x3ff, frame type 0 (Ethernet). */
	{
		struct fb pl;

		memset(hdr, 0, sizeof(hdr));
		hdr[0] = 0x20;
		hdr[2] = 0x03;
		hdr[3] = 0xff;
		pl.n = 0;
		putn(&pl, hdr, 12);
		putn(&pl, in.b, in.n);
		mk_gre(&f, 0x1000, 0x22eb, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		check_inner_tcp4(&m, 20);
		check_tunnel(&m, VIGIL_TUN_ERSPAN3, 0x3ff, "192.168.60.1",
			     "192.168.60.2");
		assert_int_equal(m.l2_len, 18 + 20 + 8 + 12 + 18 + 140);
		/* With the 8-byte platform-specific subheader (O bit). */
		hdr[11] = 0x01;
		pl.n = 0;
		putn(&pl, hdr, 20);
		putn(&pl, in.b, in.n);
		mk_gre(&f, 0x1000, 0x22eb, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		check_inner_tcp4(&m, 20);
		check_tunnel(&m, VIGIL_TUN_ERSPAN3, 0x3ff, "192.168.60.1",
			     "192.168.60.2");
		/* Frame type 2: an IP packet, no Ethernet header (the key's
		 * VLAN is then the outer one). */
		hdr[10] = 2 << 2;
		hdr[11] = 0;
		inner_tcp4(&in, 0, false);
		ip.n = 0;
		put_ip_of(&ip, &in);
		pl.n = 0;
		putn(&pl, hdr, 12);
		putn(&pl, ip.b, ip.n);
		mk_gre(&f, 0x1000, 0x22eb, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		check_inner_tcp4(&m, 300);
		/* Frame type 1 is not decoded; version 1 is wrong here. */
		pl.b[10] = 1 << 2;
		mk_gre(&f, 0x1000, 0x22eb, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
		pl.b[10] = 0;
		pl.b[0] = 0x10;
		mk_gre(&f, 0x1000, 0x22eb, 0, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_tunnel);
	}
}

static void
test_tunnel_ipip(void **state)
{
	struct fb in, in6, f, ip;
	struct vigil_pkt_meta m;
	uint32_t o;

	(void)state;
	inner_tcp4(&in, 0, false);
	mk_tcp6(&in6, "fd00::20", 443, "fd00::1", 51000, VIGIL_TCP_ACK, 50);

	/* IPv4 in IPv4 (Calico IPIP), outer VLAN 300 is the key's. */
	ip.n = 0;
	put_ip_of(&ip, &in);
	o = fb_outer4(&f, 300, "192.168.70.1", "192.168.70.2", 4);
	putn(&f, ip.b, ip.n);
	fix_ip4(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 300);
	check_tunnel(&m, VIGIL_TUN_IPIP, 0, "192.168.70.1", "192.168.70.2");
	assert_int_equal(m.l2_len, 18 + 20 + 140);

	/* IPv6 in IPv4 (6in4, protocol 41). */
	ip.n = 0;
	put_ip_of(&ip, &in6);
	o = fb_outer4(&f, 0, "192.168.70.1", "192.168.70.2", 41);
	putn(&f, ip.b, ip.n);
	fix_ip4(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_tunnel(&m, VIGIL_TUN_IPIP, 0, "192.168.70.1", "192.168.70.2");
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_addr6(&m.key, 1, "fd00::20");
	assert_int_equal(m.ip_len, 110);
	assert_int_equal(m.payload_len, 50);

	/* IPv4 in IPv6. */
	ip.n = 0;
	put_ip_of(&ip, &in);
	o = fb_outer6(&f, "2001:db8::a", "2001:db8::b", 4);
	putn(&f, ip.b, ip.n);
	fix_ip6(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	check_tunnel(&m, VIGIL_TUN_IPIP, 0, "2001:db8::a", "2001:db8::b");
	assert_int_equal(m.l2_len, 14 + 40 + 140);

	/* IPv6 in IPv6. */
	ip.n = 0;
	put_ip_of(&ip, &in6);
	o = fb_outer6(&f, "2001:db8::a", "2001:db8::b", 41);
	putn(&f, ip.b, ip.n);
	fix_ip6(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_tunnel(&m, VIGIL_TUN_IPIP, 0, "2001:db8::a", "2001:db8::b");
	assert_int_equal(m.key.port[0], 51000);

	/* The inner header is bad: its own counter. */
	ip.n = 0;
	put_ip_of(&ip, &in);
	ip.b[0] = 0x43;
	o = fb_outer4(&f, 0, "192.168.70.1", "192.168.70.2", 4);
	putn(&f, ip.b, ip.n);
	fix_ip4(&f, o);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_bad_ipv4);
}

/* `levels` IPv4-in-IPv4 headers around the inner TCP packet. */
static void
mk_ipip_nest(struct fb *f, unsigned levels)
{
	struct fb in;
	uint32_t ips[8];

	inner_tcp4(&in, 0, false);
	fb_eth(f, 0x0800);
	for (unsigned i = 0; i < levels; i++)
		ips[i] = fb_ipv4(f, "172.16.0.1", "172.16.0.2", 4, 0);
	put_ip_of(f, &in);
	for (unsigned i = 0; i < levels; i++)
		fix_ip4(f, ips[i]);
}

static void
test_tunnel_nesting(void **state)
{
	struct fb in, vx, f;
	struct vigil_pkt_meta m;

	(void)state;
	/* VXLAN (VNI 42) inside GRE (key 5): the inner flow, the innermost
	 * id, the outermost type and addresses. */
	inner_tcp4(&in, 0, false);
	mk_vxlan(&vx, 0, false, 4789, 42, &in);
	mk_gre(&f, 0x2000, 0x0800, 5, vx.b + 14, vx.n - 14);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	check_tunnel(&m, VIGIL_TUN_GRE, 42, "192.168.60.1", "192.168.60.2");
	/* GRE without key inside VXLAN: the VXLAN VNI stays. */
	{
		struct fb g, ip;

		ip.n = 0;
		put_ip_of(&ip, &in);
		mk_gre(&g, 0, 0x0800, 0, ip.b, ip.n);
		mk_vxlan(&f, 0, false, 4789, 99, &g);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		check_inner_tcp4(&m, 300); /* the GRE frame's tag */
		check_tunnel(&m, VIGIL_TUN_VXLAN, 99, "192.168.50.1",
			     "192.168.50.2");
	}
	/* Up to three levels; the fourth is counted. */
	mk_ipip_nest(&f, 3);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	check_tunnel(&m, VIGIL_TUN_IPIP, 0, "172.16.0.1", "172.16.0.2");
	mk_ipip_nest(&f, 4);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_tunnel_depth);
	/* VXLAN in VXLAN in VXLAN in VXLAN. */
	f = in;
	for (int i = 0; i < 4; i++) {
		struct fb o2;

		mk_vxlan(&o2, 0, false, 4789, (uint32_t)i + 1, &f);
		f = o2;
	}
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_tunnel_depth);
}

static void
mk_mpls(struct fb *f, unsigned nlabels, bool bos, const uint8_t *pl,
	uint32_t n)
{
	fb_eth(f, 0x8847);
	for (unsigned i = 0; i < nlabels; i++)
		put32(f, (uint32_t)(1000 + i) << 12 |
				 ((bos && i + 1 == nlabels) ? 0x100 : 0) |
				 64);
	putn(f, pl, n);
}

static void
test_mpls(void **state)
{
	struct fb in, in6, f, ip;
	struct vigil_pkt_meta m;

	(void)state;
	inner_tcp4(&in, 0, false);
	ip.n = 0;
	put_ip_of(&ip, &in);
	mk_mpls(&f, 1, true, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 0);
	assert_int_equal(m.tun.type, VIGIL_TUN_NONE);
	assert_int_equal(m.l2_len, 14 + 4 + 140);

	mk_tcp6(&in6, "fd00::20", 443, "fd00::1", 51000, VIGIL_TCP_ACK, 50);
	ip.n = 0;
	put_ip_of(&ip, &in6);
	mk_mpls(&f, 3, true, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.key.family, VIGIL_AF_INET6);
	assert_int_equal(m.key.port[0], 51000);
	assert_int_equal(m.ip_len, 110);

	/* Behind a VLAN tag, and MPLS multicast. */
	{
		static const uint16_t tpid[] = { 0x8100 };
		static const uint16_t vid[] = { 33 };

		fb_eth_tags(&f, 1, tpid, vid, 0x8848);
		put32(&f, 16u << 12 | 0x100 | 1);
		putn(&f, ip.b, ip.n);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		assert_int_equal(m.key.vlan, 33);
	}

	/* Ethernet pseudowire with a control word: the inner frame's tag. */
	inner_tcp4(&in, 7, false);
	{
		struct fb pl;

		pl.n = 0;
		put32(&pl, 0);
		putn(&pl, in.b, in.n);
		mk_mpls(&f, 2, true, pl.b, pl.n);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		check_inner_tcp4(&m, 7);
	}

	/* Nine labels without bottom of stack; eight then a bad nibble. */
	mk_mpls(&f, 9, false, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_mpls);
	mk_mpls(&f, 8, true, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	ip.b[0] = 0x55;
	mk_mpls(&f, 2, true, ip.b, ip.n);
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_mpls);
	/* A label cut by the capture. */
	mk_mpls(&f, 2, true, ip.b, ip.n);
	f.n = 14 + 6;
	assert_int_equal(dect(&f, &m), VIGIL_CTR_drop_truncated);
}

static void
test_qinq_tunnelled(void **state)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100 };
	static const uint16_t vid[] = { 200, 300 };
	struct fb in, f;
	struct vigil_pkt_meta m;

	(void)state;
	/* QinQ inner frame inside VXLAN: the service tag (first). */
	fb_eth_tags(&in, 2, tpid, vid, 0x0800);
	fb_ipv4(&in, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 120);
	fb_tcp(&in, 40000, 80, VIGIL_TCP_ACK, 100);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	check_inner_tcp4(&m, 200);
}

/* ---- link types ----------------------------------------------------------- */

/* Rewrite the Ethernet frame `e` to link type `lt`. */
static void
relink(struct fb *out, const struct fb *e, int lt, bool big_endian_af,
       uint32_t af6)
{
	uint16_t type = rd16_(e->b + 12);
	bool v6 = type == 0x86dd;
	uint32_t af = v6 ? af6 : 2;

	out->n = 0;
	switch (lt) {
	case VIGIL_DLT_LINUX_SLL:
		put16(out, 4);	/* sent by us */
		put16(out, 1);	/* ARPHRD_ETHER */
		put16(out, 6);
		putn(out, e->b + 6, 6);
		putz(out, 2);
		put16(out, type);
		putn(out, e->b + 14, e->n - 14);
		return;
	case VIGIL_DLT_LINUX_SLL2:
		put16(out, type);
		put16(out, 0);
		put32(out, 3); /* interface index */
		put16(out, 1);
		put8(out, 0);
		put8(out, 6);
		putn(out, e->b + 6, 6);
		putz(out, 2);
		putn(out, e->b + 14, e->n - 14);
		return;
	case VIGIL_DLT_NULL:
	case VIGIL_DLT_LOOP:
		if (big_endian_af) {
			put32(out, af);
		} else {
			put8(out, (uint8_t)af);
			putz(out, 3);
		}
		put_ip_of(out, e);
		return;
	default: /* raw */
		put_ip_of(out, e);
		return;
	}
}

static void
check_same_flow(const struct vigil_pkt_meta *a, const struct vigil_pkt_meta *b)
{
	assert_memory_equal(&a->key, &b->key, sizeof(a->key));
	assert_int_equal(a->dir, b->dir);
	assert_int_equal(a->ip_len, b->ip_len);
	assert_int_equal(a->payload_len, b->payload_len);
	assert_int_equal(a->tcp_flags, b->tcp_flags);
	assert_int_equal(a->rx_hash, b->rx_hash);
}

static void
test_linktypes(void **state)
{
	static const uint16_t tpid[] = { 0x88a8, 0x8100 };
	static const uint16_t vid[] = { 200, 300 };
	static const uint32_t af6[] = { 10, 23, 24, 28, 30 };
	struct fb e4, e6, f, q;
	struct vigil_pkt_meta me4, me6, mq, m;

	(void)state;
	vigil_decoder_defaults(&dflt);
	mk_tcp4(&e4, "10.0.0.1", 40000, "10.0.0.2", 80, VIGIL_TCP_SYN, 0);
	mk_tcp6(&e6, "fd00::20", 443, "fd00::1", 51000, VIGIL_TCP_ACK, 50);
	fb_eth_tags(&q, 2, tpid, vid, 0x0800);
	fb_ipv4(&q, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_UDP, 8 + 10);
	fb_udp(&q, 1000, 2000, 10);
	assert_int_equal(dect(&e4, &me4), VIGIL_DECODE_OK);
	assert_int_equal(dect(&e6, &me6), VIGIL_DECODE_OK);
	assert_int_equal(dect(&q, &mq), VIGIL_DECODE_OK);
	assert_int_equal(mq.key.vlan, 200);

	/* Linux cooked v1 and v2, untagged and QinQ (tags reinserted after
	 * the cooked header, protocol 0x88a8). */
	relink(&f, &e4, VIGIL_DLT_LINUX_SLL, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL, &f, &m),
			 VIGIL_DECODE_OK);
	check_same_flow(&m, &me4);
	assert_int_equal(m.l2_len, e4.n + 2);
	relink(&f, &e6, VIGIL_DLT_LINUX_SLL, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL, &f, &m),
			 VIGIL_DECODE_OK);
	check_same_flow(&m, &me6);
	relink(&f, &q, VIGIL_DLT_LINUX_SLL, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL, &f, &m),
			 VIGIL_DECODE_OK);
	check_same_flow(&m, &mq);
	relink(&f, &e4, VIGIL_DLT_LINUX_SLL2, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL2, &f, &m),
			 VIGIL_DECODE_OK);
	check_same_flow(&m, &me4);
	assert_int_equal(m.l2_len, e4.n + 6);
	relink(&f, &q, VIGIL_DLT_LINUX_SLL2, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL2, &f, &m),
			 VIGIL_DECODE_OK);
	check_same_flow(&m, &mq);
	relink(&f, &e6, VIGIL_DLT_LINUX_SLL2, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL2, &f, &m),
			 VIGIL_DECODE_OK);
	check_same_flow(&m, &me6);

	/* Raw IP under every number it goes by; IPv4-only and IPv6-only. */
	{
		static const int raws[] = { VIGIL_DLT_RAW, VIGIL_DLT_RAW_12,
					    VIGIL_DLT_RAW_14 };

		for (unsigned i = 0; i < 3; i++) {
			relink(&f, &e4, raws[i], false, 0);
			assert_int_equal(decx(&dflt, raws[i], &f, &m),
					 VIGIL_DECODE_OK);
			check_same_flow(&m, &me4);
			assert_int_equal(m.l2_len, 40);
			relink(&f, &e6, raws[i], false, 0);
			assert_int_equal(decx(&dflt, raws[i], &f, &m),
					 VIGIL_DECODE_OK);
			check_same_flow(&m, &me6);
		}
		relink(&f, &e4, VIGIL_DLT_RAW, false, 0);
		assert_int_equal(decx(&dflt, VIGIL_DLT_IPV4, &f, &m),
				 VIGIL_DECODE_OK);
		check_same_flow(&m, &me4);
		assert_int_equal(decx(&dflt, VIGIL_DLT_IPV6, &f, &m),
				 VIGIL_CTR_drop_bad_ipv6);
		relink(&f, &e6, VIGIL_DLT_RAW, false, 0);
		assert_int_equal(decx(&dflt, VIGIL_DLT_IPV6, &f, &m),
				 VIGIL_DECODE_OK);
		check_same_flow(&m, &me6);
		/* Version 5: not IP. */
		f.b[0] = 0x50;
		assert_int_equal(decx(&dflt, VIGIL_DLT_RAW, &f, &m),
				 VIGIL_CTR_drop_bad_linktype);
		f.n = 0;
		assert_int_equal(decx(&dflt, VIGIL_DLT_RAW, &f, &m),
				 VIGIL_CTR_drop_truncated);
	}

	/* BSD loopback: NULL in either byte order, LOOP big-endian; every
	 * IPv6 address family value. */
	relink(&f, &e4, VIGIL_DLT_NULL, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m), VIGIL_DECODE_OK);
	check_same_flow(&m, &me4);
	assert_int_equal(m.l2_len, 44);
	relink(&f, &e4, VIGIL_DLT_NULL, true, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m), VIGIL_DECODE_OK);
	check_same_flow(&m, &me4);
	for (unsigned i = 0; i < RTE_DIM(af6); i++) {
		relink(&f, &e6, VIGIL_DLT_NULL, false, af6[i]);
		assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m),
				 VIGIL_DECODE_OK);
		check_same_flow(&m, &me6);
		relink(&f, &e6, VIGIL_DLT_NULL, true, af6[i]);
		assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m),
				 VIGIL_DECODE_OK);
		check_same_flow(&m, &me6);
		relink(&f, &e6, VIGIL_DLT_LOOP, true, af6[i]);
		assert_int_equal(decx(&dflt, VIGIL_DLT_LOOP, &f, &m),
				 VIGIL_DECODE_OK);
		check_same_flow(&m, &me6);
	}
	relink(&f, &e4, VIGIL_DLT_LOOP, true, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LOOP, &f, &m), VIGIL_DECODE_OK);
	check_same_flow(&m, &me4);
	/* LOOP is big-endian only: 02 00 00 00 is no family it knows. */
	relink(&f, &e4, VIGIL_DLT_NULL, false, 0);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LOOP, &f, &m),
			 VIGIL_CTR_drop_bad_linktype);
	/* An unknown family (AF_UNIX = 1), and IPv6 claimed for IPv4. */
	f.b[0] = 1;
	assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m),
			 VIGIL_CTR_drop_bad_linktype);
	f.b[0] = 30;
	assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m),
			 VIGIL_CTR_drop_bad_ipv6);

	/* Link headers too short, cooked protocol that is no ethertype,
	 * ARP in a cooked capture, a link type the decoder does not know. */
	for (uint32_t n = 0; n < 20; n++) {
		relink(&f, &e4, VIGIL_DLT_LINUX_SLL2, false, 0);
		f.n = n;
		assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL2, &f, &m),
				 VIGIL_CTR_drop_bad_linktype);
		if (n < 16) {
			relink(&f, &e4, VIGIL_DLT_LINUX_SLL, false, 0);
			f.n = n;
			assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL, &f,
					      &m),
					 VIGIL_CTR_drop_bad_linktype);
		}
		if (n < 4) {
			relink(&f, &e4, VIGIL_DLT_NULL, false, 0);
			f.n = n;
			assert_int_equal(decx(&dflt, VIGIL_DLT_NULL, &f, &m),
					 VIGIL_CTR_drop_bad_linktype);
			assert_int_equal(decx(&dflt, VIGIL_DLT_LOOP, &f, &m),
					 VIGIL_CTR_drop_bad_linktype);
		}
	}
	relink(&f, &e4, VIGIL_DLT_LINUX_SLL, false, 0);
	set16(&f, 14, 0x0004); /* 802.2 LLC */
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL, &f, &m),
			 VIGIL_CTR_drop_bad_linktype);
	set16(&f, 14, 0x0806);
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL, &f, &m),
			 VIGIL_CTR_drop_arp);
	relink(&f, &e4, VIGIL_DLT_LINUX_SLL2, false, 0);
	set16(&f, 0, 0x000c); /* CAN */
	assert_int_equal(decx(&dflt, VIGIL_DLT_LINUX_SLL2, &f, &m),
			 VIGIL_CTR_drop_bad_linktype);
	assert_int_equal(decx(&dflt, 105, &e4, &m),
			 VIGIL_CTR_drop_bad_linktype);

	/* Which link types are decoded at all. */
	{
		static const int yes[] = { 0, 1, 12, 14, 101, 108, 113, 228,
					   229, 276 };
		static const int no[] = { -1, 2, 6, 105, 127, 192, 220, 239 };

		for (unsigned i = 0; i < RTE_DIM(yes); i++)
			assert_true(vigil_linktype_supported(yes[i]));
		for (unsigned i = 0; i < RTE_DIM(no); i++)
			assert_false(vigil_linktype_supported(no[i]));
	}
}

static void
test_tunnel_names_and_defaults(void **state)
{
	struct vigil_decoder d;

	(void)state;
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_NONE), "");
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_VXLAN), "vxlan");
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_GENEVE), "geneve");
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_GRE), "gre");
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_ERSPAN2), "erspan2");
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_ERSPAN3), "erspan3");
	assert_string_equal(vigil_tunnel_name(VIGIL_TUN_IPIP), "ipip");
	assert_string_equal(vigil_tunnel_name(200), "unknown");
	memset(&d, 0xff, sizeof(d));
	vigil_decoder_defaults(&d);
	assert_int_equal(d.n_vxlan, 2);
	assert_int_equal(d.vxlan_ports[0], 4789);
	assert_int_equal(d.vxlan_ports[1], 8472);
	assert_int_equal(d.vxlan_ports[2], 0);
	assert_int_equal(d.geneve_port, 6081);
	assert_true(d.decap);
	assert_true(sizeof(struct vigil_pkt_meta) <= 128);
	assert_int_equal(sizeof(struct vigil_flow_key), 48);
}

/* ---- options --------------------------------------------------------------- */

/* TCP SYN with the option bytes `opt` (a multiple of 4 bytes). */
static void
mk_syn_opts(struct fb *f, const uint8_t *opt, uint32_t n)
{
	fb_eth(f, 0x0800);
	fb_ipv4(f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_TCP, 20 + n);
	fb_tcp(f, 40000, 443, VIGIL_TCP_SYN, 0);
	f->b[14 + 20 + 12] = (uint8_t)((5 + n / 4) << 4);
	putn(f, opt, n);
	fb_pad60(f);
}

static void
test_tcp_options(void **state)
{
	/* MSS 1460, SACK permitted, timestamps, NOP, window scale 7. */
	static const uint8_t good[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
					  0, 1, 0, 0, 0, 0, 1, 3, 3, 7 };
	/* End of list, then anything. */
	static const uint8_t eol[8] = { 1, 1, 0, 0xff, 0xff, 0, 0, 0 };
	static const uint8_t mss3[4] = { 2, 3, 5, 1 };
	static const uint8_t len0[4] = { 1, 1, 30, 0 };
	static const uint8_t over[8] = { 1, 1, 1, 1, 1, 1, 30, 8 };
	static const uint8_t lone[4] = { 1, 1, 1, 30 };
	static const uint8_t sack[12] = { 1, 1, 5, 10, 0, 0, 0, 1,
					  0, 0, 0, 2 };
	static const uint8_t sack9[12] = { 1, 1, 5, 9, 0, 0, 0, 1,
					   0, 0, 0, 0 };
	static const uint8_t unknown[8] = { 34, 6, 1, 2, 3, 4, 1, 0 };
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	mk_syn_opts(&f, good, sizeof(good));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, 0);
	assert_int_equal(m.payload_len, 0);
	assert_int_equal(m.tcp_seq, 1000);
	assert_int_equal(m.tcp_ack, 2000);
	assert_int_equal(m.tcp_win, 65535);
	mk_syn_opts(&f, eol, sizeof(eol));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, 0);
	mk_syn_opts(&f, sack, sizeof(sack));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, 0);
	mk_syn_opts(&f, unknown, sizeof(unknown));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, 0);
	/* Malformed lists: noted, the packet is counted all the same. */
	mk_syn_opts(&f, mss3, sizeof(mss3));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, VIGIL_NOTE_TCP_OPTS_BAD);
	assert_int_equal(m.key.port[1], 443);
	mk_syn_opts(&f, len0, sizeof(len0));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, VIGIL_NOTE_TCP_OPTS_BAD);
	mk_syn_opts(&f, over, sizeof(over));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, VIGIL_NOTE_TCP_OPTS_BAD);
	mk_syn_opts(&f, lone, sizeof(lone));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, VIGIL_NOTE_TCP_OPTS_BAD);
	mk_syn_opts(&f, sack9, sizeof(sack9));
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, VIGIL_NOTE_TCP_OPTS_BAD);
	/* Options cut by the snap length are not judged. */
	mk_syn_opts(&f, over, sizeof(over));
	f.n = 14 + 20 + 20 + 6;
	assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
	assert_int_equal(m.notes, 0);
}

static void
test_ipv4_options(void **state)
{
	static const uint8_t good[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };
	static const uint8_t bad[8] = { 1, 0x44, 12, 5, 0, 0, 0, 0 };
	static const uint8_t zero_len[4] = { 0x07, 0, 0, 0 };
	struct fb f;
	struct vigil_pkt_meta m;
	const struct {
		const uint8_t *o;
		uint32_t n;
		uint8_t note;
	} cases[] = {
		{ good, 8, 0 },
		{ bad, 8, VIGIL_NOTE_IPV4_OPTS_BAD },
		{ zero_len, 4, VIGIL_NOTE_IPV4_OPTS_BAD },
	};

	(void)state;
	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		fb_eth(&f, 0x0800);
		fb_ipv4(&f, "10.0.0.1", "10.0.0.2", VIGIL_IPPROTO_UDP,
			cases[i].n + 8 + 4);
		f.b[14] = (uint8_t)(0x45 + cases[i].n / 4);
		putn(&f, cases[i].o, cases[i].n);
		fb_udp(&f, 1, 2, 4);
		fb_pad60(&f);
		assert_int_equal(dect(&f, &m), VIGIL_DECODE_OK);
		assert_int_equal(m.notes, cases[i].note);
		assert_int_equal(m.key.port[0], 1);
		assert_int_equal(m.payload_len, 4);
		assert_int_equal(m.ip_len, 20 + cases[i].n + 12);
	}
}

/* ---- fragments ------------------------------------------------------------- */

/* One IPv4 fragment of the UDP datagram 10.0.0.1:1000 -> 10.0.0.2:2000
 * with `total` bytes of UDP (header included): bytes [off, off + len). */
static void
mk_frag4(struct fb *f, uint16_t id, uint16_t vlan, uint32_t total,
	 uint32_t off, uint32_t len, const char *src, const char *dst)
{
	static const uint16_t tpid[] = { 0x8100 };
	uint8_t udp[4096];

	memset(udp, 'f', sizeof(udp));
	udp[0] = 1000 >> 8;
	udp[1] = 1000 & 0xff;
	udp[2] = 2000 >> 8;
	udp[3] = 2000 & 0xff;
	udp[4] = (uint8_t)(total >> 8);
	udp[5] = (uint8_t)total;
	if (vlan)
		fb_eth_tags(f, 1, tpid, &vlan, 0x0800);
	else
		fb_eth(f, 0x0800);
	{
		uint32_t ip = fb_ipv4(f, src, dst, VIGIL_IPPROTO_UDP, len);

		set16(f, ip + 4, id);
		set16(f, ip + 6,
		      (uint16_t)((off / 8) | (off + len < total ? 0x2000 : 0)));
	}
	putn(f, udp + off, len);
	fb_pad60(f);
}

static int
decft(struct vigil_frag_table *ft, uint64_t now, const struct fb *f,
      struct vigil_pkt_meta *m)
{
	int rc, rc2;
	struct vigil_pkt_meta m2;

	vigil_decoder_defaults(&dflt);
	memset(m, 0xa5, sizeof(*m));
	rc = vigil_decode_pkt_ft(&dflt, ft, now, VIGIL_DLT_EN10MB, f->b, f->n,
				 f->n, m);
	check_result_sane(rc, m, f->n);
	/* Without a table: a later fragment is never keyed. */
	rc2 = vigil_decode_pkt(&dflt, VIGIL_DLT_EN10MB, f->b, f->n, f->n, &m2);
	if (rc == VIGIL_DECODE_OK && (m->notes & VIGIL_NOTE_FRAGMENT))
		assert_int_equal(rc2, VIGIL_CTR_drop_fragment_unmatched);
	else
		assert_int_equal(rc2, rc);
	return rc;
}

static struct vigil_frag_table *
ft_new(uint32_t entries)
{
	void *mem = malloc(vigil_frag_table_size(entries));
	struct vigil_frag_table *ft;

	assert_non_null(mem);
	ft = vigil_frag_table_init(mem, entries, VIGIL_FRAG_TIMEOUT_US);
	assert_ptr_equal(ft, mem);
	return ft;
}

static void
test_fragments_ipv4_table(void **state)
{
	const uint64_t t0 = 1767225600000000ull;
	struct vigil_frag_table *ft = ft_new(64);
	struct fb f;
	struct vigil_pkt_meta m1, m2, m3, m;

	(void)state;
	/* 3008 bytes of UDP in three fragments: 1480, 1480 and 48. */
	mk_frag4(&f, 0x1234, 0, 3008, 0, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0, &f, &m1), VIGIL_DECODE_OK);
	assert_int_equal(m1.key.port[0], 1000);
	assert_int_equal(m1.key.port[1], 2000);
	assert_int_equal(m1.ip_len, 1500);
	assert_int_equal(m1.payload_len, 1472);
	assert_int_equal(m1.notes, 0);
	assert_int_equal(ft->live, 1);
	mk_frag4(&f, 0x1234, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + 10, &f, &m2), VIGIL_DECODE_OK);
	assert_memory_equal(&m2.key, &m1.key, sizeof(m1.key));
	assert_int_equal(m2.dir, m1.dir);
	assert_int_equal(m2.rx_hash, m1.rx_hash);
	assert_int_equal(m2.ip_len, 1500);
	assert_int_equal(m2.payload_len, 1480);
	assert_int_equal(m2.notes, VIGIL_NOTE_FRAGMENT);
	mk_frag4(&f, 0x1234, 0, 3008, 2960, 48, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + 20, &f, &m3), VIGIL_DECODE_OK);
	assert_memory_equal(&m3.key, &m1.key, sizeof(m1.key));
	assert_int_equal(m3.ip_len, 68);
	assert_int_equal(m3.payload_len, 48);
	/* The datagram's payload, counted once. */
	assert_int_equal(m1.payload_len + m2.payload_len + m3.payload_len,
			 3000);
	/* Every byte seen: the entry is gone, a duplicate is unmatched. */
	assert_int_equal(ft->live, 0);
	mk_frag4(&f, 0x1234, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + 30, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);

	/* Later fragments before the first, or without it, or of another
	 * datagram (id, VLAN, direction), are unmatched. */
	mk_frag4(&f, 7, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);
	mk_frag4(&f, 7, 0, 3008, 0, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0, &f, &m), VIGIL_DECODE_OK);
	mk_frag4(&f, 8, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);
	mk_frag4(&f, 7, 5, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);
	mk_frag4(&f, 7, 0, 3008, 1480, 1480, "10.0.0.2", "10.0.0.1");
	assert_int_equal(decft(ft, t0, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);
	/* Out of order: last, then middle. */
	mk_frag4(&f, 7, 0, 3008, 2960, 48, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + 1, &f, &m), VIGIL_DECODE_OK);
	assert_int_equal(ft->live, 1);
	mk_frag4(&f, 7, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + 2, &f, &m), VIGIL_DECODE_OK);
	assert_int_equal(ft->live, 0);

	/* Expiry by packet time: 30 s after the first fragment. */
	mk_frag4(&f, 9, 0, 3008, 0, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0, &f, &m), VIGIL_DECODE_OK);
	mk_frag4(&f, 9, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + VIGIL_FRAG_TIMEOUT_US, &f, &m),
			 VIGIL_DECODE_OK);
	mk_frag4(&f, 9, 0, 3008, 2960, 48, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + VIGIL_FRAG_TIMEOUT_US + 1, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);
	free(ft);
}

static void
test_fragments_table_full(void **state)
{
	const uint64_t t0 = 1767225600000000ull;
	struct vigil_frag_table *ft = ft_new(8);
	struct fb f;
	struct vigil_pkt_meta m;

	(void)state;
	assert_null(vigil_frag_table_init(ft, 12, 1));
	assert_null(vigil_frag_table_init(ft, 4, 1));
	/* Eight datagrams fill the table; the ninth replaces the oldest. */
	for (uint16_t id = 0; id < 9; id++) {
		mk_frag4(&f, id, 0, 3008, 0, 1480, "10.0.0.1", "10.0.0.2");
		assert_int_equal(decft(ft, t0 + id, &f, &m), VIGIL_DECODE_OK);
		assert_int_equal(m.notes,
				 id < 8 ? 0 : VIGIL_NOTE_FRAG_EVICT);
	}
	assert_int_equal(ft->live, 8);
	mk_frag4(&f, 0, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	assert_int_equal(decft(ft, t0 + 10, &f, &m),
			 VIGIL_CTR_drop_fragment_unmatched);
	for (uint16_t id = 1; id < 9; id++) {
		mk_frag4(&f, id, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
		assert_int_equal(decft(ft, t0 + 10, &f, &m), VIGIL_DECODE_OK);
	}
	/* Expired entries are reused without counting a replacement. */
	for (uint16_t id = 100; id < 108; id++) {
		mk_frag4(&f, id, 0, 3008, 0, 1480, "10.0.0.1", "10.0.0.2");
		assert_int_equal(decft(ft, t0 + 31000000, &f, &m),
				 VIGIL_DECODE_OK);
		assert_int_equal(m.notes, 0);
	}
	vigil_frag_table_clear(ft);
	assert_int_equal(ft->live, 0);
	free(ft);
}

static void
test_fragments_ipv6_table(void **state)
{
	struct vigil_frag_table *ft = ft_new(64);
	struct fb f;
	struct vigil_pkt_meta m1, m2;

	(void)state;
	/* mk_frag6: fragment header then 20 + 100 bytes (TCP). */
	mk_frag6(&f, 1); /* first, M set */
	assert_int_equal(decft(ft, 5, &f, &m1), VIGIL_DECODE_OK);
	assert_int_equal(m1.key.port[0], 7000);
	assert_int_equal(m1.payload_len, 100);
	assert_int_equal(m1.ip_len, 40 + 8 + 120);
	mk_frag6(&f, (uint16_t)(15 << 3)); /* last, at 15 x 8 = 120 */
	assert_int_equal(decft(ft, 6, &f, &m2), VIGIL_DECODE_OK);
	assert_memory_equal(&m2.key, &m1.key, sizeof(m1.key));
	assert_int_equal(m2.notes, VIGIL_NOTE_FRAGMENT);
	assert_int_equal(m2.ip_len, 40 + 8 + 120);
	assert_int_equal(m2.payload_len, 120);
	assert_int_equal(m2.tcp_flags, 0);
	assert_int_equal(ft->live, 0);
	/* Another identification. */
	mk_frag6(&f, 1);
	assert_int_equal(decft(ft, 7, &f, &m1), VIGIL_DECODE_OK);
	mk_frag6(&f, (uint16_t)(15 << 3));
	f.b[14 + 40 + 7] ^= 1;
	assert_int_equal(decft(ft, 8, &f, &m2),
			 VIGIL_CTR_drop_fragment_unmatched);
	free(ft);
}

static void
test_fragments_outer_tunnel(void **state)
{
	struct vigil_frag_table *ft = ft_new(64);
	struct fb in, whole, f1, f2;
	struct vigil_pkt_meta m1, m2, mw;
	uint32_t ipl, cut = 96;

	(void)state;
	/* A VXLAN packet whose outer IPv4 packet is fragmented: the first
	 * fragment holds the tunnel and inner headers, the second the rest
	 * of the inner payload. */
	inner_tcp4(&in, 0, false);
	mk_vxlan(&whole, 0, false, 4789, 42, &in);
	assert_int_equal(dect(&whole, &mw), VIGIL_DECODE_OK);
	ipl = whole.n - 14 - 20; /* outer IP payload */
	f1.n = 0;
	putn(&f1, whole.b, 14 + 20 + cut);
	set16(&f1, 14 + 2, (uint16_t)(20 + cut));
	set16(&f1, 14 + 6, 0x2000);
	f2.n = 0;
	putn(&f2, whole.b, 14 + 20);
	putn(&f2, whole.b + 14 + 20 + cut, ipl - cut);
	set16(&f2, 14 + 2, (uint16_t)(20 + ipl - cut));
	set16(&f2, 14 + 6, cut / 8);
	fb_pad60(&f2);
	assert_int_equal(decft(ft, 1, &f1, &m1), VIGIL_DECODE_OK);
	check_inner_tcp4(&m1, 0);
	check_tunnel(&m1, VIGIL_TUN_VXLAN, 42, "192.168.50.1", "192.168.50.2");
	assert_memory_equal(&m1.key, &mw.key, sizeof(mw.key));
	assert_int_equal(decft(ft, 2, &f2, &m2), VIGIL_DECODE_OK);
	assert_memory_equal(&m2.key, &mw.key, sizeof(mw.key));
	assert_memory_equal(&m2.tun, &mw.tun, sizeof(mw.tun));
	assert_int_equal(m2.dir, mw.dir);
	/* The inner packet was counted whole with the first fragment. */
	assert_int_equal(m2.ip_len, 0);
	assert_int_equal(m2.payload_len, 0);
	assert_int_equal(m2.l2_len, f2.n);
	assert_int_equal(ft->live, 0);

	/* The reverse: an inner datagram fragmented inside VXLAN; the
	 * tunnel context is part of the datagram's identity. */
	mk_frag4(&in, 0x77, 0, 3008, 0, 1480, "10.0.0.1", "10.0.0.2");
	mk_vxlan(&f1, 0, false, 4789, 42, &in);
	assert_int_equal(decft(ft, 3, &f1, &m1), VIGIL_DECODE_OK);
	check_tunnel(&m1, VIGIL_TUN_VXLAN, 42, "192.168.50.1", "192.168.50.2");
	assert_int_equal(m1.payload_len, 1472);
	mk_frag4(&in, 0x77, 0, 3008, 1480, 1480, "10.0.0.1", "10.0.0.2");
	mk_vxlan(&f2, 0, false, 4789, 42, &in);
	assert_int_equal(decft(ft, 4, &f2, &m2), VIGIL_DECODE_OK);
	assert_memory_equal(&m2.key, &m1.key, sizeof(m1.key));
	assert_memory_equal(&m2.tun, &m1.tun, sizeof(m1.tun));
	assert_int_equal(m2.payload_len, 1480);
	assert_int_equal(m2.ip_len, 1500);
	mk_vxlan(&f2, 0, false, 4789, 43, &in); /* another VNI */
	assert_int_equal(decft(ft, 4, &f2, &m2),
			 VIGIL_CTR_drop_fragment_unmatched);
	free(ft);
}

/* ---- robustness of the new paths ------------------------------------------ */

static void
test_every_prefix_tunnels_linktypes(void **state)
{
	static const uint8_t opts[12] = { 0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4,
					  0xff, 0xff, 0x01, 0x00 };
	struct fb in, in6, f, g, ip, pl;
	uint32_t o;

	(void)state;
	vigil_decoder_defaults(&dflt);
	inner_tcp4(&in, 100, false);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	check_prefixes_lt(&dflt, VIGIL_DLT_EN10MB, &f, 0, 0,
			  14 + 20 + 8 + 8 + 18 + 20 + 20);
	mk_udp6_ext(&in6, "fd00::1", 5353, "fd00::2", 53, 21);
	mk_geneve(&f, 3, opts, 0x6558, 0x123456, in6.b, in6.n);
	check_prefixes_lt(&dflt, VIGIL_DLT_EN10MB, &f, 0, 0,
			  14 + 40 + 8 + 20 + 14 + 40 + 24 + 8);
	inner_tcp4(&in, 0, false);
	ip.n = 0;
	put_ip_of(&ip, &in);
	mk_gre(&f, 0xb000, 0x0800, 5, ip.b, ip.n);
	check_prefixes_lt(&dflt, VIGIL_DLT_EN10MB, &f, 0, 0,
			  18 + 20 + 16 + 20 + 20);
	pl.n = 0;
	putz(&pl, 12);
	pl.b[0] = 0x20;
	pl.b[11] = 1;
	putz(&pl, 8);
	putn(&pl, in.b, in.n);
	mk_gre(&f, 0x1000, 0x22eb, 0, pl.b, pl.n);
	check_prefixes_lt(&dflt, VIGIL_DLT_EN10MB, &f, 0, 0,
			  18 + 20 + 8 + 20 + 14 + 20 + 20);
	mk_tcp6(&in6, "fd00::20", 443, "fd00::1", 51000, VIGIL_TCP_ACK, 50);
	ip.n = 0;
	put_ip_of(&ip, &in6);
	o = fb_outer4(&f, 0, "192.168.70.1", "192.168.70.2", 41);
	putn(&f, ip.b, ip.n);
	fix_ip4(&f, o);
	check_prefixes_lt(&dflt, VIGIL_DLT_EN10MB, &f, 0, 0,
			  14 + 20 + 40 + 20);
	mk_mpls(&f, 3, true, ip.b, ip.n);
	check_prefixes_lt(&dflt, VIGIL_DLT_EN10MB, &f, 0, 0,
			  14 + 12 + 40 + 20);

	/* Link types: a short link header has its own counter. */
	mk_tcp4(&g, "10.0.0.1", 40000, "10.0.0.2", 80, VIGIL_TCP_ACK, 30);
	relink(&f, &g, VIGIL_DLT_LINUX_SLL, false, 0);
	check_prefixes_lt(&dflt, VIGIL_DLT_LINUX_SLL, &f, 16,
			  VIGIL_CTR_drop_bad_linktype, 16 + 40);
	relink(&f, &g, VIGIL_DLT_LINUX_SLL2, false, 0);
	check_prefixes_lt(&dflt, VIGIL_DLT_LINUX_SLL2, &f, 20,
			  VIGIL_CTR_drop_bad_linktype, 20 + 40);
	relink(&f, &g, VIGIL_DLT_NULL, false, 0);
	check_prefixes_lt(&dflt, VIGIL_DLT_NULL, &f, 4,
			  VIGIL_CTR_drop_bad_linktype, 4 + 40);
	relink(&f, &in6, VIGIL_DLT_LOOP, true, 24);
	check_prefixes_lt(&dflt, VIGIL_DLT_LOOP, &f, 4,
			  VIGIL_CTR_drop_bad_linktype, 4 + 60);
	relink(&f, &g, VIGIL_DLT_RAW, false, 0);
	check_prefixes_lt(&dflt, VIGIL_DLT_RAW, &f, 0, 0, 40);
	check_prefixes_lt(&dflt, VIGIL_DLT_IPV4, &f, 0, 0, 40);
	relink(&f, &in6, VIGIL_DLT_RAW, false, 0);
	check_prefixes_lt(&dflt, VIGIL_DLT_IPV6, &f, 0, 0, 60);
	/* A tunnel in a cooked capture. */
	mk_vxlan(&g, 0, false, 8472, 1, &in);
	relink(&f, &g, VIGIL_DLT_LINUX_SLL2, false, 0);
	check_prefixes_lt(&dflt, VIGIL_DLT_LINUX_SLL2, &f, 20,
			  VIGIL_CTR_drop_bad_linktype,
			  20 + 20 + 8 + 8 + 14 + 20 + 20);
}

/* Random frames of every link type, biased towards the headers that lead
 * into tunnels, MPLS and fragments, through a small fragment table. */
static void
test_random_frames_tunnels(void **state)
{
	static const int lts[] = { VIGIL_DLT_EN10MB, VIGIL_DLT_LINUX_SLL,
				   VIGIL_DLT_LINUX_SLL2, VIGIL_DLT_RAW,
				   VIGIL_DLT_NULL, VIGIL_DLT_LOOP,
				   VIGIL_DLT_IPV4, VIGIL_DLT_IPV6 };
	static const uint8_t protos[] = { 4, 41, 47, 17, 17, 17, 6, 44, 0 };
	static const uint16_t ports[] = { 4789, 8472, 6081, 53 };
	static const uint16_t gre_protos[] = { 0x0800, 0x86dd, 0x6558, 0x88be,
					       0x22eb, 0x8847 };
	struct vigil_frag_table *ft = ft_new(16);
	uint8_t buf[600];
	struct vigil_pkt_meta m;
	unsigned ok = 0, drops = 0, tun = 0, frags = 0;

	(void)state;
	vigil_decoder_defaults(&dflt);
	for (int i = 0; i < 30000; i++) {
		int lt = lts[rnd() % RTE_DIM(lts)];
		uint32_t len = rnd() % 500, l3;
		int rc;

		for (uint32_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rnd();
		switch (lt) {
		case VIGIL_DLT_EN10MB: l3 = 14; break;
		case VIGIL_DLT_LINUX_SLL: l3 = 16; break;
		case VIGIL_DLT_LINUX_SLL2: l3 = 20; break;
		case VIGIL_DLT_NULL:
		case VIGIL_DLT_LOOP: l3 = 4; break;
		default: l3 = 0; break;
		}
		if (len > l3 + 60 && rnd() % 8 != 0) {
			bool v6 = rnd() % 3 == 0;
			uint16_t et = v6 ? 0x86dd : 0x0800;
			uint32_t l4;
			uint8_t pr = protos[rnd() % RTE_DIM(protos)];

			if (lt == VIGIL_DLT_EN10MB) {
				buf[12] = (uint8_t)(et >> 8);
				buf[13] = (uint8_t)et;
			} else if (lt == VIGIL_DLT_LINUX_SLL) {
				buf[14] = (uint8_t)(et >> 8);
				buf[15] = (uint8_t)et;
			} else if (lt == VIGIL_DLT_LINUX_SLL2) {
				buf[0] = (uint8_t)(et >> 8);
				buf[1] = (uint8_t)et;
			} else if (lt == VIGIL_DLT_NULL) {
				memset(buf, 0, 4);
				buf[0] = v6 ? 30 : 2;
			} else if (lt == VIGIL_DLT_LOOP) {
				memset(buf, 0, 4);
				buf[3] = v6 ? 24 : 2;
			} else if (lt == VIGIL_DLT_IPV4) {
				v6 = false;
			} else if (lt == VIGIL_DLT_IPV6) {
				v6 = true;
			}
			if (v6) {
				uint16_t pl = (uint16_t)(len - l3 - 40 -
							 rnd() % 4);

				buf[l3] = 0x60;
				buf[l3 + 4] = (uint8_t)(pl >> 8);
				buf[l3 + 5] = (uint8_t)pl;
				buf[l3 + 6] = pr;
				l4 = l3 + 40;
				if (pr == 44) {
					buf[l4] = 17;
					buf[l4 + 2] = rnd() % 2 ? 0 : buf[l4 + 2];
					buf[l4 + 3] &= 0xf9;
					buf[l4 + 4] = buf[l4 + 5] = 0;
					buf[l4 + 6] = 0;
					buf[l4 + 7] = (uint8_t)(rnd() % 4);
					l4 += 8;
					pr = 17;
				}
			} else {
				uint16_t tot = (uint16_t)(len - l3 -
							  rnd() % 4);

				buf[l3] = 0x45;
				buf[l3 + 2] = (uint8_t)(tot >> 8);
				buf[l3 + 3] = (uint8_t)tot;
				buf[l3 + 4] = 0;
				buf[l3 + 5] = (uint8_t)(rnd() % 4);
				buf[l3 + 6] &= rnd() % 2 ? 0x20 : 0x3f;
				buf[l3 + 7] = rnd() % 2 ? 0 : buf[l3 + 7] % 4;
				buf[l3 + 9] = pr;
				if (rnd() % 2) /* one address pair: fragments
						* find each other */
					memcpy(buf + l3 + 12,
					       "\x0a\0\0\x01\x0a\0\0\x02", 8);
				l4 = l3 + 20;
			}
			if (pr == 17) {
				uint16_t p = ports[rnd() % RTE_DIM(ports)];
				uint16_t ul = (uint16_t)(len - l4);

				buf[l4 + 2] = (uint8_t)(p >> 8);
				buf[l4 + 3] = (uint8_t)p;
				buf[l4 + 4] = (uint8_t)(ul >> 8);
				buf[l4 + 5] = (uint8_t)ul;
				buf[l4 + 8] = p == 6081 ? rnd() % 4 : 0x08;
				buf[l4 + 9] = p == 6081 ? 0x65 : buf[l4 + 9];
				buf[l4 + 10] = p == 6081 ? 0x58 : buf[l4 + 10];
				buf[l4 + 16 + 12] = rnd() % 2 ? 0x08 : 0x86;
				buf[l4 + 16 + 13] = rnd() % 2 ? 0x00 : 0xdd;
				buf[l4 + 16 + 14] = 0x45;
			} else if (pr == 47) {
				uint16_t gp = gre_protos[rnd() %
							 RTE_DIM(gre_protos)];

				buf[l4] &= 0xb0;
				buf[l4 + 1] = 0;
				buf[l4 + 2] = (uint8_t)(gp >> 8);
				buf[l4 + 3] = (uint8_t)gp;
				buf[l4 + 4] = rnd() % 2 ? 0x45 : 0x10;
			} else if (pr == 4 || pr == 41) {
				buf[l4] = pr == 4 ? 0x45 : 0x60;
			}
		}
		memset(&m, 0xa5, sizeof(m));
		rc = vigil_decode_pkt_ft(&dflt, ft, (uint64_t)i * 1000, lt,
					 buf, len, len, &m);
		check_result_sane(rc, &m, len);
		if (rc == VIGIL_DECODE_OK) {
			ok++;
			tun += m.tun.type != VIGIL_TUN_NONE;
			frags += (m.notes & VIGIL_NOTE_FRAGMENT) != 0;
		} else {
			drops++;
		}
		/* Guarded, without the table. */
		rc = decode_guarded_lt(&dflt, lt, buf, len, &m);
		check_result_sane(rc, &m, len);
	}
	assert_true(ok > 1000);
	assert_true(drops > 1000);
	assert_true(tun > 100);
	print_message("random tunnels: %u keyed (%u tunnelled, %u later "
		      "fragments), %u dropped\n", ok, tun, frags, drops);
	free(ft);
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
	assert_int_equal(vigil_decode_mbuf(m, &mm), VIGIL_CTR_drop_arp);
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


static void
test_mbuf_tunnel_and_linktype(void **state)
{
	struct fb in, f, s;
	struct vigil_pkt_meta flat, mm;
	struct vigil_decoder d;
	struct rte_mbuf *m;
	uint32_t cuts[2];

	(void)state;
	vigil_decoder_defaults(&d);
	inner_tcp4(&in, 100, false);
	mk_vxlan(&f, 0, false, 4789, 42, &in);
	assert_int_equal(vigil_decode_pkt(&d, VIGIL_DLT_EN10MB, f.b, f.n, f.n,
					  &flat),
			 VIGIL_DECODE_OK);
	/* Cut inside the VXLAN header, then inside the inner tag. */
	cuts[0] = 14 + 20 + 8 + 3;
	cuts[1] = 14 + 20 + 8 + 8 + 15;
	m = chain(&f, cuts, 2);
	memset(&mm, 0x5a, sizeof(mm));
	assert_int_equal(vigil_decode_mbuf_lt(&d, NULL, 0, VIGIL_DLT_EN10MB, m,
					      &mm),
			 VIGIL_DECODE_OK);
	assert_memory_equal(&mm.key, &flat.key, sizeof(flat.key));
	assert_memory_equal(&mm.tun, &flat.tun, sizeof(flat.tun));
	assert_int_equal(mm.l2_len, f.n);
	assert_int_equal(mm.ip_len, flat.ip_len);
	assert_int_equal(mm.payload_len, flat.payload_len);
	assert_int_equal(mm.tcp_seq, flat.tcp_seq);
	assert_int_equal(mm.key.vni, 42);
	rte_pktmbuf_free(m);
	/* The same frame in a Linux cooked v2 capture, single segment and
	 * split in the cooked header. */
	relink(&s, &f, VIGIL_DLT_LINUX_SLL2, false, 0);
	m = chain(&s, NULL, 0);
	assert_int_equal(vigil_decode_mbuf_lt(&d, NULL, 0,
					      VIGIL_DLT_LINUX_SLL2, m, &mm),
			 VIGIL_DECODE_OK);
	assert_memory_equal(&mm.key, &flat.key, sizeof(flat.key));
	assert_int_equal(mm.l2_len, s.n);
	rte_pktmbuf_free(m);
	cuts[0] = 9;
	m = chain(&s, cuts, 1);
	assert_int_equal(vigil_decode_mbuf_lt(&d, NULL, 0,
					      VIGIL_DLT_LINUX_SLL2, m, &mm),
			 VIGIL_DECODE_OK);
	assert_memory_equal(&mm.key, &flat.key, sizeof(flat.key));
	/* Read as Ethernet it is something else entirely. */
	assert_int_not_equal(vigil_decode_mbuf(m, &mm), VIGIL_DECODE_OK);
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
		cmocka_unit_test(test_many_tags_bad_l2),
		cmocka_unit_test(test_etag_vntag),
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
		cmocka_unit_test(test_tunnel_vxlan),
		cmocka_unit_test(test_pppoe),
		cmocka_unit_test(test_fabricpath),
		cmocka_unit_test(test_nsh),
		cmocka_unit_test(test_tunnel_vxlan_malformed),
		cmocka_unit_test(test_tunnel_geneve),
		cmocka_unit_test(test_tunnel_gre),
		cmocka_unit_test(test_tunnel_gre_pptp),
		cmocka_unit_test(test_tunnel_erspan),
		cmocka_unit_test(test_tunnel_ipip),
		cmocka_unit_test(test_tunnel_nesting),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_qinq_tunnelled),
		cmocka_unit_test(test_linktypes),
		cmocka_unit_test(test_tunnel_names_and_defaults),
		cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_fragments_ipv4_table),
		cmocka_unit_test(test_fragments_table_full),
		cmocka_unit_test(test_fragments_ipv6_table),
		cmocka_unit_test(test_fragments_outer_tunnel),
		cmocka_unit_test(test_every_prefix_tunnels_linktypes),
		cmocka_unit_test(test_random_frames_tunnels),
	};
	const struct CMUnitTest mbuf[] = {
		cmocka_unit_test(test_mbuf_straddling_segments),
		cmocka_unit_test(test_mbuf_tso_length_from_chain),
		cmocka_unit_test(test_mbuf_errors),
		cmocka_unit_test(test_mbuf_tunnel_and_linktype),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("decode", pure, guard_setup,
					     guard_teardown);
	fails += cmocka_run_group_tests_name("decode_mbuf", mbuf, eal_setup,
					     eal_teardown);
	return fails;
}
