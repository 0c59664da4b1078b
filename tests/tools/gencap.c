/*
 * vigil-gencap: deterministic synthetic packet-capture generator.
 *
 * Writes the captures that the README demo, the integration tests and the
 * benchmark replay through vigil.  The output is a classic libpcap file
 * (magic 0xa1b2c3d4, version 2.4, microsecond timestamps, snaplen 65535,
 * LINKTYPE_ETHERNET), written by hand with stdio: libc only.
 *
 *   vigil-gencap -o FILE [--profile mix|small|imix] [--flows N] [--packets N]
 *                [--seed N] [--start EPOCH] [--vlan-pct P]
 *                [--encap none|vxlan|geneve|gre|erspan2|erspan3|ipip]
 *                [--vni N] [--vxlan-port P]
 *                [--linktype ether|sll|sll2|raw|null|null-be|loop]
 *
 * Profiles
 *   mix    (default; 3000 flows, 15% VLAN-tagged) "a few services talking"
 *          in a Kubernetes-like network: client pods 10.244.0.0/16 and
 *          fd00:10:244::/48, services 10.96.0.0/16 and fd00:10:96::/64, the
 *          cluster DNS 10.96.0.10 / fd00:10:96::a, external servers in
 *          93.184.216.0/24 and 151.101.0.0/16.  10% of the flows are IPv6.
 *          Flow kinds (exact shares of --flows, remainder to DNS):
 *            DNS over UDP/53          35%  query + response (1-3 A/AAAA,
 *                                          compression pointers); every 50th
 *                                          query gets no response
 *            HTTP/1.1 over TCP/80,8080 30% handshake, GET/POST, 200 OK with
 *                                          a body split in MSS segments, FIN
 *            TLS 1.3 over TCP/443     25%  handshake, ClientHello with SNI,
 *                                          ALPN, ... (three client
 *                                          fingerprints), ServerHello, CCS,
 *                                          encrypted records, FIN
 *            rejected TCP              4%  SYN answered by RST+ACK
 *            ICMP(v6) echo             3%  1-4 request/reply pairs
 *            one-way UDP (syslog/514)  3%  1-3 packets, never answered
 *          Flows start within the first 118 s of capture time; no flow is
 *          silent for more than 2 s.
 *   small  (benchmark; --flows 1000000, --packets = flows) 60-byte frames
 *          (64 on the wire with the FCS): Ethernet + IPv4 + UDP + padding,
 *          flow i = 10.x.y.z (x.y.z = i + 1) port 38000 + i % 3000 ->
 *          198.18.0.0/15 (RFC 2544 benchmark range) port 9 (discard);
 *          packet k belongs to flow k % flows, so exactly --flows flows are
 *          concurrent; timestamps 1 us apart; streamed, nothing is kept in
 *          memory.
 *   imix   (benchmark; --flows 10000, --packets 100000) frame sizes
 *          60:566:1514 (64:570:1518 with FCS) in the ratio 7:4:1 (packet k
 *          has the size at k % 12 of a fixed 12-entry sequence), IPv4 UDP
 *          and TCP (ACK segments with payload; about half the flows, by a
 *          hash of the flow index), same addresses and ports as small,
 *          round-robin over the flows, timestamps 1 us apart.
 *   --vlan-pct P tags P% of the flows with 802.1Q VLAN 100, 200 or 300
 *   (both directions of a flow carry the same tag); default 15 for mix and
 *   0 for the benchmark profiles (there flow i is tagged if i % 100 < P,
 *   with VLAN 100/200/300 by i % 3; tagged frames keep the same size).
 *   Flow limits: mix 5000000, small and imix 16777214.
 *
 * Encapsulation (--encap, default none): every packet of any profile is
 *   wrapped in a tunnel between two fixed nodes, 192.168.50.1 (the
 *   client's, MAC 02:42:c0:a8:32:01) and 192.168.50.2 (the server's): a
 *   client-to-server packet goes .1 -> .2, a reply .2 -> .1.  Outer IPv4
 *   header with DF, TTL 64, an identification counting packets, valid
 *   checksum.
 *     vxlan    UDP to --vxlan-port (default 4789; 8472 for flannel and
 *              Cilium), source port 32768 + (hash of the inner 5-tuple and
 *              direction) % 28232 as VTEPs do, valid UDP checksum; VXLAN
 *              header with VNI --vni; the inner Ethernet frame without
 *              padding.
 *     geneve   the same on UDP 6081, Geneve protocol 0x6558 with one
 *              8-byte option (class 0xff01, type 1, 4 bytes of data).
 *     gre      GRE protocol 0x0800/0x86dd, key --vni (no key when 0), the
 *              inner IP packet.
 *     erspan2  GRE with sequence numbers, protocol 0x88be, ERSPAN type II
 *              header (session --vni, at most 1023), the inner Ethernet
 *              frame as mirrored (padding kept).
 *     erspan3  the same with protocol 0x22eb and an ERSPAN type III header
 *              (timestamp = low 32 bits of the packet time in us).
 *     ipip     IPv4 (protocol 4) or IPv6 (41) in IPv4, the inner packet.
 *   The flow's 802.1Q tag stays on the inner Ethernet frame when there is
 *   one (vxlan, geneve, erspan*) and moves to the outer frame otherwise
 *   (gre, ipip), so a flow keeps its VLAN id.  --vni default 42.
 *
 * Link type (--linktype, default ether): rewrites each frame's link layer
 *   and the file's link type: sll (LINKTYPE_LINUX_SLL 113: packet type 4
 *   "outgoing" for client-to-server, 0 otherwise, ARPHRD_ETHER, the source
 *   MAC), sll2 (LINKTYPE_LINUX_SLL2 276, interface index 2), raw
 *   (LINKTYPE_RAW 101), null (LINKTYPE_NULL 0, address family in
 *   little-endian order: 2, IPv6 30), null-be (the same, big-endian), loop
 *   (LINKTYPE_LOOP 108, big-endian: 2, IPv6 24).  The cooked link types
 *   keep the 802.1Q tag after their header (protocol 0x8100, as libpcap
 *   writes it); raw, null and loop lose it.  Ethernet padding is removed.
 *
 * Guarantees
 *   - Deterministic: the same options give a byte-identical file (own
 *     splitmix64 PRNG seeded from --seed; no clock, no rand()).
 *   - Every flow has its own 5-tuple (compared direction-independently and
 *     ignoring the VLAN); ICMP flows have unique identifiers (up to 65536
 *     ICMP flows) and address pairs that no other flow uses.
 *   - mix: exact counts per kind, IPv6 (flows / 10) and VLAN
 *     (flows * P / 100), e.g. 1050/900/750/120/90/90, 300, 450 for 3000.
 *   - IPv4 header, TCP, UDP and ICMP/ICMPv6 checksums are correct; frames
 *     shorter than 60 bytes are zero-padded to 60.
 *   - TCP sequence and acknowledgement numbers are consistent.
 *   - Packets are written in timestamp order (mix: stable sort of the
 *     generated packets by timestamp, then generation order).
 *   - Without --encap and --linktype the output is what it was before
 *     those options existed, byte for byte.
 *
 * Exit status: 0 on success, 2 on a usage error or when the output file
 * cannot be opened, 1 on a write error or when memory runs out.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "vigil-gencap"

enum { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMPV6 = 58 };
enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86dd, ETH_VLAN = 0x8100 };
enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08,
       TH_ACK = 0x10 };
enum { C2S = 0, S2C = 1 };      /* direction: client->server, server->client */

#define MIN_FRAME 60            /* Ethernet minimum without the FCS */
#define MAX_FRAME 1600
#define MAX_L4 1500
#define MAX_MSG 65536           /* largest application message we build */
#define MIX_SPAN_US 118000000u  /* flows start within this window */

static const uint16_t vlan_ids[] = { 100, 200, 300 };

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

static void die(int code, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (q == NULL)
		die(1, "out of memory (%zu bytes)", n);
	return q;
}

/* ------------------------------------------------------------------------ */
/* PRNG: splitmix64                                                         */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

/* True with probability pct/100. */
static bool rng_pct(struct rng *r, uint32_t pct)
{
	return rng_below(r, 100) < pct;
}

