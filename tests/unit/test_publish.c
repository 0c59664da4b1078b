/*
 * Unit tests of lib/publish that need no Redis: Community ID, flow uid,
 * record formatting, timestamps, and the accounting of records written
 * while Redis is unreachable; L7 records: their fields (Zeek's names and
 * value conventions, hostile bytes escaped) and the store that keeps them
 * until their flow record comes (bound, ageing, merge).
 *
 * Records are built as lib/flow makes them: the canonical key (ICMP "ports"
 * are the type and the counterpart type, or the code for types without
 * one), the flow state with the originator's key side in its flags, the
 * outer tunnel and the end reason.
 *
 * The Community ID vectors were checked with
 *   tshark --enable-protocol communityid -T fields -e communityid
 * on a capture holding one packet of each flow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_common.h>

#include "vigil_conf.h"
#include "vigil_decode.h"
#include "vigil_flow.h"
#include "vigil_inspect.h"
#include "vigil_l7pub.h"
#include "vigil_publish.h"
#include "vigil_stats.h"

/* A record of the flow src:sport -> dst:dport whose first packet came from
 * src (ICMP: sport is the type, dport the code). The key is canonical, as
 * decode makes it; the originator is the key side of src. */
static struct vigil_flow_rec
rec(int family, uint8_t proto, const char *src, uint16_t sport,
    const char *dst, uint16_t dport)
{
	struct vigil_flow_rec r;
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	int af = family == VIGIL_AF_INET ? AF_INET : AF_INET6;
	unsigned alen = family == VIGIL_AF_INET ? 4 : 16;
	int c;

	memset(&r, 0, sizeof(r));
	assert_int_equal(inet_pton(af, src, a), 1);
	assert_int_equal(inet_pton(af, dst, b), 1);
	r.key.family = (uint8_t)family;
	r.key.proto = proto;
	if (proto == VIGIL_IPPROTO_ICMP || proto == VIGIL_IPPROTO_ICMPV6) {
		int cp = vigil_icmp_counterpart((uint8_t)family, (uint8_t)sport);

		dport = cp >= 0 ? (uint16_t)cp : dport;
	}
	c = memcmp(a, b, alen);
	r.s.flags = VIGIL_FF_IN_USE;
	if (c < 0 || (c == 0 && sport <= dport)) {
		memcpy(r.key.addr[0], a, 16);
		memcpy(r.key.addr[1], b, 16);
		r.key.port[0] = sport;
		r.key.port[1] = dport;
	} else {
		memcpy(r.key.addr[0], b, 16);
		memcpy(r.key.addr[1], a, 16);
		r.key.port[0] = dport;
		r.key.port[1] = sport;
		r.s.flags |= VIGIL_FF_ORIG;
	}
	r.s.first_us = 1767225600123456ull;
	r.reason = VIGIL_END_SHUTDOWN;
	return r;
}

/* Key side of the originator. */
static unsigned
orig(const struct vigil_flow_rec *r)
{
	return vigil_flow_orig_side(&r->s);
}

/* The other side becomes the originator. */
static void
flip_orig(struct vigil_flow_rec *r)
{
	r->s.flags ^= VIGIL_FF_ORIG;
}

/* Counters of role `role` (0 originator, 1 responder). */
static void
set_counts(struct vigil_flow_rec *r, unsigned role, uint32_t pkts,
	   uint64_t payload, uint64_t ip, uint64_t l2)
{
	struct vigil_flow_state *f = &r->s;

	f->pkts[role] = pkts;
	f->ip_lo[role] = (uint32_t)ip;
	f->ip_hi[role] = (uint16_t)(ip >> 32);
	f->l2_lo[role] = (uint32_t)l2;
	f->l2_hi[role] = (uint16_t)(l2 >> 32);
	if (r->key.proto != VIGIL_IPPROTO_TCP) {
		f->u.payload[role] = payload;
	} else {
		/* TCP: bytes between the first and the next sequence number
		 * (or, without sequence numbers from the decoder, the sum). */
		f->flags |= role ? VIGIL_FF_SEQ1 : VIGIL_FF_SEQ0;
#if defined(VIGIL_DECODE_TCP_SEQ)
		f->u.tcp.isn[role] = role ? 0xfffff000u : 1000u;
		f->u.tcp.end[role] = f->u.tcp.isn[role] + (uint32_t)payload;
#else
		f->u.tcp.end[role] = (uint32_t)payload;
#endif
	}
	assert_int_equal(vigil_flow_payload(f, r->key.proto, role), payload);
	assert_int_equal(vigil_flow_ip_bytes(f, role), ip);
	assert_int_equal(vigil_flow_l2_bytes(f, role), l2);
}

/* History from its string: upper case the originator's letters, lower
 * case the responder's, a leading '^' for a flipped flow (codes as
 * vigil_flow.h: letter + 8 * role, 4 bits each in order). */
static void
set_hist(struct vigil_flow_rec *r, const char *h)
{
	static const char letters[] = "SHADFRTW";

	r->s.hist = 0;
	r->s.nhist = 0;
	r->s.flags &= (uint8_t)~VIGIL_FF_FLIPPED;
	for (; *h; h++) {
		const char *p;
		unsigned code;

		if (*h == '^') {
			r->s.flags |= VIGIL_FF_FLIPPED;
			continue;
		}
		p = strchr(letters, *h >= 'a' ? *h - 'a' + 'A' : *h);
		assert_non_null(p);
		code = (unsigned)(p - letters) + (*h >= 'a' ? 8 : 0);
		r->s.hist |= (uint64_t)code << (4 * r->s.nhist);
		r->s.nhist++;
	}
}

/* Duration: last packet - first packet. */
static void
set_duration(struct vigil_flow_rec *r, uint32_t us)
{
	r->s.last_delta_us = us;
}

static void
cid(const struct vigil_flow_rec *r, char *out)
{
	vigil_community_id(r, out, 64);
}

/* ---- Community ID --------------------------------------------------------- */

