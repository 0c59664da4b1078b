/*
 * vigil TLS parser: the ClientHello (SNI, ALPN, versions, JA3, JA4), the
 * ServerHello (selected version, cipher, ALPN, JA3S) and, when it is sent in
 * the clear (TLS 1.2 and earlier), the server's Certificate (subject and
 * issuer of the first certificate, by a bounded DER walk), for the fields of
 * Zeek's ssl.log: version, server_name, next_protocol, cipher, ja3, ja3s,
 * ja4, subject, issuer.
 *
 * Fingerprints: JA3 and JA3S as salesforce/ja3 defines them (decimal
 * fields, GREASE values (RFC 8701) left out, MD5 in lower-case hex); JA4 as
 * FoxIO's technical details define it (JA4_a counts without GREASE, JA4_b
 * the sorted ciphers, JA4_c the sorted extensions without SNI and ALPN then
 * the signature algorithms in wire order, each hashed with SHA-256 and cut
 * to 12 hex digits). The hashes stream through the per-worker
 * struct vigil_l7_crypto: no string is built, nothing is allocated. With a
 * NULL crypto context the fields parse and the fingerprints stay empty.
 *
 * Input over TCP starts at a TLS record. A ClientHello larger than its
 * record (a handshake message fragmented over several records, which
 * browsers do not do) is reported as tls_fragmented_hello. A ClientHello
 * spanning TCP segments is the caller's to concatenate: NEED_MORE says the
 * total length needed.
 *
 * QUIC carries the ClientHello in CRYPTO frames without records:
 * vigil_tls_parse_client_hello() takes the handshake message itself, with
 * quic = true for JA4's "q".
 */
#ifndef VIGIL_TLS_H
#define VIGIL_TLS_H

#include "vigil_l7.h"
#include "vigil_l7_crypto.h"

#define VIGIL_TLS_ALPN_MAX 4  /* ALPN protocols kept from a ClientHello */
#define VIGIL_TLS_FP_CIPHERS 256 /* ciphers / extensions a JA4 sorts */
#define VIGIL_TLS_FP_EXTS 128

struct vigil_tls_client_hello {
	uint16_t record_version; /* 0 over QUIC */
	uint16_t legacy_version;
	uint16_t max_version; /* highest supported_versions, else legacy */
	uint16_t n_ciphers;   /* without GREASE */
	uint16_t n_extensions; /* without GREASE */
	VIGIL_L7_STR(256) server_name;
	uint8_t n_alpn;
	bool alpn_trunc; /* more ALPN protocols than VIGIL_TLS_ALPN_MAX */
	VIGIL_L7_STR(32) alpn[VIGIL_TLS_ALPN_MAX];
	bool fp_trunc;	 /* more ciphers/extensions than JA4 storage */
	char ja3[33];	 /* "" without a crypto context */
	char ja4[40];	 /* e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1" */
};

struct vigil_tls_server_hello {
	bool has_server_hello;
	uint16_t record_version;
	uint16_t legacy_version;
	uint16_t version; /* supported_versions when present, else legacy */
	uint16_t cipher;
	VIGIL_L7_STR(32) alpn; /* the selected protocol: Zeek next_protocol */
	char ja3s[33];
	bool has_cert; /* subject / issuer below are set */
	VIGIL_L7_STR(256) subject; /* RFC 2253, as Zeek's x509/ssl logs */
	VIGIL_L7_STR(256) issuer;
};

/* One ClientHello handshake message (type 1, 4-byte header included) of
 * len bytes. DONE with the message length, NEED_MORE with the total,
 * NOT_MINE when it is not a ClientHello, MALFORMED otherwise. */
struct vigil_l7_ret
vigil_tls_parse_client_hello(struct vigil_l7_crypto *c, const uint8_t *p,
			     uint32_t len, bool quic,
			     struct vigil_tls_client_hello *out);

/* The client's first bytes over TCP: a handshake record holding a
 * ClientHello. DONE with the bytes through the ClientHello. */
struct vigil_l7_ret vigil_tls_parse_client(struct vigil_l7_crypto *c,
					   const uint8_t *p, uint32_t len,
					   struct vigil_tls_client_hello *out);

/* The server's first bytes over TCP: ServerHello, then Certificate when it
 * is in the clear. DONE once there is nothing more to see in the clear
 * (after the Certificate, ServerHelloDone, a ChangeCipherSpec or
 * application record, or a TLS 1.3 ServerHello); NEED_MORE with the length
 * of the next record before that (fields so far are set: has_server_hello,
 * has_cert). */
struct vigil_l7_ret vigil_tls_parse_server(struct vigil_l7_crypto *c,
					   const uint8_t *p, uint32_t len,
					   struct vigil_tls_server_hello *out);

/* Does p start like a TLS handshake record of this side (ClientHello from
 * the client, ServerHello from the server)? For vigil_l7_guess. */
bool vigil_tls_is_handshake_start(const uint8_t *p, uint32_t len,
				  bool from_client);

/* Zeek's names: version "TLSv12", "TLSv13", "SSLv3", ...; cipher
 * "TLS_AES_128_GCM_SHA256", ... or NULL when unknown (Zeek writes
 * "unknown-N"). */
const char *vigil_tls_version_name(uint16_t v);
const char *vigil_tls_cipher_name(uint16_t cipher);

static inline bool
vigil_tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* ClientHellos whose JA3 and JA4 came from the context's fingerprint memo
 * (a client stack seen before), since the context was created. */
uint64_t vigil_tls_memo_hits(struct vigil_l7_crypto *c);

#endif /* VIGIL_TLS_H */
