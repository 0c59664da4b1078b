/*
 * vigil DNS parser (see vigil_dns.h). Every read is checked against the
 * message length; names are decoded in a bounded loop.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "vigil_dns.h"

/* Read the name at *off in msg[0..len) into out (text, labels joined by
 * '.'); *off moves past the name where it is stored (not where pointers
 * lead). Returns VIGIL_L7_WHY_NONE or the reason it is malformed. */
static enum vigil_l7_why
read_name(const uint8_t *msg, uint32_t len, uint32_t *off, char *out,
	  uint16_t *outlen, bool *trunc, size_t cap)
{
	uint32_t pos = *off, wire = 0;
	unsigned jumps = 0;
	bool jumped = false;
	size_t n = 0;

	*trunc = false;
	for (;;) {
		uint8_t l;
		if (pos >= len)
			return VIGIL_L7_WHY_DNS_TRUNCATED;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			uint32_t target;
			if (pos + 1 >= len)
				return VIGIL_L7_WHY_DNS_TRUNCATED;
			target = ((uint32_t)(l & 0x3f) << 8) | msg[pos + 1];
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			if (++jumps > VIGIL_DNS_MAX_JUMPS)
				return VIGIL_L7_WHY_DNS_NAME_LOOP;
			if (target >= len)
				return VIGIL_L7_WHY_DNS_BAD_LABEL;
			pos = target;
			continue;
		}
		if ((l & 0xc0) != 0) /* 0x40, 0x80: extended / unassigned */
			return VIGIL_L7_WHY_DNS_BAD_LABEL;
		wire += 1u + l;
		if (wire > 255)
			return VIGIL_L7_WHY_DNS_NAME_TOO_LONG;
		if (l == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if (pos + 1 + l > len)
			return VIGIL_L7_WHY_DNS_TRUNCATED;
		if (n > 0) {
			if (n < cap)
				out[n++] = '.';
			else
				*trunc = true;
		}
		for (unsigned i = 0; i < l; i++) {
			if (n < cap)
				out[n++] = (char)msg[pos + 1 + i];
			else
				*trunc = true;
		}
		pos += 1u + l;
	}
	*outlen = (uint16_t)n;
	return VIGIL_L7_WHY_NONE;
}

static struct vigil_l7_ret
bad(enum vigil_l7_why w)
{
	return vigil_l7_ret(VIGIL_L7_MALFORMED, w, 0);
}

static struct vigil_l7_ret
parse_msg(const uint8_t *m, uint32_t len, struct vigil_dns_msg *out)
{
	uint32_t off = 12;
	enum vigil_l7_why w;
	char scratch[VIGIL_DNS_NAME_MAX];
	uint16_t sl;
	bool st;

	memset(out, 0, offsetof(struct vigil_dns_msg, answers));
	if (len < 12)
		return VIGIL_L7_RET_NOT_MINE();
	out->id = vigil_l7_be16(m);
	out->qr = m[2] >> 7;
	out->opcode = (m[2] >> 3) & 15;
	out->aa = (m[2] >> 2) & 1;
	out->tc = (m[2] >> 1) & 1;
	out->rd = m[2] & 1;
	out->ra = m[3] >> 7;
	out->rcode = m[3] & 15;
	out->qdcount = vigil_l7_be16(m + 4);
	out->ancount = vigil_l7_be16(m + 6);
	out->nscount = vigil_l7_be16(m + 8);
	out->arcount = vigil_l7_be16(m + 10);
	/* Opcodes 0 QUERY, 1 IQUERY, 2 STATUS, 4 NOTIFY, 5 UPDATE, 6 DSO. */
	if (out->opcode == 3 || out->opcode > 6)
		return VIGIL_L7_RET_NOT_MINE();
	if (!out->qr && out->opcode == 0 && out->qdcount == 0)
		return VIGIL_L7_RET_NOT_MINE();

	for (unsigned q = 0; q < out->qdcount; q++) {
		if (q == 0) {
			w = read_name(m, len, &off, out->query.s,
				      &out->query.len, &out->query.trunc,
				      sizeof(out->query.s));
		} else {
			w = read_name(m, len, &off, scratch, &sl, &st,
				      sizeof(scratch));
		}
		if (w != VIGIL_L7_WHY_NONE)
			return bad(w);
		if (off + 4 > len)
			return bad(VIGIL_L7_WHY_DNS_TRUNCATED);
		if (q == 0) {
			out->qtype = vigil_l7_be16(m + off);
			out->qclass = vigil_l7_be16(m + off + 2);
			out->has_query = true;
		}
		off += 4;
	}

	for (unsigned a = 0; a < out->ancount; a++) {
		uint16_t type, rclass, rdlen;
		uint32_t ttl;
		w = read_name(m, len, &off, scratch, &sl, &st,
			      sizeof(scratch));
		if (w != VIGIL_L7_WHY_NONE)
			return bad(w);
		if (off + 10 > len)
			return bad(VIGIL_L7_WHY_DNS_TRUNCATED);
		type = vigil_l7_be16(m + off);
		rclass = vigil_l7_be16(m + off + 2);
		ttl = vigil_l7_be32(m + off + 4);
		rdlen = vigil_l7_be16(m + off + 8);
		off += 10;
		if (off + rdlen > len)
			return bad(VIGIL_L7_WHY_DNS_TRUNCATED);
		/* rdlen 0: a deletion in UPDATE, or an IQUERY's answer; no
		 * data to report */
		if (rdlen > 0 && (type == 1 || type == 28 || type == 5)) {
			struct vigil_dns_answer *an;
			if (out->n_answers == VIGIL_DNS_ANSWERS_MAX) {
				out->answers_trunc = true;
				off += rdlen;
				continue;
			}
			an = &out->answers[out->n_answers];
			an->type = type;
			an->rclass = rclass;
			an->ttl = ttl;
			an->name.len = 0;
			an->name.trunc = false;
			if (type == 1 || type == 28) {
				if (rdlen != (type == 1 ? 4 : 16))
					return bad(VIGIL_L7_WHY_DNS_BAD_RDATA);
				memcpy(an->addr, m + off, rdlen);
			} else {
				uint32_t noff = off;
				w = read_name(m, off + rdlen, &noff, an->name.s,
					      &an->name.len, &an->name.trunc,
					      sizeof(an->name.s));
				if (w != VIGIL_L7_WHY_NONE)
					return bad(w);
				if (noff != off + rdlen)
					return bad(VIGIL_L7_WHY_DNS_BAD_RDATA);
			}
			out->n_answers++;
		}
		off += rdlen;
	}
	/* Authority and additional sections are not needed for the record;
	 * the message length is what the header section told. */
	return VIGIL_L7_RET_DONE(len);
}

