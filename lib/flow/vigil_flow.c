/*
 * vigil flow: worker stage (see vigil_flow.h for the model).
 *
 * Records are first staged in a small worker-local array and then moved to
 * the record ring in one burst, so the ring is touched once per loop.
 */
#include "vigil_flow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#define NIBBLES 0x1111111111111111ull
#define NIBBLE_HI 0x8888888888888888ull

static const char hist_upper[VIGIL_H_NLETTERS] = "SHADFRTW";
static const char hist_lower[VIGIL_H_NLETTERS] = "shadfrtw";

/* ---- flow state ------------------------------------------------------ */

static inline void
add_split(uint32_t *lo, uint16_t *hi, uint32_t v)
{
	uint32_t old = *lo;

	*lo = old + v;
	if (*lo < old)
		(*hi)++;
}

/* Is `code` among the first nhist 4-bit codes? SWAR: a lane of x is zero
 * exactly where the code matches; lanes past nhist are masked off, and a
 * borrow can only mark a lane above a real zero, so the answer is exact. */
static inline bool
hist_has(const struct vigil_flow_state *f, unsigned code)
{
	uint64_t x = f->hist ^ (code * NIBBLES);
	uint64_t valid = f->nhist >= 16 ? ~0ull
					: (1ull << (4 * f->nhist)) - 1;

	return (((x - NIBBLES) & ~x & NIBBLE_HI) & valid) != 0;
}

static inline void
hist_add(struct vigil_flow_state *f, unsigned role, enum vigil_hist h)
{
	unsigned code = h + 8 * role;

	if (f->nhist >= VIGIL_HIST_MAX || hist_has(f, code))
		return;
	f->hist |= (uint64_t)code << (4 * f->nhist);
	f->nhist++;
}

bool
vigil_flow_seen(const struct vigil_flow_state *f, enum vigil_hist h,
		unsigned role)
{
	return hist_has(f, h + 8 * role);
}

unsigned
vigil_flow_history(const struct vigil_flow_state *f, char *buf, unsigned len)
{
	unsigned n = 0;

	if (len == 0)
		return 0;
	if ((f->flags & VIGIL_FF_FLIPPED) && n + 1 < len)
		buf[n++] = '^';
	for (unsigned i = 0; i < f->nhist && n + 1 < len; i++) {
		unsigned code = (unsigned)(f->hist >> (4 * i)) & 15;

		buf[n++] = code < 8 ? hist_upper[code] : hist_lower[code - 8];
	}
	buf[n] = '\0';
	return n;
}

static inline bool
seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static bool
tcp_closed(const struct vigil_flow_state *f)
{
	return (vigil_flow_seen(f, VIGIL_H_FIN, 0) &&
		vigil_flow_seen(f, VIGIL_H_FIN, 1)) ||
	       vigil_flow_seen(f, VIGIL_H_RST, 0) ||
	       vigil_flow_seen(f, VIGIL_H_RST, 1);
}

void
vigil_flow_init(struct vigil_flow_state *f, const struct vigil_pkt_meta *m)
{
	memset(f, 0, sizeof(*f));
	f->flags = VIGIL_FF_IN_USE | (m->dir ? VIGIL_FF_ORIG : 0);
	f->first_us = m->ts_us;
	/* A flow first seen by its SYN-ACK belongs to the other side. */
	if (m->key.proto == VIGIL_IPPROTO_TCP &&
	    (m->tcp_flags & (VIGIL_TCP_SYN | VIGIL_TCP_ACK)) ==
		    (VIGIL_TCP_SYN | VIGIL_TCP_ACK))
		f->flags ^= VIGIL_FF_ORIG | VIGIL_FF_FLIPPED;
}

