/*
 * libFuzzer target for lib/decode.
 *
 * Input layout (what tests/fuzz/make_corpus.py writes):
 *
 *   byte 0   selector: bits 0..3 modulo 10 pick the link type
 *            (0 EN10MB, 1 LINUX_SLL, 2 LINUX_SLL2, 3 RAW, 4 NULL, 5 LOOP,
 *            6 RAW_12, 7 RAW_14, 8 IPV4, 9 IPV6: the pcap values);
 *            bit 4: decoder setting decap = false (key the outer flow);
 *            bit 5: no VXLAN or Geneve UDP port (n_vxlan = geneve_port = 0);
 *            bit 7 set: bytes 1..4 are a big-endian count of bytes the
 *            frame had beyond what was captured (framelen = caplen + that),
 *            as for a capture cut by a snap length or a chained mbuf.
 *   rest     the frame as captured (caplen bytes).
 *
 * The frame is decoded from an exact-size heap copy, so AddressSanitizer
 * reports any read past the captured bytes. When lib/decode has the
 * link-type-aware entry point (vigil_decode_pkt, detected by meson, which
 * passes -DHAVE_VIGIL_DECODE_PKT) every link type is decoded with it;
 * otherwise only Ethernet inputs are decoded, with vigil_decode_len.
 *
 * On top of the sanitizers, the target aborts when a documented property of
 * vigil_decode.h does not hold (see check_meta()).
 *
 * Built with -DFUZZ_FRAG_TABLE (fuzz_decode_ft) the input is a sequence of
 * frames decoded in order through one fragment table (vigil_frag.h), so
 * later fragments can match first ones and entries age and get evicted:
 *
 *   per frame: selector byte (as above, bit 7: 4 bytes of extra length
 *   follow), one byte of time step (x 250 ms of packet time), a 2-byte
 *   big-endian caplen, then the frame (cut short at the end of the input).
 *
 * The sequence is decoded twice, through two fresh tables, and must give
 * the same results.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_decode.h"
#include "vigil_stats.h"
#ifdef FUZZ_FRAG_TABLE
#include "vigil_frag.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DLT_EN10MB_ 1
#define DLT_LINUX_SLL_ 113
#define DLT_LINUX_SLL2_ 276
#define DLT_RAW_ 101
#define DLT_NULL_ 0
#define DLT_LOOP_ 108

/* The first six are the ones every seed uses; the other raw-IP values
 * follow so that adding them did not renumber the seeds. */
static const int linktypes[] = { DLT_EN10MB_, DLT_LINUX_SLL_, DLT_LINUX_SLL2_,
				 DLT_RAW_,    DLT_NULL_,      DLT_LOOP_,
				 12,	      14,	      228,
				 229 };
#define NLINKTYPES (sizeof(linktypes) / sizeof(linktypes[0]))

#define FLAG_NODECAP 0x10
#define FLAG_NOUDPTUN 0x20
#define FLAG_FRAMELEN 0x80

/* Largest frame worth trying: a jumbo frame plus link headers. */
#define MAX_FRAME 65536

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr,                                      \
				"fuzz_decode: invariant failed: %s "         \
				"(linktype %d, caplen %u, framelen %u, "     \
				"rc %d)\n",                                  \
				#cond, linktype, caplen, framelen, rc);      \
			abort();                                             \
		}                                                            \
	} while (0)

#ifdef HAVE_VIGIL_DECODE_PKT
/* The decoder settings a selector byte picks (bits 4 and 5). */
static const struct vigil_decoder *
decoder_for(uint8_t sel)
{
	static struct vigil_decoder d[4];
	static int ready;

	if (!ready) {
		for (int i = 0; i < 4; i++) {
			vigil_decoder_defaults(&d[i]);
			if (i & 1)
				d[i].decap = false;
			if (i & 2) {
				d[i].n_vxlan = 0;
				d[i].geneve_port = 0;
			}
		}
		ready = 1;
	}
	return &d[(sel >> 4) & 3];
}
#endif

