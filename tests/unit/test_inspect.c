/*
 * Unit tests of the worker's payload inspection (lib/flow/vigil_inspect):
 * what reaches the parsers, in what order, when inspection ends, what the
 * L7 record holds, and that contexts are never lost. Packets are real
 * mbufs with payload at the offset the decoder would give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "vigil_conf.h"
#include "vigil_dnscache.h"
#include "vigil_inspect.h"
#include "vigil_stats.h"

#define OFF 54 /* Ethernet + IPv4 + TCP (or anything: only the offset counts) */

static struct rte_mempool *mp;
static struct vigil_conf conf;
static struct vigil_inspector *in;
static struct vigil_counters ctr;
static struct vigil_l7_rec rec;
static struct rte_mbuf *held[64];
static unsigned nheld;

static uint64_t
C(enum vigil_ctr id)
{
	return vigil_ctr_read(&ctr, id);
}

static void
setup_inspector(const char *settings)
{
	char err[256];

	vigil_conf_defaults(&conf);
	assert_int_equal(vigil_conf_load_string(&conf, settings, "t.conf", err,
						sizeof(err)),
			 0);
	in = vigil_inspector_create(&conf, 0, 0, SOCKET_ID_ANY, err,
				    sizeof(err));
	if (in == NULL)
		fail_msg("%s", err);
	memset(&ctr, 0, sizeof(ctr));
}

static int
teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < nheld; i++)
		rte_pktmbuf_free(held[i]);
	nheld = 0;
	vigil_inspector_free(in);
	in = NULL;
	return 0;
}

/* Flow `id`: 10.0.0.1:40000+id (key side 1, the client) to 10.0.0.2:port
 * (key side 0). */
static struct vigil_flow_key
key_of(unsigned id, uint8_t proto, uint16_t port)
{
	struct vigil_flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = VIGIL_AF_INET;
	k.proto = proto;
	k.addr[0][0] = 10, k.addr[0][3] = 2;
	k.addr[1][0] = 10, k.addr[1][3] = 1;
	k.port[0] = port;
	k.port[1] = (uint16_t)(40000 + id);
	return k;
}

/* One packet of flow `entry` from the client (role 0) or the server. */
static enum vigil_insp_rc
pkt(uint32_t entry, const struct vigil_flow_key *k, unsigned role,
    uint32_t seq, const void *payload, uint32_t len, bool started,
    bool *done)
{
	struct rte_mbuf *mb = rte_pktmbuf_alloc(mp);
	struct vigil_pkt_meta *m;
	char *d;

	assert_non_null(mb);
	d = rte_pktmbuf_append(mb, (uint16_t)(OFF + len));
	assert_non_null(d);
	memset(d, 0, OFF);
	memcpy(d + OFF, payload, len);
	m = vigil_pkt_meta(mb);
	memset(m, 0, sizeof(*m));
	m->key = *k;
	m->dir = role == 0 ? 1 : 0; /* the client is key side 1 */
	m->payload_len = len;
	m->payload_off = len ? OFF : 0;
	m->tcp_seq = seq;
	held[nheld++] = mb;

	struct vigil_insp_pkt p = {
		.entry = entry,
		.key = k,
		.first_us = 1000,
		.role = role,
		.m = m,
		.mb = mb,
	};
	uint32_t idx;
	enum vigil_insp_rc rc =
		vigil_inspect_packet(in, &p, started, done, &idx, &ctr);

	/* A finished record: copied out, and its index given back as the
	 * reader does. */
	if (rc == VIGIL_INSP_FINISHED) {
		rec = vigil_inspector_recs(in)[idx];
		assert_int_equal(vigil_inspector_give(in, &idx, 1), 0);
	}
	return rc;
}

/* vigil_inspect_end, the record copied out and given back. */
static bool
end(uint32_t entry)
{
	uint32_t idx;

	if (!vigil_inspect_end(in, entry, &idx, &ctr))
		return false;
	rec = vigil_inspector_recs(in)[idx];
	assert_int_equal(vigil_inspector_give(in, &idx, 1), 0);
	return true;
}

