/*
 * Unit tests of lib/publish that need no Redis: Community ID, flow uid,
 * record formatting, timestamps, and the accounting of records written
 * while Redis is unreachable.
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
	};

	return cmocka_run_group_tests_name("publish", tests, NULL, NULL);
}