#ifndef FUZZ_FRAG_TABLE
static int
decode(uint8_t sel, int linktype, const uint8_t *frame, uint32_t caplen,
       uint32_t framelen, struct vigil_pkt_meta *m)
{
#ifdef HAVE_VIGIL_DECODE_PKT
	return vigil_decode_pkt(decoder_for(sel), linktype, frame, caplen,
				framelen, m);
#else
	(void)sel;
	(void)linktype;
	return vigil_decode_len(frame, caplen, framelen, m);
#endif
}
#endif

/*
 * What vigil_decode.h promises for a keyed packet (VIGIL_DECODE_OK), and
 * nothing more: lengths are only checked against each other where the
 * header defines them (a snap length or a TSO/GRO capture makes ip_len
 * differ from the captured or even the wire length, so neither bounds it).
 */
static void
check_meta(const struct vigil_pkt_meta *m, int linktype, uint32_t caplen,
	   uint32_t framelen, int rc)
{
	const struct vigil_flow_key *k = &m->key;
	unsigned alen;
	int c;

	/* "rx_hash is vigil_key_hash(&m->key)" */
	CHECK(m->rx_hash == vigil_key_hash(k));
	/* "dir 0: the sender is key side 0; 1: side 1" */
	CHECK(m->dir == 0 || m->dir == 1);
	/* "family VIGIL_AF_INET or VIGIL_AF_INET6" */
	CHECK(k->family == VIGIL_AF_INET || k->family == VIGIL_AF_INET6);
	/* "pad always zero" (a uint32_t, later a byte array) */
	for (size_t i = 0; i < sizeof(k->pad); i++)
		CHECK(((const uint8_t *)&k->pad)[i] == 0);
#ifdef HAVE_VIGIL_DECODE_PKT
	/* "l2_len: frame length on the wire, all headers" */
	CHECK(m->l2_len == framelen);
#endif
	/* "vlan: outer 802.1Q/802.1ad VLAN id": 12 bits */
	CHECK(k->vlan <= 0x0fff);
	alen = k->family == VIGIL_AF_INET ? 4 : 16;
	/* "IPv4 in the first 4 bytes, rest zero" */
	if (k->family == VIGIL_AF_INET)
		for (int s = 0; s < 2; s++)
			for (unsigned i = 4; i < 16; i++)
				CHECK(k->addr[s][i] == 0);
	/* "the (address, port) pair that compares lower is side 0" */
	c = memcmp(k->addr[0], k->addr[1], alen);
	CHECK(c < 0 || (c == 0 && k->port[0] <= k->port[1]));
	/* "ip_len: IP length from the header(s)" (headers included) and
	 * "payload_len: transport payload length" (inside that packet). A
	 * later fragment of a tunnelled datagram counts nothing (its first
	 * fragment counted the inner packet whole): both are 0. */
#ifdef VIGIL_NOTE_FRAGMENT
	if (!(m->notes & VIGIL_NOTE_FRAGMENT) || m->ip_len != 0)
#endif
		CHECK(m->ip_len >= (k->family == VIGIL_AF_INET ? 20u : 40u));
	CHECK(m->payload_len <= m->ip_len);
	/* "tcp_flags: TCP flags byte, 0 otherwise" */
	if (k->proto != VIGIL_IPPROTO_TCP)
		CHECK(m->tcp_flags == 0);
#ifdef VIGIL_DECODE_TCP_SEQ
	/* "tcp_win/tcp_seq/tcp_ack: ..., 0 otherwise" */
	if (k->proto != VIGIL_IPPROTO_TCP)
		CHECK(m->tcp_win == 0 && m->tcp_seq == 0 && m->tcp_ack == 0);
#endif
#ifdef VIGIL_TUN_MAX
	/* "tun_type: VIGIL_TUN_* of the outermost tunnel, 0 = none" and
	 * "tun: type 0 = none (then the rest is zero too)" */
	CHECK(k->tun_type <= VIGIL_TUN_MAX);
	CHECK(m->tun.type <= VIGIL_TUN_MAX);
	CHECK(k->tun_type == m->tun.type);
	if (m->tun.type == VIGIL_TUN_NONE) {
		static const struct vigil_tunnel none;

		CHECK(memcmp(&m->tun, &none, sizeof(none)) == 0);
		/* "vni: VNI, GRE key or ERSPAN session id of the innermost
		 * tunnel that has one; 0 = none" */
		CHECK(k->vni == 0);
	} else {
		CHECK(m->tun.family == VIGIL_AF_INET ||
		      m->tun.family == VIGIL_AF_INET6);
	}
#endif
	/* ICMP "ports": the type on one side (the other is the counterpart
	 * type or the code). */
	if ((k->family == VIGIL_AF_INET && k->proto == VIGIL_IPPROTO_ICMP) ||
	    (k->family == VIGIL_AF_INET6 && k->proto == VIGIL_IPPROTO_ICMPV6))
		CHECK(k->port[0] == m->icmp_type ||
		      k->port[1] == m->icmp_type);
}