static void
test_community_id_vectors(void **state)
{
	struct vigil_flow_rec r;
	char id[64];

	(void)state;
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "128.232.110.120", 34855,
		"66.35.250.204", 80);
	assert_int_equal(orig(&r), 1);
	cid(&r, id);
	assert_string_equal(id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");

	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_UDP, "8.8.8.8", 53, "192.168.1.52",
		54585);
	assert_int_equal(orig(&r), 0);
	cid(&r, id);
	assert_string_equal(id, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");

	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "192.168.0.89", 8,
		"192.168.0.1", 0);
	cid(&r, id);
	assert_string_equal(id, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");

	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_ICMPV6,
		"fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 0);
	cid(&r, id);
	assert_string_equal(id, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
}

static void
test_community_id_more_vectors(void **state)
{
	struct vigil_flow_rec r;
	char id[64];

	(void)state;
	/* One-way ICMP (port unreachable) from the higher address: not
	 * reordered. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "192.168.0.89", 3,
		"192.168.0.1", 3);
	assert_int_equal(orig(&r), 1);
	cid(&r, id);
	assert_string_equal(id, "1:dPRpNwuTNOTQEtM23HPAdlCnrwc=");

	/* The echo reply of the baseline's request gives the request's id. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "192.168.0.1", 0,
		"192.168.0.89", 0);
	cid(&r, id);
	assert_string_equal(id, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");

	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_TCP, "2001:db8::2", 443,
		"2001:db8::1", 51000);
	cid(&r, id);
	assert_string_equal(id, "1:TZebe/ybIXr8J9lX26/lqPRYGuk=");

	/* A protocol without ports (GRE). */
	r = rec(VIGIL_AF_INET, 47, "10.0.0.2", 0, "10.0.0.1", 0);
	cid(&r, id);
	assert_string_equal(id, "1:+KlEHDT0vJgzs/eNmzHq0aSpRYw=");

	/* Same address both ends: ports order the tuple. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "127.0.0.1", 6379,
		"127.0.0.1", 41000);
	cid(&r, id);
	assert_string_equal(id, "1:Ul/hoG57gf1v+Va/OsuBh7sOfVE=");
	flip_orig(&r); /* the client (port 41000) first */
	cid(&r, id);
	assert_string_equal(id, "1:Ul/hoG57gf1v+Va/OsuBh7sOfVE=");
}

static void
test_community_id_independent_of_orig(void **state)
{
	struct vigil_flow_rec r;
	char a[64], b[64];

	(void)state;
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "128.232.110.120", 34855,
		"66.35.250.204", 80);
	cid(&r, a);
	flip_orig(&r);
	cid(&r, b);
	assert_string_equal(a, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	assert_string_equal(b, a);

	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_UDP, "8.8.8.8", 53, "192.168.1.52",
		54585);
	flip_orig(&r);
	cid(&r, b);
	assert_string_equal(b, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");

	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_TCP, "2001:db8::1", 51000,
		"2001:db8::2", 443);
	cid(&r, b);
	assert_string_equal(b, "1:TZebe/ybIXr8J9lX26/lqPRYGuk=");

	/* ICMPv6 neighbour discovery seen from the advertisement first. */
	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_ICMPV6,
		"fe80::260:97ff:fe07:69ea", 136, "fe80::200:86ff:fe05:80da", 0);
	cid(&r, b);
	assert_string_equal(b, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
}

/* ---- uid ------------------------------------------------------------------ */

static void
assert_uid_shape(const char *u)
{
	assert_int_equal(strlen(u), 18);
	assert_int_equal(u[0], 'C');
	for (int i = 1; i < 18; i++)
		assert_non_null(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz",
				       u[i]));
}

static void
test_flow_uid(void **state)
{
	struct vigil_flow_rec r, r2;
	char u1[32], u2[32], u3[32];

	(void)state;
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "10.0.0.2", 51000, "10.0.0.1",
		80);
	vigil_flow_uid("s1", &r, u1, sizeof(u1));
	assert_uid_shape(u1);
	/* Deterministic. */
	vigil_flow_uid("s1", &r, u2, sizeof(u2));
	assert_string_equal(u1, u2);
	/* Not a function of the counters or the end reason. */
	r2 = r;
	r2.s.pkts[0] = 99;
	set_duration(&r2, 5000000);
	set_hist(&r2, "ShAD");
	r2.reason = VIGIL_END_IDLE;
	vigil_flow_uid("s1", &r2, u2, sizeof(u2));
	assert_string_equal(u1, u2);
	/* Another sensor, another start time, another VLAN, another port. */
	vigil_flow_uid("s2", &r, u2, sizeof(u2));
	assert_uid_shape(u2);
	assert_string_not_equal(u1, u2);
	r2 = r;
	r2.s.first_us += 1;
	vigil_flow_uid("s1", &r2, u3, sizeof(u3));
	assert_uid_shape(u3);
	assert_string_not_equal(u1, u3);
	assert_string_not_equal(u2, u3);
	r2 = r;
	r2.key.vlan = 10;
	vigil_flow_uid("s1", &r2, u2, sizeof(u2));
	assert_string_not_equal(u1, u2);
	r2 = r;
	r2.key.port[1]++;
	vigil_flow_uid("s1", &r2, u2, sizeof(u2));
	assert_string_not_equal(u1, u2);
	/* "s1" + key is not "s" + "1..." : the sensor is NUL-terminated. */
	vigil_flow_uid("s", &r, u2, sizeof(u2));
	assert_string_not_equal(u1, u2);
}

static void
test_flow_uid_spread(void **state)
{
	/* 2000 flows: 2000 distinct uids, every base62 digit in use. */
	static char uids[2000][19];
	int seen[128] = { 0 };
	int used = 0;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		struct vigil_flow_rec r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_UDP,
					      "10.0.0.1", (uint16_t)(1024 + i),
					      "10.0.0.2", 53);
		char u[32];

		vigil_flow_uid("sensor", &r, u, sizeof(u));
		assert_uid_shape(u);
		memcpy(uids[i], u, 19);
		for (int j = 1; j < 18; j++)
			seen[(unsigned char)u[j]] = 1;
	}
	for (int i = 0; i < 2000; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(uids[i], uids[j]);
	for (int c = 0; c < 128; c++)
		used += seen[c];
	assert_int_equal(used, 62);
}

/* ---- formatting ----------------------------------------------------------- */

static void
test_fmt_ts(void **state)
{
	char b[32];

	(void)state;
	vigil_fmt_ts(1767225600123456ull, b, sizeof(b));
	assert_string_equal(b, "1767225600.123456");
	vigil_fmt_ts(0, b, sizeof(b));
	assert_string_equal(b, "0.000000");
	vigil_fmt_ts(5, b, sizeof(b));
	assert_string_equal(b, "0.000005");
	vigil_fmt_ts(1000000, b, sizeof(b));
	assert_string_equal(b, "1.000000");
	vigil_fmt_ts(1767225600000001ull, b, sizeof(b));
	assert_string_equal(b, "1767225600.000001");
}

static void
test_proto_name(void **state)
{
	char b[8];

	(void)state;
	assert_string_equal(vigil_proto_name(6, b, sizeof(b)), "tcp");
	assert_string_equal(vigil_proto_name(17, b, sizeof(b)), "udp");
	assert_string_equal(vigil_proto_name(1, b, sizeof(b)), "icmp");
	assert_string_equal(vigil_proto_name(58, b, sizeof(b)), "icmp");
	assert_string_equal(vigil_proto_name(47, b, sizeof(b)), "47");
	assert_string_equal(vigil_proto_name(132, b, sizeof(b)), "132");
}

static const char *
field(const struct vigil_flow_fmt *f, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(f->field[i], name) == 0)
			return f->value[i];
	return NULL;
}

/* The stream fields of README "Redis schema", in stream order; `vlan`
 * (present only when tagged) goes before end_reason. */
static const char *const fields_untagged[] = {
	"sensor",	 "ts",		  "uid",	   "community_id",
	"orig_h",	 "orig_p",	  "resp_h",	   "resp_p",
	"proto",	 "duration",	  "orig_pkts",	   "orig_bytes",
	"orig_ip_bytes", "orig_l2_bytes", "resp_pkts",	   "resp_bytes",
	"resp_ip_bytes", "resp_l2_bytes", "conn_state",	   "history",
	"end_reason",
};