struct vigil_l7_ret
vigil_dns_parse(const uint8_t *p, uint32_t len, bool tcp,
		struct vigil_dns_msg *out)
{
	struct vigil_l7_ret r;
	uint32_t ml;

	if (!tcp)
		return parse_msg(p, len, out);
	if (len < 2)
		return VIGIL_L7_RET_MORE(0);
	ml = vigil_l7_be16(p);
	if (ml < 12)
		return VIGIL_L7_RET_NOT_MINE();
	if (len < 2 + ml) {
		/* Say no early when the header already cannot be DNS. */
		if (len >= 14) {
			uint8_t op = (p[4] >> 3) & 15;
			if (op == 3 || op > 6)
				return VIGIL_L7_RET_NOT_MINE();
		}
		return VIGIL_L7_RET_MORE(2 + ml);
	}
	r = parse_msg(p + 2, ml, out);
	if (r.rc == VIGIL_L7_DONE)
		r.len = 2 + ml;
	return r;
}

static const struct {
	uint16_t v;
	const char *name;
} qtypes[] = {
	{ 1, "A" },	   { 2, "NS" },	     { 3, "MD" },	{ 4, "MF" },
	{ 5, "CNAME" },	   { 6, "SOA" },     { 7, "MB" },	{ 8, "MG" },
	{ 9, "MR" },	   { 10, "NULL" },   { 11, "WKS" },	{ 12, "PTR" },
	{ 13, "HINFO" },   { 14, "MINFO" },  { 15, "MX" },	{ 16, "TXT" },
	{ 17, "RP" },	   { 18, "AFSDB" },  { 19, "X25" },	{ 20, "ISDN" },
	{ 21, "RT" },	   { 22, "NSAP" },   { 23, "NSAP-PTR" }, { 24, "SIG" },
	{ 25, "KEY" },	   { 26, "PX" },     { 27, "GPOS" },	{ 28, "AAAA" },
	{ 29, "LOC" },	   { 30, "EID" },    { 31, "NIMLOC" },	{ 32, "NB" },
	{ 33, "SRV" },	   { 34, "ATMA" },   { 35, "NAPTR" },	{ 36, "KX" },
	{ 37, "CERT" },	   { 38, "A6" },     { 39, "DNAME" },	{ 40, "SINK" },
	{ 41, "OPT" },	   { 42, "APL" },    { 43, "DS" },	{ 44, "SSHFP" },
	{ 45, "IPSECKEY" }, { 46, "RRSIG" }, { 47, "NSEC" },	{ 48, "DNSKEY" },
	{ 49, "DHCID" },   { 50, "NSEC3" },  { 51, "NSEC3PARAM" }, { 52, "TLSA" },
	{ 53, "SMIMEA" },  { 55, "HIP" },    { 59, "CDS" },	{ 60, "CDNSKEY" },
	{ 61, "OPENPGPKEY" }, { 62, "CSYNC" }, { 63, "ZONEMD" }, { 64, "SVCB" },
	{ 65, "HTTPS" },   { 99, "SPF" },    { 100, "UINFO" },	{ 101, "UID" },
	{ 102, "GID" },	   { 103, "UNSPEC" }, { 249, "TKEY" },	{ 250, "TSIG" },
	{ 251, "IXFR" },   { 252, "AXFR" },  { 253, "MAILB" },	{ 254, "MAILA" },
	{ 255, "*" },	   { 256, "URI" },   { 257, "CAA" },	{ 32768, "TA" },
	{ 32769, "DLV" },
};

const char *
vigil_dns_qtype_name(uint16_t qtype, char buf[16])
{
	for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
		if (qtypes[i].v == qtype)
			return qtypes[i].name;
	snprintf(buf, 16, "query-%u", qtype);
	return buf;
}

const char *
vigil_dns_rcode_name(uint16_t rcode, char buf[16])
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE",
	};
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, 16, "rcode-%u", rcode);
	return buf;
}

size_t
vigil_dns_answer_text(const struct vigil_dns_answer *a, char *buf, size_t cap)
{
	char tmp[INET6_ADDRSTRLEN];
	size_t n;

	if (cap == 0)
		return 0;
	if (a->type == 1 || a->type == 28) {
		if (inet_ntop(a->type == 1 ? AF_INET : AF_INET6, a->addr, tmp,
			      sizeof(tmp)) == NULL)
			tmp[0] = '\0';
		n = strlen(tmp);
		if (n >= cap)
			n = cap - 1;
		memcpy(buf, tmp, n);
		buf[n] = '\0';
		return n;
	}
	return vigil_l7_escape(buf, cap, a->name.s, a->name.len);
}
