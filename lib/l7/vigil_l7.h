/*
 * vigil L7 parsers: what every application-protocol parser shares.
 *
 * The parsers under lib/l7 (vigil_dns, vigil_http, vigil_tls, vigil_ssh,
 * vigil_stratum, vigil_quic) are pure functions of the bytes they are
 * given: no allocation, no I/O, no DPDK, no global state written. Each one
 * reads a contiguous buffer (the caller concatenates segments when a
 * message spans them) and fills a fixed-size result struct the caller
 * owns. Every read is bounds-checked against the length passed in; there
 * is no recursion (DNS compression pointers are followed in a loop with a
 * jump limit, nested JSON is skipped with a depth counter).
 *
 * Every parser answers with a struct vigil_l7_ret:
 *   VIGIL_L7_DONE       the message was parsed; len = bytes it took
 *   VIGIL_L7_NEED_MORE  the message is cut short; len = the total length
 *                       the buffer must reach when the protocol says it
 *                       (a TLS record, DNS over TCP), 0 when it does not
 *                       (an HTTP header block without its blank line yet).
 *                       Fields parsed so far are already in the result.
 *   VIGIL_L7_NOT_MINE   these bytes are not this protocol
 *   VIGIL_L7_MALFORMED  they are this protocol but broken; why = the
 *                       reason (VIGIL_L7_WHY_*, names for counters from
 *                       vigil_l7_why_name()). Inspection should stop.
 *
 * Strings in results are the bytes as they were on the wire (not
 * NUL-terminated, may hold any byte), with their length and a flag set
 * when they did not fit. vigil_l7_escape() renders them the way Zeek's
 * logs do, for whoever publishes them.
 *
 * Hashing and decryption (JA3/JA3S MD5, JA4 SHA-256, QUIC Initial
 * HKDF/AES) use OpenSSL's libcrypto through a per-worker struct
 * vigil_l7_crypto created once at init (vigil_l7_crypto.h): no allocation
 * after that.
 *
 * Threading: the parsers are reentrant; a struct vigil_l7_crypto belongs
 * to one thread.
 */
#ifndef VIGIL_L7_H
#define VIGIL_L7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vigil_l7_rc {
	VIGIL_L7_DONE = 0,
	VIGIL_L7_NEED_MORE,
	VIGIL_L7_NOT_MINE,
	VIGIL_L7_MALFORMED,
};

/* Why a message is malformed: one list, names usable as counter names. */
#define VIGIL_L7_WHYS(X)                                                      \
	X(NONE, "none")                                                       \
	X(DNS_BAD_HEADER, "dns_bad_header")                                   \
	X(DNS_BAD_LABEL, "dns_bad_label")                                     \
	X(DNS_NAME_LOOP, "dns_name_loop")                                     \
	X(DNS_NAME_TOO_LONG, "dns_name_too_long")                             \
	X(DNS_TRUNCATED, "dns_truncated")                                     \
	X(DNS_BAD_RDATA, "dns_bad_rdata")                                     \
	X(HTTP_BAD_REQUEST_LINE, "http_bad_request_line")                     \
	X(HTTP_BAD_STATUS_LINE, "http_bad_status_line")                       \
	X(HTTP_BAD_HEADER, "http_bad_header")                                 \
	X(HTTP_HEADER_TOO_LONG, "http_header_too_long")                       \
	X(TLS_BAD_RECORD, "tls_bad_record")                                   \
	X(TLS_BAD_HANDSHAKE, "tls_bad_handshake")                             \
	X(TLS_BAD_EXTENSION, "tls_bad_extension")                             \
	X(TLS_FRAGMENTED_HELLO, "tls_fragmented_hello")                       \
	X(TLS_BAD_CERT, "tls_bad_cert")                                       \
	X(SSH_BAD_BANNER, "ssh_bad_banner")                                   \
	X(SSH_BANNER_TOO_LONG, "ssh_banner_too_long")                         \
	X(STRATUM_BAD_JSON, "stratum_bad_json")                               \
	X(STRATUM_TOO_LONG, "stratum_line_too_long")                          \
	X(QUIC_BAD_HEADER, "quic_bad_header")                                 \
	X(QUIC_DECRYPT, "quic_decrypt_failed")                                \
	X(QUIC_BAD_FRAME, "quic_bad_frame")                                   \
	X(QUIC_CRYPTO_OVERFLOW, "quic_crypto_overflow")                       \
	X(CRYPTO, "l7_crypto_error")