static void
tcp_update(struct vigil_flow_state *f, const struct vigil_pkt_meta *m,
	   unsigned role)
{
	uint8_t fl = m->tcp_flags;
	uint8_t seqflag = role ? VIGIL_FF_SEQ1 : VIGIL_FF_SEQ0;
	uint32_t len = m->payload_len;

	if (fl & VIGIL_TCP_SYN)
		hist_add(f, role,
			 (fl & VIGIL_TCP_ACK) ? VIGIL_H_SYNACK : VIGIL_H_SYN);
	if (fl & VIGIL_TCP_FIN)
		hist_add(f, role, VIGIL_H_FIN);
	if (fl & VIGIL_TCP_RST)
		hist_add(f, role, VIGIL_H_RST);
	uint32_t seq = m->tcp_seq;

	if (!(f->flags & seqflag)) {
		/* The SYN takes one sequence number before the data. */
		f->u.tcp.isn[role] = seq + ((fl & VIGIL_TCP_SYN) ? 1 : 0);
		f->u.tcp.end[role] = f->u.tcp.isn[role] + len;
		f->flags |= seqflag;
	} else if (!(fl & VIGIL_TCP_SYN)) {
		uint32_t end = seq + len;

		/* Only segments that carry data move the end: a pure ACK
		 * after a FIN sits one past the data (the FIN's number). */
		if (len > 0 && !seq_after(end, f->u.tcp.end[role]))
			hist_add(f, role, VIGIL_H_RETX);
		if (len > 0 && seq_after(end, f->u.tcp.end[role]))
			f->u.tcp.end[role] = end;
		/* Joined mid-stream and an earlier segment shows up late. */
		if (seq_after(f->u.tcp.isn[role], seq) &&
		    !vigil_flow_seen(f, role ? VIGIL_H_SYNACK : VIGIL_H_SYN,
				     role))
			f->u.tcp.isn[role] = seq;
	}
	if (m->tcp_win == 0 && !(fl & (VIGIL_TCP_RST | VIGIL_TCP_SYN)))
		hist_add(f, role, VIGIL_H_ZWIN);
	if (len > 0)
		hist_add(f, role, VIGIL_H_DATA);
	else if ((fl & (VIGIL_TCP_SYN | VIGIL_TCP_FIN | VIGIL_TCP_RST |
			VIGIL_TCP_ACK)) == VIGIL_TCP_ACK)
		hist_add(f, role, VIGIL_H_ACK);
}

