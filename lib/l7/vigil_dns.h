/*
 * vigil DNS parser: one DNS message (RFC 1035) over UDP, or over TCP with
 * its 2-byte length prefix, into the fields of Zeek's dns.log: query,
 * qtype (qtype_name), rcode (rcode_name), and the answers of type A, AAAA
 * and CNAME with their TTLs.
 *
 * Names are followed through compression pointers in a loop of at most
 * VIGIL_DNS_MAX_JUMPS jumps (more is a loop: dns_name_loop); a name longer
 * than 255 bytes on the wire is dns_name_too_long. Only the first question
 * is kept. Answers of other types are skipped (their owner names are still
 * checked).
 *
 * Returns (see vigil_l7.h): DONE with the message's length (TCP: with the
 * prefix); NEED_MORE over TCP until the whole message is there (len = the
 * total); NOT_MINE when the header cannot be DNS (short datagram, unused
 * opcode, a query without a question); MALFORMED with the reason, the
 * fields read before the fault kept in *out.
 */
#ifndef VIGIL_DNS_H
#define VIGIL_DNS_H

#include "vigil_l7.h"

#define VIGIL_DNS_NAME_MAX 255	/* text of a name, dots included */
#define VIGIL_DNS_ANSWERS_MAX 8 /* A/AAAA/CNAME answers kept */
#define VIGIL_DNS_MAX_JUMPS 16	/* compression pointers per name */

struct vigil_dns_answer {
	uint16_t type; /* 1 A, 28 AAAA, 5 CNAME */
	uint16_t rclass;
	uint32_t ttl;
	uint8_t addr[16];		     /* A: 4 bytes, AAAA: 16 */
	VIGIL_L7_STR(VIGIL_DNS_NAME_MAX) name; /* CNAME: the target */
};

struct vigil_dns_msg {
	uint16_t id;
	uint8_t opcode, rcode;
	bool qr, aa, tc, rd, ra;
	uint16_t qdcount, ancount, nscount, arcount;
	bool has_query;
	VIGIL_L7_STR(VIGIL_DNS_NAME_MAX) query;
	uint16_t qtype, qclass;
	uint8_t n_answers;
	bool answers_trunc; /* more A/AAAA/CNAME answers than fit */
	struct vigil_dns_answer answers[VIGIL_DNS_ANSWERS_MAX];
};

struct vigil_l7_ret vigil_dns_parse(const uint8_t *p, uint32_t len, bool tcp,
				    struct vigil_dns_msg *out);

/* Zeek's qtype_name ("A", "AAAA", "*", else "query-N") and rcode_name
 * ("NOERROR", ..., else "rcode-N"); buf (16 bytes) holds the fallbacks. */
const char *vigil_dns_qtype_name(uint16_t qtype, char buf[16]);
const char *vigil_dns_rcode_name(uint16_t rcode, char buf[16]);

/* One answer as Zeek writes it in answers: dotted quad, RFC 5952 IPv6, or
 * the CNAME target escaped (vigil_l7_escape). Returns the length. */
size_t vigil_dns_answer_text(const struct vigil_dns_answer *a, char *buf,
			     size_t cap);

#endif /* VIGIL_DNS_H */