enum vigil_l7_why {
#define X(n, s) VIGIL_L7_WHY_##n,
	VIGIL_L7_WHYS(X)
#undef X
	VIGIL_L7_WHY_MAX
};

struct vigil_l7_ret {
	uint8_t rc;  /* enum vigil_l7_rc */
	uint8_t why; /* enum vigil_l7_why, for VIGIL_L7_MALFORMED */
	uint16_t reserved;
	uint32_t len; /* DONE: bytes used; NEED_MORE: total needed, 0 unknown */
};

static inline struct vigil_l7_ret
vigil_l7_ret(enum vigil_l7_rc rc, enum vigil_l7_why why, uint32_t len)
{
	struct vigil_l7_ret r = { (uint8_t)rc, (uint8_t)why, 0, len };
	return r;
}
#define VIGIL_L7_RET_DONE(n) vigil_l7_ret(VIGIL_L7_DONE, VIGIL_L7_WHY_NONE, (n))
#define VIGIL_L7_RET_MORE(n)                                                  \
	vigil_l7_ret(VIGIL_L7_NEED_MORE, VIGIL_L7_WHY_NONE, (n))
#define VIGIL_L7_RET_NOT_MINE()                                               \
	vigil_l7_ret(VIGIL_L7_NOT_MINE, VIGIL_L7_WHY_NONE, 0)
#define VIGIL_L7_RET_BAD(w) vigil_l7_ret(VIGIL_L7_MALFORMED, VIGIL_L7_WHY_##w, 0)

const char *vigil_l7_why_name(enum vigil_l7_why why);

/* The services the parsers recognise; names are Zeek's conn.log service
 * values ("ssl" for TLS) where Zeek has one. */
enum vigil_l7_service {
	VIGIL_L7_NONE = 0,
	VIGIL_L7_DNS,
	VIGIL_L7_HTTP,
	VIGIL_L7_TLS,
	VIGIL_L7_SSH,
	VIGIL_L7_QUIC,
	VIGIL_L7_STRATUM,
	VIGIL_L7_SERVICE_MAX
};

const char *vigil_l7_service_name(enum vigil_l7_service s);

/*
 * Recognise the protocol of one direction of a flow from its first payload
 * bytes (the first datagram for UDP, the stream's first bytes for TCP), by
 * content only. from_client: the bytes come from the flow's initiator.
 * ip_proto: 6 (TCP) or 17 (UDP). sport/dport: the ports of this direction,
 * used only as a tie-breaker for DNS over UDP (whose header has no magic):
 * on ports 53, 5353 and 5355 a plausible header is enough, elsewhere the
 * whole question must parse. Returns VIGIL_L7_NONE when nothing matches
 * (with a few bytes only, more may still match).
 */
enum vigil_l7_service vigil_l7_guess(const uint8_t *p, uint32_t len,
				     bool from_client, uint8_t ip_proto,
				     uint16_t sport, uint16_t dport);

/*
 * Bounded strings in results. len <= sizeof(s); trunc set when the wire
 * value was longer than s (len is then sizeof(s)).
 */
#define VIGIL_L7_STR(n)                                                       \
	struct {                                                              \
		uint16_t len;                                                 \
		bool trunc;                                                   \
		char s[n];                                                    \
	}

/* Copy n wire bytes into a bounded string (what VIGIL_L7_SET uses). */
static inline void
vigil_l7_str_set(char *s, size_t cap, uint16_t *len, bool *trunc,
		 const uint8_t *p, size_t n)
{
	size_t k = n < cap ? n : cap;
	for (size_t i = 0; i < k; i++)
		s[i] = (char)p[i];
	*len = (uint16_t)k;
	*trunc = n > cap;
}
#define VIGIL_L7_SET(str, p, n)                                               \
	vigil_l7_str_set((str).s, sizeof((str).s), &(str).len, &(str).trunc,   \
			 (p), (n))

/*
 * Render captured bytes printable the way Zeek's logs do: bytes 0x20..0x7e
 * are copied except the backslash, every other byte (and '\') becomes
 * "\xNN" (lower-case hex). Writes at most dstcap - 1 characters and a NUL;
 * never splits an escape. Returns the number of characters written
 * (without the NUL).
 */
size_t vigil_l7_escape(char *dst, size_t dstcap, const void *src, size_t len);

/* Small helpers the parsers share (bounds-checked big-endian reads). */
static inline uint16_t
vigil_l7_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t
vigil_l7_be24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint32_t
vigil_l7_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

#endif /* VIGIL_L7_H */