static void
test_http_request_over_two_segments(void **state)
{
	static const char req1[] = "GET /index.html HTTP/1.1\r\nHost: exa";
	static const char req2[] = "mple.com\r\nUser-Agent: curl/8.0\r\n\r\n";
	static const char resp[] =
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>";
	struct vigil_flow_key k = key_of(1, VIGIL_IPPROTO_TCP, 80);
	bool done;

	(void)state;
	setup_inspector("");
	/* A SYN carries nothing: no context yet. */
	assert_int_equal(pkt(7, &k, 0, 100, "", 0, false, &done),
			 VIGIL_INSP_SKIP);
	assert_false(done);
	assert_int_equal(vigil_inspector_active(in), 0);
	assert_int_equal(pkt(7, &k, 0, 101, req1, sizeof(req1) - 1, false,
			     &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(vigil_inspector_active(in), 1);
	/* A retransmission of the first segment changes nothing. */
	assert_int_equal(pkt(7, &k, 0, 101, req1, sizeof(req1) - 1, true,
			     &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(7, &k, 0, 101 + sizeof(req1) - 1, req2,
			     sizeof(req2) - 1, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(7, &k, 1, 5000, resp, sizeof(resp) - 1, true,
			     &done),
			 VIGIL_INSP_FINISHED);
	assert_true(done);
	assert_int_equal(rec.service, VIGIL_L7_HTTP);
	assert_int_equal(rec.have, VIGIL_L7R_CLIENT | VIGIL_L7R_SERVER);
	assert_int_equal(rec.first_us, 1000);
	assert_memory_equal(&rec.key, &k, sizeof(k));
	assert_int_equal(rec.u.http.req.host.len, 11);
	assert_memory_equal(rec.u.http.req.host.s, "example.com", 11);
	assert_memory_equal(rec.u.http.req.uri.s, "/index.html", 11);
	assert_int_equal(rec.u.http.resp.status_code, 200);
	assert_int_equal(rec.why, 0);
	assert_int_equal(vigil_inspector_active(in), 0);
	assert_int_equal(C(VIGIL_CTR_l7_inspected), 1);
	assert_int_equal(C(VIGIL_CTR_l7_http), 1);
}

/* example.com A, query then response with one answer. */
static const uint8_t dns_q[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 7,	  'e',	'x',  'a',  'm',  'p',	'l',  'e',
	3,    'c',  'o',  'm',	0,    0x00, 0x01, 0x00, 0x01,
};
static const uint8_t dns_r[] = {
	0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x00, 7,    'e',  'x',	'a',  'm',  'p',  'l',	'e',  3,    'c',
	'o',  'm',  0,	  0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, 93,   184,  216,
	34,
};

static void
test_dns_query_and_response(void **state)
{
	struct vigil_flow_key k = key_of(2, VIGIL_IPPROTO_UDP, 53);
	bool done;

	(void)state;
	setup_inspector("");
	assert_int_equal(pkt(3, &k, 0, 0, dns_q, sizeof(dns_q), false, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(3, &k, 1, 0, dns_r, sizeof(dns_r), true, &done),
			 VIGIL_INSP_FINISHED);
	assert_int_equal(rec.service, VIGIL_L7_DNS);
	assert_int_equal(rec.u.dns.rcode, 0);
	assert_true(rec.u.dns.qr);
	assert_int_equal(rec.u.dns.query.len, 11);
	assert_memory_equal(rec.u.dns.query.s, "example.com", 11);
	assert_int_equal(rec.u.dns.n_answers, 1);
	assert_int_equal(rec.u.dns.answers[0].ttl, 3600);
	assert_int_equal(vigil_inspector_active(in), 0);
	assert_int_equal(C(VIGIL_CTR_l7_dns), 1);
}

/* A response cut inside its answer (no query seen before it): the query
 * is kept, the record says why the message stopped. */
static void
test_dns_truncated_response_keeps_query(void **state)
{
	struct vigil_flow_key k = key_of(9, VIGIL_IPPROTO_UDP, 53);
	bool done;

	(void)state;
	setup_inspector("");
	assert_int_equal(pkt(10, &k, 1, 0, dns_r, sizeof(dns_r) - 3, false,
			     &done),
			 VIGIL_INSP_FINISHED);
	assert_int_equal(rec.service, VIGIL_L7_DNS);
	assert_int_equal(rec.why, VIGIL_L7_WHY_DNS_TRUNCATED);
	assert_true(rec.u.dns.has_query);
	assert_int_equal(rec.u.dns.query.len, 11);
	assert_memory_equal(rec.u.dns.query.s, "example.com", 11);
	assert_int_equal(rec.have, 0);
	assert_int_equal(C(VIGIL_CTR_l7_malformed), 1);
}

/* DNS over TCP: the length prefix says how much is coming; the message is
 * parsed once it is all there. */
static void
test_dns_over_tcp_split(void **state)
{
	uint8_t q[2 + sizeof(dns_q)], r[2 + sizeof(dns_r)];
	struct vigil_flow_key k = key_of(6, VIGIL_IPPROTO_TCP, 53);
	bool done;

	(void)state;
	setup_inspector("");
	q[0] = 0, q[1] = sizeof(dns_q);
	memcpy(q + 2, dns_q, sizeof(dns_q));
	r[0] = 0, r[1] = sizeof(dns_r);
	memcpy(r + 2, dns_r, sizeof(dns_r));
	assert_int_equal(pkt(4, &k, 0, 1, q, 10, false, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(4, &k, 0, 11, q + 10, sizeof(q) - 10, true,
			     &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(4, &k, 1, 1, r, 7, true, &done), VIGIL_INSP_MORE);
	assert_int_equal(pkt(4, &k, 1, 8, r + 7, 20, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(4, &k, 1, 28, r + 27, sizeof(r) - 27, true,
			     &done),
			 VIGIL_INSP_FINISHED);
	assert_int_equal(rec.service, VIGIL_L7_DNS);
	assert_memory_equal(rec.u.dns.query.s, "example.com", 11);
	assert_int_equal(rec.u.dns.n_answers, 1);
	assert_int_equal(vigil_inspector_active(in), 0);
}

static void
test_gap_stops_a_direction(void **state)
{
	static const char req1[] = "GET / HTTP/1.1\r\nHo";
	struct vigil_flow_key k = key_of(3, VIGIL_IPPROTO_TCP, 8080);
	bool done;

	(void)state;
	setup_inspector("");
	assert_int_equal(pkt(9, &k, 0, 1, req1, sizeof(req1) - 1, false, &done),
			 VIGIL_INSP_MORE);
	/* 100 bytes missing: the client side stops; the flow waits for the
	 * server, and its end yields what was read. */
	assert_int_equal(pkt(9, &k, 0, 200, "st: x\r\n\r\n", 9, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(C(VIGIL_CTR_l7_gap), 1);
	memset(&rec, 0, sizeof(rec));
	assert_true(end(9));
	assert_int_equal(rec.service, VIGIL_L7_HTTP);
	assert_memory_equal(rec.u.http.req.method.s, "GET", 3);
	assert_int_equal(rec.have, 0); /* neither side complete */
	assert_int_equal(vigil_inspector_active(in), 0);
	/* Ended twice: nothing the second time. */
	assert_false(end(9));
}

/*
 * TCP whose first bytes are no known protocol is watched for a TLS
 * handshake for 16 more segments; none comes, the context comes back and
 * the flow counts as unknown.
 */
static void
test_unknown_protocol_frees_the_context(void **state)
{
	uint8_t junk[100];
	struct vigil_flow_key k = key_of(4, VIGIL_IPPROTO_TCP, 9999);
	uint32_t seq = 1;
	bool done;

	(void)state;
	setup_inspector("");
	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 1);
	assert_int_equal(pkt(1, &k, 0, seq, junk, sizeof(junk), false, &done),
			 VIGIL_INSP_MORE);
	for (unsigned i = 1; i < 16; i++) {
		seq += sizeof(junk);
		assert_int_equal(pkt(1, &k, 0, seq, junk, sizeof(junk), true,
				     &done),
				 VIGIL_INSP_MORE);
	}
	seq += sizeof(junk);
	assert_int_equal(pkt(1, &k, 0, seq, junk, sizeof(junk), true, &done),
			 VIGIL_INSP_SKIP);
	assert_true(done);
	assert_int_equal(vigil_inspector_active(in), 0);
	assert_int_equal(C(VIGIL_CTR_l7_unknown), 1);
	assert_int_equal(C(VIGIL_CTR_l7_starttls), 0);
}

/* A TLS 1.2 ClientHello with one cipher suite and a server name. */
static uint32_t
client_hello(uint8_t *b, const char *sni)
{
	uint32_t n = 0, sl = (uint32_t)strlen(sni), ext = 9 + sl;
	uint32_t body = 2 + 32 + 1 + 4 + 2 + 2 + ext;

	b[n++] = 0x16, b[n++] = 3, b[n++] = 1;
	b[n++] = (uint8_t)((body + 4) >> 8), b[n++] = (uint8_t)(body + 4);
	b[n++] = 1, b[n++] = 0, b[n++] = (uint8_t)(body >> 8);
	b[n++] = (uint8_t)body;
	b[n++] = 3, b[n++] = 3;
	memset(b + n, 7, 32), n += 32;
	b[n++] = 0;			 /* session id */
	b[n++] = 0, b[n++] = 2;		 /* cipher suites */
	b[n++] = 0xc0, b[n++] = 0x2f;
	b[n++] = 1, b[n++] = 0;		 /* compression */
	b[n++] = (uint8_t)(ext >> 8), b[n++] = (uint8_t)ext;
	b[n++] = 0, b[n++] = 0;		 /* server_name */
	b[n++] = (uint8_t)((sl + 5) >> 8), b[n++] = (uint8_t)(sl + 5);
	b[n++] = (uint8_t)((sl + 3) >> 8), b[n++] = (uint8_t)(sl + 3);
	b[n++] = 0;
	b[n++] = (uint8_t)(sl >> 8), b[n++] = (uint8_t)sl;
	memcpy(b + n, sni, sl), n += sl;
	return n;
}

/*
 * SMTP with STARTTLS: the plain dialogue is no protocol vigil reads, the
 * ClientHello after it is found and read as TLS.
 */
static void
test_tls_after_starttls(void **state)
{
	static const char *const srv[] = { "220 mx.example ESMTP\r\n",
					   "250-mx.example\r\n250 STARTTLS\r\n",
					   "220 2.0.0 Ready to start TLS\r\n" };
	static const char *const cli[] = { "EHLO client.example\r\n",
					   "STARTTLS\r\n" };
	struct vigil_flow_key k = key_of(6, VIGIL_IPPROTO_TCP, 25);
	uint32_t cseq = 1, sseq = 1, n;
	uint8_t hello[256];
	bool done;

	(void)state;
	setup_inspector("");
	assert_int_equal(pkt(6, &k, 1, sseq, srv[0], strlen(srv[0]), false,
			     &done),
			 VIGIL_INSP_MORE);
	sseq += strlen(srv[0]);
	assert_int_equal(pkt(6, &k, 0, cseq, cli[0], strlen(cli[0]), true,
			     &done),
			 VIGIL_INSP_MORE);
	cseq += strlen(cli[0]);
	assert_int_equal(pkt(6, &k, 1, sseq, srv[1], strlen(srv[1]), true,
			     &done),
			 VIGIL_INSP_MORE);
	sseq += strlen(srv[1]);
	assert_int_equal(pkt(6, &k, 0, cseq, cli[1], strlen(cli[1]), true,
			     &done),
			 VIGIL_INSP_MORE);
	cseq += strlen(cli[1]);
	assert_int_equal(pkt(6, &k, 1, sseq, srv[2], strlen(srv[2]), true,
			     &done),
			 VIGIL_INSP_MORE);
	n = client_hello(hello, "mx.example");
	assert_int_equal(pkt(6, &k, 0, cseq, hello, n, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(C(VIGIL_CTR_l7_starttls), 1);
	assert_int_equal(C(VIGIL_CTR_l7_tls), 1);
	assert_true(end(6));
	assert_int_equal(rec.service, VIGIL_L7_TLS);
	assert_int_equal(rec.have, VIGIL_L7R_CLIENT);
	assert_int_equal(rec.u.tls.ch.server_name.len, 10);
	assert_memory_equal(rec.u.tls.ch.server_name.s, "mx.example", 10);
	assert_int_equal(strlen(rec.u.tls.ch.ja3), 32);
	assert_int_equal(vigil_inspector_active(in), 0);
}

/* TLS through an HTTP proxy: the CONNECT's host and the tunnelled
 * ClientHello in one TLS record. */
static void
test_tls_after_http_connect(void **state)
{
	static const char req[] = "CONNECT example.com:443 HTTP/1.1\r\n"
				  "Host: example.com:443\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct vigil_flow_key k = key_of(7, VIGIL_IPPROTO_TCP, 3128);
	uint8_t hello[256];
	uint32_t n;
	bool done;

	(void)state;
	setup_inspector("");
	assert_int_equal(pkt(7, &k, 0, 1, req, sizeof(req) - 1, false, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(7, &k, 1, 1, resp, sizeof(resp) - 1, true, &done),
			 VIGIL_INSP_MORE);
	n = client_hello(hello, "example.com");
	assert_int_equal(pkt(7, &k, 0, sizeof(req), hello, n, true, &done),
			 VIGIL_INSP_MORE);
	assert_true(end(7));
	assert_int_equal(rec.service, VIGIL_L7_TLS);
	assert_int_equal(rec.connect_host.len, 15);
	assert_memory_equal(rec.connect_host.s, "example.com:443", 15);
	assert_memory_equal(rec.u.tls.ch.server_name.s, "example.com", 11);
	assert_int_equal(C(VIGIL_CTR_l7_starttls), 1);
}

/* HTTP inside a SOCKS5 connection: the handshake is no protocol vigil
 * reads, the request after it is. */
static void
test_http_after_socks5(void **state)
{
	static const uint8_t hello[] = { 5, 1, 0 }, choice[] = { 5, 0 };
	static const uint8_t conn[] = { 5, 1, 0, 1, 93, 184, 216, 34, 0, 80 };
	static const uint8_t ok[] = { 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const char get[] = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
	struct vigil_flow_key k = key_of(8, VIGIL_IPPROTO_TCP, 1080);
	bool done;

	(void)state;
	setup_inspector("");
	assert_int_equal(pkt(8, &k, 0, 1, hello, 3, false, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(8, &k, 1, 1, choice, 2, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(8, &k, 0, 4, conn, 10, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(8, &k, 1, 3, ok, 10, true, &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(pkt(8, &k, 0, 14, get, sizeof(get) - 1, true, &done),
			 VIGIL_INSP_MORE);
	assert_true(end(8));
	assert_int_equal(rec.service, VIGIL_L7_HTTP);
	assert_int_equal(rec.u.http.req.host.len, 15);
	assert_memory_equal(rec.u.http.req.host.s, "www.example.com", 15);
	assert_int_equal(rec.connect_host.len, 0);
}

static void
test_contexts_run_out_and_come_back(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n";
	bool done;

	(void)state;
	setup_inspector("l7 = { contexts = 16; };");
	for (uint32_t e = 0; e < 16; e++) {
		struct vigil_flow_key k = key_of(e, VIGIL_IPPROTO_TCP, 80);

		assert_int_equal(pkt(e, &k, 0, 1, req, sizeof(req) - 1, false,
				     &done),
				 VIGIL_INSP_MORE);
	}
	struct vigil_flow_key k16 = key_of(16, VIGIL_IPPROTO_TCP, 80);

	assert_int_equal(pkt(16, &k16, 0, 1, req, sizeof(req) - 1, false,
			     &done),
			 VIGIL_INSP_SKIP);
	assert_true(done);
	assert_int_equal(C(VIGIL_CTR_l7_no_context), 1);
	/* The flows end in another order than they came: every context is
	 * found through the map and comes back. */
	for (uint32_t e = 0; e < 16; e++) {
		uint32_t x = (e * 7) % 16;

		assert_true(end(x));
		assert_memory_equal(rec.u.http.req.method.s, "GET", 3);
		assert_int_equal(rec.key.port[1], 40000 + x);
	}
	assert_int_equal(vigil_inspector_active(in), 0);
	assert_int_equal(pkt(16, &k16, 0, 1, req, sizeof(req) - 1, false,
			     &done),
			 VIGIL_INSP_MORE);
}

/*
 * Records are handed on by index and stay out of the pool until the reader
 * gives them back: with no spare records, two held records leave the third
 * flow uninspected (counted), and one given back lets the next one in.
 */
static void
test_records_held_by_the_reader(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	uint32_t idx[16];
	bool done;

	(void)state;
	setup_inspector("l7 = { contexts = 16; };");
	assert_int_equal(vigil_inspector_nrecs(in), 16);
	for (uint32_t e = 0; e < 16; e++) {
		struct vigil_flow_key k = key_of(e, VIGIL_IPPROTO_TCP, 80);

		assert_int_equal(pkt(e, &k, 0, 1, req, sizeof(req) - 1, false,
				     &done),
				 VIGIL_INSP_MORE);
		assert_true(vigil_inspect_end(in, e, &idx[e], &ctr));
		assert_int_equal(
			vigil_inspector_recs(in)[idx[e]].key.port[1],
			40000 + e);
	}
	assert_int_not_equal(idx[0], idx[1]);
	assert_int_equal(vigil_inspector_free_recs(in), 0);
	assert_int_equal(vigil_inspector_active(in), 0);
	/* Contexts are free, records are not. */
	struct vigil_flow_key k16 = key_of(16, VIGIL_IPPROTO_TCP, 80);

	assert_int_equal(pkt(16, &k16, 0, 1, req, sizeof(req) - 1, false,
			     &done),
			 VIGIL_INSP_SKIP);
	assert_true(done);
	assert_int_equal(C(VIGIL_CTR_l7_no_context), 1);
	/* A bad index is refused; a good one comes back on the return ring,
	 * as the reader gives it, and is taken from there. */
	uint32_t bad = 16;

	assert_int_equal(vigil_inspector_give(in, &bad, 1), 1);
	assert_int_equal(rte_ring_enqueue_elem(vigil_inspector_return_ring(in),
					       &idx[3], sizeof(idx[3])),
			 0);
	assert_int_equal(vigil_inspector_free_recs(in), 1);
	struct vigil_flow_key k17 = key_of(17, VIGIL_IPPROTO_TCP, 80);

	assert_int_equal(pkt(17, &k17, 0, 1, req, sizeof(req) - 1, false,
			     &done),
			 VIGIL_INSP_MORE);
	assert_int_equal(rte_ring_count(vigil_inspector_return_ring(in)), 0);
	assert_true(end(17));
	assert_int_equal(rec.key.port[1], 40017);
	/* The other records were not touched meanwhile. */
	assert_int_equal(vigil_inspector_recs(in)[idx[4]].key.port[1], 40004);
	for (uint32_t e = 0; e < 16; e++)
		if (e != 3)
			assert_int_equal(vigil_inspector_give(in, &idx[e], 1),
					 0);
	assert_int_equal(vigil_inspector_free_recs(in), 16);
}

static void
test_budget_ends_inspection(void **state)
{
	static char big[600];
	struct vigil_flow_key k = key_of(5, VIGIL_IPPROTO_TCP, 80);
	bool done;
	uint32_t seq = 1;

	(void)state;
	/* A request header that never ends, 64 bytes inspected at most. */
	setup_inspector("l7 = { inspect_bytes = 64; };");
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', sizeof(big) - 5);
	assert_int_equal(pkt(2, &k, 0, seq, big, 40, false, &done),
			 VIGIL_INSP_MORE);
	seq += 40;
	/* The client side is spent; the server's silence keeps the flow
	 * waiting, its end gives the record. */
	assert_int_equal(pkt(2, &k, 0, seq, big + 40, 40, true, &done),
			 VIGIL_INSP_MORE);
	assert_true(end(2));
	assert_int_equal(rec.service, VIGIL_L7_HTTP);
	assert_int_equal(vigil_inspector_active(in), 0);
}

static void
test_dns_cache(void **state)
{
	struct vigil_dnscache c;
	uint8_t a[16] = { 10, 96, 0, 1 }, b[16] = { 10, 96, 0, 2 };
	const uint64_t S = 1000000;
	const char *n;
	unsigned len;

	(void)state;
	/* 16 answers, kept at least 60 s. */
	assert_int_equal(vigil_dnscache_init(&c, 16, 60, SOCKET_ID_ANY), 0);
	/* Learned at t=100 s with a TTL of 5 s: the floor keeps it 60 s. */
	vigil_dnscache_put(&c, VIGIL_AF_INET, a, "api.example", 11, 100 * S,
			   105 * S);
	n = vigil_dnscache_get(&c, VIGIL_AF_INET, a, 150 * S, &len);
	assert_non_null(n);
	assert_int_equal(len, 11);
	assert_memory_equal(n, "api.example", 11);
	/* A flow that began before the answer is not named by it. */
	assert_null(vigil_dnscache_get(&c, VIGIL_AF_INET, a, 99 * S, &len));
	assert_int_equal(len, 0);
	/* After the floor: gone. Other family, other address: unknown. */
	assert_null(vigil_dnscache_get(&c, VIGIL_AF_INET, a, 161 * S, &len));
	assert_null(vigil_dnscache_get(&c, VIGIL_AF_INET6, a, 150 * S, &len));
	assert_null(vigil_dnscache_get(&c, VIGIL_AF_INET, b, 150 * S, &len));
	/* The same name again later: still valid from the first answer,
	 * for longer. */
	vigil_dnscache_put(&c, VIGIL_AF_INET, a, "api.example", 11, 150 * S,
			   150 * S);
	assert_non_null(vigil_dnscache_get(&c, VIGIL_AF_INET, a, 120 * S, &len));
	assert_non_null(vigil_dnscache_get(&c, VIGIL_AF_INET, a, 200 * S, &len));
	/* Another name for the address (a reused IP): from then on. */
	vigil_dnscache_put(&c, VIGIL_AF_INET, a, "db.example", 10, 170 * S,
			   300 * S);
	n = vigil_dnscache_get(&c, VIGIL_AF_INET, a, 180 * S, &len);
	assert_non_null(n);
	assert_memory_equal(n, "db.example", 10);
	assert_null(vigil_dnscache_get(&c, VIGIL_AF_INET, a, 160 * S, &len));
	/* Many more addresses than room: the table stays bounded, and the
	 * newest answers are there. */
	for (unsigned i = 0; i < 1000; i++) {
		uint8_t x[16] = { 172, 16, (uint8_t)(i >> 8), (uint8_t)i };

		vigil_dnscache_put(&c, VIGIL_AF_INET, x, "many", 4,
				   (200 + i) * S, (200 + i) * S);
	}
	{
		uint8_t last[16] = { 172, 16, 999 >> 8, 999 & 255 };

		assert_non_null(vigil_dnscache_get(&c, VIGIL_AF_INET, last,
						   1200 * S, &len));
	}
	vigil_dnscache_free(&c);
	/* Disabled: nothing kept, nothing allocated. */
	assert_int_equal(vigil_dnscache_init(&c, 0, 60, SOCKET_ID_ANY), 0);
	vigil_dnscache_put(&c, VIGIL_AF_INET, a, "x", 1, 0, S);
	assert_null(vigil_dnscache_get(&c, VIGIL_AF_INET, a, 0, &len));
}

static int
eal_setup(void **state)
{
	char *argv[] = { "test", "--no-huge", "-m", "512", "--no-pci",
			 "--no-shconf", "-l", "0", "--log-level=4" };

	(void)state;
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		return -1;
	mp = rte_pktmbuf_pool_create("insp_pool", 1023, 0,
				     RTE_ALIGN(sizeof(struct vigil_pkt_meta),
					       RTE_MBUF_PRIV_ALIGN),
				     2048, SOCKET_ID_ANY);
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

int
main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
	const struct CMUnitTest tests[] = {
		T(test_http_request_over_two_segments),
		T(test_dns_query_and_response),
		T(test_dns_over_tcp_split),
		T(test_dns_truncated_response_keeps_query),
		T(test_gap_stops_a_direction),
		T(test_unknown_protocol_frees_the_context),
		T(test_tls_after_starttls),
		T(test_tls_after_http_connect),
		T(test_http_after_socks5),
		T(test_contexts_run_out_and_come_back),
		T(test_records_held_by_the_reader),
		T(test_budget_ends_inspection),
		cmocka_unit_test(test_dns_cache),
	};
#undef T
	return cmocka_run_group_tests_name("inspect", tests, eal_setup,
					   eal_teardown);
}