static void
test_flow_format_tcp(void **state)
{
	struct vigil_flow_rec r;
	struct vigil_flow_fmt f;
	char uid[32];
	unsigned n;
	/* Originator on key side 1, so [0]/[1] (orig/resp) and key sides
	 * differ. */
	static const char *const want[][2] = {
		{ "sensor", "sensor-1" },
		{ "ts", "1767225600.123456" },
		{ "uid", NULL },
		{ "community_id", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
		{ "orig_h", "128.232.110.120" },
		{ "orig_p", "34855" },
		{ "resp_h", "66.35.250.204" },
		{ "resp_p", "80" },
		{ "proto", "tcp" },
		{ "duration", "2.500001" },
		{ "orig_pkts", "6" },
		{ "orig_bytes", "120" },
		{ "orig_ip_bytes", "360" },
		{ "orig_l2_bytes", "444" },
		{ "resp_pkts", "5" },
		{ "resp_bytes", "1960" },
		{ "resp_ip_bytes", "2160" },
		{ "resp_l2_bytes", "2230" },
		{ "conn_state", "SF" },
		{ "history", "ShADadFf" },
		{ "end_reason", "shutdown" },
	};

	(void)state;
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "128.232.110.120", 34855,
		"66.35.250.204", 80);
	assert_int_equal(orig(&r), 1);
	set_duration(&r, 2500001);
	set_counts(&r, 0, 6, 120, 360, 444);
	set_counts(&r, 1, 5, 1960, 2160, 2230);
	set_hist(&r, "ShADadFf");
	vigil_flow_uid("sensor-1", &r, uid, sizeof(uid));

	n = vigil_flow_format("sensor-1", &r, NULL, &f);
	assert_int_equal(n, RTE_DIM(want));
	assert_true(n <= VIGIL_FLOW_FIELDS);
	for (unsigned i = 0; i < n; i++) {
		assert_string_equal(f.field[i], want[i][0]);
		assert_string_equal(f.field[i], fields_untagged[i]);
		assert_string_equal(f.value[i], want[i][1] ? want[i][1] : uid);
	}
	assert_null(field(&f, n, "vlan"));

	/* Tagged: `vlan` appears, right before end_reason; idle reason. */
	r.key.vlan = 300;
	r.reason = VIGIL_END_IDLE;
	n = vigil_flow_format("sensor-1", &r, NULL, &f);
	assert_int_equal(n, RTE_DIM(want) + 1);
	assert_string_equal(f.field[n - 2], "vlan");
	assert_string_equal(f.value[n - 2], "300");
	assert_string_equal(f.field[n - 1], "end_reason");
	assert_string_equal(f.value[n - 1], "idle");
	for (unsigned i = 0; i < n - 2; i++)
		assert_string_equal(f.field[i], fields_untagged[i]);
	/* The VLAN is part of the flow's identity. */
	assert_string_not_equal(field(&f, n, "uid"), uid);
}

static void
test_flow_format_ipv6_and_udp(void **state)
{
	struct vigil_flow_rec r;
	struct vigil_flow_fmt f;
	unsigned n;

	(void)state;
	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_UDP, "fd00:0:0:1:0:0:0:1", 5353,
		"2001:0db8:0000:0000:0000:0000:0000:00ff", 53);
	set_counts(&r, 0, 1, 30, 78, 92);
	set_counts(&r, 1, 1, 90, 138, 152);
	set_hist(&r, "Dd");
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_int_equal(n, RTE_DIM(fields_untagged));
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(f.field[i], fields_untagged[i]);
	assert_string_equal(field(&f, n, "orig_h"), "fd00:0:0:1::1");
	assert_string_equal(field(&f, n, "orig_p"), "5353");
	assert_string_equal(field(&f, n, "resp_h"), "2001:db8::ff");
	assert_string_equal(field(&f, n, "resp_p"), "53");
	assert_string_equal(field(&f, n, "proto"), "udp");
	assert_string_equal(field(&f, n, "duration"), "0.000000");
	assert_string_equal(field(&f, n, "orig_pkts"), "1");
	assert_string_equal(field(&f, n, "resp_bytes"), "90");
	assert_string_equal(field(&f, n, "resp_l2_bytes"), "152");
	assert_string_equal(field(&f, n, "conn_state"), "SF");
	assert_string_equal(field(&f, n, "history"), "Dd");

	/* A flow without history letters (empty datagrams) has no
	 * `history` field: fields without a value are omitted. */
	set_hist(&r, "");
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_int_equal(n, RTE_DIM(fields_untagged) - 1);
	assert_null(field(&f, n, "history"));
	assert_string_equal(f.field[n - 2], "conn_state");
	assert_string_equal(f.field[n - 1], "end_reason");
	set_hist(&r, "Dd");

	/* Large counters are printed in full (64-bit payload, 48-bit IP and
	 * frame bytes). */
	set_counts(&r, 0, 4000000, 5000000000ull, 5112000000ull,
		   0xffffffffffffull);
	r.s.pkts[1] = 0;
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_pkts"), "4000000");
	assert_string_equal(field(&f, n, "orig_bytes"), "5000000000");
	assert_string_equal(field(&f, n, "orig_ip_bytes"), "5112000000");
	assert_string_equal(field(&f, n, "orig_l2_bytes"), "281474976710655");
	assert_string_equal(field(&f, n, "conn_state"), "S0");
}

static void
test_flow_format_icmp(void **state)
{
	struct vigil_flow_rec r;
	struct vigil_flow_fmt f;
	unsigned n;

	(void)state;
	/* orig_p/resp_p are the key's ports: the type, and the counterpart
	 * type (request/reply types) or the code. Echo request from
	 * 192.168.0.89: 8 and 0. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "192.168.0.89", 8,
		"192.168.0.1", 0);
	r.s.pkts[0] = 3;
	r.s.pkts[1] = 3;
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "192.168.0.89");
	assert_string_equal(field(&f, n, "orig_p"), "8");
	assert_string_equal(field(&f, n, "resp_h"), "192.168.0.1");
	assert_string_equal(field(&f, n, "resp_p"), "0");
	assert_string_equal(field(&f, n, "proto"), "icmp");
	assert_string_equal(field(&f, n, "community_id"),
			    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
	assert_string_equal(field(&f, n, "orig_pkts"), "3");
	assert_string_equal(field(&f, n, "conn_state"), "OTH");

	/* The reply seen first (its sender is the originator): 0 and 8,
	 * and the same Community ID. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "192.168.0.1", 0,
		"192.168.0.89", 0);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "192.168.0.1");
	assert_string_equal(field(&f, n, "orig_p"), "0");
	assert_string_equal(field(&f, n, "resp_p"), "8");
	assert_string_equal(field(&f, n, "community_id"),
			    "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");

	/* Port unreachable: type 3, code 3. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "192.168.0.89", 3,
		"192.168.0.1", 3);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_p"), "3");
	assert_string_equal(field(&f, n, "resp_p"), "3");

	/* Host unreachable (type 3, code 1) from the lower address (key
	 * side 0 this time). */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_ICMP, "10.0.0.1", 3, "10.0.0.2",
		1);
	assert_int_equal(orig(&r), 0);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "10.0.0.1");
	assert_string_equal(field(&f, n, "orig_p"), "3");
	assert_string_equal(field(&f, n, "resp_h"), "10.0.0.2");
	assert_string_equal(field(&f, n, "resp_p"), "1");

	/* ICMPv6 neighbour solicitation: its counterpart is the
	 * advertisement (136). */
	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_ICMPV6,
		"fe80::200:86ff:fe05:80da", 135, "fe80::260:97ff:fe07:69ea", 0);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "fe80::200:86ff:fe05:80da");
	assert_string_equal(field(&f, n, "resp_h"), "fe80::260:97ff:fe07:69ea");
	assert_string_equal(field(&f, n, "orig_p"), "135");
	assert_string_equal(field(&f, n, "resp_p"), "136");
	assert_string_equal(field(&f, n, "proto"), "icmp");
	assert_string_equal(field(&f, n, "community_id"),
			    "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");

	/* ICMPv6 echo request: 128 and 129. */
	r = rec(VIGIL_AF_INET6, VIGIL_IPPROTO_ICMPV6, "2001:db8::9", 128,
		"2001:db8::1", 0);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "2001:db8::9");
	assert_string_equal(field(&f, n, "orig_p"), "128");
	assert_string_equal(field(&f, n, "resp_p"), "129");

	/* Another protocol: its number, ports 0. */
	r = rec(VIGIL_AF_INET, 47, "10.0.0.2", 0, "10.0.0.1", 0);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "proto"), "47");
	assert_string_equal(field(&f, n, "orig_h"), "10.0.0.2");
	assert_string_equal(field(&f, n, "orig_p"), "0");
	assert_string_equal(field(&f, n, "resp_p"), "0");
}