/* Field by field (struct padding is not the decoder's to fill). */
static int
meta_equal(const struct vigil_pkt_meta *a, const struct vigil_pkt_meta *b)
{
	return memcmp(&a->key, &b->key, sizeof(a->key)) == 0 &&
	       a->l2_len == b->l2_len && a->ip_len == b->ip_len &&
	       a->payload_len == b->payload_len && a->rx_hash == b->rx_hash &&
	       a->dir == b->dir && a->tcp_flags == b->tcp_flags &&
	       a->icmp_type == b->icmp_type && a->icmp_code == b->icmp_code &&
	       a->notes == b->notes
#ifdef VIGIL_DECODE_TCP_SEQ
	       && a->tcp_win == b->tcp_win && a->tcp_seq == b->tcp_seq &&
	       a->tcp_ack == b->tcp_ack
#endif
#ifdef VIGIL_TUN_MAX
	       && memcmp(&a->tun, &b->tun, sizeof(a->tun)) == 0
#endif
	       ;
}

/* "Returns VIGIL_DECODE_OK or the drop counter naming the reason." */
#define CHECK_RC(rc)                                                         \
	CHECK((rc) == VIGIL_DECODE_OK ||                                     \
	      ((rc) > 0 && (rc) < VIGIL_CTR_MAX &&                           \
	       vigil_ctr_is_drop((enum vigil_ctr)(rc))))

#ifdef FUZZ_FRAG_TABLE

#define FT_ENTRIES 16 /* small, so that eviction happens */
#define FT_MAX_FRAMES 64
#define FT_STEP_US 250000u

struct ft_frame {
	int linktype;
	const struct vigil_decoder *d;
	uint32_t caplen, framelen;
	uint64_t now_us;
	uint8_t *frame; /* exact-size heap copy */
};