bool
vigil_flow_update(struct vigil_flow_state *f, const struct vigil_pkt_meta *m)
{
	unsigned role = m->dir != vigil_flow_orig_side(f);
	bool tcp = m->key.proto == VIGIL_IPPROTO_TCP;

	/* A fresh SYN on a finished connection is a new connection. */
	if (tcp && (m->tcp_flags & (VIGIL_TCP_SYN | VIGIL_TCP_ACK)) ==
			   VIGIL_TCP_SYN &&
	    (f->pkts[0] | f->pkts[1]) != 0 && tcp_closed(f))
		return false;

	f->pkts[role]++;
	add_split(&f->l2_lo[role], &f->l2_hi[role], m->l2_len);
	add_split(&f->ip_lo[role], &f->ip_hi[role], m->ip_len);
	if (m->ts_us > f->first_us + f->last_delta_us) {
		uint64_t d = m->ts_us - f->first_us;

		f->last_delta_us = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
	if (tcp) {
		tcp_update(f, m, role);
	} else {
		f->u.payload[role] += m->payload_len;
		if (m->payload_len > 0)
			hist_add(f, role, VIGIL_H_DATA);
	}
	return true;
}

uint64_t
vigil_flow_payload(const struct vigil_flow_state *f, uint8_t proto,
		   unsigned role)
{
	if (proto != VIGIL_IPPROTO_TCP)
		return f->u.payload[role];
	if (!(f->flags & (role ? VIGIL_FF_SEQ1 : VIGIL_FF_SEQ0)))
		return 0;
	return (uint32_t)(f->u.tcp.end[role] - f->u.tcp.isn[role]);
}

const char *
vigil_conn_state(const struct vigil_flow_state *f, uint8_t proto)
{
	bool oS = vigil_flow_seen(f, VIGIL_H_SYN, 0),
	     oF = vigil_flow_seen(f, VIGIL_H_FIN, 0),
	     oR = vigil_flow_seen(f, VIGIL_H_RST, 0);
	bool rH = vigil_flow_seen(f, VIGIL_H_SYNACK, 1),
	     rF = vigil_flow_seen(f, VIGIL_H_FIN, 1),
	     rR = vigil_flow_seen(f, VIGIL_H_RST, 1);

	/* Zeek: UDP is S0 without a reply and SF with one; every other
	 * protocol but TCP is OTH. */
	if (proto == VIGIL_IPPROTO_UDP)
		return f->pkts[1] > 0 ? "SF" : "S0";
	if (proto != VIGIL_IPPROTO_TCP)
		return "OTH";
	if (rH) {
		if (!oS) {
			/* Only the responder's half of a handshake seen. */
			if (rR)
				return "RSTRH";
			if (rF)
				return "SHR";
			return "OTH";
		}
		if (oR)
			return "RSTO";
		if (rR)
			return "RSTR";
		if (oF && rF)
			return "SF";
		if (oF)
			return "S2";
		if (rF)
			return "S3";
		return "S1";
	}
	if (oS) {
		if (rR)
			return "REJ";
		if (oR)
			return "RSTOS0";
		if (oF)
			return "SH";
		if (f->pkts[1] == 0)
			return "S0";
	}
	return "OTH";
}

const char *
vigil_end_reason_name(uint8_t reason)
{
	switch (reason) {
	case VIGIL_END_IDLE:
		return "idle";
	case VIGIL_END_SHUTDOWN:
		return "shutdown";
	case VIGIL_END_ACTIVE:
		return "active";
	case VIGIL_END_EVICTED:
		return "evicted";
	case VIGIL_END_REUSED:
		return "reused";
	default:
		return "?";
	}
}

/*
 * Must this packet start a new record of its flow (end_reason "active")?
 * When the flow is older than the active timeout, and before a 32-bit
 * counter could wrap: packets, or TCP payload measured by sequence numbers
 * (2 GiB of sequence space per record keeps that count exact).
 */
static inline bool
needs_split(const struct vigil_worker *w, const struct vigil_flow_state *f,
	    const struct vigil_pkt_meta *m)
{
	unsigned role = m->dir != vigil_flow_orig_side(f);

	if (m->ts_us > f->first_us + w->active_us ||
	    f->pkts[role] >= 0x7fffffffu)
		return true;
	return m->key.proto == VIGIL_IPPROTO_TCP &&
	       (f->flags & (role ? VIGIL_FF_SEQ1 : VIGIL_FF_SEQ0)) &&
	       (uint32_t)(f->u.tcp.end[role] - f->u.tcp.isn[role]) >
		       0x7f000000u;
}

/* Idle timeout of a flow in its current state. */
static inline uint64_t
flow_timeout(const struct vigil_worker *w, const struct vigil_flow_state *f,
	     uint8_t proto)
{
	if (proto != VIGIL_IPPROTO_TCP)
		return w->idle_us[proto];
	if (tcp_closed(f))
		return w->tcp_closed_us;
	if (f->pkts[1] == 0 && vigil_flow_seen(f, VIGIL_H_SYN, 0))
		return w->tcp_attempt_us;
	return w->idle_us[proto];
}

/* ---- worker ------------------------------------------------------------ */

int
vigil_worker_create(struct vigil_worker *w, unsigned id,
		    const struct vigil_conf *conf, int socket, char *err,
		    size_t errlen)
{
	char name[RTE_RING_NAMESIZE];
	uint64_t steps;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->expiry_step = conf->expiry_step;
	w->state = VIGIL_W_RUN;
	for (unsigned p = 0; p < 256; p++)
		w->idle_us[p] = vigil_conf_idle_us(conf, (uint8_t)p);
	w->tcp_attempt_us = (uint64_t)conf->tcp_attempt_s * 1000000u;
	w->tcp_closed_us = (uint64_t)conf->tcp_closed_s * 1000000u;
	w->active_us = (uint64_t)conf->active_timeout_s * 1000000u;
	steps = (conf->max_flows + conf->expiry_step - 1) / conf->expiry_step;
	w->scan_gap_tsc = rte_get_tsc_hz() / 1000u * conf->scan_period_ms /
			  steps;

	struct rte_malloc_socket_stats before, after;
	int heap_ok = rte_malloc_get_socket_stats(socket < 0 ? 0 : socket,
						  &before) == 0;

	if (vigil_ftable_create(&w->table, conf->max_flows, socket) != 0) {
		snprintf(err, errlen,
			 "worker %u: cannot allocate a flow table of %u flows "
			 "(flow.max_flows, %zu bytes each): %s",
			 id, conf->max_flows, (size_t)VIGIL_FT_ENTRY_SIZE,
			 rte_strerror(rte_errno));
		return -1;
	}
	/* What the table really took from the heap, allocator overhead
	 * included: reported as flow.table_bytes. */
	if (heap_ok && rte_malloc_get_socket_stats(socket < 0 ? 0 : socket,
						   &after) == 0)
		w->table_heap_bytes = after.heap_allocsz_bytes -
				      before.heap_allocsz_bytes;
	else
		w->table_heap_bytes = w->table.bytes;
	/* A step handles one lookup batch (take_burst): each packet may end
	 * a flow and finish an inspection, and the scan ends expiry_step. */
	w->staged_cap = vigil_worker_staged_cap(conf);
	w->staged = rte_zmalloc_socket("vigil_staged",
				       sizeof(*w->staged) * w->staged_cap,
				       RTE_CACHE_LINE_SIZE, socket);
	w->max_tunnels = conf->max_tunnels;
	w->tunnels = rte_zmalloc_socket("vigil_tunnels",
					sizeof(*w->tunnels) * w->max_tunnels,
					RTE_CACHE_LINE_SIZE, socket);
	if (conf->l7_enabled &&
	    vigil_dnscache_init(&w->dns, conf->l7_dns_cache,
				conf->l7_dns_ttl_min_s, socket) != 0) {
		snprintf(err, errlen,
			 "worker %u: cannot allocate a DNS cache of %u answers "
			 "(l7.dns_cache): out of memory",
			 id, conf->l7_dns_cache);
		vigil_worker_free(w);
		return -1;
	}
	if (conf->l7_enabled) {
		uint32_t spare = vigil_worker_l7_spare(conf);

		w->insp = vigil_inspector_create(conf, id, spare, socket, err,
						 errlen);
		if (w->insp == NULL) {
			vigil_worker_free(w);
			return -1;
		}
		snprintf(name, sizeof(name), "vigil_l7_%u", id);
		w->l7_events = rte_ring_create_elem(
			name, sizeof(uint32_t), conf->l7_ring_size, socket,
			RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->l7_free = vigil_inspector_return_ring(w->insp);
		w->l7_staged = rte_zmalloc_socket(
			"vigil_l7_staged", sizeof(*w->l7_staged) * w->staged_cap,
			RTE_CACHE_LINE_SIZE, socket);
		if (w->l7_events == NULL || w->l7_free == NULL ||
		    w->l7_staged == NULL) {
			snprintf(err, errlen,
				 "worker %u: cannot allocate the L7 record rings "
				 "of %u (l7.ring_size): out of memory",
				 id, conf->l7_ring_size);
			vigil_worker_free(w);
			return -1;
		}
	}
	snprintf(name, sizeof(name), "vigil_rec_%u", id);
	w->events = rte_ring_create_elem(name, sizeof(struct vigil_flow_rec),
					 conf->event_ring_size, socket,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->staged == NULL || w->events == NULL || w->tunnels == NULL) {
		snprintf(err, errlen,
			 "worker %u: cannot allocate the record ring of %u "
			 "(flow.event_ring_size) and the tunnel table of %u "
			 "(flow.max_tunnels): out of memory",
			 id, conf->event_ring_size, conf->max_tunnels);
		vigil_worker_free(w);
		return -1;
	}
	return 0;
}

void
vigil_worker_free(struct vigil_worker *w)
{
	vigil_ftable_free(&w->table);
	rte_free(w->staged);
	rte_free(w->tunnels);
	rte_ring_free(w->events);
	vigil_inspector_free(w->insp);
	vigil_dnscache_free(&w->dns);
	rte_ring_free(w->dns_feed);
	w->dns_feed = NULL;
	rte_ring_free(w->l7_events);
	rte_free(w->l7_staged);
	w->staged = NULL;
	w->tunnels = NULL;
	w->events = NULL;
	w->insp = NULL;
	w->l7_events = NULL;
	w->l7_free = NULL;
	w->l7_staged = NULL;
}

/* Entry + 1 of the tunnel a packet came through, 0 when none or the tunnel
 * table is full (counted). Open addressing, bounded probe. */
static uint16_t
tunnel_of(struct vigil_worker *w, const struct vigil_pkt_meta *m, bool swap)
{
	struct vigil_tunnel_rec t = { 0 };
	uint32_t h, n = w->max_tunnels;

	if (m->tun.type == VIGIL_TUN_NONE || n == 0)
		return 0;
	t.type = m->tun.type;
	t.family = m->tun.family;
	t.id = m->tun.id;
	/* Stored originator side first: src is the outer address on the
	 * originator's side of the tunnel. */
	memcpy(t.src, swap ? m->tun.dst : m->tun.src, 16);
	memcpy(t.dst, swap ? m->tun.src : m->tun.dst, 16);
	h = rte_hash_crc(&t, sizeof(t), 0);
	for (unsigned probe = 0; probe < 16; probe++) {
		uint32_t i = (h + probe) % n;
		struct vigil_tunnel_rec *e = &w->tunnels[i];

		if (e->type == 0) {
			*e = t;
			w->ntunnels++;
			return (uint16_t)(i + 1);
		}
		if (memcmp(e, &t, sizeof(t)) == 0)
			return (uint16_t)(i + 1);
	}
	vigil_ctr_add(w->ctr, VIGIL_CTR_tunnel_table_full, 1);
	return 0;
}

/* What a DNS response said: each A/AAAA address -> the name asked for. */
static void
learn_dns(struct vigil_worker *w, const struct vigil_l7_rec *r)
{
	struct vigil_dns_note notes[VIGIL_DNS_ANSWERS_MAX];
	unsigned n;

	if (w->dns.nsets == 0 || r->service != VIGIL_L7_DNS)
		return;
	n = vigil_dns_notes(&r->u.dns, w->now_us, notes);
	for (unsigned i = 0; i < n; i++)
		vigil_dnscache_put_note(&w->dns, &notes[i]);
	vigil_ctr_add(w->ctr, VIGIL_CTR_dns_names_learned, n);
}

/* An L7 record was just staged: learn from it. */
static inline void
staged_l7(struct vigil_worker *w)
{
	learn_dns(w, &vigil_inspector_recs(
			     w->insp)[w->l7_staged[w->nl7_staged]]);
	w->nl7_staged++;
}

/* Answers the other workers saw. */
static void
take_dns_feed(struct vigil_worker *w)
{
	struct vigil_dns_note notes[16];
	unsigned n;

	n = rte_ring_dequeue_burst_elem(w->dns_feed, notes, sizeof(notes[0]),
					RTE_DIM(notes), NULL);
	for (unsigned i = 0; i < n; i++)
		vigil_dnscache_put_note(&w->dns, &notes[i]);
	vigil_ctr_add(w->ctr, VIGIL_CTR_dns_names_learned, n);
}

/* Stage the record of entry `e`; `remove` takes it out of the table. */
static void
emit(struct vigil_worker *w, uint32_t e, enum vigil_end_reason why,
     bool remove)
{
	struct vigil_flow_rec *r;
	struct vigil_flow_state *f = vigil_ft_state(&w->table, e);

	/* Its L7 record first: it must reach the publisher before the flow
	 * record it belongs to. */
	if (f->flags & VIGIL_FF_INSPECT) {
		if (vigil_inspect_end(w->insp, e, &w->l7_staged[w->nl7_staged],
				      w->ctr))
			staged_l7(w);
		f->flags = (uint8_t)((f->flags & ~VIGIL_FF_INSPECT) |
				     VIGIL_FF_L7_DONE);
	}
	r = &w->staged[w->nstaged++];

	memcpy(&r->key, vigil_ft_key(&w->table, e), sizeof(r->key));
	r->s = *f;
	if (f->tunnel != 0)
		r->tun = w->tunnels[f->tunnel - 1];
	else
		memset(&r->tun, 0, sizeof(r->tun));
	r->reason = (uint8_t)why;
	r->worker = (uint8_t)w->id;
	/* The responder's name, from an answer valid when the flow began. */
	r->resp_name_len = 0;
	if (w->dns.nsets != 0) {
		unsigned resp = vigil_flow_orig_side(f) ^ 1, len;
		const char *name = vigil_dnscache_get(
			&w->dns, r->key.family, r->key.addr[resp], f->first_us,
			&len);

		if (name != NULL) {
			memcpy(r->resp_name, name, len);
			r->resp_name_len = (uint8_t)len;
			vigil_ctr_add(w->ctr, VIGIL_CTR_dns_named_flows, 1);
		}
	}
	vigil_ctr_add(w->ctr, VIGIL_CTR_flows_expired, 1);
	if (why == VIGIL_END_EVICTED)
		vigil_ctr_add(w->ctr, VIGIL_CTR_flows_evicted, 1);
	if (remove) {
		f->flags = 0;
		vigil_ftable_remove(&w->table, e);
		w->active--;
	}
}

/*
 * Move the `*n` records of `esize` bytes staged in `buf` to `ring`.
 * Returns the number still staged: a live run drops what does not fit
 * (counted in `drop`) rather than make packets wait; a replay, and the
 * shutdown drain (no packets left to wait), wait for the reader unless the
 * drain has timed out.
 */
static uint32_t
flush_ring(struct vigil_worker *w, struct rte_ring *ring, void *buf,
	   uint32_t *n, size_t esize, enum vigil_ctr sent, enum vigil_ctr drop,
	   bool l7)
{
	unsigned k;

	if (*n == 0)
		return 0;
	k = rte_ring_enqueue_burst_elem(ring, buf, (unsigned)esize, *n, NULL);
	vigil_ctr_add(w->ctr, sent, k);
	if (k > 0 && k < *n)
		memmove(buf, (char *)buf + k * esize, (*n - k) * esize);
	*n -= k;
	if (*n > 0 &&
	    ((!w->backpressure && w->state == VIGIL_W_RUN) || *w->abort)) {
		vigil_ctr_add(w->ctr, drop, *n);
		if (l7) /* dropped records go back to the pool */
			vigil_inspector_give(w->insp, buf, *n);
		*n = 0;
	}
	return *n;
}

/* Staged records to the publisher, L7 records first: a flow record never
 * overtakes its own. Returns the number still staged. */
static uint32_t
flush_staged(struct vigil_worker *w)
{
	if (flush_ring(w, w->l7_events, w->l7_staged, &w->nl7_staged,
		       sizeof(*w->l7_staged), VIGIL_CTR_l7_records,
		       VIGIL_CTR_drop_l7_ring_full, true) > 0)
		return w->nstaged + w->nl7_staged;
	return flush_ring(w, w->events, w->staged, &w->nstaged,
			  sizeof(*w->staged), VIGIL_CTR_flow_events,
			  VIGIL_CTR_drop_event_ring_full, false);
}

/* Make room for a new flow: evict the least recently seen flow of its two
 * buckets. Returns false when there is nothing to evict. */
static bool
evict_for(struct vigil_worker *w, const struct vigil_ft_where *where)
{
	uint32_t cand[2 * VIGIL_FT_SLOTS], victim = VIGIL_FT_NONE;
	uint64_t oldest = UINT64_MAX;
	unsigned n = vigil_ftable_candidates(&w->table, where, cand);

	for (unsigned i = 0; i < n; i++) {
		const struct vigil_flow_state *f =
			vigil_ft_state(&w->table, cand[i]);
		uint64_t last = vigil_flow_last_us(f);

		if (last < oldest) {
			oldest = last;
			victim = cand[i];
		}
	}
	if (victim == VIGIL_FT_NONE)
		return false;
	emit(w, victim, VIGIL_END_EVICTED, true);
	return true;
}

static void
start_flow(struct vigil_worker *w, struct vigil_flow_state *f,
	   const struct vigil_pkt_meta *m)
{
	vigil_flow_init(f, m);
	f->tunnel = tunnel_of(w, m, m->dir != vigil_flow_orig_side(f));
	vigil_ctr_add(w->ctr, VIGIL_CTR_flows_created, 1);
}

/* Payload inspection of a flow not yet done with it (vigil_inspect.h). */
static void
inspect(struct vigil_worker *w, uint32_t e, struct vigil_flow_state *f,
	const struct vigil_pkt_meta *m, const struct rte_mbuf *mb)
{
	struct vigil_insp_pkt p = {
		.entry = e,
		.key = vigil_ft_key(&w->table, e),
		.first_us = f->first_us,
		.role = m->dir != vigil_flow_orig_side(f),
		.m = m,
		.mb = mb,
	};
	bool done;
	enum vigil_insp_rc rc;

	rc = vigil_inspect_packet(w->insp, &p, (f->flags & VIGIL_FF_INSPECT) != 0,
				  &done, &w->l7_staged[w->nl7_staged], w->ctr);
	if (rc == VIGIL_INSP_FINISHED)
		staged_l7(w);
	if (rc == VIGIL_INSP_MORE)
		f->flags |= VIGIL_FF_INSPECT;
	else if (done)
		f->flags = (uint8_t)((f->flags & ~VIGIL_FF_INSPECT) |
				     VIGIL_FF_L7_DONE);
}

static void
handle_packets(struct vigil_worker *w, struct rte_mbuf **pkts, unsigned n)
{
	const struct vigil_flow_key *keys[VIGIL_FT_BURST];
	uint32_t hashes[VIGIL_FT_BURST], ent[VIGIL_FT_BURST];
	struct vigil_ft_where where[VIGIL_FT_BURST];
	unsigned counted = 0;
	bool inserted = false, evicted = false;

	for (unsigned i = 0; i < n; i++) {
		const struct vigil_pkt_meta *m = vigil_pkt_meta(pkts[i]);

		keys[i] = &m->key;
		hashes[i] = m->rx_hash;
	}
	vigil_ftable_lookup_bulk(&w->table, keys, hashes, n, where, ent);

	for (unsigned i = 0; i < n; i++) {
		const struct vigil_pkt_meta *m = vigil_pkt_meta(pkts[i]);
		struct vigil_flow_state *f;
		uint32_t e = ent[i];

		if (m->ts_us > w->now_us)
			w->now_us = m->ts_us;
		/* An earlier packet of this burst may have added the flow, or
		 * evicted it and handed its entry to another. */
		if (evicted || (e == VIGIL_FT_NONE && inserted))
			e = vigil_ftable_lookup(&w->table, &m->key, &where[i]);
		if (e == VIGIL_FT_NONE) {
			e = vigil_ftable_insert(&w->table, &m->key, &where[i]);
			if (e == VIGIL_FT_NONE && evict_for(w, &where[i])) {
				evicted = true;
				e = vigil_ftable_insert(&w->table, &m->key,
							&where[i]);
			}
			if (e == VIGIL_FT_NONE) {
				vigil_ctr_add(w->ctr,
					      VIGIL_CTR_drop_flow_table_full, 1);
				continue;
			}
			inserted = true;
			w->active++;
			f = vigil_ft_state(&w->table, e);
			start_flow(w, f, m);
		} else {
			f = vigil_ft_state(&w->table, e);
			if (m->ts_us > vigil_flow_last_us(f) +
					       flow_timeout(w, f, m->key.proto)) {
				/* Idle longer than its timeout: ended. */
				emit(w, e, VIGIL_END_IDLE, false);
				start_flow(w, f, m);
			} else if (needs_split(w, f, m)) {
				/* Same connection, new record: the originator
				 * stays the originator. */
				uint8_t keep = f->flags &
					       (VIGIL_FF_ORIG | VIGIL_FF_FLIPPED);
				uint16_t tun = f->tunnel;

				emit(w, e, VIGIL_END_ACTIVE, false);
				start_flow(w, f, m);
				f->flags = (uint8_t)((f->flags &
						      ~(VIGIL_FF_ORIG |
							VIGIL_FF_FLIPPED)) |
						     keep);
				f->tunnel = tun;
			}
		}
		if (!vigil_flow_update(f, m)) {
			emit(w, e, VIGIL_END_REUSED, false);
			start_flow(w, f, m);
			vigil_flow_update(f, m);
		}
		if (w->insp != NULL && !(f->flags & VIGIL_FF_L7_DONE))
			inspect(w, e, f, m, pkts[i]);
		counted++;
	}
	vigil_ctr_add(w->ctr, VIGIL_CTR_worker_packets, counted);
}

/* Check up to `expiry_step` entries; `all` expires whatever is there. */
static void
scan(struct vigil_worker *w, bool all)
{
	uint32_t cap = w->table.capacity;
	uint32_t end = w->cursor + w->expiry_step;

	if (end > cap)
		end = cap;
	for (uint32_t e = w->cursor; e < end; e++) {
		struct vigil_flow_state *f = vigil_ft_state(&w->table, e);
		uint8_t proto;
		bool idle, active;

		if (!(f->flags & VIGIL_FF_IN_USE))
			continue;
		proto = vigil_ft_key(&w->table, e)->proto;
		idle = w->now_us >
		       vigil_flow_last_us(f) + flow_timeout(w, f, proto);
		active = w->now_us > f->first_us + w->active_us;
		if (!all && !idle && !active)
			continue;
		/* Idle by packet time is idle, whoever found it first: the
		 * records do not depend on how far the scan had got. */
		emit(w, e,
		     idle ? VIGIL_END_IDLE
			  : (active ? VIGIL_END_ACTIVE : VIGIL_END_SHUTDOWN),
		     true);
	}
	w->cursor = end == cap ? 0 : end;
}

static bool
inputs_closed(const struct vigil_worker *w)
{
	for (unsigned i = 0; i < w->nin; i++)
		if (!__atomic_load_n(w->in_done[i], __ATOMIC_ACQUIRE))
			return false;
	for (unsigned i = 0; i < w->nin; i++)
		if (!rte_ring_empty(w->in[i]))
			return false;
	return true;
}

/*
 * Done with a burst from input `in`: hand it back to its RX lcore to free
 * (see recycle() in vigil_dispatch.c), or free it here when that lcore has
 * stopped or its return ring is full.
 */
static void
release(struct vigil_worker *w, unsigned in, struct rte_mbuf **pkts,
	unsigned n)
{
	unsigned sent = 0;

	if (w->back[in] != NULL && !__atomic_load_n(w->in_done[in],
						     __ATOMIC_ACQUIRE))
		sent = rte_ring_enqueue_burst(w->back[in], (void **)pkts, n,
					      NULL);
	if (sent < n)
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
}

/*
 * dispatch.decode_on = worker: decode the held burst here, with the RX
 * stage's decoder and fragment table (this worker is their only user).
 * The keyed packets go to keyed[] in order; the others are counted by
 * reason (they are freed with the rest of the burst). Returns how many
 * were keyed.
 */
static unsigned
decode_held(struct vigil_worker *w, struct vigil_rx_stage *s,
	    struct rte_mbuf **keyed)
{
	const struct vigil_rxq *q = &s->q[0];
	uint64_t now_us = 0;
	unsigned nk = 0, n = w->nheld;

	if (!q->pcap_ts || s->ts_offset < 0)
		now_us = vigil_clock_now_us(&s->clock);
	/* The headers of the whole burst at once (the mbuf lines that say
	 * where they are were prefetched when it was taken). */
	for (unsigned i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(w->held[i], void *));
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = w->held[i];
		int rc;

		rc = vigil_rx_decode(s, q, w->ctr, m, now_us);
		if (unlikely(rc != VIGIL_DECODE_OK)) {
			vigil_ctr_add(w->ctr, (enum vigil_ctr)rc, 1);
			continue;
		}
		keyed[nk++] = m;
	}
	return nk;
}

/*
 * Take a burst and handle the previous one. The metadata of a packet was
 * just written by the RX lcore, so its lines are in that core's cache:
 * reading them at once would stall on every packet. The burst taken now is
 * only prefetched (its two metadata lines); it is handled on the next
 * step, when they have arrived. A step that takes nothing handles what it
 * holds, so nothing waits for traffic.
 * Returns the number of packets handled.
 */
static unsigned
take_burst(struct vigil_worker *w)
{
	struct rte_mbuf *pkts[VIGIL_FT_BURST];
	unsigned in = w->next_in;
	struct rte_ring *r = w->in[in];
	unsigned n, held = w->nheld;

	if (++w->next_in == w->nin)
		w->next_in = 0;
	n = rte_ring_dequeue_burst(r, (void **)pkts, VIGIL_FT_BURST, NULL);
	if (w->decode_for[in] == NULL) {
		/* Only the metadata: the worker never reads the mbuf itself
		 * (its RX lcore frees it), so the mbuf's first line stays in
		 * that lcore's cache for the PMD to rewrite. */
		for (unsigned i = 0; i < n; i++) {
			const char *meta =
				(const char *)vigil_pkt_meta(pkts[i]);

			rte_prefetch0(meta);
			rte_prefetch0(meta + RTE_CACHE_LINE_SIZE);
		}
	} else {
		/* Undecoded: the mbuf's two lines (lengths, data offset,
		 * capture time); the data itself once they are here. */
		for (unsigned i = 0; i < n; i++) {
			rte_prefetch0(pkts[i]);
			rte_prefetch0((const char *)pkts[i] +
				      RTE_CACHE_LINE_SIZE);
		}
	}
	if (held > 0) {
		struct rte_mbuf *keyed[VIGIL_FT_BURST];
		unsigned nk = held;

		if (w->decode_for[w->held_in] != NULL)
			nk = decode_held(w, w->decode_for[w->held_in], keyed);
		handle_packets(w, nk == held ? w->held : keyed, nk);
		release(w, w->held_in, w->held, held);
	}
	memcpy(w->held, pkts, n * sizeof(pkts[0]));
	w->nheld = n;
	w->held_in = in;
	return held;
}

int
vigil_worker_step(struct vigil_worker *w)
{
	if (flush_staged(w) > 0) {
		vigil_ctr_add(w->ctr, VIGIL_CTR_backpressure, 1);
		return 1;
	}
	switch (w->state) {
	case VIGIL_W_RUN: {
		/* Two TSC reads a step: they are not free in a VM. */
		uint64_t t0 = rte_rdtsc(), t1;

		if (w->live_clock)
			w->now_us = vigil_clock_tsc_to_us(&w->clock, t0);
		if (w->dns_feed != NULL)
			take_dns_feed(w);
		unsigned got = take_burst(w);

		t1 = rte_rdtsc();
		/* Busy cycles, for cycles per packet (vigil:stats). */
		if (got > 0)
			vigil_ctr_add(w->ctr, VIGIL_CTR_worker_cycles, t1 - t0);
		if (got == 0 && w->nheld == 0 && inputs_closed(w)) {
			w->state = VIGIL_W_DRAIN;
			w->cursor = 0;
			for (unsigned i = 0; i < w->nin; i++)
				if (w->in_last_ts[i] != NULL &&
				    *w->in_last_ts[i] > w->now_us &&
				    !w->live_clock)
					w->now_us = *w->in_last_ts[i];
			break;
		}
		if (t1 >= w->next_scan_tsc) {
			w->next_scan_tsc = t1 + w->scan_gap_tsc;
			scan(w, false);
		}
		break;
	}
	case VIGIL_W_DRAIN:
		scan(w, true);
		if (w->cursor == 0) /* wrapped: every slot emitted */
			w->state = VIGIL_W_DONE;
		break;
	case VIGIL_W_DONE:
		__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
		return 0;
	}
	flush_staged(w);
	return 1;
}