static void
test_flow_format_from_flow_lib(void **state)
{
	/* A record built by lib/flow from packet metas formats as such. */
	struct vigil_flow_rec r;
	struct vigil_flow_fmt f;
	struct vigil_pkt_meta m;
	unsigned n;
	static const struct {
		uint8_t from_client, flags;
		uint32_t payload;
	} seq[] = {
		{ 1, VIGIL_TCP_SYN, 0 },
		{ 0, VIGIL_TCP_SYN | VIGIL_TCP_ACK, 0 },
		{ 1, VIGIL_TCP_ACK, 0 },
		{ 1, VIGIL_TCP_RST, 0 },
	};

	(void)state;
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "10.0.0.9", 40000, "10.0.0.1",
		22);
	memset(&m, 0, sizeof(m));
	m.key = r.key;
	for (unsigned i = 0; i < RTE_DIM(seq); i++) {
		m.dir = seq[i].from_client ? (uint8_t)orig(&r)
					   : (uint8_t)(orig(&r) ^ 1);
		m.tcp_flags = seq[i].flags;
		m.payload_len = seq[i].payload;
		m.ip_len = 40;
		m.l2_len = 54;
		m.ts_us = 1767225600000000ull + i * 250000;
#if defined(VIGIL_DECODE_TCP_SEQ)
		/* Client ISN 100 (the SYN takes one), server ISN 5000. */
		m.tcp_seq = seq[i].from_client ? (i == 0 ? 100u : 101u) : 5000u;
		m.tcp_win = 65535;
#endif
		if (i == 0)
			vigil_flow_init(&r.s, &m);
		assert_true(vigil_flow_update(&r.s, &m));
	}
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "10.0.0.9");
	assert_string_equal(field(&f, n, "orig_p"), "40000");
	assert_string_equal(field(&f, n, "resp_p"), "22");
	assert_string_equal(field(&f, n, "ts"), "1767225600.000000");
	assert_string_equal(field(&f, n, "duration"), "0.750000");
	assert_string_equal(field(&f, n, "orig_pkts"), "3");
	assert_string_equal(field(&f, n, "resp_pkts"), "1");
	assert_string_equal(field(&f, n, "orig_ip_bytes"), "120");
	assert_string_equal(field(&f, n, "resp_l2_bytes"), "54");
	assert_string_equal(field(&f, n, "history"), "ShAR");
	assert_string_equal(field(&f, n, "conn_state"), "RSTO");
	assert_string_equal(field(&f, n, "orig_bytes"), "0");
	assert_string_equal(field(&f, n, "resp_bytes"), "0");
}

static void
test_flow_format_end_reasons(void **state)
{
	static const struct {
		uint8_t reason;
		const char *name;
	} want[] = {
		{ VIGIL_END_IDLE, "idle" },
		{ VIGIL_END_SHUTDOWN, "shutdown" },
		{ VIGIL_END_ACTIVE, "active" },
		{ VIGIL_END_EVICTED, "evicted" },
		{ VIGIL_END_REUSED, "reused" },
	};
	struct vigil_flow_rec r;
	struct vigil_flow_fmt f;
	char uid[32];
	unsigned n;

	(void)state;
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_UDP, "10.0.0.1", 1000, "10.0.0.2",
		53);
	vigil_flow_uid("s", &r, uid, sizeof(uid));
	for (unsigned i = 0; i < RTE_DIM(want); i++) {
		r.reason = want[i].reason;
		n = vigil_flow_format("s", &r, NULL, &f);
		assert_int_equal(n, RTE_DIM(fields_untagged) - 1);
		assert_string_equal(f.field[n - 1], "end_reason");
		assert_string_equal(f.value[n - 1], want[i].name);
		/* The reason is not part of the flow's identity. */
		assert_string_equal(field(&f, n, "uid"), uid);
	}
}

static void
test_flow_format_flipped_and_tunnel(void **state)
{
	struct vigil_flow_rec r, plain;
	struct vigil_flow_fmt f;
	char cid_plain[64], uid_plain[32];
	unsigned n;

	(void)state;
	/* First seen: the server's SYN-ACK. The client (10.0.0.9:40000) is
	 * the originator and the history starts with '^'. */
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "10.0.0.9", 40000,
		"10.0.0.1", 443);
	set_hist(&r, "^hADd");
	set_counts(&r, 0, 2, 50, 130, 158);
	set_counts(&r, 1, 2, 70, 150, 178);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "history"), "^hADd");
	assert_string_equal(field(&f, n, "orig_h"), "10.0.0.9");
	assert_string_equal(field(&f, n, "orig_bytes"), "50");
	assert_string_equal(field(&f, n, "resp_bytes"), "70");
	/* No SYN from the originator: Zeek calls that partial, OTH. */
	assert_string_equal(field(&f, n, "conn_state"), "OTH");

	/* Through a VXLAN tunnel: the inner flow is reported, the Community
	 * ID is the inner 5-tuple's, the VNI makes it another flow (uid). */
	plain = r;
	cid(&plain, cid_plain);
	vigil_flow_uid("s", &plain, uid_plain, sizeof(uid_plain));
	r.key.vni = 4242;
#if defined(VIGIL_TUN_NONE)
	r.key.tun_type = VIGIL_TUN_VXLAN;
#endif
	r.tun.type = 1;
	r.tun.family = VIGIL_AF_INET;
	r.tun.id = 4242;
	assert_int_equal(inet_pton(AF_INET, "172.16.0.1", r.tun.src), 1);
	assert_int_equal(inet_pton(AF_INET, "172.16.0.2", r.tun.dst), 1);
	n = vigil_flow_format("s", &r, NULL, &f);
	assert_string_equal(field(&f, n, "orig_h"), "10.0.0.9");
	assert_string_equal(field(&f, n, "resp_h"), "10.0.0.1");
	assert_string_equal(field(&f, n, "orig_p"), "40000");
	assert_string_equal(field(&f, n, "resp_p"), "443");
	assert_string_equal(field(&f, n, "community_id"), cid_plain);
	assert_string_not_equal(field(&f, n, "uid"), uid_plain);
}

