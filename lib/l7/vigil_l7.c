/*
 * vigil L7 common parts: reason and service names, Zeek-style escaping,
 * and the content-based protocol classifier (vigil_l7_guess).
 *
 * The classifier looks at magic a protocol puts first (a TLS handshake
 * record, "SSH-", an HTTP method or "HTTP/1.", a QUIC long header with a
 * known version, a JSON-RPC object naming a mining.* method); DNS, which
 * has none, must show a header and a question that parse. A UDP datagram
 * that is not DNS is still QUIC when it is a version negotiation or a
 * client's long header of another version (a greased one). Ports never
 * decide, except that on the DNS ports a UDP datagram needs only a
 * plausible header.
 */
#include <string.h>

#include "vigil_dns.h"
#include "vigil_http.h"
#include "vigil_l7.h"
#include "vigil_quic.h"
#include "vigil_ssh.h"
#include "vigil_stratum.h"
#include "vigil_tls.h"

static const char *const why_names[] = {
#define X(n, s) s,
	VIGIL_L7_WHYS(X)
#undef X
};

const char *
vigil_l7_why_name(enum vigil_l7_why why)
{
	if ((unsigned)why >= VIGIL_L7_WHY_MAX)
		return "unknown";
	return why_names[why];
}

const char *
vigil_l7_service_name(enum vigil_l7_service s)
{
	static const char *const names[] = {
		[VIGIL_L7_NONE] = "",	     [VIGIL_L7_DNS] = "dns",
		[VIGIL_L7_HTTP] = "http",    [VIGIL_L7_TLS] = "ssl",
		[VIGIL_L7_SSH] = "ssh",	     [VIGIL_L7_QUIC] = "quic",
		[VIGIL_L7_STRATUM] = "stratum",
	};
	if ((unsigned)s >= VIGIL_L7_SERVICE_MAX)
		return "";
	return names[s];
}

size_t
vigil_l7_escape(char *dst, size_t dstcap, const void *src, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *p = src;
	size_t n = 0;

	if (dstcap == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (c >= 0x20 && c <= 0x7e && c != '\\') {
			if (n + 1 >= dstcap)
				break;
			dst[n++] = (char)c;
		} else {
			if (n + 4 >= dstcap)
				break;
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hx[c >> 4];
			dst[n++] = hx[c & 15];
		}
	}
	dst[n] = '\0';
	return n;
}

static bool
dns_port(uint16_t port)
{
	return port == 53 || port == 5353 || port == 5355;
}

/* A DNS header that makes sense on its own (12 bytes at p). */
static bool
dns_header_plausible(const uint8_t *p)
{
	uint8_t op = (p[2] >> 3) & 15;
	uint16_t qd = vigil_l7_be16(p + 4), an = vigil_l7_be16(p + 6);
	bool qr = p[2] >> 7;

	if (op == 3 || op > 6 || (p[3] & 0x40)) /* Z bit is zero */
		return false;
	if (qd > 16 || an > 256)
		return false;
	if (!qr && (an > 0 || qd == 0) && op == 0)
		return false;
	return true;
}

static enum vigil_l7_service
guess_dns(const uint8_t *p, uint32_t len, bool tcp, bool port_hint)
{
	struct vigil_dns_msg m;
	struct vigil_l7_ret r;

	if (tcp) {
		if (len < 14 || vigil_l7_be16(p) < 12)
			return VIGIL_L7_NONE;
		if (!dns_header_plausible(p + 2))
			return VIGIL_L7_NONE;
		if (len < 2u + vigil_l7_be16(p))
			return port_hint ? VIGIL_L7_DNS : VIGIL_L7_NONE;
	} else if (len < 12 || !dns_header_plausible(p)) {
		return VIGIL_L7_NONE;
	}
	r = vigil_dns_parse(p, len, tcp, &m);
	if (r.rc == VIGIL_L7_DONE && (m.has_query || port_hint))
		return VIGIL_L7_DNS;
	if (r.rc == VIGIL_L7_MALFORMED && port_hint)
		return VIGIL_L7_DNS; /* a broken message on a DNS port */
	return VIGIL_L7_NONE;
}

enum vigil_l7_service
vigil_l7_guess(const uint8_t *p, uint32_t len, bool from_client,
	       uint8_t ip_proto, uint16_t sport, uint16_t dport)
{
	bool complete;

	if (p == NULL || len == 0)
		return VIGIL_L7_NONE;
	if (ip_proto == 17) {
		if (vigil_quic_is_long_header(p, len))
			return VIGIL_L7_QUIC;
		if (guess_dns(p, len, false,
			      dns_port(sport) || dns_port(dport)) ==
		    VIGIL_L7_DNS)
			return VIGIL_L7_DNS;
		/* A version negotiation or a greased version: after DNS,
		 * whose header can look like a long header. */
		if (vigil_quic_is_any_long_header(p, len))
			return VIGIL_L7_QUIC;
		return VIGIL_L7_NONE;
	}
	if (ip_proto != 6)
		return VIGIL_L7_NONE;
	if (vigil_tls_is_handshake_start(p, len, from_client))
		return VIGIL_L7_TLS;
	if (vigil_ssh_is_banner_start(p, len, from_client))
		return VIGIL_L7_SSH;
	if (from_client ? vigil_http_is_request_start(p, len, &complete)
			: vigil_http_is_response_start(p, len, &complete)) {
		if (complete)
			return VIGIL_L7_HTTP;
	}
	if (vigil_stratum_looks_like(p, len))
		return VIGIL_L7_STRATUM;
	return guess_dns(p, len, true, dns_port(sport) || dns_port(dport));
}