static void rng_fill(struct rng *r, uint8_t *p, size_t n)
{
	while (n > 0) {
		uint64_t v = rng_next(r);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

#define PICK(r, arr) ((arr)[rng_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ------------------------------------------------------------------------ */
/* Byte writers                                                             */

static void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* A bounded append-only buffer for building messages and headers. */
struct wbuf {
	uint8_t *p;
	size_t n, cap;
};

static uint8_t *wroom(struct wbuf *b, size_t n)
{
	uint8_t *q;

	if (n > b->cap - b->n)
		die(1, "internal error: message buffer overflow");
	q = b->p + b->n;
	b->n += n;
	return q;
}

static void w8(struct wbuf *b, uint32_t v)
{
	*wroom(b, 1) = (uint8_t)v;
}

static void w16(struct wbuf *b, uint32_t v)
{
	be16(wroom(b, 2), v);
}

static void w32(struct wbuf *b, uint32_t v)
{
	be32(wroom(b, 4), v);
}

static void wmem(struct wbuf *b, const void *p, size_t n)
{
	if (n > 0)
		memcpy(wroom(b, n), p, n);
}

static void wstr(struct wbuf *b, const char *s)
{
	wmem(b, s, strlen(s));
}

static void wrand(struct wbuf *b, struct rng *r, size_t n)
{
	rng_fill(r, wroom(b, n), n);
}

static void wbprintf(struct wbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void wbprintf(struct wbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->n)
		die(1, "internal error: message buffer overflow");
	b->n += (size_t)n;
}

/*
 * Length prefixes: *_begin reserves the field and returns its offset,
 * *_end fills in the number of bytes written after it.
 */
static size_t wlen_begin(struct wbuf *b, size_t width)
{
	size_t at = b->n;

	memset(wroom(b, width), 0, width);
	return at;
}

static void wlen_end(struct wbuf *b, size_t at, size_t width)
{
	size_t len = b->n - at - width;
	size_t i;

	for (i = 0; i < width; i++)
		b->p[at + i] = (uint8_t)(len >> (8 * (width - 1 - i)));
}

/* ------------------------------------------------------------------------ */
/* Internet checksum                                                        */

static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	while (n > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
	}
	if (n > 0)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ------------------------------------------------------------------------ */
/* pcap output                                                              */

struct pkt {
	uint64_t ts;            /* microseconds since the epoch */
	uint64_t off;           /* offset in the arena = generation order */
	uint32_t len;
};

struct sink {
	FILE *fp;
	const char *path;
	bool buffered;          /* keep packets in memory, sort, then write */
	struct pkt *pkts;
	size_t npkts, pcap;
	uint8_t *arena;
	size_t alen, acap;
	uint64_t written;
};

static void sink_write(struct sink *s, const void *p, size_t n)
{
	if (fwrite(p, 1, n, s->fp) != n)
		die(1, "write error on '%s': %s", s->path, strerror(errno));
}

static void sink_open(struct sink *s, const char *path, bool buffered,
		      uint32_t linktype)
{
	uint8_t h[24];

	memset(s, 0, sizeof(*s));
	s->path = path;
	s->buffered = buffered;
	if (strcmp(path, "-") == 0) {
		s->fp = stdout;
	} else {
		s->fp = fopen(path, "wb");
		if (s->fp == NULL)
			die(2, "cannot open output file '%s': %s", path,
			    strerror(errno));
	}
	setvbuf(s->fp, NULL, _IOFBF, 1 << 20);

	le32(h, 0xa1b2c3d4);    /* magic, microsecond timestamps */
	h[4] = 2;               /* version 2.4 */
	h[5] = 0;
	h[6] = 4;
	h[7] = 0;
	le32(h + 8, 0);         /* thiszone */
	le32(h + 12, 0);        /* sigfigs */
	le32(h + 16, 65535);    /* snaplen */
	le32(h + 20, linktype); /* LINKTYPE_ETHERNET unless --linktype */
	sink_write(s, h, sizeof(h));
}

static void sink_record(struct sink *s, uint64_t ts, const uint8_t *frame,
			uint32_t len)
{
	uint8_t h[16];

	le32(h, (uint32_t)(ts / 1000000));
	le32(h + 4, (uint32_t)(ts % 1000000));
	le32(h + 8, len);
	le32(h + 12, len);
	sink_write(s, h, sizeof(h));
	sink_write(s, frame, len);
	s->written++;
}

static void sink_packet(struct sink *s, uint64_t ts, const uint8_t *frame,
			size_t len)
{
	if (!s->buffered) {
		sink_record(s, ts, frame, (uint32_t)len);
		return;
	}
	if (s->npkts == s->pcap) {
		s->pcap = s->pcap ? 2 * s->pcap : 65536;
		s->pkts = xrealloc(s->pkts, s->pcap * sizeof(*s->pkts));
	}
	if (len > s->acap - s->alen) {
		while (len > s->acap - s->alen)
			s->acap = s->acap ? 2 * s->acap : (8u << 20);
		s->arena = xrealloc(s->arena, s->acap);
	}
	memcpy(s->arena + s->alen, frame, len);
	s->pkts[s->npkts].ts = ts;
	s->pkts[s->npkts].off = s->alen;
	s->pkts[s->npkts].len = (uint32_t)len;
	s->npkts++;
	s->alen += len;
}

static int pkt_cmp(const void *a, const void *b)
{
	const struct pkt *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

/* Sort buffered packets (by time, then generation order), write, close. */
static void sink_close(struct sink *s)
{
	size_t i;

	if (s->buffered) {
		qsort(s->pkts, s->npkts, sizeof(*s->pkts), pkt_cmp);
		for (i = 0; i < s->npkts; i++)
			sink_record(s, s->pkts[i].ts, s->arena + s->pkts[i].off,
				    s->pkts[i].len);
		free(s->pkts);
		free(s->arena);
		s->pkts = NULL;
		s->arena = NULL;
	}
	if (fflush(s->fp) != 0 || ferror(s->fp))
		die(1, "write error on '%s': %s", s->path, strerror(errno));
	if (s->fp != stdout && fclose(s->fp) != 0)
		die(1, "write error on '%s': %s", s->path, strerror(errno));
}

/* ------------------------------------------------------------------------ */
/* Flows and the L2/L3/L4 frame builders                                    */

struct side {
	uint8_t mac[6];
	uint8_t ip[16];         /* IPv4: first 4 bytes */
	uint16_t port;
	uint16_t ip_id;
	uint8_t ttl;            /* TTL / hop limit */
	uint32_t flowlabel;
	uint32_t seq;           /* TCP: next sequence number to send */
	uint16_t syn_win, win;  /* TCP window in SYN / later (scaled by 2^7) */
};

struct flow {
	struct side s[2];       /* C2S: client, S2C: server */
	bool v6;
	uint16_t vlan;          /* 0: untagged */
	uint8_t proto;
	uint16_t mss;
	uint32_t rtt;           /* microseconds */
	uint64_t t;             /* flow clock: timestamp of the next packet */
};

struct gen;
static void gen_emit(struct gen *g, struct flow *f, int dir, uint8_t proto,
		     uint8_t *l4, size_t l4len, size_t csum_off);

static size_t put_eth(uint8_t *p, const uint8_t *dst, const uint8_t *src,
		      uint16_t vlan, uint16_t ethertype)
{
	size_t n = 12;

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	if (vlan != 0) {
		be16(p + n, ETH_VLAN);
		be16(p + n + 2, vlan & 0x0fff);
		n += 4;
	}
	be16(p + n, ethertype);
	return n + 2;
}

static size_t put_ipv4(uint8_t *p, const struct side *src,
		       const struct side *dst, uint8_t proto, size_t l4len)
{
	bool df = proto != PROTO_UDP;

	p[0] = 0x45;
	p[1] = 0;
	be16(p + 2, (uint32_t)(20 + l4len));
	be16(p + 4, src->ip_id);
	be16(p + 6, df ? 0x4000 : 0);
	p[8] = src->ttl;
	p[9] = proto;
	be16(p + 10, 0);
	memcpy(p + 12, src->ip, 4);
	memcpy(p + 16, dst->ip, 4);
	be16(p + 10, csum_fold(csum_add(0, p, 20)));
	return 20;
}

static size_t put_ipv6(uint8_t *p, const struct side *src,
		       const struct side *dst, uint8_t proto, size_t l4len)
{
	be32(p, 0x60000000u | (src->flowlabel & 0xfffff));
	be16(p + 4, (uint32_t)l4len);
	p[6] = proto;
	p[7] = src->ttl;
	memcpy(p + 8, src->ip, 16);
	memcpy(p + 24, dst->ip, 16);
	return 40;
}

/* Transport checksum over the IPv4/IPv6 pseudo-header (none for ICMPv4). */
static uint16_t l4_checksum(const struct flow *f, int dir, uint8_t proto,
			    const uint8_t *l4, size_t len)
{
	const struct side *src = &f->s[dir], *dst = &f->s[!dir];
	uint8_t ph[40];
	uint64_t sum = 0;

	if (f->v6) {
		memcpy(ph, src->ip, 16);
		memcpy(ph + 16, dst->ip, 16);
		be32(ph + 32, (uint32_t)len);
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = proto;
		sum = csum_add(sum, ph, 40);
	} else if (proto != PROTO_ICMP) {
		memcpy(ph, src->ip, 4);
		memcpy(ph + 4, dst->ip, 4);
		ph[8] = 0;
		ph[9] = proto;
		be16(ph + 10, (uint32_t)len);
		sum = csum_add(sum, ph, 12);
	}
	return csum_fold(csum_add(sum, l4, len));
}

/*
 * Finish an L4 segment (checksum at csum_off), wrap it in IP and Ethernet
 * (+802.1Q) and pad the frame to the Ethernet minimum.  Returns the frame
 * length.
 */
static size_t build_frame(uint8_t *fr, struct flow *f, int dir, uint8_t proto,
			  uint8_t *l4, size_t l4len, size_t csum_off)
{
	struct side *src = &f->s[dir], *dst = &f->s[!dir];
	uint16_t c;
	size_t n;

	if (l4len > MAX_L4)
		die(1, "internal error: L4 segment of %zu bytes", l4len);
	be16(l4 + csum_off, 0);
	c = l4_checksum(f, dir, proto, l4, l4len);
	if (proto == PROTO_UDP && c == 0)
		c = 0xffff;
	be16(l4 + csum_off, c);

	n = put_eth(fr, dst->mac, src->mac, f->vlan,
		    f->v6 ? ETH_IPV6 : ETH_IPV4);
	if (f->v6)
		n += put_ipv6(fr + n, src, dst, proto, l4len);
	else
		n += put_ipv4(fr + n, src, dst, proto, l4len);
	memcpy(fr + n, l4, l4len);
	n += l4len;
	if (n < MIN_FRAME) {
		memset(fr + n, 0, MIN_FRAME - n);
		n = MIN_FRAME;
	}
	src->ip_id++;
	return n;
}

static size_t put_udp(uint8_t *p, uint16_t sport, uint16_t dport,
		      const uint8_t *data, size_t len)
{
	be16(p, sport);
	be16(p + 2, dport);
	be16(p + 4, (uint32_t)(8 + len));
	be16(p + 6, 0);
	if (len > 0)
		memcpy(p + 8, data, len);
	return 8 + len;
}

/* TCP header (+ options) + payload; the checksum is filled in later. */
static size_t put_tcp(uint8_t *p, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		      const uint8_t *opt, size_t optlen,
		      const uint8_t *data, size_t len)
{
	size_t hlen = 20 + optlen;

	be16(p, sport);
	be16(p + 2, dport);
	be32(p + 4, seq);
	be32(p + 8, ack);
	p[12] = (uint8_t)((hlen / 4) << 4);
	p[13] = flags;
	be16(p + 14, win);
	be16(p + 16, 0);
	be16(p + 18, 0);
	if (optlen > 0)
		memcpy(p + 20, opt, optlen);
	if (len > 0)
		memcpy(p + hlen, data, len);
	return hlen + len;
}

/* ICMP / ICMPv6 echo request or reply. */
static size_t put_icmp_echo(uint8_t *p, uint8_t type, uint16_t id,
			    uint16_t seq, const uint8_t *data, size_t len)
{
	p[0] = type;
	p[1] = 0;
	be16(p + 2, 0);
	be16(p + 4, id);
	be16(p + 6, seq);
	memcpy(p + 8, data, len);
	return 8 + len;
}

/* ------------------------------------------------------------------------ */
/* The network: services, external hosts, client pods                       */

#define IP4(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

enum {
	H_INTERNAL = 1,         /* a cluster service (reachable over IPv6) */
	H_TLS = 2,              /* serves TLS on 443 */
	H_HEADLESS = 4,         /* DNS only: answers are pod addresses */
};

struct host {
	const char *name;       /* DNS name, SNI, HTTP Host */
	uint32_t v4;
	uint16_t http_port;     /* 0: no plain HTTP */
	uint16_t udp_port;      /* one-way UDP sink (syslog), 0: none */
	uint8_t flags;
	uint8_t nextra;         /* up to this many more A/AAAA records */
	uint32_t step;          /* address step between those records */
};

static const struct host hosts[] = {
	{ "kubernetes.default.svc.cluster.local", IP4(10, 96, 0, 1), 0, 0,
	  H_INTERNAL | H_TLS, 0, 0 },
	{ "api.shop.svc.cluster.local", IP4(10, 96, 12, 40), 8080, 0,
	  H_INTERNAL, 0, 0 },
	{ "web.shop.svc.cluster.local", IP4(10, 96, 12, 41), 80, 0,
	  H_INTERNAL, 0, 0 },
	{ "cart.shop.svc.cluster.local", IP4(10, 96, 12, 77), 8080, 0,
	  H_INTERNAL, 0, 0 },
	{ "checkout.shop.svc.cluster.local", IP4(10, 96, 13, 5), 80, 0,
	  H_INTERNAL | H_TLS, 0, 0 },
	{ "payments.billing.svc.cluster.local", IP4(10, 96, 20, 15), 0, 0,
	  H_INTERNAL | H_TLS, 0, 0 },
	{ "invoices.billing.svc.cluster.local", IP4(10, 96, 20, 16), 8080, 0,
	  H_INTERNAL, 0, 0 },
	{ "auth.identity.svc.cluster.local", IP4(10, 96, 30, 2), 0, 0,
	  H_INTERNAL | H_TLS, 0, 0 },
	{ "users.identity.svc.cluster.local", IP4(10, 96, 30, 3), 80, 0,
	  H_INTERNAL, 0, 0 },
	{ "grafana.monitoring.svc.cluster.local", IP4(10, 96, 40, 10), 80, 0,
	  H_INTERNAL, 0, 0 },
	{ "prometheus.monitoring.svc.cluster.local", IP4(10, 96, 40, 11), 8080,
	  0, H_INTERNAL, 0, 0 },
	{ "search.catalog.svc.cluster.local", IP4(10, 96, 50, 8), 8080, 0,
	  H_INTERNAL, 0, 0 },
	{ "registry.infra.svc.cluster.local", IP4(10, 96, 60, 1), 0, 0,
	  H_INTERNAL | H_TLS, 0, 0 },
	{ "vault.infra.svc.cluster.local", IP4(10, 96, 60, 7), 0, 0,
	  H_INTERNAL | H_TLS, 0, 0 },
	{ "syslog.logging.svc.cluster.local", IP4(10, 96, 70, 5), 0, 514,
	  H_INTERNAL, 0, 0 },
	{ "redis.cache.svc.cluster.local", IP4(10, 244, 3, 17), 0, 0,
	  H_INTERNAL | H_HEADLESS, 2, IP4(0, 0, 2, 9) },
	{ "postgres.db.svc.cluster.local", IP4(10, 244, 5, 30), 0, 0,
	  H_INTERNAL | H_HEADLESS, 2, IP4(0, 0, 1, 3) },
	{ "www.example.com", IP4(93, 184, 216, 34), 80, 0, H_TLS, 0, 0 },
	{ "example.org", IP4(93, 184, 216, 35), 80, 0, H_TLS, 0, 0 },
	{ "cdn.example.net", IP4(93, 184, 216, 80), 80, 0, H_TLS, 2, 1 },
	{ "pypi.org", IP4(151, 101, 0, 223), 0, 0, H_TLS, 2,
	  IP4(0, 0, 64, 0) },
	{ "files.pythonhosted.org", IP4(151, 101, 1, 63), 0, 0, H_TLS, 2,
	  IP4(0, 0, 64, 0) },
	{ "registry.npmjs.org", IP4(151, 101, 2, 162), 0, 0, H_TLS, 2,
	  IP4(0, 0, 64, 0) },
	{ "cdn.jsdelivr.net", IP4(151, 101, 1, 229), 0, 0, H_TLS, 1,
	  IP4(0, 0, 64, 0) },
	{ "api.weather.example.com", IP4(93, 184, 216, 120), 80, 0, H_TLS, 0,
	  0 },
};

#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))
#define DNS_SERVER_V4 IP4(10, 96, 0, 10)

static const uint8_t gw_mac[6] = { 0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x01 };

static void ip4_bytes(uint8_t *p, uint32_t a)
{
	memset(p, 0, 16);
	be32(p, a);
}

/*
 * IPv6 counterpart of an IPv4 address in our network: services
 * 10.96.a.b -> fd00:10:96::ab, pods 10.244.a.b -> fd00:10:244:a::b,
 * 93.184.216.x -> 2606:2800:220:1::x, 151.101.a.b -> 2a04:4e42:a::b.
 */
static void ip6_of_v4(uint8_t *p, uint32_t a)
{
	uint32_t hi = a >> 16;

	memset(p, 0, 16);
	if (hi == IP4(10, 96, 0, 0) >> 16) {
		be32(p, 0xfd000010);
		be16(p + 4, 0x0096);
		be16(p + 14, a & 0xffff);
	} else if (hi == IP4(10, 244, 0, 0) >> 16) {
		be32(p, 0xfd000010);
		be16(p + 4, 0x0244);
		be16(p + 6, (a >> 8) & 0xff);
		be16(p + 14, a & 0xff);
	} else if (hi == IP4(151, 101, 0, 0) >> 16) {
		be32(p, 0x2a044e42);
		be16(p + 4, (a >> 8) & 0xff);
		be16(p + 14, a & 0xff);
	} else {
		be32(p, 0x26062800);
		be32(p + 4, 0x02200001);
		be16(p + 14, a & 0xff);
	}
}

/* Client pods: 10.244.0-15.x, fd00:10:244:0-f::x.  ICMP clients use the
 * disjoint ranges 10.244.240-255.x and fd00:10:244:ff::/64. */
#define NPODS4 256
#define NPODS6 64

static void pod_mac(uint8_t *mac, const uint8_t *ip, bool v6)
{
	mac[0] = 0x0a;
	mac[1] = 0x58;
	memcpy(mac + 2, v6 ? ip + 12 : ip, 4);
}

/* ------------------------------------------------------------------------ */
/* Set of flow keys, to keep 5-tuples and ICMP address pairs unique         */

struct tuple {
	uint8_t a[16], b[16];
	uint16_t pa, pb;
	uint8_t proto;
	uint8_t used;
	uint8_t pad[2];
};

#define TUPLE_KEY_LEN offsetof(struct tuple, used)

struct tupleset {
	struct tuple *t;
	size_t cap, n;
};

/* Direction-independent key: the smaller endpoint first. */
static struct tuple make_tuple(const uint8_t *ip1, uint16_t p1,
			       const uint8_t *ip2, uint16_t p2, uint8_t proto)
{
	struct tuple k;
	int c = memcmp(ip1, ip2, 16);

	memset(&k, 0, sizeof(k));
	if (c > 0 || (c == 0 && p1 > p2)) {
		const uint8_t *ti = ip1;
		uint16_t tp = p1;

		ip1 = ip2;
		p1 = p2;
		ip2 = ti;
		p2 = tp;
	}
	memcpy(k.a, ip1, 16);
	memcpy(k.b, ip2, 16);
	k.pa = p1;
	k.pb = p2;
	k.proto = proto;
	return k;
}

static uint64_t tuple_hash(const struct tuple *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < TUPLE_KEY_LEN; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static bool tupleset_insert(struct tupleset *s, const struct tuple *k);

static void tupleset_grow(struct tupleset *s)
{
	struct tupleset old = *s;
	size_t i;

	s->cap = old.cap ? 2 * old.cap : 1024;
	s->n = 0;
	s->t = calloc(s->cap, sizeof(*s->t));
	if (s->t == NULL)
		die(1, "out of memory");
	for (i = 0; i < old.cap; i++)
		if (old.t[i].used)
			tupleset_insert(s, &old.t[i]);
	free(old.t);
}

/* Returns false if the key is already present. */
static bool tupleset_insert(struct tupleset *s, const struct tuple *k)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap)
		tupleset_grow(s);
	for (i = tuple_hash(k) & (s->cap - 1); s->t[i].used;
	     i = (i + 1) & (s->cap - 1))
		if (memcmp(&s->t[i], k, TUPLE_KEY_LEN) == 0)
			return false;
	s->t[i] = *k;
	s->t[i].used = 1;
	s->n++;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Generator state                                                          */

enum kind { K_DNS, K_HTTP, K_TLS, K_RST, K_ICMP, K_UDP, K_COUNT };

/* Per-mille shares of the mix profile (DNS takes the remainder). */
static const uint32_t kind_share[K_COUNT] = { 350, 300, 250, 40, 30, 30 };

struct plan {
	uint8_t kind;
	bool v6;
	uint16_t vlan;
	uint64_t start;
};

struct gen {
	struct rng rng;
	struct sink *sink;
	struct tupleset tuples;         /* 5-tuples of all flows */
	struct tupleset pairs;          /* address pairs of ICMP flows */
	uint32_t pods4[NPODS4];
	uint16_t pods6[NPODS6][2];      /* fd00:10:244:[0]::[1] */
	uint16_t icmp_id;
	uint64_t dns_seen;
	/* --encap, --linktype */
	int encap;                      /* ENC_* */
	int linktype;                   /* LT_* */
	uint32_t vni;
	uint16_t vxlan_port;
	uint16_t outer_id;              /* outer IPv4 identification */
	uint32_t gre_seq;               /* ERSPAN's GRE sequence number */
};

/* ------------------------------------------------------------------------ */
/* Encapsulation and link types                                             */

enum { ENC_NONE, ENC_VXLAN, ENC_GENEVE, ENC_GRE, ENC_ERSPAN2, ENC_ERSPAN3,
       ENC_IPIP };
enum { LT_ETHER, LT_SLL, LT_SLL2, LT_RAW, LT_NULL, LT_NULL_BE, LT_LOOP };

static const char *const encap_names[] = { "none", "vxlan", "geneve", "gre",
					   "erspan2", "erspan3", "ipip" };
static const char *const linktype_names[] = { "ether", "sll", "sll2", "raw",
					      "null", "null-be", "loop" };
static const uint32_t linktype_values[] = { 1, 113, 276, 101, 0, 0, 108 };

#define OUT_FRAME 2048          /* an encapsulated frame */

static const uint8_t node_mac[2][6] = {
	{ 0x02, 0x42, 0xc0, 0xa8, 0x32, 0x01 },
	{ 0x02, 0x42, 0xc0, 0xa8, 0x32, 0x02 },
};

/* Where the IP packet of an Ethernet frame starts, and its length without
 * the Ethernet padding. */
static size_t eth_l3(const uint8_t *fr, size_t *iplen)
{
	size_t l3 = (fr[12] << 8 | fr[13]) == ETH_VLAN ? 18 : 14;
	const uint8_t *ip = fr + l3;

	*iplen = (ip[0] >> 4) == 4 ? (size_t)(ip[2] << 8 | ip[3])
				   : 40 + (size_t)(ip[4] << 8 | ip[5]);
	return l3;
}

/* A VTEP's source port: a hash of the inner flow, one per direction. */
static uint16_t vtep_sport(const struct flow *f, int dir)
{
	const struct side *a = &f->s[dir], *b = &f->s[!dir];
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t alen = f->v6 ? 16 : 4, i;

	for (i = 0; i < alen; i++)
		h = (h ^ a->ip[i]) * 0x100000001b3ULL;
	for (i = 0; i < alen; i++)
		h = (h ^ b->ip[i]) * 0x100000001b3ULL;
	h = (h ^ a->port) * 0x100000001b3ULL;
	h = (h ^ b->port) * 0x100000001b3ULL;
	h = (h ^ f->proto) * 0x100000001b3ULL;
	h ^= h >> 29;
	return (uint16_t)(32768 + h % 28232);
}

/*
 * Wrap the Ethernet frame `in` (n bytes) of flow `f` going `dir` in the
 * tunnel --encap names; returns the new frame's length in `out`.
 */
static size_t encap_frame(struct gen *g, const struct flow *f, int dir,
			  const uint8_t *in, size_t n, uint8_t *out)
{
	const uint8_t *src_mac = node_mac[dir], *dst_mac = node_mac[!dir];
	uint8_t osrc[16], odst[16], *ip, *p;
	size_t iplen, l3 = eth_l3(in, &iplen), hl, pl, len;
	bool l2 = g->encap != ENC_GRE && g->encap != ENC_IPIP;
	uint8_t proto;

	ip4_bytes(osrc, IP4(192, 168, 50, 1 + dir));
	ip4_bytes(odst, IP4(192, 168, 50, 2 - dir));
	/* Outer Ethernet: the flow's tag only when the inner packet has no
	 * Ethernet header of its own. */
	hl = put_eth(out, dst_mac, src_mac, l2 ? 0 : f->vlan, ETH_IPV4);
	ip = out + hl;
	p = ip + 20;
	switch (g->encap) {
	case ENC_VXLAN:
	case ENC_GENEVE: {
		bool vx = g->encap == ENC_VXLAN;
		size_t th = vx ? 8 : 16;        /* tunnel header + options */
		uint64_t sum;
		uint8_t ph[12];
		uint16_t c;

		pl = l3 + iplen;                /* no Ethernet padding */
		proto = PROTO_UDP;
		be16(p, vtep_sport(f, dir));
		be16(p + 2, vx ? g->vxlan_port : 6081);
		be16(p + 4, (uint32_t)(8 + th + pl));
		be16(p + 6, 0);
		memset(p + 8, 0, th);
		if (vx) {
			p[8] = 0x08;            /* I: VNI valid */
		} else {
			p[8] = 2;               /* 2 words of options */
			be16(p + 10, 0x6558);
			be16(p + 16, 0xff01);   /* option class */
			p[18] = 0x01;           /* type */
			p[19] = 1;              /* 1 word of data */
			be32(p + 20, g->vni);
		}
		p[12] = (uint8_t)(g->vni >> 16);
		p[13] = (uint8_t)(g->vni >> 8);
		p[14] = (uint8_t)g->vni;
		memcpy(p + 8 + th, in, pl);
		len = 8 + th + pl;
		memcpy(ph, osrc, 4);
		memcpy(ph + 4, odst, 4);
		ph[8] = 0;
		ph[9] = PROTO_UDP;
		be16(ph + 10, (uint32_t)len);
		sum = csum_add(csum_add(0, ph, 12), p, len);
		c = csum_fold(sum);
		be16(p + 6, c == 0 ? 0xffff : c);
		break;
	}
	case ENC_GRE: {
		size_t gh = g->vni ? 8 : 4;

		proto = 47;
		be16(p, g->vni ? 0x2000 : 0);   /* K: key present */
		be16(p + 2, f->v6 ? ETH_IPV6 : ETH_IPV4);
		if (g->vni)
			be32(p + 4, g->vni);
		memcpy(p + gh, in + l3, iplen);
		len = gh + iplen;
		break;
	}
	case ENC_ERSPAN2:
	case ENC_ERSPAN3: {
		bool two = g->encap == ENC_ERSPAN2;
		size_t eh = two ? 8 : 12;

		proto = 47;
		be16(p, 0x1000);                /* S: sequence number */
		be16(p + 2, two ? 0x88be : 0x22eb);
		be32(p + 4, g->gre_seq++);
		memset(p + 8, 0, eh);
		p[8] = two ? 0x10 : 0x20;       /* version 1 / 2 */
		be16(p + 10, g->vni & 0x3ff);   /* session id */
		if (!two)
			be32(p + 12, (uint32_t)f->t);
		memcpy(p + 8 + eh, in, n);      /* as mirrored */
		len = 8 + eh + n;
		break;
	}
	default: /* ENC_IPIP */
		proto = f->v6 ? 41 : 4;
		memcpy(p, in + l3, iplen);
		len = iplen;
		break;
	}
	ip[0] = 0x45;
	ip[1] = 0;
	be16(ip + 2, (uint32_t)(20 + len));
	be16(ip + 4, g->outer_id++);
	be16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	be16(ip + 10, 0);
	memcpy(ip + 12, osrc, 4);
	memcpy(ip + 16, odst, 4);
	be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	n = (size_t)(p - out) + len;
	if (n < MIN_FRAME) {
		memset(out + n, 0, MIN_FRAME - n);
		n = MIN_FRAME;
	}
	return n;
}

/* Rewrite the link layer of Ethernet frame `in` as --linktype says. */
static size_t relink_frame(const struct gen *g, int dir, const uint8_t *in,
			   size_t n, uint8_t *out)
{
	size_t iplen, l3 = eth_l3(in, &iplen), end = l3 + iplen;
	bool v6 = (in[l3] >> 4) == 6;
	uint32_t af;

	(void)n;
	switch (g->linktype) {
	case LT_SLL:
		be16(out, dir == C2S ? 4 : 0);  /* outgoing / to us */
		be16(out + 2, 1);               /* ARPHRD_ETHER */
		be16(out + 4, 6);
		memcpy(out + 6, in + 6, 6);
		memset(out + 12, 0, 2);
		memcpy(out + 14, in + 12, end - 12); /* type, tag, packet */
		return 16 + end - 14;
	case LT_SLL2:
		memcpy(out, in + 12, 2);        /* protocol */
		be16(out + 2, 0);
		be32(out + 4, 2);               /* interface index */
		be16(out + 8, 1);
		out[10] = dir == C2S ? 4 : 0;
		out[11] = 6;
		memcpy(out + 12, in + 6, 6);
		memset(out + 18, 0, 2);
		memcpy(out + 20, in + 14, end - 14);
		return 20 + end - 14;
	case LT_RAW:
		memcpy(out, in + l3, iplen);
		return iplen;
	default:
		if (g->linktype == LT_LOOP)
			af = v6 ? 24 : 2;
		else
			af = v6 ? 30 : 2;
		if (g->linktype == LT_NULL)
			le32(out, af);
		else
			be32(out, af);
		memcpy(out + 4, in + l3, iplen);
		return 4 + iplen;
	}
}

static void gen_emit(struct gen *g, struct flow *f, int dir, uint8_t proto,
		     uint8_t *l4, size_t l4len, size_t csum_off)
{
	uint8_t fr[MAX_FRAME], enc[OUT_FRAME], lt[OUT_FRAME + 8];
	size_t n = build_frame(fr, f, dir, proto, l4, l4len, csum_off);
	const uint8_t *p = fr;

	if (g->encap != ENC_NONE) {
		n = encap_frame(g, f, dir, p, n, enc);
		p = enc;
	}
	if (g->linktype != LT_ETHER) {
		n = relink_frame(g, dir, p, n, lt);
		p = lt;
	}
	sink_packet(g->sink, f->t, p, n);
}

static void adv(struct flow *f, uint32_t us)
{
	f->t += us;
}

static uint32_t jitter(struct gen *g, uint32_t lo, uint32_t hi)
{
	return rng_range(&g->rng, lo, hi);
}

/* Pick a host satisfying want(); IPv6 flows only go to cluster services. */
static const struct host *pick_host(struct gen *g, bool v6,
				    bool (*want)(const struct host *))
{
	for (;;) {
		const struct host *h = &hosts[rng_below(&g->rng, NHOSTS)];

		if (want(h) && (!v6 || (h->flags & H_INTERNAL)))
			return h;
	}
}

static bool want_any(const struct host *h)
{
	(void)h;
	return true;
}

static bool want_http(const struct host *h)
{
	return h->http_port != 0;
}

static bool want_tls(const struct host *h)
{
	return (h->flags & H_TLS) != 0;
}

static bool want_service(const struct host *h)
{
	return (h->flags & (H_INTERNAL | H_HEADLESS)) == H_INTERNAL;
}

static bool want_pingable(const struct host *h)
{
	return !(h->flags & H_HEADLESS);
}

static bool want_udp(const struct host *h)
{
	return h->udp_port != 0;
}

/* Address k (0..nextra) of a host. */
static void host_addr(const struct host *h, unsigned k, bool v6, uint8_t *ip)
{
	uint32_t a = h->v4 + k * h->step;

	if (v6)
		ip6_of_v4(ip, a);
	else
		ip4_bytes(ip, a);
}

/*
 * Set up both ends of a new flow: the server (ip, port) given, a client pod
 * and ephemeral port chosen so that the 5-tuple is new.
 */
static void flow_setup(struct gen *g, struct flow *f, const struct plan *p,
		       uint8_t proto, const uint8_t *server_ip,
		       uint16_t server_port, bool external)
{
	struct side *c = &f->s[C2S], *s = &f->s[S2C];
	unsigned tries;

	memset(f, 0, sizeof(*f));
	f->v6 = p->v6;
	f->vlan = p->vlan;
	f->proto = proto;
	f->t = p->start;
	f->mss = p->v6 ? 1440 : 1460;
	f->rtt = external ? jitter(g, 8000, 60000) : jitter(g, 80, 600);

	memcpy(s->ip, server_ip, 16);
	s->port = server_port;
	memcpy(s->mac, gw_mac, 6);

	for (tries = 0;; tries++) {
		struct tuple k;

		if (p->v6) {
			const uint16_t *pod =
				g->pods6[rng_below(&g->rng, NPODS6)];

			memset(c->ip, 0, 16);
			be32(c->ip, 0xfd000010);
			be16(c->ip + 4, 0x0244);
			be16(c->ip + 6, pod[0]);
			be16(c->ip + 14, pod[1]);
		} else {
			ip4_bytes(c->ip, g->pods4[rng_below(&g->rng, NPODS4)]);
		}
		c->port = (uint16_t)rng_range(&g->rng, 32768, 60999);
		if (c->port >= 33434 && c->port <= 33534)
			continue;       /* looks like traceroute to tshark */
		k = make_tuple(c->ip, c->port, s->ip, s->port, proto);
		if (tupleset_insert(&g->tuples, &k))
			break;
		if (tries > 100000)
			die(1, "cannot find a free 5-tuple: too many flows");
	}
	pod_mac(c->mac, c->ip, p->v6);

	c->ttl = 64;
	s->ttl = external ? (uint8_t)jitter(g, 48, 58) : 64;
	c->ip_id = (uint16_t)rng_next(&g->rng);
	s->ip_id = (uint16_t)rng_next(&g->rng);
	c->flowlabel = (uint32_t)rng_next(&g->rng) & 0xfffff;
	s->flowlabel = (uint32_t)rng_next(&g->rng) & 0xfffff;
	c->seq = (uint32_t)rng_next(&g->rng);
	s->seq = (uint32_t)rng_next(&g->rng);
	c->syn_win = 64240;
	s->syn_win = 65160;
	c->win = 502;
	s->win = 509;
}

/* ------------------------------------------------------------------------ */
/* TCP conversation helpers                                                 */

/* One TCP segment from side dir; acknowledges everything the peer sent. */
static void tcp_seg(struct gen *g, struct flow *f, int dir, uint8_t flags,
		    const uint8_t *data, size_t len)
{
	struct side *me = &f->s[dir], *peer = &f->s[!dir];
	uint8_t seg[MAX_L4], opt[12];
	size_t optlen = 0, n;
	uint16_t win;

	if (flags & TH_SYN) {
		/* MSS, NOP, window scale 7, NOP, NOP, SACK permitted */
		opt[0] = 2;
		opt[1] = 4;
		be16(opt + 2, f->mss);
		opt[4] = 1;
		opt[5] = 3;
		opt[6] = 3;
		opt[7] = 7;
		opt[8] = 1;
		opt[9] = 1;
		opt[10] = 4;
		opt[11] = 2;
		optlen = 12;
	}
	win = (flags & TH_SYN) ? me->syn_win : (flags & TH_RST) ? 0 : me->win;
	n = put_tcp(seg, me->port, peer->port, me->seq,
		    (flags & TH_ACK) ? peer->seq : 0, flags, win, opt, optlen,
		    data, len);
	gen_emit(g, f, dir, PROTO_TCP, seg, n, 16);
	me->seq += (uint32_t)len + ((flags & TH_SYN) ? 1 : 0) +
		   ((flags & TH_FIN) ? 1 : 0);
}

static void tcp_open(struct gen *g, struct flow *f)
{
	tcp_seg(g, f, C2S, TH_SYN, NULL, 0);
	adv(f, f->rtt);
	tcp_seg(g, f, S2C, TH_SYN | TH_ACK, NULL, 0);
	adv(f, jitter(g, 20, 90));
	tcp_seg(g, f, C2S, TH_ACK, NULL, 0);
}

/*
 * Send an application message from side dir in MSS-size segments (PSH on
 * the last).  The receiver ACKs every second segment, and the last one if
 * ack_last (otherwise its next data segment will acknowledge it).
 */
static void tcp_send(struct gen *g, struct flow *f, int dir,
		     const uint8_t *data, size_t len, bool ack_last)
{
	size_t off = 0, nseg = 0;

	while (off < len) {
		size_t k = len - off < f->mss ? len - off : f->mss;
		bool last = off + k == len;

		tcp_seg(g, f, dir, TH_ACK | (last ? TH_PSH : 0), data + off,
			k);
		off += k;
		nseg++;
		if ((nseg % 2 == 0 && !last) || (last && ack_last)) {
			adv(f, jitter(g, 15, 60));
			tcp_seg(g, f, !dir, TH_ACK, NULL, 0);
		}
		if (!last)
			adv(f, jitter(g, 12, 80));
	}
}

/* FIN from closer, FIN+ACK from the peer, last ACK from closer. */
static void tcp_close(struct gen *g, struct flow *f, int closer)
{
	tcp_seg(g, f, closer, TH_FIN | TH_ACK, NULL, 0);
	adv(f, closer == C2S ? f->rtt + jitter(g, 10, 200)
			     : jitter(g, 30, 500));
	tcp_seg(g, f, !closer, TH_FIN | TH_ACK, NULL, 0);
	adv(f, closer == C2S ? jitter(g, 15, 60) : f->rtt);
	tcp_seg(g, f, closer, TH_ACK, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* DNS                                                                      */

enum { DNS_A = 1, DNS_AAAA = 28, DNS_OPT = 41 };

static void dns_name(struct wbuf *b, const char *name)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		w8(b, (uint32_t)n);
		wmem(b, name, n);
		name += n;
		if (*name == '.')
			name++;
	}
	w8(b, 0);
}

/* EDNS(0) OPT pseudo-record, UDP payload size 1232. */
static void dns_opt(struct wbuf *b)
{
	w8(b, 0);
	w16(b, DNS_OPT);
	w16(b, 1232);
	w32(b, 0);
	w16(b, 0);
}

static void dns_header(struct wbuf *b, uint16_t id, uint16_t flags,
		       uint16_t an)
{
	w16(b, id);
	w16(b, flags);
	w16(b, 1);              /* questions */
	w16(b, an);             /* answers */
	w16(b, 0);              /* authority */
	w16(b, 1);              /* additional: OPT */
}

static void dns_query(struct wbuf *b, uint16_t id, const char *name,
		      uint16_t qtype)
{
	dns_header(b, id, 0x0100, 0);   /* RD */
	dns_name(b, name);
	w16(b, qtype);
	w16(b, 1);
	dns_opt(b);
}

/* Response; every answer names the question through pointer 0xc00c. */
static void dns_response(struct wbuf *b, uint16_t id, const struct host *h,
			 uint16_t qtype, unsigned nans, uint32_t ttl)
{
	bool aa = (h->flags & H_INTERNAL) != 0;
	unsigned i;

	dns_header(b, id, 0x8180 | (aa ? 0x0400 : 0), (uint16_t)nans);
	dns_name(b, h->name);
	w16(b, qtype);
	w16(b, 1);
	for (i = 0; i < nans; i++) {
		uint8_t ip[16];
		bool v6 = qtype == DNS_AAAA;

		host_addr(h, i, v6, ip);
		w16(b, 0xc00c);
		w16(b, qtype);
		w16(b, 1);
		w32(b, ttl);
		w16(b, v6 ? 16 : 4);
		wmem(b, ip, v6 ? 16 : 4);
	}
	dns_opt(b);
}

static void udp_send(struct gen *g, struct flow *f, int dir,
		     const uint8_t *data, size_t len)
{
	uint8_t seg[MAX_L4];
	size_t n = put_udp(seg, f->s[dir].port, f->s[!dir].port, data, len);

	gen_emit(g, f, dir, PROTO_UDP, seg, n, 6);
}

static void gen_dns(struct gen *g, const struct plan *p)
{
	static const uint32_t ext_ttls[] = { 60, 120, 300, 600, 1800, 3600 };
	const struct host *h = pick_host(g, false, want_any);
	uint16_t qtype = p->v6 ? DNS_AAAA : DNS_A;
	uint16_t id = (uint16_t)rng_next(&g->rng);
	bool answered = g->dns_seen++ % 50 != 49;
	uint8_t server[16], msg[512];
	struct wbuf b = { msg, 0, sizeof(msg) };
	struct flow f;
	unsigned nans;
	uint32_t ttl;

	if (p->v6)
		ip6_of_v4(server, DNS_SERVER_V4);
	else
		ip4_bytes(server, DNS_SERVER_V4);
	flow_setup(g, &f, p, PROTO_UDP, server, 53, false);

	dns_query(&b, id, h->name, qtype);
	udp_send(g, &f, C2S, msg, b.n);
	if (!answered)
		return;

	if (h->flags & H_HEADLESS) {
		nans = 1 + h->nextra;
		ttl = 30;
	} else if (h->flags & H_INTERNAL) {
		nans = 1;
		ttl = 30;
	} else {
		nans = 1 + rng_below(&g->rng, h->nextra + 1u);
		ttl = PICK(&g->rng, ext_ttls);
	}
	adv(&f, (h->flags & H_INTERNAL) ? jitter(g, 150, 900)
					: jitter(g, 300, 30000));
	b.n = 0;
	dns_response(&b, id, h, qtype, nans, ttl);
	udp_send(g, &f, S2C, msg, b.n);
}

/* ------------------------------------------------------------------------ */
/* HTTP/1.1                                                                 */

static const char *const user_agents[] = {
	"curl/8.5.0",
	"Go-http-client/1.1",
	"python-requests/2.31.0",
	"kube-probe/1.29",
	("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
	 "Gecko) Chrome/120.0.0.0 Safari/537.36"),
};

static const char *const get_paths[] = {
	"/", "/index.html", "/healthz", "/metrics", "/static/app.js",
	"/api/v1/orders", "/api/v1/products", "/api/v1/users/me",
	"/api/v2/search", "/favicon.ico",
};

static const char *const post_paths[] = {
	"/api/v1/orders", "/api/v1/cart/items", "/api/v1/login",
	"/api/v1/events",
};

static const char *const servers[] = {
	"nginx/1.25.3", "envoy", "gunicorn", "Apache/2.4.58", "openresty",
};

static const char *const words[] = {
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing",
	"elit", "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore",
	"et", "dolore", "magna", "aliqua", "enim", "ad", "minim", "veniam",
};

/* HTTP Host header value: the host name, with the port if not 80. */
static void http_host(char *out, size_t cap, const struct host *h)
{
	if (h->http_port == 80)
		snprintf(out, cap, "%s", h->name);
	else
		snprintf(out, cap, "%s:%u", h->name, (unsigned)h->http_port);
}

/*
 * Note: every random draw is its own statement, never two in one argument
 * list or expression (their order would be unspecified and the output
 * would depend on the compiler).
 */
static void http_request(struct gen *g, struct wbuf *b, const struct host *h)
{
	const char *ua, *path;
	char host[128];

	http_host(host, sizeof(host), h);
	if (rng_pct(&g->rng, 25)) {
		uint32_t id = rng_below(&g->rng, 1000000);
		uint32_t sku = rng_below(&g->rng, 10000);
		uint32_t qty = rng_range(&g->rng, 1, 9);
		const char *w1 = PICK(&g->rng, words);
		const char *w2 = PICK(&g->rng, words);
		char body[160];
		int n;

		path = PICK(&g->rng, post_paths);
		ua = PICK(&g->rng, user_agents);
		n = snprintf(body, sizeof(body),
			     "{\"id\":%u,\"sku\":\"A-%04u\",\"qty\":%u,"
			     "\"note\":\"%s %s\"}", id, sku, qty, w1, w2);
		wbprintf(b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			    "Accept: application/json\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: %d\r\n\r\n%s",
			 path, host, ua, n, body);
	} else {
		path = PICK(&g->rng, get_paths);
		ua = PICK(&g->rng, user_agents);
		wbprintf(b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			    "Accept: */*\r\n\r\n",
			 path, host, ua);
	}
}

/* A body of about `size` bytes: HTML, JSON or plain text. */
static const char *http_body(struct gen *g, struct wbuf *b, size_t size)
{
	uint32_t type = rng_below(&g->rng, 3);
	const char *ctype;
	const char *tail;

	if (type == 0) {
		ctype = "text/html; charset=utf-8";
		wstr(b, "<!DOCTYPE html><html><head><title>vigil demo</title>"
			"</head><body><p>");
		tail = "</p></body></html>\n";
	} else if (type == 1) {
		ctype = "application/json";
		wstr(b, "{\"status\":\"ok\",\"text\":\"");
		tail = "\"}\n";
	} else {
		ctype = "text/plain; charset=utf-8";
		tail = "\n";
	}
	while (b->n + strlen(tail) < size) {
		wstr(b, PICK(&g->rng, words));
		w8(b, ' ');
	}
	wstr(b, tail);
	return ctype;
}

static void http_response(struct gen *g, struct wbuf *b, uint64_t ts)
{
	uint8_t bodybuf[8192];
	struct wbuf body = { bodybuf, 0, sizeof(bodybuf) };
	const char *ctype = http_body(g, &body, rng_range(&g->rng, 200, 4096));
	time_t secs = (time_t)(ts / 1000000);
	struct tm tm;
	char date[64];

	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	wbprintf(b, "HTTP/1.1 200 OK\r\nDate: %s\r\nServer: %s\r\n"
		   "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		date, PICK(&g->rng, servers), ctype, body.n);
	wmem(b, body.p, body.n);
}

static void gen_http(struct gen *g, const struct plan *p)
{
	const struct host *h = pick_host(g, p->v6, want_http);
	uint8_t ip[16], *msg = malloc(MAX_MSG);
	struct wbuf b = { msg, 0, MAX_MSG };
	unsigned nreq = rng_pct(&g->rng, 30) ? 2 : 1, i;
	struct flow f;

	if (msg == NULL)
		die(1, "out of memory");
	host_addr(h, 0, p->v6, ip);
	flow_setup(g, &f, p, PROTO_TCP, ip, h->http_port,
		   !(h->flags & H_INTERNAL));
	tcp_open(g, &f);
	for (i = 0; i < nreq; i++) {
		adv(&f, jitter(g, 30, 400));
		b.n = 0;
		http_request(g, &b, h);
		tcp_send(g, &f, C2S, msg, b.n, false);
		adv(&f, f.rtt + jitter(g, 200, 25000));
		b.n = 0;
		http_response(g, &b, f.t);
		tcp_send(g, &f, S2C, msg, b.n, true);
	}
	adv(&f, jitter(g, 100, 50000));
	tcp_close(g, &f, rng_pct(&g->rng, 70) ? C2S : S2C);
	free(msg);
}

/* ------------------------------------------------------------------------ */
/* TLS                                                                      */

enum {
	EXT_SERVER_NAME = 0, EXT_STATUS_REQUEST = 5, EXT_GROUPS = 10,
	EXT_EC_POINT_FORMATS = 11, EXT_SIG_ALGS = 13, EXT_ALPN = 16,
	EXT_SCT = 18, EXT_ENCRYPT_THEN_MAC = 22, EXT_EMS = 23,
	EXT_SESSION_TICKET = 35, EXT_SUPPORTED_VERSIONS = 43,
	EXT_PSK_MODES = 45, EXT_POST_HANDSHAKE_AUTH = 49, EXT_KEY_SHARE = 51,
	EXT_RENEGOTIATION_INFO = 0xff01,
};

#define N(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Browser-like (Chrome without GREASE). */
static const uint16_t fp1_ciphers[] = {
	0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
	0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
};
static const uint16_t fp1_exts[] = {
	EXT_SERVER_NAME, EXT_EMS, EXT_RENEGOTIATION_INFO, EXT_GROUPS,
	EXT_EC_POINT_FORMATS, EXT_SESSION_TICKET, EXT_ALPN,
	EXT_STATUS_REQUEST, EXT_SIG_ALGS, EXT_SCT, EXT_KEY_SHARE,
	EXT_PSK_MODES, EXT_SUPPORTED_VERSIONS,
};
static const uint16_t fp1_groups[] = { 0x001d, 0x0017, 0x0018 };
static const uint16_t fp1_sigalgs[] = {
	0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
};
static const uint8_t fp1_pf[] = { 0 };

/* OpenSSL 3 / curl. */
static const uint16_t fp2_ciphers[] = {
	0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8,
	0xccaa, 0xc02b, 0xc02f, 0x009e, 0xc024, 0xc028, 0x006b, 0xc023,
	0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009, 0xc013, 0x0033,
	0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x00ff,
};
static const uint16_t fp2_exts[] = {
	EXT_SERVER_NAME, EXT_EC_POINT_FORMATS, EXT_GROUPS, EXT_SESSION_TICKET,
	EXT_ALPN, EXT_ENCRYPT_THEN_MAC, EXT_EMS, EXT_POST_HANDSHAKE_AUTH,
	EXT_SIG_ALGS, EXT_SUPPORTED_VERSIONS, EXT_PSK_MODES, EXT_KEY_SHARE,
};
static const uint16_t fp2_groups[] = {
	0x001d, 0x0017, 0x001e, 0x0019, 0x0018,
};
static const uint16_t fp2_sigalgs[] = {
	0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b,
	0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301,
	0x0302, 0x0402, 0x0502, 0x0602,
};
static const uint8_t fp2_pf[] = { 0, 1, 2 };

/* Go crypto/tls. */
static const uint16_t fp3_ciphers[] = {
	0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013,
	0xc00a, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035, 0xc012, 0x000a,
	0x1301, 0x1302, 0x1303,
};
static const uint16_t fp3_exts[] = {
	EXT_SERVER_NAME, EXT_STATUS_REQUEST, EXT_GROUPS, EXT_EC_POINT_FORMATS,
	EXT_SIG_ALGS, EXT_RENEGOTIATION_INFO, EXT_ALPN, EXT_SCT,
	EXT_SUPPORTED_VERSIONS, EXT_KEY_SHARE,
};
static const uint16_t fp3_groups[] = { 0x001d, 0x0017, 0x0018, 0x0019 };
static const uint16_t fp3_sigalgs[] = {
	0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
	0x0503, 0x0603, 0x0201, 0x0203,
};
static const uint8_t fp3_pf[] = { 0 };

struct tls_fp {
	const uint16_t *ciphers, *exts, *groups, *sigalgs;
	size_t nciphers, nexts, ngroups, nsigalgs;
	const uint8_t *pf;
	size_t npf;
};

#define FP(x) { x##_ciphers, x##_exts, x##_groups, x##_sigalgs, \
		N(x##_ciphers), N(x##_exts), N(x##_groups), N(x##_sigalgs), \
		x##_pf, N(x##_pf) }

static const struct tls_fp tls_fps[] = { FP(fp1), FP(fp2), FP(fp3) };

static void tls_u16_list(struct wbuf *b, const uint16_t *v, size_t n)
{
	size_t at = wlen_begin(b, 2), i;

	for (i = 0; i < n; i++)
		w16(b, v[i]);
	wlen_end(b, at, 2);
}

/* The body of one ClientHello extension. */
static void tls_ext_body(struct gen *g, struct wbuf *b, const struct tls_fp *fp,
			 uint16_t type, const char *sni)
{
	size_t at, at2;

	switch (type) {
	case EXT_SERVER_NAME:
		at = wlen_begin(b, 2);
		w8(b, 0);               /* host_name */
		at2 = wlen_begin(b, 2);
		wstr(b, sni);
		wlen_end(b, at2, 2);
		wlen_end(b, at, 2);
		break;
	case EXT_STATUS_REQUEST:
		w8(b, 1);               /* OCSP */
		w16(b, 0);
		w16(b, 0);
		break;
	case EXT_GROUPS:
		tls_u16_list(b, fp->groups, fp->ngroups);
		break;
	case EXT_EC_POINT_FORMATS:
		w8(b, (uint32_t)fp->npf);
		wmem(b, fp->pf, fp->npf);
		break;
	case EXT_SIG_ALGS:
		tls_u16_list(b, fp->sigalgs, fp->nsigalgs);
		break;
	case EXT_ALPN:
		at = wlen_begin(b, 2);
		w8(b, 2);
		wstr(b, "h2");
		w8(b, 8);
		wstr(b, "http/1.1");
		wlen_end(b, at, 2);
		break;
	case EXT_SUPPORTED_VERSIONS:
		w8(b, 4);
		w16(b, 0x0304);
		w16(b, 0x0303);
		break;
	case EXT_PSK_MODES:
		w8(b, 1);
		w8(b, 1);               /* psk_dhe_ke */
		break;
	case EXT_KEY_SHARE:
		at = wlen_begin(b, 2);
		w16(b, 0x001d);         /* x25519 */
		w16(b, 32);
		wrand(b, &g->rng, 32);
		wlen_end(b, at, 2);
		break;
	case EXT_RENEGOTIATION_INFO:
		w8(b, 0);
		break;
	default:                        /* empty extensions */
		break;
	}
}

static void tls_client_hello(struct gen *g, struct wbuf *b,
			     const struct tls_fp *fp, const char *sni,
			     const uint8_t *sid)
{
	size_t rec, hs, ext, at;
	size_t i;

	w8(b, 22);                      /* handshake record */
	w16(b, 0x0301);
	rec = wlen_begin(b, 2);
	w8(b, 1);                       /* client_hello */
	hs = wlen_begin(b, 3);
	w16(b, 0x0303);
	wrand(b, &g->rng, 32);
	w8(b, 32);
	wmem(b, sid, 32);
	tls_u16_list(b, fp->ciphers, fp->nciphers);
	w8(b, 1);                       /* compression: null */
	w8(b, 0);
	ext = wlen_begin(b, 2);
	for (i = 0; i < fp->nexts; i++) {
		w16(b, fp->exts[i]);
		at = wlen_begin(b, 2);
		tls_ext_body(g, b, fp, fp->exts[i], sni);
		wlen_end(b, at, 2);
	}
	wlen_end(b, ext, 2);
	wlen_end(b, hs, 3);
	wlen_end(b, rec, 2);
}

/* TLS 1.3 ServerHello (supported_versions 1.3, key_share x25519). */
static void tls_server_hello(struct gen *g, struct wbuf *b,
			     const uint8_t *sid, uint16_t cipher)
{
	size_t rec, hs, ext;

	w8(b, 22);
	w16(b, 0x0303);
	rec = wlen_begin(b, 2);
	w8(b, 2);                       /* server_hello */
	hs = wlen_begin(b, 3);
	w16(b, 0x0303);
	wrand(b, &g->rng, 32);
	w8(b, 32);
	wmem(b, sid, 32);
	w16(b, cipher);
	w8(b, 0);
	ext = wlen_begin(b, 2);
	w16(b, EXT_SUPPORTED_VERSIONS);
	w16(b, 2);
	w16(b, 0x0304);
	w16(b, EXT_KEY_SHARE);
	w16(b, 36);
	w16(b, 0x001d);
	w16(b, 32);
	wrand(b, &g->rng, 32);
	wlen_end(b, ext, 2);
	wlen_end(b, hs, 3);
	wlen_end(b, rec, 2);
}

static void tls_ccs(struct wbuf *b)
{
	w8(b, 20);
	w16(b, 0x0303);
	w16(b, 1);
	w8(b, 1);
}

/* An encrypted record (application_data type) of len bytes of content. */
static void tls_appdata(struct gen *g, struct wbuf *b, size_t len)
{
	w8(b, 23);
	w16(b, 0x0303);
	w16(b, (uint32_t)len);
	wrand(b, &g->rng, len);
}

/* Application data of total size len, in records of at most 16 KiB. */
static void tls_appdata_stream(struct gen *g, struct wbuf *b, size_t len)
{
	while (len > 0) {
		size_t k = len > 16401 ? 16401 : len;

		tls_appdata(g, b, k);
		len -= k;
	}
}

static void gen_tls(struct gen *g, const struct plan *p)
{
	const struct host *h = pick_host(g, p->v6, want_tls);
	const struct tls_fp *fp = &tls_fps[rng_below(&g->rng, N(tls_fps))];
	uint8_t ip[16], sid[32], *msg = malloc(MAX_MSG);
	struct wbuf b = { msg, 0, MAX_MSG };
	unsigned rounds = rng_pct(&g->rng, 40) ? 2 : 1, i;
	struct flow f;

	if (msg == NULL)
		die(1, "out of memory");
	host_addr(h, rng_below(&g->rng, h->nextra + 1u), p->v6, ip);
	flow_setup(g, &f, p, PROTO_TCP, ip, 443, !(h->flags & H_INTERNAL));
	rng_fill(&g->rng, sid, sizeof(sid));
	tcp_open(g, &f);

	/* ClientHello */
	adv(&f, jitter(g, 50, 600));
	tls_client_hello(g, &b, fp, h->name, sid);
	tcp_send(g, &f, C2S, msg, b.n, false);

	/* ServerHello, CCS, {EncryptedExtensions, Certificate, CertVerify,
	 * Finished} */
	adv(&f, f.rtt + jitter(g, 300, 3000));
	b.n = 0;
	tls_server_hello(g, &b, sid, rng_pct(&g->rng, 70) ? 0x1301 : 0x1302);
	tls_ccs(&b);
	tls_appdata(g, &b, jitter(g, 25, 120));
	tls_appdata(g, &b, jitter(g, 1800, 4200));
	tls_appdata(g, &b, jitter(g, 90, 280));
	tls_appdata(g, &b, 53);
	tcp_send(g, &f, S2C, msg, b.n, false);

	for (i = 0; i < rounds; i++) {
		/* client: (CCS, Finished,) request */
		adv(&f, jitter(g, 200, 2000));
		b.n = 0;
		if (i == 0) {
			tls_ccs(&b);
			tls_appdata(g, &b, 53);
		}
		tls_appdata(g, &b, jitter(g, 40, 600));
		tcp_send(g, &f, C2S, msg, b.n, false);

		/* server: (session tickets,) response */
		adv(&f, f.rtt + jitter(g, 300, 20000));
		b.n = 0;
		if (i == 0) {
			unsigned t, nt = rng_below(&g->rng, 3);

			for (t = 0; t < nt; t++)
				tls_appdata(g, &b, jitter(g, 200, 300));
		}
		tls_appdata_stream(g, &b, jitter(g, 80, 12000));
		tcp_send(g, &f, S2C, msg, b.n, true);
	}

	/* close_notify, then FIN */
	adv(&f, jitter(g, 100, 50000));
	b.n = 0;
	tls_appdata(g, &b, 19);
	tcp_send(g, &f, C2S, msg, b.n, false);
	adv(&f, jitter(g, 5, 40));
	tcp_close(g, &f, C2S);
	free(msg);
}

/* ------------------------------------------------------------------------ */
/* Rejected TCP, ICMP echo, one-way UDP                                     */

static void gen_rst(struct gen *g, const struct plan *p)
{
	static const uint16_t closed_ports[] = {
		8443, 9090, 5432, 6379, 3306, 9200, 11211, 5000, 8000, 9000,
	};
	const struct host *h = pick_host(g, p->v6, want_service);
	uint8_t ip[16];
	struct flow f;

	host_addr(h, 0, p->v6, ip);
	flow_setup(g, &f, p, PROTO_TCP, ip, PICK(&g->rng, closed_ports), false);
	tcp_seg(g, &f, C2S, TH_SYN, NULL, 0);
	adv(&f, f.rtt);
	f.s[S2C].seq = 0;
	tcp_seg(g, &f, S2C, TH_RST | TH_ACK, NULL, 0);
}

/* Echo payload as Linux ping sends it: struct timeval, then 0x10.. */
static void ping_payload(uint8_t *p, uint64_t ts)
{
	uint64_t sec = ts / 1000000, usec = ts % 1000000;
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = (uint8_t)(sec >> (8 * i));
		p[8 + i] = (uint8_t)(usec >> (8 * i));
	}
	for (i = 16; i < 56; i++)
		p[i] = (uint8_t)(i - 16 + 0x10);
}

/* ICMP flows: client from a range only they use, unique address pair. */
static void icmp_setup(struct gen *g, struct flow *f, const struct plan *p,
		       const uint8_t *server_ip, bool external)
{
	struct side *c = &f->s[C2S], *s = &f->s[S2C];
	unsigned tries;

	memset(f, 0, sizeof(*f));
	f->v6 = p->v6;
	f->vlan = p->vlan;
	f->proto = p->v6 ? PROTO_ICMPV6 : PROTO_ICMP;
	f->t = p->start;
	f->rtt = external ? jitter(g, 8000, 60000) : jitter(g, 80, 600);
	memcpy(s->ip, server_ip, 16);
	memcpy(s->mac, gw_mac, 6);

	for (tries = 0;; tries++) {
		struct tuple k;

		if (p->v6) {
			memset(c->ip, 0, 16);
			be32(c->ip, 0xfd000010);
			be16(c->ip + 4, 0x0244);
			be16(c->ip + 6, 0x00ff);
			be16(c->ip + 14, rng_range(&g->rng, 1, 0xfffe));
		} else {
			uint32_t net = rng_range(&g->rng, 240, 255);
			uint32_t host = rng_range(&g->rng, 1, 254);

			ip4_bytes(c->ip, IP4(10, 244, net, host));
		}
		k = make_tuple(c->ip, 0, s->ip, 0, 0);
		if (tupleset_insert(&g->pairs, &k))
			break;
		if (tries > 100000)
			die(1, "cannot find a free ICMP address pair: "
			       "too many flows");
	}
	c->port = g->icmp_id++;
	{
		struct tuple k = make_tuple(c->ip, c->port, s->ip, 0, f->proto);

		tupleset_insert(&g->tuples, &k);
	}
	pod_mac(c->mac, c->ip, p->v6);
	c->ttl = 64;
	s->ttl = external ? (uint8_t)jitter(g, 48, 58) : 64;
	c->ip_id = (uint16_t)rng_next(&g->rng);
	s->ip_id = (uint16_t)rng_next(&g->rng);
	c->flowlabel = (uint32_t)rng_next(&g->rng) & 0xfffff;
	s->flowlabel = (uint32_t)rng_next(&g->rng) & 0xfffff;
}

static void gen_icmp(struct gen *g, const struct plan *p)
{
	const struct host *h = pick_host(g, p->v6, want_pingable);
	uint8_t proto = p->v6 ? PROTO_ICMPV6 : PROTO_ICMP;
	uint8_t req = p->v6 ? 128 : 8, rep = p->v6 ? 129 : 0;
	uint8_t ip[16], data[56], seg[64];
	unsigned n = rng_range(&g->rng, 1, 4), i;
	struct flow f;
	size_t len;

	host_addr(h, 0, p->v6, ip);
	icmp_setup(g, &f, p, ip, !(h->flags & H_INTERNAL));
	for (i = 1; i <= n; i++) {
		uint32_t rtt = f.rtt + jitter(g, 0, 200);

		ping_payload(data, f.t);
		len = put_icmp_echo(seg, req, f.s[C2S].port, (uint16_t)i, data,
				    sizeof(data));
		gen_emit(g, &f, C2S, proto, seg, len, 2);
		adv(&f, rtt);
		len = put_icmp_echo(seg, rep, f.s[C2S].port, (uint16_t)i, data,
				    sizeof(data));
		gen_emit(g, &f, S2C, proto, seg, len, 2);
		adv(&f, 1000000 - rtt + jitter(g, 0, 3000));
	}
}

/* RFC 5424 syslog messages to the log collector, never answered. */
static void gen_udp(struct gen *g, const struct plan *p)
{
	static const char *const apps[] = {
		"nginx", "api", "worker", "cron", "auth", "payments",
	};
	static const char *const msgs[] = {
		"request completed", "cache miss", "retrying upstream",
		"job finished", "token refreshed", "connection pool resized",
	};
	const struct host *h = pick_host(g, p->v6, want_udp);
	unsigned n = rng_range(&g->rng, 1, 3), i;
	uint8_t ip[16];
	char line[512];
	struct flow f;

	host_addr(h, 0, p->v6, ip);
	flow_setup(g, &f, p, PROTO_UDP, ip, h->udp_port, false);
	for (i = 0; i < n; i++) {
		time_t secs = (time_t)(f.t / 1000000);
		uint32_t facility = rng_range(&g->rng, 16, 23);   /* local0-7 */
		uint32_t severity = rng_range(&g->rng, 3, 6);
		const char *app = PICK(&g->rng, apps);
		uint32_t pid = rng_range(&g->rng, 1, 999);
		const char *text = PICK(&g->rng, msgs);
		uint32_t reqid = rng_below(&g->rng, 100000);
		struct tm tm;
		char stamp[32];
		int len;

		gmtime_r(&secs, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		len = snprintf(line, sizeof(line),
			       "<%u>1 %s.%06uZ pod-%02x%02x %s %u - - %s "
			       "(id=%u)",
			       8 * facility + severity, stamp,
			       (unsigned)(f.t % 1000000), f.s[C2S].mac[4],
			       f.s[C2S].mac[5], app, pid, text, reqid);
		udp_send(g, &f, C2S, (const uint8_t *)line, (size_t)len);
		adv(&f, jitter(g, 20000, 2000000));
	}
}

/* ------------------------------------------------------------------------ */
/* Profiles                                                                 */

struct opts {
	const char *out;
	const char *profile;
	uint64_t flows, packets, seed, start;
	uint32_t vlan_pct;
	bool has_flows, has_packets, has_vlan;
	int encap, linktype;            /* ENC_*, LT_* */
	uint32_t vni;
	uint16_t vxlan_port;
};

static void shuffle(struct rng *r, uint32_t *v, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rng_below(r, (uint32_t)i);
		uint32_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void gen_mix(struct gen *g, const struct opts *o)
{
	size_t nflows = (size_t)o->flows, i, k, at = 0;
	struct plan *plans = xrealloc(NULL, nflows * sizeof(*plans));
	uint32_t *perm = xrealloc(NULL, nflows * sizeof(*perm));
	uint64_t n[K_COUNT], rest = o->flows, nv6, nvlan;

	/* Exact kind counts, DNS takes the remainder. */
	for (k = K_COUNT; k-- > 1;) {
		n[k] = o->flows * kind_share[k] / 1000;
		rest -= n[k];
	}
	n[K_DNS] = rest;
	for (k = 0; k < K_COUNT; k++)
		for (i = 0; i < n[k]; i++)
			plans[at++].kind = (uint8_t)k;

	/* Start times, IPv6 share (10%) and VLAN share, exact counts. */
	for (i = 0; i < nflows; i++) {
		plans[i].v6 = false;
		plans[i].vlan = 0;
		perm[i] = (uint32_t)i;
	}
	nv6 = o->flows / 10;
	nvlan = o->flows * o->vlan_pct / 100;
	shuffle(&g->rng, perm, nflows);
	for (i = 0; i < nv6; i++)
		plans[perm[i]].v6 = true;
	shuffle(&g->rng, perm, nflows);
	for (i = 0; i < nvlan; i++)
		plans[perm[i]].vlan = PICK(&g->rng, vlan_ids);
	for (i = 0; i < nflows; i++)
		plans[i].start = o->start * 1000000 +
				 rng_below(&g->rng, MIX_SPAN_US);

	/* Generate in a shuffled order. */
	shuffle(&g->rng, perm, nflows);
	for (i = 0; i < nflows; i++) {
		const struct plan *p = &plans[perm[i]];

		switch (p->kind) {
		case K_DNS:
			gen_dns(g, p);
			break;
		case K_HTTP:
			gen_http(g, p);
			break;
		case K_TLS:
			gen_tls(g, p);
			break;
		case K_RST:
			gen_rst(g, p);
			break;
		case K_ICMP:
			gen_icmp(g, p);
			break;
		default:
			gen_udp(g, p);
			break;
		}
	}
	free(plans);
	free(perm);
}

/*
 * Benchmark flow i: 10.x.y.z (x.y.z = i + 1) port 38000 + i % 3000 ->
 * 198.18.0.0/15 (RFC 2544) port 9.  The source address alone makes the
 * flow unique; the ports stay in a range for which Wireshark registers no
 * dissector, so that tshark reads the zero payload as plain data.
 */
#define BENCH_SPORT 38000
#define BENCH_NSPORT 3000
static void bench_flow(struct flow *f, uint64_t i, uint32_t vlan_pct,
		       uint8_t proto)
{
	static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x02 };

	memset(f, 0, sizeof(*f));
	f->proto = proto;
	f->vlan = (i % 100) < vlan_pct ? vlan_ids[i % 3] : 0;
	memcpy(f->s[C2S].mac, mac_a, 6);
	memcpy(f->s[S2C].mac, mac_b, 6);
	ip4_bytes(f->s[C2S].ip, IP4(10, 0, 0, 0) + (uint32_t)i + 1);
	ip4_bytes(f->s[S2C].ip,
		  IP4(198, 18, 0, 0) + 1 + (uint32_t)(i % 131070));
	f->s[C2S].port = (uint16_t)(BENCH_SPORT + i % BENCH_NSPORT);
	f->s[S2C].port = 9;     /* discard */
	f->s[C2S].ttl = 64;
	f->s[C2S].win = 502;
}

static void gen_small(struct gen *g, const struct opts *o)
{
	static const uint8_t zeros[MIN_FRAME];
	uint64_t k;
	struct flow f;

	for (k = 0; k < o->packets; k++) {
		uint64_t i = k % o->flows;
		uint8_t seg[64];
		size_t hdr, n;

		bench_flow(&f, i, o->vlan_pct, PROTO_UDP);
		f.t = o->start * 1000000 + k;
		f.s[C2S].ip_id = (uint16_t)(k / o->flows);
		hdr = 14 + (f.vlan ? 4 : 0) + 20 + 8;
		n = put_udp(seg, f.s[C2S].port, f.s[S2C].port, zeros,
			    MIN_FRAME - hdr);
		gen_emit(g, &f, C2S, PROTO_UDP, seg, n, 6);
	}
}

/* splitmix64 finaliser: a fixed hash of a flow index. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void gen_imix(struct gen *g, const struct opts *o)
{
	/* 7 x 64, 4 x 570, 1 x 1518 (with FCS), interleaved */
	static const uint16_t sizes[12] = {
		60, 566, 60, 60, 566, 60, 1514, 60, 566, 60, 60, 566,
	};
	uint32_t *seq = xrealloc(NULL, (size_t)o->flows * sizeof(*seq));
	uint8_t data[MAX_L4], seg[MAX_L4];
	uint64_t k;
	struct flow f;

	memset(data, 0, sizeof(data));
	for (k = 0; k < o->flows; k++)
		seq[k] = (uint32_t)rng_next(&g->rng);
	for (k = 0; k < o->packets; k++) {
		uint64_t i = k % o->flows;
		bool tcp = (mix64(i) & 1) != 0;
		size_t hdr, plen, n;

		bench_flow(&f, i, o->vlan_pct, tcp ? PROTO_TCP : PROTO_UDP);
		f.t = o->start * 1000000 + k;
		f.s[C2S].ip_id = (uint16_t)(k / o->flows);
		hdr = 14 + (f.vlan ? 4 : 0) + 20 + (tcp ? 20 : 8);
		plen = sizes[k % 12] - hdr;
		if (tcp) {
			n = put_tcp(seg, f.s[C2S].port, f.s[S2C].port, seq[i],
				    (uint32_t)(i * 2654435761u), TH_ACK,
				    f.s[C2S].win, NULL, 0, data, plen);
			seq[i] += (uint32_t)plen;
			gen_emit(g, &f, C2S, PROTO_TCP, seg, n, 16);
		} else {
			n = put_udp(seg, f.s[C2S].port, f.s[S2C].port, data,
				    plen);
			gen_emit(g, &f, C2S, PROTO_UDP, seg, n, 6);
		}
	}
	free(seq);
}

/* ------------------------------------------------------------------------ */
/* Command line                                                             */

static void usage(FILE *fp)
{
	fputs("usage: " PROG " -o FILE [--profile mix|small|imix] [--flows N]\n"
	      "       [--packets N] [--seed N] [--start EPOCH] [--vlan-pct P]\n"
	      "       [--encap TYPE] [--vni N] [--vxlan-port P] [--linktype TYPE]\n"
	      "\n"
	      "Write a deterministic synthetic pcap (see the comment at the top\n"
	      "of tests/tools/gencap.c).\n"
	      "\n"
	      "  -o, --output FILE  output file ('-' for stdout)\n"
	      "  --profile NAME     mix (default): DNS, HTTP, TLS, ICMP, ... in a\n"
	      "                     Kubernetes-like network; small: 64-byte UDP\n"
	      "                     frames; imix: 64/570/1518-byte frames 7:4:1\n"
	      "  --flows N          flows (mix 3000, small 1000000, imix 10000)\n"
	      "  --packets N        packets, small and imix only (small: = flows,\n"
	      "                     imix: 100000); round-robin over the flows\n"
	      "  --seed N           PRNG seed (default 1)\n"
	      "  --start EPOCH      capture start, epoch seconds (default\n"
	      "                     1767225600 = 2026-01-01T00:00:00Z)\n"
	      "  --vlan-pct P       percent of flows with an 802.1Q tag\n"
	      "                     (mix 15, otherwise 0)\n"
	      "  --encap TYPE       none (default), vxlan, geneve, gre, erspan2,\n"
	      "                     erspan3 or ipip: every packet in that tunnel\n"
	      "                     between 192.168.50.1 and 192.168.50.2\n"
	      "  --vni N            VXLAN/Geneve VNI, GRE key (0: none), ERSPAN\n"
	      "                     session id (default 42)\n"
	      "  --vxlan-port P     VXLAN UDP port (default 4789)\n"
	      "  --linktype TYPE    ether (default), sll, sll2, raw, null,\n"
	      "                     null-be or loop\n",
	      fp);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t lo,
			  uint64_t hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		goto bad;
	return v;
bad:
	die(2, "invalid value '%s' for %s (expected an integer from %" PRIu64
	       " to %" PRIu64 ")", s, opt, lo, hi);
}

enum { OPT_PROFILE = 256, OPT_FLOWS, OPT_PACKETS, OPT_SEED, OPT_START,
       OPT_VLAN_PCT, OPT_ENCAP, OPT_VNI, OPT_VXLAN_PORT, OPT_LINKTYPE };

/* Index of `s` in `names`, or exit with a usage error naming them. */
static int parse_name(const char *opt, const char *s,
		      const char *const *names, size_t n)
{
	char all[256] = "";
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0)
			return (int)i;
		strcat(all, i ? (i + 1 == n ? " or " : ", ") : "");
		strcat(all, names[i]);
	}
	die(2, "unknown value '%s' for %s (expected %s)", s, opt, all);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "flows", required_argument, NULL, OPT_FLOWS },
		{ "packets", required_argument, NULL, OPT_PACKETS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "start", required_argument, NULL, OPT_START },
		{ "vlan-pct", required_argument, NULL, OPT_VLAN_PCT },
		{ "encap", required_argument, NULL, OPT_ENCAP },
		{ "vni", required_argument, NULL, OPT_VNI },
		{ "vxlan-port", required_argument, NULL, OPT_VXLAN_PORT },
		{ "linktype", required_argument, NULL, OPT_LINKTYPE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->profile = "mix";
	o->seed = 1;
	o->start = 1767225600;
	o->vni = 42;
	o->vxlan_port = 4789;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (*optarg == '\0')
				die(2, "empty file name for -o");
			o->out = optarg;
			break;
		case OPT_PROFILE:
			if (strcmp(optarg, "mix") != 0 &&
			    strcmp(optarg, "small") != 0 &&
			    strcmp(optarg, "imix") != 0)
				die(2, "unknown profile '%s' (expected mix, "
				       "small or imix)", optarg);
			o->profile = optarg;
			break;
		case OPT_FLOWS:
			o->flows = parse_num("--flows", optarg, 1, 16777214);
			o->has_flows = true;
			break;
		case OPT_PACKETS:
			o->packets = parse_num("--packets", optarg, 1,
					       1000000000000ULL);
			o->has_packets = true;
			break;
		case OPT_SEED:
			o->seed = parse_num("--seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_START:
			o->start = parse_num("--start", optarg, 0,
					     4000000000ULL);
			break;
		case OPT_VLAN_PCT:
			o->vlan_pct = (uint32_t)parse_num("--vlan-pct", optarg,
							  0, 100);
			o->has_vlan = true;
			break;
		case OPT_ENCAP:
			o->encap = parse_name("--encap", optarg, encap_names,
					      sizeof(encap_names) /
						      sizeof(encap_names[0]));
			break;
		case OPT_VNI:
			o->vni = (uint32_t)parse_num("--vni", optarg, 0,
						     16777215);
			break;
		case OPT_VXLAN_PORT:
			o->vxlan_port = (uint16_t)parse_num("--vxlan-port",
							    optarg, 1, 65535);
			break;
		case OPT_LINKTYPE:
			o->linktype = parse_name(
				"--linktype", optarg, linktype_names,
				sizeof(linktype_names) /
					sizeof(linktype_names[0]));
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			die(2, "option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256 &&
			    strncmp(argv[optind - 1], "--", 2) != 0)
				die(2, "unknown option '-%c' (try --help)",
				    optopt);
			die(2, "unknown option '%s' (try --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		die(2, "unexpected argument '%s' (try --help)", argv[optind]);
	if (o->out == NULL)
		die(2, "missing -o FILE (try --help)");
	if ((o->encap == ENC_ERSPAN2 || o->encap == ENC_ERSPAN3) &&
	    o->vni > 1023)
		die(2, "invalid value '%" PRIu32 "' for --vni (an ERSPAN "
		       "session id is at most 1023)", o->vni);

	if (strcmp(o->profile, "mix") == 0) {
		if (o->has_packets)
			die(2, "--packets applies only to profiles small and "
			       "imix");
		if (!o->has_flows)
			o->flows = 3000;
		if (o->flows > 5000000)
			die(2, "invalid value '%" PRIu64 "' for --flows "
			       "(profile mix allows at most 5000000)", o->flows);
		if (!o->has_vlan)
			o->vlan_pct = 15;
	} else if (strcmp(o->profile, "small") == 0) {
		if (!o->has_flows)
			o->flows = 1000000;
		if (!o->has_packets)
			o->packets = o->flows;
	} else {
		if (!o->has_flows)
			o->flows = 10000;
		if (!o->has_packets)
			o->packets = 100000;
	}
	if (o->packets / 1000000 + 200 > UINT32_MAX - o->start)
		die(2, "--start %" PRIu64 " with --packets %" PRIu64
		       " overflows the 32-bit pcap time stamps",
		    o->start, o->packets);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sink sink;
	struct gen *g;
	size_t i;

	parse_args(argc, argv, &o);

	g = calloc(1, sizeof(*g));
	if (g == NULL)
		die(1, "out of memory");
	g->rng.s = o.seed;
	g->sink = &sink;
	for (i = 0; i < NPODS4; i++) {
		uint32_t node = rng_below(&g->rng, 16);
		uint32_t host = rng_range(&g->rng, 2, 254);

		g->pods4[i] = IP4(10, 244, node, host);
	}
	for (i = 0; i < NPODS6; i++) {
		g->pods6[i][0] = (uint16_t)rng_below(&g->rng, 16);
		g->pods6[i][1] = (uint16_t)rng_range(&g->rng, 2, 0xfffe);
	}
	g->icmp_id = (uint16_t)rng_next(&g->rng);
	g->encap = o.encap;
	g->linktype = o.linktype;
	g->vni = o.vni;
	g->vxlan_port = o.vxlan_port;

	sink_open(&sink, o.out, strcmp(o.profile, "mix") == 0,
		  linktype_values[o.linktype]);
	if (strcmp(o.profile, "mix") == 0)
		gen_mix(g, &o);
	else if (strcmp(o.profile, "small") == 0)
		gen_small(g, &o);
	else
		gen_imix(g, &o);
	sink_close(&sink);

	fprintf(stderr, PROG ": wrote %" PRIu64 " packets, %" PRIu64
		" flows (profile %s) to %s\n",
		sink.written, o.flows, o.profile, o.out);
	free(g->tuples.t);
	free(g->pairs.t);
	free(g);
	return 0;
}