/* ---- Redis unreachable ----------------------------------------------------- */

static void
test_records_counted_when_redis_unreachable(void **state)
{
	struct vigil_conf c;
	struct vigil_counters ctr;
	struct vigil_pub *p;
	struct vigil_flow_rec r;
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	int fd;
	const char *fields[] = { "a" }, *values[] = { "1" };

	(void)state;
	/* A bound, non-listening port: connections are refused at once. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);

	vigil_conf_defaults(&c);
	c.redis_port = ntohs(sa.sin_port);
	c.redis_retry_ms = 60000;
	memset(&ctr, 0, sizeof(ctr));
	p = vigil_pub_create(&c, &ctr);
	assert_non_null(p);
	assert_false(vigil_pub_connected(p));
	assert_false(vigil_pub_connect(p));
	assert_false(vigil_pub_connected(p));

	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 2);
	for (int i = 0; i < 5; i++)
		vigil_pub_flow(p, &r);
	/* Counters and stats writes are not records. */
	vigil_pub_hset(p, "vigil:stats", 1, fields, values);
	vigil_pub_flush(p);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_drop_records_undelivered),
			 5);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_records_published), 0);
	assert_false(vigil_pub_connected(p));
	assert_int_equal(vigil_pub_reconnects(p), 0);
	vigil_pub_free(p);
	vigil_pub_free(NULL);
	close(fd);
}

/* ---- L7 records ------------------------------------------------------------ */

#define SET(str, lit) VIGIL_L7_SET((str), (const uint8_t *)(lit), sizeof(lit) - 1)

/* An L7 record of service svc for the flow of rec(). */
static struct vigil_l7_rec *
l7rec(enum vigil_l7_service svc, uint8_t have)
{
	static struct vigil_l7_rec l;
	struct vigil_flow_rec r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP,
				      "10.0.0.1", 40000, "10.0.0.2", 443);

	memset(&l, 0, sizeof(l));
	l.key = r.key;
	l.first_us = r.s.first_us;
	l.service = (uint8_t)svc;
	l.have = have;
	return &l;
}

/* The formatted fields are exactly want (name, value), in order, and every
 * value is printable ASCII. */
static void
expect_fields(const struct vigil_l7_rec *l, const char *const (*want)[2],
	      unsigned nwant)
{
	static struct vigil_l7_fmt f;
	unsigned n = vigil_l7_format(l, &f);

	for (unsigned i = 0; i < n; i++)
		printf("#   %s = %s\n", f.f.field[i], f.f.value[i]);
	assert_int_equal(n, nwant);
	assert_int_equal(f.f.n, n);
	for (unsigned i = 0; i < n; i++) {
		assert_string_equal(f.f.field[i], want[i][0]);
		assert_string_equal(f.f.value[i], want[i][1]);
		assert_true(f.f.value[i][0] != '\0');
		for (const char *c = f.f.value[i]; *c; c++)
			assert_true(*c >= 0x20 && *c <= 0x7e);
	}
}

/* TLS through an HTTP proxy: both services, the CONNECT's host. */
static void
test_l7_format_connect(void **state)
{
	struct vigil_l7_rec *l = l7rec(VIGIL_L7_TLS, VIGIL_L7R_CLIENT);
	static const char *const want[][2] = {
		{ "service", "http,ssl" },
		{ "method", "CONNECT" },
		{ "host", "example.com:443" },
		{ "server_name", "example.com" },
	};

	(void)state;
	SET(l->connect_host, "example.com:443");
	SET(l->u.tls.ch.server_name, "example.com");
	expect_fields(l, want, RTE_DIM(want));
}

