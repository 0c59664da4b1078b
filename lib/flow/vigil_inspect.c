/*
 * vigil inspect: see vigil_inspect.h for the model. This file: the context
 * pool and its entry map, in-order gathering of each direction, and which
 * parser hears what.
 */
#include "vigil_inspect.h"

#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#define NONE UINT32_MAX
/* A TCP direction whose first bytes match nothing is given up once this
 * many are there (fewer may still grow into a match). */
#define GUESS_BYTES 64

enum dir_state {
	D_OPEN = 0, /* listening */
	D_DONE,	    /* its message was parsed */
	D_STOP,	    /* gave up: gap, budget, buffer, unknown */
	D_WATCH,    /* TCP whose first bytes are no protocol vigil reads (an
		     * SMTP, IMAP, POP3, FTP, LDAP or XMPP dialogue before
		     * STARTTLS, a SOCKS handshake, a proxy's CONNECT): each
		     * new segment is checked for the start of a TLS
		     * handshake, for WATCH_SEGS segments within the budget */
};

/* Segments a direction is watched for a TLS handshake after a preamble. */
#define WATCH_SEGS 16

struct insp_dir {
	uint32_t next_seq; /* TCP: the next byte expected */
	uint32_t seen;	   /* payload bytes taken, against the budget */
	uint32_t len;	   /* bytes gathered in the buffer */
	uint32_t need;	   /* TCP: the parser wants this many before it can
			    * say more (0: unknown) */
	uint8_t state;	   /* enum dir_state */
	uint8_t segs;	   /* segments watched (D_WATCH) */
	bool seq_known;
};

struct insp_ctx {
	uint32_t entry;	    /* flow table entry, NONE when free */
	uint32_t next_free; /* free list */
	uint8_t proto;
	bool tunnel;	      /* an HTTP CONNECT was accepted: the TLS
			       * after it is read */
	struct insp_dir d[2]; /* by role: 0 originator (client) */
	struct vigil_l7_rec *rec; /* from the pool */
	uint32_t rec_idx;
	/* Then the buffer region: two direction buffers, or QUIC's
	 * CRYPTO reassembly (struct vigil_quic_crypto_buf). */
	uint8_t buf[] __rte_aligned(RTE_CACHE_LINE_SIZE);
};

struct vigil_inspector {
	uint32_t ncontexts;
	uint32_t free_head;
	uint32_t active;
	uint32_t inspect_bytes;
	uint32_t buffer_bytes;
	unsigned worker;
	size_t stride; /* bytes a context, buffers included */
	uint8_t *ctxs;
	/* Entry -> context: linear probing, key entry + 1 (0 = empty). */
	uint32_t mapmask;
	uint32_t *mkey;
	uint32_t *mval;
	struct vigil_l7_crypto *crypto;
	/* Record pool: a stack of free indices, last given back on top (its
	 * lines are the likeliest to be in cache). */
	uint32_t nrecs;
	uint32_t nfree;
	uint32_t *free_recs; /* [nrecs] */
	struct vigil_l7_rec *recs;
	/* Indices the reader gives back: taken when the stack is empty. */
	struct rte_ring *returned;
};

static size_t
region_bytes(uint32_t buffer_bytes)
{
	size_t two = 2 * (size_t)buffer_bytes;

	return RTE_MAX(two, sizeof(struct vigil_quic_crypto_buf));
}

static size_t
ctx_stride(uint32_t buffer_bytes)
{
	return RTE_ALIGN_CEIL(sizeof(struct insp_ctx) +
				      region_bytes(buffer_bytes),
			      RTE_CACHE_LINE_SIZE);
}

static uint32_t
map_size(uint32_t ncontexts)
{
	return rte_align32pow2(2 * ncontexts);
}

uint64_t
vigil_inspector_bytes(const struct vigil_conf *conf, uint32_t spare)
{
	uint64_t nrecs = (uint64_t)conf->l7_contexts + spare;

	return (uint64_t)conf->l7_contexts * ctx_stride(conf->l7_buffer_bytes) +
	       (uint64_t)map_size(conf->l7_contexts) * 8 +
	       nrecs * (sizeof(struct vigil_l7_rec) + sizeof(uint32_t));
}

static inline struct insp_ctx *
ctx_at(const struct vigil_inspector *in, uint32_t i)
{
	return (struct insp_ctx *)(in->ctxs + (size_t)i * in->stride);
}