static struct vigil_frag_table *
ft_new(void)
{
	size_t sz = vigil_frag_table_size(FT_ENTRIES);
	void *mem = malloc(sz);
	struct vigil_frag_table *t;

	if (mem == NULL)
		abort();
	memset(mem, 0xa5, sz); /* init must not rely on zeroed memory */
	t = vigil_frag_table_init(mem, FT_ENTRIES, VIGIL_FRAG_TIMEOUT_US);
	if (t == NULL)
		abort();
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ft_frame fr[FT_MAX_FRAMES];
	struct vigil_frag_table *ta, *tb;
	uint64_t now = 1700000000ull * 1000000u;
	size_t off = 0, n = 0;

	while (off + 4 <= size && n < FT_MAX_FRAMES) {
		uint8_t sel = data[off++];
		uint32_t extra = 0, len;

		if (sel & FLAG_FRAMELEN) {
			if (off + 4 > size)
				break;
			extra = (uint32_t)data[off] << 24 |
				(uint32_t)data[off + 1] << 16 |
				(uint32_t)data[off + 2] << 8 | data[off + 3];
			off += 4;
		}
		if (off + 3 > size)
			break;
		now += (uint64_t)data[off++] * FT_STEP_US;
		len = (uint32_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = (uint32_t)(size - off);
		fr[n].linktype = linktypes[(sel & 0x0f) % NLINKTYPES];
		fr[n].d = decoder_for(sel);
		fr[n].caplen = len;
		fr[n].framelen = extra > UINT32_MAX - len ? UINT32_MAX
							 : len + extra;
		fr[n].now_us = now;
		fr[n].frame = malloc(len);
		if (fr[n].frame == NULL && len > 0)
			abort();
		if (len > 0)
			memcpy(fr[n].frame, data + off, len);
		off += len;
		n++;
	}

	ta = ft_new();
	tb = ft_new();
	for (size_t i = 0; i < n; i++) {
		struct vigil_pkt_meta m1, m2;
		int linktype = fr[i].linktype, rc, rc2;
		uint32_t caplen = fr[i].caplen, framelen = fr[i].framelen;

		memset(&m1, 0xa5, sizeof(m1));
		memset(&m2, 0x5a, sizeof(m2));
		rc = vigil_decode_pkt_ft(fr[i].d, ta, fr[i].now_us, linktype,
					 fr[i].frame, caplen, framelen, &m1);
		rc2 = vigil_decode_pkt_ft(fr[i].d, tb, fr[i].now_us, linktype,
					  fr[i].frame, caplen, framelen, &m2);
		CHECK_RC(rc);
		CHECK(rc == rc2);
		if (rc == VIGIL_DECODE_OK) {
			check_meta(&m1, linktype, caplen, framelen, rc);
			CHECK(meta_equal(&m1, &m2));
		}
		/* "entries in use" never exceed the slots */
		CHECK(ta->live <= ta->mask + 1);
	}
	for (size_t i = 0; i < n; i++)
		free(fr[i].frame);
	free(ta);
	free(tb);
	return 0;
}

#else /* one frame, no fragment table */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_pkt_meta m1, m2;
	uint32_t caplen, framelen, extra = 0;
	int linktype, rc, rc2;
	uint8_t *frame;
	size_t hdr = 1;

	if (size < 1)
		return 0;
	linktype = linktypes[(data[0] & 0x0f) % NLINKTYPES];
#ifndef HAVE_VIGIL_DECODE_PKT
	if (linktype != DLT_EN10MB_)
		return 0;
#endif
	if (data[0] & FLAG_FRAMELEN) {
		if (size < 5)
			return 0;
		extra = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
			(uint32_t)data[3] << 8 | data[4];
		hdr = 5;
	}
	if (size - hdr > MAX_FRAME)
		return 0;
	caplen = (uint32_t)(size - hdr);
	framelen = extra > UINT32_MAX - caplen ? UINT32_MAX : caplen + extra;

	/* Exact-size copy: one byte past the capture is a heap overflow
	 * (under ASan, malloc(0) is a zero-size block: any read is one). */
	frame = malloc(caplen);
	if (frame == NULL && caplen > 0)
		return 0;
	if (caplen > 0)
		memcpy(frame, data + hdr, caplen);

	/* "Fills everything in m but ts_us": start from two different
	 * garbage patterns and expect the same result. */
	memset(&m1, 0xa5, sizeof(m1));
	memset(&m2, 0x5a, sizeof(m2));
	rc = decode(data[0], linktype, frame, caplen, framelen, &m1);
	rc2 = decode(data[0], linktype, frame, caplen, framelen, &m2);

	CHECK_RC(rc);
	CHECK(rc == rc2);
	if (rc == VIGIL_DECODE_OK) {
		check_meta(&m1, linktype, caplen, framelen, rc);
		CHECK(meta_equal(&m1, &m2));
	}
	free(frame);
	return 0;
}

#endif /* FUZZ_FRAG_TABLE */