static void
test_l7_format_dns(void **state)
{
	struct vigil_l7_rec *l;
	struct vigil_dns_msg *d;
	static const char *const resp[][2] = {
		{ "service", "dns" },
		{ "query", "www.example.com" },
		{ "qtype_name", "A" },
		{ "rcode_name", "NOERROR" },
		{ "answers", "a\\x2cb.example.net,93.184.216.34,2001:db8::1" },
		{ "TTLs", "60,300,7200" },
	};
	static const char *const query[][2] = {
		{ "service", "dns" },
		{ "query", "www.example.com" },
		{ "qtype_name", "AAAA" },
	};
	static const char *const nx[][2] = {
		{ "service", "dns" },
		{ "query", "nope\\x00\\x5c.example" },
		{ "qtype_name", "query-65000" },
		{ "rcode_name", "NXDOMAIN" },
	};

	(void)state;
	l = l7rec(VIGIL_L7_DNS, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	d = &l->u.dns;
	d->qr = true;
	d->has_query = true;
	SET(d->query, "www.example.com");
	d->qtype = 1;
	d->qclass = 1;
	d->n_answers = 3;
	d->answers[0].type = 5; /* a CNAME whose target holds a ',' */
	d->answers[0].ttl = 60;
	SET(d->answers[0].name, "a,b.example.net");
	d->answers[1].type = 1;
	d->answers[1].ttl = 300;
	memcpy(d->answers[1].addr, "\x5d\xb8\xd8\x22", 4);
	d->answers[2].type = 28;
	d->answers[2].ttl = 7200;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", d->answers[2].addr), 1);
	expect_fields(l, resp, RTE_DIM(resp));

	/* Only the query was seen: no rcode, no answers. */
	l = l7rec(VIGIL_L7_DNS, VIGIL_L7R_CLIENT);
	d = &l->u.dns;
	d->has_query = true;
	SET(d->query, "www.example.com");
	d->qtype = 28;
	expect_fields(l, query, RTE_DIM(query));

	/* NXDOMAIN without answers; hostile name bytes; unknown type. */
	l = l7rec(VIGIL_L7_DNS, VIGIL_L7R_SERVER);
	d = &l->u.dns;
	d->qr = true;
	d->rcode = 3;
	d->has_query = true;
	SET(d->query, "nope\0\\.example");
	d->qtype = 65000;
	expect_fields(l, nx, RTE_DIM(nx));
}

static void
test_l7_format_http(void **state)
{
	struct vigil_l7_rec *l;
	static const char *const both[][2] = {
		{ "service", "http" },
		{ "method", "GET" },
		{ "host", "evil\\x1b[31m\\x5chost\\x0d\\x0aX-Injected: 1" },
		{ "uri", "/a b?x=\\xff\\xfe\"" },
		{ "user_agent", "curl/8.5.0" },
		{ "status_code", "404" },
	};
	static const char *const req[][2] = {
		{ "service", "http" },
		{ "method", "POST" },
		{ "uri", "/" },
	};

	(void)state;
	l = l7rec(VIGIL_L7_HTTP, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	SET(l->u.http.req.method, "GET");
	SET(l->u.http.req.host, "evil\x1b[31m\\host\r\nX-Injected: 1");
	SET(l->u.http.req.uri, "/a b?x=\xff\xfe\"");
	SET(l->u.http.req.user_agent, "curl/8.5.0");
	l->u.http.resp.status_code = 404;
	SET(l->u.http.resp.content_type, "text/html");
	expect_fields(l, both, RTE_DIM(both));

	/* A request without Host or User-Agent, no response: left out, not
	 * written empty. Its header block was cut (have is 0): what the
	 * parser read is there all the same. */
	l = l7rec(VIGIL_L7_HTTP, 0);
	SET(l->u.http.req.method, "POST");
	SET(l->u.http.req.uri, "/");
	expect_fields(l, req, RTE_DIM(req));
}

static void
test_l7_format_tls(void **state)
{
	struct vigil_l7_rec *l;
	static const char *const full[][2] = {
		{ "service", "ssl" },
		{ "version", "TLSv12" },
		{ "server_name", "www.example.com" },
		{ "next_protocol", "h2" },
		{ "cipher", "TLS_AES_128_GCM_SHA256" },
		{ "ja3", "771dd2d6f39fcc64a5c6c1f2cf8d4b50" },
		{ "ja3s", "15af977ce25de452b96affa2addb1036" },
		{ "ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1" },
		{ "subject", "CN=www.example.com,O=Example\\x5c, Inc." },
		{ "issuer", "CN=Example CA" },
	};
	static const char *const hello[][2] = {
		{ "service", "ssl" },
		{ "server_name", "\\xc3\\xa9vil.example" },
		{ "ja3", "771dd2d6f39fcc64a5c6c1f2cf8d4b50" },
		{ "ja4", "t13d1516h2_8daaf6152771_e5627efa2ab1" },
		{ "l7_error", "tls_bad_extension" },
	};
	static const char *const unknown[][2] = {
		{ "service", "ssl" },
		{ "version", "unknown-32540" },
		{ "cipher", "unknown-65278" },
	};

	(void)state;
	l = l7rec(VIGIL_L7_TLS, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	SET(l->u.tls.ch.server_name, "www.example.com");
	SET(l->u.tls.ch.alpn[0], "h2");
	l->u.tls.ch.n_alpn = 1;
	strcpy(l->u.tls.ch.ja3, "771dd2d6f39fcc64a5c6c1f2cf8d4b50");
	strcpy(l->u.tls.ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	l->u.tls.sh.has_server_hello = true;
	l->u.tls.sh.version = 0x0303;
	l->u.tls.sh.cipher = 0x1301;
	SET(l->u.tls.sh.alpn, "h2");
	strcpy(l->u.tls.sh.ja3s, "15af977ce25de452b96affa2addb1036");
	l->u.tls.sh.has_cert = true;
	SET(l->u.tls.sh.subject, "CN=www.example.com,O=Example\\, Inc.");
	SET(l->u.tls.sh.issuer, "CN=Example CA");
	expect_fields(l, full, RTE_DIM(full));

	/* ClientHello only, then a malformed ServerHello: no server
	 * fields, the reason. */
	l = l7rec(VIGIL_L7_TLS, VIGIL_L7R_CLIENT);
	SET(l->u.tls.ch.server_name, "\xc3\xa9vil.example");
	strcpy(l->u.tls.ch.ja3, "771dd2d6f39fcc64a5c6c1f2cf8d4b50");
	strcpy(l->u.tls.ch.ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	l->u.tls.sh.version = 0x0303; /* not a ServerHello: left out */
	l->why = VIGIL_L7_WHY_TLS_BAD_EXTENSION;
	expect_fields(l, hello, RTE_DIM(hello));

	/* A ServerHello whose certificate chain did not fit the buffer: the
	 * server side never finished (have says client only), what it read
	 * is written. */
	l = l7rec(VIGIL_L7_TLS, VIGIL_L7R_CLIENT);
	l->u.tls.sh.has_server_hello = true;
	l->u.tls.sh.version = 0x7f1c;
	l->u.tls.sh.cipher = 0xfefe;
	expect_fields(l, unknown, RTE_DIM(unknown));

	/* Zeek's names for what it does not know. */
	l = l7rec(VIGIL_L7_TLS, VIGIL_L7R_SERVER);
	l->u.tls.sh.has_server_hello = true;
	l->u.tls.sh.version = 0x7f1c;
	l->u.tls.sh.cipher = 0xfefe;
	expect_fields(l, unknown, RTE_DIM(unknown));
}

static void
test_l7_format_quic_ssh_stratum(void **state)
{
	struct vigil_l7_rec *l;
	static const char *const quic[][2] = {
		{ "service", "quic" },
		{ "version", "1" },
		{ "server_name", "www.google.com" },
		{ "ja4", "q13d0310h3_55b375c5d22e_cd85d2d88918" },
	};
	static const char *const quic_unknown[][2] = {
		{ "service", "quic" },
		{ "version", "unknown-0x1a2a3a4a" },
	};
	static const char *const ssh[][2] = {
		{ "service", "ssh" },
		{ "ssh_client", "SSH-2.0-OpenSSH_9.2p1 Debian-2" },
		{ "ssh_server", "SSH-2.0-evil\\x1b]0;pwned\\x07" },
	};
	static const char *const stratum[][2] = {
		{ "service", "stratum" },
		{ "stratum_method", "mining.subscribe" },
		{ "stratum_worker", "cgminer/4.10.0" },
	};
	static const char *const submit[][2] = {
		{ "service", "stratum" },
		{ "stratum_method", "mining.submit" },
		{ "l7_error", "stratum_bad_json" },
	};
	static const char *const only_error[][2] = {
		{ "l7_error", "dns_name_loop" },
	};

	(void)state;
	l = l7rec(VIGIL_L7_QUIC, VIGIL_L7R_CLIENT);
	l->u.tls.quic_version = 1;
	SET(l->u.tls.ch.server_name, "www.google.com");
	strcpy(l->u.tls.ch.ja4, "q13d0310h3_55b375c5d22e_cd85d2d88918");
	expect_fields(l, quic, RTE_DIM(quic));
	l = l7rec(VIGIL_L7_QUIC, 0);
	l->u.tls.quic_version = 0x1a2a3a4a;
	expect_fields(l, quic_unknown, RTE_DIM(quic_unknown));

	l = l7rec(VIGIL_L7_SSH, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	SET(l->u.ssh.client.banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	SET(l->u.ssh.server.banner, "SSH-2.0-evil\x1b]0;pwned\x07");
	expect_fields(l, ssh, RTE_DIM(ssh));

	l = l7rec(VIGIL_L7_STRATUM, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	SET(l->u.stratum.client.method, "mining.subscribe");
	l->u.stratum.client.n_params = 1;
	SET(l->u.stratum.client.params[0], "cgminer/4.10.0");
	l->u.stratum.server.is_response = true;
	expect_fields(l, stratum, RTE_DIM(stratum));
	/* The first parameter of other methods is not a worker name. */
	l = l7rec(VIGIL_L7_STRATUM, VIGIL_L7R_CLIENT);
	SET(l->u.stratum.client.method, "mining.submit");
	l->u.stratum.client.n_params = 2;
	SET(l->u.stratum.client.params[0], "worker1");
	l->why = VIGIL_L7_WHY_STRATUM_BAD_JSON;
	expect_fields(l, submit, RTE_DIM(submit));

	/* No service recognised: only the reason. */
	l = l7rec(VIGIL_L7_NONE, 0);
	l->why = VIGIL_L7_WHY_DNS_NAME_LOOP;
	expect_fields(l, only_error, RTE_DIM(only_error));
}

/* The longest strings of every service, all of bytes that escape to four
 * characters: every field is still there, whole. */
static void
test_l7_format_longest(void **state)
{
	static struct vigil_l7_fmt f;
	struct vigil_l7_rec *l;
	uint8_t junk[1024];

	(void)state;
	memset(junk, 0xff, sizeof(junk));
	l = l7rec(VIGIL_L7_DNS, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	l->u.dns.qr = true;
	l->u.dns.has_query = true;
	VIGIL_L7_SET(l->u.dns.query, junk, sizeof(junk));
	l->u.dns.n_answers = VIGIL_DNS_ANSWERS_MAX;
	for (unsigned i = 0; i < VIGIL_DNS_ANSWERS_MAX; i++) {
		l->u.dns.answers[i].type = 5;
		l->u.dns.answers[i].ttl = UINT32_MAX;
		VIGIL_L7_SET(l->u.dns.answers[i].name, junk, sizeof(junk));
	}
	l->why = VIGIL_L7_WHY_DNS_TRUNCATED;
	assert_int_equal(vigil_l7_format(l, &f), 7);
	assert_int_equal(strlen(f.f.value[1]), 4 * VIGIL_DNS_NAME_MAX);
	assert_int_equal(strlen(f.f.value[4]),
			 VIGIL_DNS_ANSWERS_MAX * (4 * VIGIL_DNS_NAME_MAX + 1) - 1);
	assert_string_equal(f.f.field[6], "l7_error");

	l = l7rec(VIGIL_L7_TLS, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	VIGIL_L7_SET(l->u.tls.ch.server_name, junk, sizeof(junk));
	memset(l->u.tls.ch.ja3, 'a', sizeof(l->u.tls.ch.ja3)); /* no NUL */
	memset(l->u.tls.ch.ja4, 'b', sizeof(l->u.tls.ch.ja4));
	l->u.tls.sh.has_server_hello = true;
	l->u.tls.sh.has_cert = true;
	VIGIL_L7_SET(l->u.tls.sh.alpn, junk, sizeof(junk));
	memset(l->u.tls.sh.ja3s, 'c', sizeof(l->u.tls.sh.ja3s));
	VIGIL_L7_SET(l->u.tls.sh.subject, junk, sizeof(junk));
	VIGIL_L7_SET(l->u.tls.sh.issuer, junk, sizeof(junk));
	l->why = VIGIL_L7_WHY_TLS_BAD_CERT;
	assert_int_equal(vigil_l7_format(l, &f), 11);
	assert_int_equal(strlen(f.f.value[5]), sizeof(l->u.tls.ch.ja3));

	l = l7rec(VIGIL_L7_HTTP, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	VIGIL_L7_SET(l->u.http.req.method, junk, sizeof(junk));
	VIGIL_L7_SET(l->u.http.req.host, junk, sizeof(junk));
	VIGIL_L7_SET(l->u.http.req.uri, junk, sizeof(junk));
	VIGIL_L7_SET(l->u.http.req.user_agent, junk, sizeof(junk));
	l->u.http.resp.status_code = 999;
	assert_int_equal(vigil_l7_format(l, &f), 6);
	assert_int_equal(strlen(f.f.value[3]), 4 * 512);
}

static void
l7_conf(struct vigil_conf *c, uint32_t max)
{
	vigil_conf_defaults(c);
	c->l7_pending_max = max;
	c->active_timeout_s = 10;
	c->tcp_idle_s = 60;
	c->udp_idle_s = 30;
}

/* An L7 record of a distinct flow (UDP port i). */
static struct vigil_l7_rec *
l7rec_n(unsigned i, uint64_t first_us)
{
	struct vigil_l7_rec *l = l7rec(VIGIL_L7_DNS, VIGIL_L7R_CLIENT);

	l->key.port[0] = (uint16_t)i;
	l->key.port[1] = (uint16_t)(i >> 16);
	l->first_us = first_us;
	l->u.dns.has_query = true;
	SET(l->u.dns.query, "q.example");
	return l;
}

static void
test_l7_store_bound(void **state)
{
	struct vigil_conf c;
	struct vigil_counters ctr;
	struct vigil_l7pub *s;
	const struct vigil_l7_fields *f;
	struct vigil_flow_key k;

	(void)state;
	l7_conf(&c, 4);
	memset(&ctr, 0, sizeof(ctr));
	s = vigil_l7pub_create(&c, &ctr);
	assert_non_null(s);
	for (unsigned i = 0; i < 4; i++)
		assert_true(vigil_l7pub_add(s, l7rec_n(i, 1000)));
	assert_int_equal(vigil_l7pub_count(s), 4);
	/* Full: the new record is dropped and counted. */
	assert_false(vigil_l7pub_add(s, l7rec_n(4, 1000)));
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_drop_l7_pending_full), 1);
	assert_int_equal(vigil_l7pub_count(s), 4);
	assert_true(vigil_ctr_is_drop(VIGIL_CTR_drop_l7_pending_full));
	/* A record of a flow already pending replaces it (no drop). */
	assert_true(vigil_l7pub_add(s, l7rec_n(2, 1000)));
	assert_int_equal(vigil_l7pub_count(s), 4);

	/* Found by key and first_us, both. */
	k = l7rec_n(1, 1000)->key;
	assert_null(vigil_l7pub_take(s, &k, 1001));
	f = vigil_l7pub_take(s, &k, 1000);
	assert_non_null(f);
	assert_int_equal(f->n, 3);
	assert_string_equal(f->value[1], "q.example");
	vigil_l7pub_release(f);
	assert_null(vigil_l7pub_take(s, &k, 1000));
	assert_int_equal(vigil_l7pub_count(s), 3);
	/* Room again. */
	assert_true(vigil_l7pub_add(s, l7rec_n(4, 1000)));
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_drop_l7_pending_full), 1);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_l7_pending_expired), 0);
	vigil_l7pub_free(s);
	vigil_l7pub_free(NULL);
}

/* Many entries: the table grows, every one is found once. */
static void
test_l7_store_many(void **state)
{
	struct vigil_conf c;
	struct vigil_counters ctr;
	struct vigil_l7pub *s;
	const unsigned n = 50000;
	uint64_t bytes;

	(void)state;
	l7_conf(&c, n);
	memset(&ctr, 0, sizeof(ctr));
	s = vigil_l7pub_create(&c, &ctr);
	assert_non_null(s);
	for (unsigned i = 0; i < n; i++)
		assert_true(vigil_l7pub_add(s, l7rec_n(i, 1000 + i % 7)));
	assert_int_equal(vigil_l7pub_count(s), n);
	bytes = vigil_l7pub_bytes(s);
	assert_true(bytes > (uint64_t)n * sizeof(struct vigil_l7_fields));
	for (unsigned i = n; i-- > 0;) {
		struct vigil_l7_rec *l = l7rec_n(i, 1000 + i % 7);
		const struct vigil_l7_fields *f =
			vigil_l7pub_take(s, &l->key, l->first_us);

		assert_non_null(f);
		vigil_l7pub_release(f);
	}
	assert_int_equal(vigil_l7pub_count(s), 0);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_drop_l7_pending_full), 0);
	vigil_l7pub_free(s);
}

/* Entries whose flow record never comes go after active_timeout + the
 * largest idle timeout (10 + 60 s here) of packet time. */
static void
test_l7_store_ageing(void **state)
{
	const uint64_t t0 = 1767225600000000ull, s1 = 1000000u;
	struct vigil_conf c;
	struct vigil_counters ctr;
	struct vigil_l7pub *s;
	struct vigil_l7_rec *l;

	(void)state;
	l7_conf(&c, 1024);
	memset(&ctr, 0, sizeof(ctr));
	s = vigil_l7pub_create(&c, &ctr);
	assert_non_null(s);
	assert_true(vigil_l7pub_add(s, l7rec_n(1, t0)));
	vigil_l7pub_saw(s, t0 + 5 * s1);
	/* A long flow's record: old first_us, but it came now, so it is
	 * aged from now. */
	assert_true(vigil_l7pub_add(s, l7rec_n(2, t0 - 3000 * s1)));
	assert_int_equal(vigil_l7pub_expire(s, 0), 0);
	vigil_l7pub_saw(s, t0 + 70 * s1);
	assert_int_equal(vigil_l7pub_expire(s, 0), 0);
	vigil_l7pub_saw(s, t0 + 70 * s1 + 1);
	assert_int_equal(vigil_l7pub_expire(s, 0), 1);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_l7_pending_expired), 1);
	l = l7rec_n(1, t0);
	assert_null(vigil_l7pub_take(s, &l->key, t0));
	/* The packet clock never goes back. */
	vigil_l7pub_saw(s, t0);
	assert_int_equal(vigil_l7pub_expire(s, 0), 0);
	/* Live: the wall clock passed by the caller moves it too. */
	assert_int_equal(vigil_l7pub_expire(s, t0 + 75 * s1 + 1), 1);
	assert_int_equal(vigil_l7pub_count(s), 0);

	/* At exit every entry goes, counted. */
	for (unsigned i = 0; i < 10; i++)
		assert_true(vigil_l7pub_add(s, l7rec_n(100 + i, t0 + 80 * s1)));
	assert_int_equal(vigil_l7pub_expire(s, UINT64_MAX), 10);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_l7_pending_expired), 12);
	assert_int_equal(vigil_l7pub_count(s), 0);
	vigil_l7pub_free(s);
}