struct vigil_inspector *
vigil_inspector_create(const struct vigil_conf *conf, unsigned worker,
		       uint32_t spare, int socket, char *err, size_t errlen)
{
	struct vigil_inspector *in;
	uint32_t msize = map_size(conf->l7_contexts);

	in = rte_zmalloc_socket("vigil_insp", sizeof(*in), RTE_CACHE_LINE_SIZE,
				socket);
	if (in == NULL)
		goto nomem;
	in->ncontexts = conf->l7_contexts;
	in->inspect_bytes = conf->l7_inspect_bytes;
	in->buffer_bytes = conf->l7_buffer_bytes;
	in->worker = worker;
	in->stride = ctx_stride(conf->l7_buffer_bytes);
	in->mapmask = msize - 1;
	in->ctxs = rte_malloc_socket("vigil_insp_ctx",
				     in->stride * in->ncontexts,
				     RTE_CACHE_LINE_SIZE, socket);
	in->mkey = rte_zmalloc_socket("vigil_insp_map", sizeof(uint32_t) * msize,
				      RTE_CACHE_LINE_SIZE, socket);
	in->mval = rte_malloc_socket("vigil_insp_map", sizeof(uint32_t) * msize,
				     RTE_CACHE_LINE_SIZE, socket);
	in->nrecs = conf->l7_contexts + spare;
	in->recs = rte_malloc_socket("vigil_l7_recs",
				     sizeof(*in->recs) * in->nrecs,
				     RTE_CACHE_LINE_SIZE, socket);
	{
		char name[RTE_RING_NAMESIZE];

		/* Room for every record: giving one back never fails. */
		snprintf(name, sizeof(name), "vigil_l7f_%u", worker);
		in->returned = rte_ring_create_elem(
			name, sizeof(uint32_t), in->nrecs, socket,
			RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	}
	in->free_recs = rte_malloc_socket("vigil_l7_recs",
					  sizeof(uint32_t) * in->nrecs,
					  RTE_CACHE_LINE_SIZE, socket);
	if (in->ctxs == NULL || in->mkey == NULL || in->mval == NULL ||
	    in->recs == NULL || in->free_recs == NULL || in->returned == NULL)
		goto nomem;
	/* Record 0 on top of the stack. */
	for (uint32_t i = 0; i < in->nrecs; i++)
		in->free_recs[i] = in->nrecs - 1 - i;
	in->nfree = in->nrecs;
	for (uint32_t i = 0; i < in->ncontexts; i++) {
		struct insp_ctx *c = ctx_at(in, i);

		c->entry = NONE;
		c->next_free = i + 1 < in->ncontexts ? i + 1 : NONE;
	}
	in->free_head = 0;
	/* Hashing and QUIC decryption: prepared once, no allocation after
	 * (see vigil_l7_crypto.h). */
	in->crypto = vigil_l7_crypto_create();
	if (in->crypto == NULL) {
		snprintf(err, errlen,
			 "worker %u: cannot prepare libcrypto for the L7 "
			 "parsers (MD5, SHA-256, AES)",
			 worker);
		vigil_inspector_free(in);
		return NULL;
	}
	return in;
nomem:
	snprintf(err, errlen,
		 "worker %u: cannot allocate %u inspection contexts of %zu "
		 "bytes and %u L7 records of %zu (l7.contexts, "
		 "l7.buffer_bytes, l7.ring_size): out of memory",
		 worker, conf->l7_contexts, ctx_stride(conf->l7_buffer_bytes),
		 conf->l7_contexts + spare, sizeof(struct vigil_l7_rec));
	vigil_inspector_free(in);
	return NULL;
}

void
vigil_inspector_free(struct vigil_inspector *in)
{
	if (in == NULL)
		return;
	vigil_l7_crypto_free(in->crypto);
	rte_free(in->ctxs);
	rte_free(in->mkey);
	rte_free(in->mval);
	rte_free(in->recs);
	rte_free(in->free_recs);
	rte_ring_free(in->returned);
	rte_free(in);
}

struct vigil_l7_rec *
vigil_inspector_recs(const struct vigil_inspector *in)
{
	return in->recs;
}

uint32_t
vigil_inspector_nrecs(const struct vigil_inspector *in)
{
	return in->nrecs;
}

struct rte_ring *
vigil_inspector_return_ring(const struct vigil_inspector *in)
{
	return in->returned;
}

uint32_t
vigil_inspector_free_recs(const struct vigil_inspector *in)
{
	return in->nfree + rte_ring_count(in->returned);
}

unsigned
vigil_inspector_give(struct vigil_inspector *in, const uint32_t *idx,
		     unsigned n)
{
	unsigned refused = 0;

	for (unsigned i = 0; i < n; i++) {
		if (idx[i] >= in->nrecs || in->nfree >= in->nrecs) {
			refused++;
			continue;
		}
		in->free_recs[in->nfree++] = idx[i];
	}
	return refused;
}

uint32_t
vigil_inspector_active(const struct vigil_inspector *in)
{
	return in->active;
}

/* ---- entry map ------------------------------------------------------- */

static inline uint32_t
slot_of(const struct vigil_inspector *in, uint32_t entry)
{
	return (entry * 2654435761u) & in->mapmask;
}

static uint32_t
map_find(const struct vigil_inspector *in, uint32_t entry)
{
	for (uint32_t s = slot_of(in, entry);; s = (s + 1) & in->mapmask) {
		if (in->mkey[s] == 0)
			return NONE;
		if (in->mkey[s] == entry + 1)
			return in->mval[s];
	}
}

static void
map_put(struct vigil_inspector *in, uint32_t entry, uint32_t ctx)
{
	uint32_t s = slot_of(in, entry);

	/* At most ncontexts keys in twice as many slots: there is room. */
	while (in->mkey[s] != 0)
		s = (s + 1) & in->mapmask;
	in->mkey[s] = entry + 1;
	in->mval[s] = ctx;
}

/* Linear probing deletion: shift the run after the hole back. */
static void
map_del(struct vigil_inspector *in, uint32_t entry)
{
	uint32_t s = slot_of(in, entry);

	while (in->mkey[s] != entry + 1) {
		if (in->mkey[s] == 0)
			return;
		s = (s + 1) & in->mapmask;
	}
	for (uint32_t j = (s + 1) & in->mapmask;; j = (j + 1) & in->mapmask) {
		uint32_t home;

		if (in->mkey[j] == 0)
			break;
		home = slot_of(in, in->mkey[j] - 1);
		/* Move j into the hole at s unless its home lies in (s, j]. */
		if (((j - home) & in->mapmask) >= ((j - s) & in->mapmask)) {
			in->mkey[s] = in->mkey[j];
			in->mval[s] = in->mval[j];
			s = j;
		}
	}
	in->mkey[s] = 0;
}

/* ---- contexts -------------------------------------------------------- */

static struct insp_ctx *
ctx_take(struct vigil_inspector *in, const struct vigil_insp_pkt *p)
{
	uint32_t i = in->free_head;
	struct insp_ctx *c;

	if (i == NONE)
		return NULL;
	if (in->nfree == 0)
		/* The stack is empty: what the reader gave back, a burst. */
		in->nfree = rte_ring_dequeue_burst_elem(
			in->returned, in->free_recs, sizeof(uint32_t),
			RTE_MIN(in->nrecs, 256u), NULL);
	if (in->nfree == 0)
		return NULL;
	c = ctx_at(in, i);
	in->free_head = c->next_free;
	in->active++;
	c->entry = p->entry;
	c->proto = p->key->proto;
	c->tunnel = false;
	memset(c->d, 0, sizeof(c->d));
	c->rec_idx = in->free_recs[--in->nfree];
	c->rec = &in->recs[c->rec_idx];
	/* The header only: the part of the union a service uses is cleared
	 * when the service is known (rec_begin). */
	memset(c->rec, 0, offsetof(struct vigil_l7_rec, u));
	memcpy(&c->rec->key, p->key, sizeof(c->rec->key));
	c->rec->first_us = p->first_us;
	c->rec->worker = (uint8_t)in->worker;
	map_put(in, p->entry, i);
	return c;
}

static void
ctx_put(struct vigil_inspector *in, struct insp_ctx *c)
{
	uint32_t i = (uint32_t)(((uint8_t *)c - in->ctxs) / in->stride);

	map_del(in, c->entry);
	c->entry = NONE;
	c->next_free = in->free_head;
	in->free_head = i;
	in->active--;
}

/* ---- parsing --------------------------------------------------------- */

static const enum vigil_ctr service_ctr[VIGIL_L7_SERVICE_MAX] = {
	[VIGIL_L7_NONE] = VIGIL_CTR_l7_unknown,
	[VIGIL_L7_DNS] = VIGIL_CTR_l7_dns,
	[VIGIL_L7_HTTP] = VIGIL_CTR_l7_http,
	[VIGIL_L7_TLS] = VIGIL_CTR_l7_tls,
	[VIGIL_L7_SSH] = VIGIL_CTR_l7_ssh,
	[VIGIL_L7_QUIC] = VIGIL_CTR_l7_quic,
	[VIGIL_L7_STRATUM] = VIGIL_CTR_l7_stratum,
};

/*
 * The service of a record is known: clear what its formatter reads whether
 * or not a parser got to it (lib/publish relies on a zeroed start). DNS
 * needs its header only: answers count by n_answers.
 */
static void
rec_begin(struct vigil_l7_rec *r)
{
	switch (r->service) {
	case VIGIL_L7_DNS:
		memset(&r->u.dns, 0, offsetof(struct vigil_dns_msg, answers));
		break;
	case VIGIL_L7_HTTP:
		memset(&r->u.http, 0, sizeof(r->u.http));
		break;
	case VIGIL_L7_TLS:
	case VIGIL_L7_QUIC:
		memset(&r->u.tls, 0, sizeof(r->u.tls));
		break;
	case VIGIL_L7_SSH:
		memset(&r->u.ssh, 0, sizeof(r->u.ssh));
		break;
	case VIGIL_L7_STRATUM:
		memset(&r->u.stratum, 0, sizeof(r->u.stratum));
		break;
	default:
		break;
	}
}

/* What a parser's answer means for direction d. */
static void
settle(struct insp_ctx *c, struct insp_dir *d, unsigned role,
       struct vigil_l7_ret r, bool stream_full, struct vigil_counters *ctr)
{
	switch (r.rc) {
	case VIGIL_L7_DONE:
		d->state = D_DONE;
		c->rec->have |= role ? VIGIL_L7R_SERVER : VIGIL_L7R_CLIENT;
		break;
	case VIGIL_L7_NEED_MORE:
		d->need = r.len;
		if (stream_full) {
			d->state = D_STOP;
			vigil_ctr_add(ctr, VIGIL_CTR_l7_buffer_full, 1);
		}
		break;
	case VIGIL_L7_NOT_MINE:
		d->state = D_STOP;
		break;
	case VIGIL_L7_MALFORMED:
	default:
		d->state = D_STOP;
		if (c->rec->why == 0) {
			c->rec->why = r.why;
			vigil_ctr_add(ctr, VIGIL_CTR_l7_malformed, 1);
		}
		break;
	}
}

/*
 * Bytes of direction `role` (for TCP: all gathered so far, from the start
 * of the stream; for UDP: one datagram). `full`: the stream buffer can take
 * no more.
 */
static void
parse(struct vigil_inspector *in, struct insp_ctx *c, unsigned role,
      const struct vigil_insp_pkt *p, const uint8_t *b, uint32_t len,
      bool full, struct vigil_counters *ctr)
{
	struct vigil_l7_rec *r = c->rec;
	struct insp_dir *d = &c->d[role];
	bool tcp = c->proto == VIGIL_IPPROTO_TCP;
	struct vigil_l7_ret ret;

	if (r->service == VIGIL_L7_NONE) {
		unsigned side = p->m->dir;
		enum vigil_l7_service s = vigil_l7_guess(
			b, len, role == 0, c->proto, p->key->port[side],
			p->key->port[side ^ 1]);

		if (s == VIGIL_L7_NONE) {
			if (!tcp)
				d->state = D_STOP;
			else if (len >= GUESS_BYTES || full)
				d->state = D_WATCH;
			return;
		}
		r->service = (uint8_t)s;
		rec_begin(r);
		vigil_ctr_add(ctr, service_ctr[s], 1);
		if (s == VIGIL_L7_QUIC)
			memset(c->buf, 0, sizeof(struct vigil_quic_crypto_buf));
	}
	switch (r->service) {
	case VIGIL_L7_DNS: {
		struct vigil_dns_msg msg;

		/* The response repeats the question: it wins over the
		 * query; a later query does not replace an answer. A
		 * message is kept only whole: parsed aside while the record
		 * holds one already, else in place. */
		if (r->have == 0) {
			ret = vigil_dns_parse(b, len, tcp, &r->u.dns);
			/* A message cut after its question (a snap length, a
			 * bad record) still names the query, as tshark and
			 * Zeek show it; its l7_error says why it stopped. */
			if (ret.rc != VIGIL_L7_DONE &&
			    !(ret.rc == VIGIL_L7_MALFORMED &&
			      r->u.dns.has_query))
				memset(&r->u.dns, 0,
				       offsetof(struct vigil_dns_msg, answers));
			break;
		}
		ret = vigil_dns_parse(b, len, tcp, &msg);
		if (ret.rc == VIGIL_L7_DONE &&
		    (role == 1 || !(r->have & VIGIL_L7R_SERVER)))
			memcpy(&r->u.dns, &msg,
			       offsetof(struct vigil_dns_msg, answers) +
				       (size_t)RTE_MIN(msg.n_answers,
						       VIGIL_DNS_ANSWERS_MAX) *
					       sizeof(msg.answers[0]));
		break;
	}
	case VIGIL_L7_HTTP:
		ret = role ? vigil_http_parse_response(b, len, &r->u.http.resp)
			   : vigil_http_parse_request(b, len, &r->u.http.req);
		break;
	case VIGIL_L7_TLS:
		ret = role ? vigil_tls_parse_server(in->crypto, b, len,
						    &r->u.tls.sh)
			   : vigil_tls_parse_client(in->crypto, b, len,
						    &r->u.tls.ch);
		break;
	case VIGIL_L7_SSH:
		ret = vigil_ssh_parse_banner(b, len, role == 0,
					     role ? &r->u.ssh.server
						  : &r->u.ssh.client);
		break;
	case VIGIL_L7_STRATUM:
		ret = vigil_stratum_parse(b, len,
					  role ? &r->u.stratum.server
					       : &r->u.stratum.client);
		break;
	case VIGIL_L7_QUIC: {
		struct vigil_quic_initial q;

		if (role == 1) { /* server Initials: other keys, not read */
			d->state = D_DONE;
			return;
		}
		memset(&q, 0, sizeof(q));
		ret = vigil_quic_parse_initial(
			in->crypto, b, len,
			(struct vigil_quic_crypto_buf *)(void *)c->buf, &q);
		if (q.has_client_hello) {
			r->u.tls.ch = q.ch;
			r->u.tls.quic_version = q.version;
		}
		break;
	}
	default:
		d->state = D_STOP;
		return;
	}
	settle(c, d, role, ret, full, ctr);
}

/* An HTTP CONNECT the proxy accepted (2xx): what follows is tunnelled. */
static bool
connect_accepted(const struct vigil_l7_rec *r)
{
	const struct vigil_http_req *q = &r->u.http.req;
	uint16_t st = r->u.http.resp.status_code;

	return (r->have & VIGIL_L7R_SERVER) && st >= 200 && st < 300 &&
	       q->method.len == 7 && memcmp(q->method.s, "CONNECT", 7) == 0;
}

/* Is there nothing more to learn from this flow? */
static bool
over(struct insp_ctx *c)
{
	const struct vigil_l7_rec *r = c->rec;
	bool both = (c->d[0].state == D_DONE || c->d[0].state == D_STOP) &&
		    (c->d[1].state == D_DONE || c->d[1].state == D_STOP);

	if (r->why != 0)
		return true;
	switch (r->service) {
	case VIGIL_L7_NONE:
		/* Nothing recognised, and the client will say no more. */
		return c->d[0].state == D_STOP || both;
	case VIGIL_L7_DNS:
		return (r->have & VIGIL_L7R_SERVER) || both;
	case VIGIL_L7_QUIC:
		return (r->have & VIGIL_L7R_CLIENT) ||
		       c->d[0].state != D_OPEN;
	case VIGIL_L7_HTTP:
		if (both && !c->tunnel && connect_accepted(r)) {
			/* Watch the tunnel for the TLS handshake. */
			c->tunnel = true;
			for (unsigned i = 0; i < 2; i++) {
				c->d[i].state = D_WATCH;
				c->d[i].segs = 0;
				c->d[i].len = 0;
				c->d[i].need = 0;
			}
			return false;
		}
		return both;
	default:
		return both;
	}
}

/*
 * What a segment starts after a preamble: a TLS handshake (ClientHello
 * from the client, ServerHello from the server) or an HTTP request or
 * response. VIGIL_L7_NONE otherwise.
 */
static enum vigil_l7_service
restart_at(const uint8_t *b, uint32_t len, unsigned role)
{
	bool complete = false;

	if (vigil_tls_is_handshake_start(b, len, role == 0))
		return VIGIL_L7_TLS;
	if ((role == 0 ? vigil_http_is_request_start(b, len, &complete)
		       : vigil_http_is_response_start(b, len, &complete)) &&
	    complete)
		return VIGIL_L7_HTTP;
	return VIGIL_L7_NONE;
}

/* The record becomes a TLS record: the tunnel an HTTP CONNECT opened. */
static void
into_tunnel(struct vigil_l7_rec *r, struct vigil_counters *ctr)
{
	const struct vigil_http_req *q = &r->u.http.req;

	VIGIL_L7_SET(r->connect_host, (const uint8_t *)q->host.s, q->host.len);
	r->have = 0;
	r->service = VIGIL_L7_TLS;
	rec_begin(r);
	vigil_ctr_add(ctr, VIGIL_CTR_l7_tls, 1);
}

/* Take this packet's payload into direction `role`. */
static void
take(struct vigil_inspector *in, struct insp_ctx *c, unsigned role,
     const struct vigil_insp_pkt *p, struct vigil_counters *ctr)
{
	const struct vigil_pkt_meta *m = p->m;
	const struct rte_mbuf *mb = p->mb;
	struct insp_dir *d = &c->d[role];
	uint32_t off = m->payload_off, have, plen = m->payload_len;
	const uint8_t *pl;

	if (d->state != D_OPEN && d->state != D_WATCH)
		return;
	/* The captured bytes of the payload in the first segment (a chained
	 * mbuf is inspected as far as its first segment goes). */
	if (off >= rte_pktmbuf_data_len(mb))
		return;
	have = RTE_MIN(plen, (uint32_t)rte_pktmbuf_data_len(mb) - off);
	pl = rte_pktmbuf_mtod_offset(mb, const uint8_t *, off);

	if (c->proto != VIGIL_IPPROTO_TCP) {
		/* A datagram is a message: parse it where it lies. */
		d->seen += have;
		parse(in, c, role, p, pl, have, false, ctr);
		if (d->state == D_OPEN && d->seen >= in->inspect_bytes)
			d->state = D_STOP;
		return;
	}

	uint8_t *buf = c->buf + (size_t)role * in->buffer_bytes;
	uint32_t seq = m->tcp_seq, skip, room, n;

	if (!d->seq_known) {
		d->next_seq = seq;
		d->seq_known = true;
	}
	if ((int32_t)(seq - d->next_seq) > 0) {
		/* A hole: what follows cannot be read in order. */
		d->state = D_STOP;
		vigil_ctr_add(ctr, VIGIL_CTR_l7_gap, 1);
		return;
	}
	skip = d->next_seq - seq; /* retransmitted bytes already taken */
	if (skip >= plen)
		return;
	if (skip >= have) {
		/* The new bytes were not captured (snap length). */
		d->state = D_STOP;
		vigil_ctr_add(ctr, VIGIL_CTR_l7_gap, 1);
		return;
	}
	if (d->state == D_WATCH ||
	    (d->len > 0 && restart_at(buf, d->len, role) == VIGIL_L7_NONE)) {
		/* After a preamble (watched, or gathered but not yet told
		 * apart): a segment that starts a TLS handshake or an HTTP
		 * message is read from its first byte as a new stream. */
		enum vigil_l7_service s =
			skip == 0 ? restart_at(pl, have, role) : VIGIL_L7_NONE;

		if (s != VIGIL_L7_NONE &&
		    (c->rec->service == VIGIL_L7_NONE ||
		     c->rec->service == s ||
		     (c->tunnel && s == VIGIL_L7_TLS))) {
			if (c->tunnel && c->rec->service == VIGIL_L7_HTTP)
				into_tunnel(c->rec, ctr);
			d->state = D_OPEN;
			d->len = 0;
			d->need = 0;
			if (s == VIGIL_L7_TLS)
				vigil_ctr_add(ctr, VIGIL_CTR_l7_starttls, 1);
		} else if (d->state == D_WATCH) {
			d->seen += RTE_MIN(have - skip,
					   in->inspect_bytes - d->seen);
			d->next_seq = seq + plen;
			if (++d->segs >= WATCH_SEGS ||
			    d->seen >= in->inspect_bytes)
				d->state = D_STOP;
			return;
		}
	}
	room = RTE_MIN(in->buffer_bytes - d->len, in->inspect_bytes - d->seen);
	n = RTE_MIN(have - skip, room);
	d->seen += n;
	d->next_seq = seq + plen;
	if (d->len == 0) {
		/* Nothing gathered yet (most messages fit in one segment):
		 * parse the bytes where they lie, and keep them only when
		 * the parser wants more. */
		parse(in, c, role, p, pl + skip, n, n == in->buffer_bytes, ctr);
		if (d->state == D_OPEN) {
			memcpy(buf, pl + skip, n);
			d->len = n;
		}
	} else {
		memcpy(buf + d->len, pl + skip, n);
		d->len += n;
		/* A message whose length the parser knows (a TLS record,
		 * DNS over TCP) is parsed again only once it is all there,
		 * not at every segment. */
		if (d->need == 0 || d->len >= d->need ||
		    d->len == in->buffer_bytes)
			parse(in, c, role, p, buf, d->len,
			      d->len == in->buffer_bytes, ctr);
	}
	if (d->state == D_OPEN) {
		if (have < plen) {
			/* Cut by the snap length: the stream has a hole. */
			d->state = D_STOP;
			vigil_ctr_add(ctr, VIGIL_CTR_l7_gap, 1);
		} else if (d->seen >= in->inspect_bytes || n < have - skip) {
			d->state = D_STOP; /* budget spent */
		}
	}
}

/* Inspection is over: the record out (when it says something) and the
 * context back. */
static bool
finish(struct vigil_inspector *in, struct insp_ctx *c, uint32_t *rec,
       struct vigil_counters *ctr)
{
	bool some = c->rec->service != VIGIL_L7_NONE;

	if (some) {
		*rec = c->rec_idx;
	} else {
		vigil_ctr_add(ctr, VIGIL_CTR_l7_unknown, 1);
		in->free_recs[in->nfree++] = c->rec_idx;
	}
	c->rec = NULL;
	ctx_put(in, c);
	return some;
}

enum vigil_insp_rc
vigil_inspect_packet(struct vigil_inspector *in, const struct vigil_insp_pkt *p,
		     bool started, bool *done, uint32_t *rec,
		     struct vigil_counters *ctr)
{
	const struct vigil_pkt_meta *m = p->m;
	struct insp_ctx *c;

	*done = false;
	if (!started) {
		/* Wait for the first payload; fragments are not read. */
		if (m->payload_len == 0 || m->payload_off == 0 ||
		    (m->notes & VIGIL_NOTE_FRAGMENT))
			return VIGIL_INSP_SKIP;
		if (p->key->proto != VIGIL_IPPROTO_TCP &&
		    p->key->proto != VIGIL_IPPROTO_UDP) {
			*done = true;
			return VIGIL_INSP_SKIP;
		}
		c = ctx_take(in, p);
		if (c == NULL) {
			vigil_ctr_add(ctr, VIGIL_CTR_l7_no_context, 1);
			*done = true;
			return VIGIL_INSP_SKIP;
		}
		vigil_ctr_add(ctr, VIGIL_CTR_l7_inspected, 1);
	} else {
		uint32_t i = map_find(in, p->entry);

		if (i == NONE) { /* cannot happen: the flag says it has one */
			*done = true;
			return VIGIL_INSP_SKIP;
		}
		c = ctx_at(in, i);
	}
	if (m->payload_len > 0 && m->payload_off != 0 &&
	    !(m->notes & VIGIL_NOTE_FRAGMENT))
		take(in, c, p->role, p, ctr);
	if (!over(c))
		return VIGIL_INSP_MORE;
	*done = true;
	return finish(in, c, rec, ctr) ? VIGIL_INSP_FINISHED : VIGIL_INSP_SKIP;
}

bool
vigil_inspect_end(struct vigil_inspector *in, uint32_t entry,
		  uint32_t *rec, struct vigil_counters *ctr)
{
	uint32_t i = map_find(in, entry);

	if (i == NONE)
		return false;
	return finish(in, ctx_at(in, i), rec, ctr);
}
