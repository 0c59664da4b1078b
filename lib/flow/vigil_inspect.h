/*
 * vigil inspect: application metadata on the worker, with the parsers of
 * lib/l7.
 *
 * A flow is inspected from its first payload while a context is free: the
 * payload of each direction in order (TCP by sequence number, UDP a
 * datagram at a time), up to l7.inspect_bytes a direction. A direction's
 * bytes are gathered in the context's buffer (l7.buffer_bytes) so that a
 * message spread over segments (a TLS ClientHello over two) reaches its
 * parser whole. The protocol is recognised by content (vigil_l7_guess),
 * never by port. Inspection ends when both directions have said what they
 * have to say, a budget or buffer runs out, a parser reports a malformed
 * message (counted, its reason kept), the TCP stream has a gap, or the flow
 * ends. Its results then leave as one L7 record (struct vigil_l7_rec) and
 * the context goes back to the pool: state needed only while a flow is
 * inspected lives here, not in the flow table.
 *
 * Memory: l7.contexts contexts a worker, allocated at start (rte_malloc):
 * the two direction buffers (QUIC, which has no stream, uses the same bytes
 * for its CRYPTO reassembly) and the index of the record being filled.
 * Records (2.6 KB each) live in a pool of their own, so that a finished
 * record is handed on by index and never copied: the worker puts the index
 * on its L7 ring, the reader (the control thread) formats the record and
 * gives the index back on a return ring (vigil_inspector_give). The pool
 * holds a record for every context, every slot of the L7 ring, every
 * record the worker may have staged and a reader's burst
 * (vigil_inspector_create's `spare`), so it does not run dry while the
 * reader keeps giving records back. A flow being
 * inspected is marked in its state (VIGIL_FF_INSPECT) and finds its
 * context through a small open-addressing map keyed by table entry, so the
 * 72-byte flow state needs no room for it. Nothing is allocated per packet;
 * the parsers' hashing uses a per-worker struct vigil_l7_crypto.
 *
 * Threading: one inspector per worker, touched only by it.
 */
#ifndef VIGIL_INSPECT_H
#define VIGIL_INSPECT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "vigil_conf.h"
#include "vigil_decode.h"
#include "vigil_dns.h"
#include "vigil_http.h"
#include "vigil_l7.h"
#include "vigil_l7_crypto.h"
#include "vigil_quic.h"
#include "vigil_ssh.h"
#include "vigil_stats.h"
#include "vigil_stratum.h"
#include "vigil_tls.h"

/* vigil_l7_rec.have: which parts of the record were parsed. */
#define VIGIL_L7R_CLIENT 0x01 /* the originator's side (query, request,
			       * ClientHello, client banner, Initial) */
#define VIGIL_L7R_SERVER 0x02 /* the responder's side */

/* What inspection of one flow found. */
struct vigil_l7_rec {
	struct vigil_flow_key key;
	uint64_t first_us; /* of the flow record it belongs to: with the key
			    * (and the sensor) it gives the record's uid */
	uint8_t service;   /* enum vigil_l7_service */
	uint8_t have;	   /* VIGIL_L7R_* */
	uint8_t why;	   /* enum vigil_l7_why that stopped it, 0 = none */
	uint8_t worker;
	uint32_t pad;
	/* TLS through an HTTP proxy: the CONNECT request's host (empty
	 * otherwise); the record is then a TLS record. */
	VIGIL_L7_STR(256) connect_host;
	union {
		/* DNS: the response when one was seen (it repeats the
		 * question), else the query. */
		struct vigil_dns_msg dns;
		struct {
			struct vigil_http_req req;
			struct vigil_http_resp resp;
		} http;
		/* TLS; QUIC: ch from the client's Initial, version. */
		struct {
			struct vigil_tls_client_hello ch;
			struct vigil_tls_server_hello sh;
			uint32_t quic_version;
		} tls;
		struct {
			struct vigil_ssh_banner client, server;
		} ssh;
		struct {
			struct vigil_stratum_msg client, server;
		} stratum;
	} u;
};

struct vigil_inspector;

/*
 * The inspector of one worker, with conf->l7_contexts contexts; NULL with
 * err set when memory is short (conf->l7_enabled 0: not to be called).
 */
struct vigil_inspector *vigil_inspector_create(const struct vigil_conf *conf,
					       unsigned worker, uint32_t spare,
					       int socket, char *err,
					       size_t errlen);
void vigil_inspector_free(struct vigil_inspector *in);

/* Bytes the inspector of this configuration takes (for memory sizing),
 * its record pool of l7.contexts + spare records included. */
uint64_t vigil_inspector_bytes(const struct vigil_conf *conf, uint32_t spare);

/* What the worker tells the inspector about a packet of a flow. */
struct vigil_insp_pkt {
	uint32_t entry;		  /* flow table entry */
	const struct vigil_flow_key *key;
	uint64_t first_us;	  /* the flow record's */
	unsigned role;		  /* 0: from the originator */
	const struct vigil_pkt_meta *m;
	const struct rte_mbuf *mb;
};

enum vigil_insp_rc {
	VIGIL_INSP_SKIP,     /* not inspected (no payload, no context...) */
	VIGIL_INSP_MORE,     /* being inspected: the flow keeps its context */
	VIGIL_INSP_FINISHED, /* done: *rec is the index of the record (see
			      * vigil_inspector_recs), the context is free
			      * again; the caller owns the record until it
			      * gives it back */
};

/*
 * A packet of a flow that is not marked done. started: the flow already
 * has a context (VIGIL_FF_INSPECT). On VIGIL_INSP_MORE the caller marks the
 * flow as inspected; on FINISHED or SKIP-with-done it marks it done
 * (*done set: inspection of this flow record is over, do not start again).
 */
enum vigil_insp_rc vigil_inspect_packet(struct vigil_inspector *in,
					const struct vigil_insp_pkt *p,
					bool started, bool *done,
					uint32_t *rec,
					struct vigil_counters *ctr);

/*
 * The flow of `entry` ends (or restarts as a new record) while inspected:
 * its record's index to *rec (the caller then owns it) and free the
 * context. Returns false when it found nothing worth a record (no protocol
 * recognised; the record stays in the pool).
 */
bool vigil_inspect_end(struct vigil_inspector *in, uint32_t entry,
		       uint32_t *rec, struct vigil_counters *ctr);

/* The record pool: its base and size, fixed at creation and safe to read
 * from the reader's thread. Record i is vigil_inspector_recs(in)[i]; once
 * handed on, it is not written until it is given back. */
struct vigil_l7_rec *vigil_inspector_recs(const struct vigil_inspector *in);
uint32_t vigil_inspector_nrecs(const struct vigil_inspector *in);

/* The ring the reader gives records back on (any one thread may enqueue;
 * room for the whole pool). The inspector takes from it when its own stack
 * of free records is empty. */
struct rte_ring *vigil_inspector_return_ring(const struct vigil_inspector *in);

/* Records back into the pool (the inspector's thread only). Indices out of
 * range or given twice are a caller bug: out-of-range ones are ignored and
 * counted in the return value (the number refused). */
unsigned vigil_inspector_give(struct vigil_inspector *in, const uint32_t *idx,
			      unsigned n);

/* Records free in the pool, those on the return ring included. */
uint32_t vigil_inspector_free_recs(const struct vigil_inspector *in);

/* Contexts in use. */
uint32_t vigil_inspector_active(const struct vigil_inspector *in);

#endif /* VIGIL_INSPECT_H */