/* The fields of a pending L7 record follow the conn fields of its flow
 * record. */
static void
test_flow_format_with_l7(void **state)
{
	struct vigil_conf c;
	struct vigil_counters ctr;
	struct vigil_l7pub *s;
	struct vigil_flow_rec r;
	struct vigil_l7_rec *l;
	const struct vigil_l7_fields *f;
	static struct vigil_flow_fmt fmt;
	unsigned n0, n;

	(void)state;
	l7_conf(&c, 1024);
	memset(&ctr, 0, sizeof(ctr));
	s = vigil_l7pub_create(&c, &ctr);
	assert_non_null(s);
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2",
		443);
	l = l7rec(VIGIL_L7_SSH, VIGIL_L7R_CLIENT);
	SET(l->u.ssh.client.banner, "SSH-2.0-x");
	assert_true(vigil_l7pub_add(s, l));
	n0 = vigil_flow_format("s", &r, NULL, &fmt);
	f = vigil_l7pub_take(s, &r.key, r.s.first_us);
	assert_non_null(f);
	n = vigil_flow_format("s", &r, f, &fmt);
	assert_int_equal(n, n0 + 2);
	assert_string_equal(fmt.field[n0 - 1], "end_reason");
	assert_string_equal(fmt.field[n0], "service");
	assert_string_equal(fmt.value[n0], "ssh");
	assert_string_equal(fmt.field[n0 + 1], "ssh_client");
	assert_string_equal(fmt.value[n0 + 1], "SSH-2.0-x");
	vigil_l7pub_release(f);
	vigil_l7pub_free(s);
}

