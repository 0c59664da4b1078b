/*
 * vigil QUIC parser: the client's Initial packets (RFC 9000 17.2.2), whose
 * CRYPTO frames carry the TLS ClientHello: version, connection ids, and
 * through vigil_tls_parse_client_hello() the SNI, ALPN and JA4 ("q...").
 *
 * Initial packets are protected with keys anyone can derive from the
 * Destination Connection ID (RFC 9001 5.2): HKDF-Extract with the
 * version's salt, HKDF-Expand-Label "client in", then "quic key",
 * "quic iv", "quic hp" ("quicv2 ..." for QUIC v2, RFC 9369). The parser
 * removes header protection (AES-128-ECB mask), decrypts the payload
 * (AES-128-GCM, the header as associated data) and collects CRYPTO frames
 * into a caller-owned struct vigil_quic_crypto_buf: a ClientHello may take
 * two or more Initial packets (post-quantum key shares), arriving in any
 * order, and a packet may carry its CRYPTO frames out of order.
 *
 * Versions: 1, 2, drafts 22 to 34 and the mvfst versions that follow
 * drafts 22 and 27. Only the first packet of a datagram is read
 * (the Initial comes first when packets are coalesced). Call it on the
 * client's datagrams only: the server's Initials use the "server in" keys
 * of the client's first DCID, and fail here as quic_decrypt_failed.
 *
 * Returns (see vigil_l7.h): DONE when the ClientHello is complete and
 * parsed (len = the bytes of this QUIC packet); NEED_MORE (len 0) when
 * more Initial packets must bring the rest of it, and also for a
 * version negotiation packet or a long header of a version not known here
 * (vigil_quic_is_any_long_header: the client's next Initial may be of a
 * known version; out->version says which); NOT_MINE when the datagram is
 * not a QUIC long header, or a long header of a known version that is not
 * an Initial; MALFORMED
 * quic_bad_header, quic_decrypt_failed (wrong keys or altered packet),
 * quic_bad_frame, quic_crypto_overflow (the ClientHello is longer than
 * VIGIL_QUIC_CRYPTO_MAX), or a TLS reason from the ClientHello.
 *
 * Needs the crypto context (it decrypts): without one, MALFORMED
 * l7_crypto_error.
 */
#ifndef VIGIL_QUIC_H
#define VIGIL_QUIC_H

#include "vigil_l7.h"
#include "vigil_l7_crypto.h"
#include "vigil_tls.h"

#define VIGIL_QUIC_CRYPTO_MAX 4096 /* ClientHello bytes reassembled */
#define VIGIL_QUIC_PACKET_MAX 8192 /* largest Initial payload decrypted */

/* CRYPTO stream reassembly of one client: zero it before the first
 * packet. 4.6 KiB; take it from the inspection pool. */
struct vigil_quic_crypto_buf {
	uint8_t data[VIGIL_QUIC_CRYPTO_MAX];
	uint64_t seen[VIGIL_QUIC_CRYPTO_MAX / 64]; /* bytes received */
	uint32_t packets;			    /* Initials decrypted */
};

struct vigil_quic_initial {
	uint32_t version;
	uint8_t dcid_len, scid_len;
	uint8_t dcid[20], scid[20];
	uint32_t packet_number;
	bool has_client_hello;
	struct vigil_tls_client_hello ch;
};

struct vigil_l7_ret
vigil_quic_parse_initial(struct vigil_l7_crypto *c, const uint8_t *p,
			 uint32_t len, struct vigil_quic_crypto_buf *cb,
			 struct vigil_quic_initial *out);

/* A long header with a version this parser knows (the first 5 bytes).
 * For vigil_l7_guess. */
bool vigil_quic_is_long_header(const uint8_t *p, uint32_t len);

/* Any QUIC long header a flow may start with: one of a known version
 * (as above), a version negotiation packet (version 0), or a long header
 * of another version in a datagram of at least 1200 bytes (a client's
 * first Initial, e.g. with a greased version). For vigil_l7_guess, after
 * DNS. */
bool vigil_quic_is_any_long_header(const uint8_t *p, uint32_t len);

/* Zeek's quic.log version name: "1", "quicv2", "draft-22".."draft-34",
 * "mvfst (faceb002)"; NULL if unknown. */
const char *vigil_quic_version_name(uint32_t version);

#endif /* VIGIL_QUIC_H */