/* A bound, non-listening loopback port: connections are refused at once.
 * Returns the socket (close it after) and the port. */
static int
refused_port(uint16_t *port)
{
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* The publisher takes a flow's L7 record when it writes the flow record
 * (counted in l7_merged), and ignores them with l7.enabled = 0. */
static void
test_pub_merges_l7(void **state)
{
	struct vigil_conf c;
	struct vigil_counters ctr;
	struct vigil_pub *p;
	struct vigil_flow_rec r;
	uint16_t port;
	int fd = refused_port(&port);

	(void)state;
	l7_conf(&c, 1024);
	c.redis_port = port;
	c.redis_retry_ms = 60000;
	memset(&ctr, 0, sizeof(ctr));
	p = vigil_pub_create(&c, &ctr);
	assert_non_null(p);
	r = rec(VIGIL_AF_INET, VIGIL_IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2",
		443);
	vigil_pub_l7(p, l7rec(VIGIL_L7_HTTP, 0));
	vigil_pub_l7(p, l7rec_n(7, 5));
	assert_int_equal(vigil_pub_l7_pending(p), 2);
	assert_true(vigil_pub_l7_pending_bytes(p) > 0);
	vigil_pub_flow(p, &r);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_l7_merged), 1);
	assert_int_equal(vigil_pub_l7_pending(p), 1);
	vigil_pub_flow(p, &r); /* taken already */
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_l7_merged), 1);
	assert_int_equal(vigil_pub_l7_expire(p, UINT64_MAX), 1);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_l7_pending_expired), 1);
	vigil_pub_free(p);

	c.l7_enabled = 0;
	p = vigil_pub_create(&c, &ctr);
	assert_non_null(p);
	vigil_pub_l7(p, l7rec(VIGIL_L7_HTTP, 0));
	assert_int_equal(vigil_pub_l7_pending(p), 0);
	assert_int_equal(vigil_pub_l7_expire(p, UINT64_MAX), 0);
	vigil_pub_free(p);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_community_id_vectors),
		cmocka_unit_test(test_community_id_more_vectors),
		cmocka_unit_test(test_community_id_independent_of_orig),
		cmocka_unit_test(test_flow_uid),
		cmocka_unit_test(test_flow_uid_spread),
		cmocka_unit_test(test_fmt_ts),
		cmocka_unit_test(test_proto_name),
		cmocka_unit_test(test_flow_format_tcp),
		cmocka_unit_test(test_flow_format_ipv6_and_udp),
		cmocka_unit_test(test_flow_format_icmp),
		cmocka_unit_test(test_flow_format_from_flow_lib),
		cmocka_unit_test(test_flow_format_end_reasons),
		cmocka_unit_test(test_flow_format_flipped_and_tunnel),
		cmocka_unit_test(test_records_counted_when_redis_unreachable),
		cmocka_unit_test(test_l7_format_dns),
		cmocka_unit_test(test_l7_format_connect),
		cmocka_unit_test(test_l7_format_http),
		cmocka_unit_test(test_l7_format_tls),
		cmocka_unit_test(test_l7_format_quic_ssh_stratum),
		cmocka_unit_test(test_l7_format_longest),
		cmocka_unit_test(test_l7_store_bound),
		cmocka_unit_test(test_l7_store_many),
		cmocka_unit_test(test_l7_store_ageing),
		cmocka_unit_test(test_flow_format_with_l7),
		cmocka_unit_test(test_pub_merges_l7),
	};

	return cmocka_run_group_tests_name("publish", tests, NULL, NULL);
}
