/*
 * vigil flow: worker stage (see vigil_flow.h for the model).
 *
 * The table is an rte_hash created with the extendable-bucket option, so a
 * table sized for N flows holds N flows whatever the key distribution. The
 * flow state lives in `flows[position]`, where position is what rte_hash
 * returns for the key: no second allocator, no pointer per flow.
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

#define LOOKUP_CHUNK RTE_HASH_LOOKUP_BULK_MAX

static const char hist_upper[VIGIL_H_NLETTERS] = { 'S', 'H', 'A', 'D', 'F',
						   'R' };
static const char hist_lower[VIGIL_H_NLETTERS] = { 's', 'h', 'a', 'd', 'f',
						   'r' };

static inline void
hist_add(struct vigil_flow_entry *f, unsigned role, enum vigil_hist h)
{
	uint8_t bit = (uint8_t)(1u << h);

	if (f->seen[role] & bit)
		return;
	f->seen[role] |= bit;
	if (f->hist_len < VIGIL_HIST_MAX - 1)
		f->history[f->hist_len++] =
			role == 0 ? hist_upper[h] : hist_lower[h];
}

void
vigil_flow_init(struct vigil_flow_entry *f, const struct vigil_pkt_meta *m)
{
	memset(f, 0, sizeof(*f));
	f->in_use = 1;
	f->proto = m->key.proto;
	f->first_us = m->ts_us;
	f->last_us = m->ts_us;
	f->orig = m->dir;
	f->icmp_type = m->icmp_type;
	f->icmp_code = m->icmp_code;
	/* A flow first seen by its SYN-ACK belongs to the other side. */
	if (m->key.proto == VIGIL_IPPROTO_TCP &&
	    (m->tcp_flags & (VIGIL_TCP_SYN | VIGIL_TCP_ACK)) ==
		    (VIGIL_TCP_SYN | VIGIL_TCP_ACK)) {
		f->orig = (uint8_t)(m->dir ^ 1);
		f->history[f->hist_len++] = '^';
	}
}

void
vigil_flow_update(struct vigil_flow_entry *f, const struct vigil_pkt_meta *m)
{
	unsigned role = m->dir != f->orig;

	f->pkts[role]++;
	f->l2_bytes[role] += m->l2_len;
	f->ip_bytes[role] += m->ip_len;
	f->payload[role] += m->payload_len;
	if (m->ts_us > f->last_us)
		f->last_us = m->ts_us;

	if (f->proto == VIGIL_IPPROTO_TCP) {
		uint8_t fl = m->tcp_flags;

		if (fl & VIGIL_TCP_SYN)
			hist_add(f, role,
				 (fl & VIGIL_TCP_ACK) ? VIGIL_H_SYNACK
						      : VIGIL_H_SYN);
		if (fl & VIGIL_TCP_FIN)
			hist_add(f, role, VIGIL_H_FIN);
		if (fl & VIGIL_TCP_RST)
			hist_add(f, role, VIGIL_H_RST);
		if (m->payload_len > 0)
			hist_add(f, role, VIGIL_H_DATA);
		else if ((fl & (VIGIL_TCP_SYN | VIGIL_TCP_FIN | VIGIL_TCP_RST |
				VIGIL_TCP_ACK)) == VIGIL_TCP_ACK)
			hist_add(f, role, VIGIL_H_ACK);
	} else if (m->payload_len > 0) {
		hist_add(f, role, VIGIL_H_DATA);
	}
}

#define SEEN(r, side, h) (((r)->f.seen[side] >> (h)) & 1)

const char *
vigil_conn_state(const struct vigil_flow_rec *r)
{
	int oS = SEEN(r, 0, VIGIL_H_SYN), oF = SEEN(r, 0, VIGIL_H_FIN),
	    oR = SEEN(r, 0, VIGIL_H_RST);
	int rH = SEEN(r, 1, VIGIL_H_SYNACK), rF = SEEN(r, 1, VIGIL_H_FIN),
	    rR = SEEN(r, 1, VIGIL_H_RST);

	/* Zeek: UDP is S0 without a reply and SF with one; every other
	 * protocol but TCP is OTH. */
	if (r->key.proto == VIGIL_IPPROTO_UDP)
		return r->f.pkts[1] > 0 ? "SF" : "S0";
	if (r->key.proto != VIGIL_IPPROTO_TCP)
		return "OTH";
	if (rH) {
		if (!oS) {
			/* Only the responder's half of a handshake seen. */
			if (rR)
				return "RSTRH";
			if (rF)
				return "SHR";
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
		if (r->f.pkts[1] == 0)
			return "S0";
	}
	return "OTH";
}

int
vigil_worker_create(struct vigil_worker *w, unsigned id,
		    const struct vigil_conf *conf, int socket, char *err,
		    size_t errlen)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.entries = conf->max_flows,
		.key_len = sizeof(struct vigil_flow_key),
		/* The RX stage's hash, so its value is the signature. */
		.hash_func = rte_hash_crc,
		.hash_func_init_val = VIGIL_KEY_HASH_SEED,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->max_flows = conf->max_flows;
	w->burst = conf->burst;
	w->expiry_step = conf->expiry_step;
	w->state = VIGIL_W_RUN;
	{
		uint64_t steps = (conf->max_flows + conf->expiry_step - 1) /
				 conf->expiry_step;

		w->scan_gap_tsc = rte_get_tsc_hz() / 1000u *
				  conf->scan_period_ms / steps;
	}
	for (unsigned p = 0; p < 256; p++)
		w->idle_us[p] = vigil_conf_idle_us(conf, (uint8_t)p);

	snprintf(name, sizeof(name), "vigil_flows_%u", id);
	hp.name = name;
	w->table = rte_hash_create(&hp);
	if (w->table == NULL) {
		snprintf(err, errlen,
			 "worker %u: cannot create a flow table of %u flows "
			 "(flow.max_flows): %s",
			 id, conf->max_flows, rte_strerror(rte_errno));
		return -1;
	}
	w->flows = rte_zmalloc_socket("vigil_flow_entries",
				      sizeof(*w->flows) * conf->max_flows,
				      RTE_CACHE_LINE_SIZE, socket);
	w->staged = rte_zmalloc_socket(
		"vigil_staged",
		sizeof(*w->staged) * (conf->burst + conf->expiry_step),
		RTE_CACHE_LINE_SIZE, socket);
	snprintf(name, sizeof(name), "vigil_rec_%u", id);
	w->events = rte_ring_create_elem(name, sizeof(struct vigil_flow_rec),
					 conf->event_ring_size, socket,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->flows == NULL || w->staged == NULL || w->events == NULL) {
		snprintf(err, errlen,
			 "worker %u: cannot allocate %zu bytes of flow state "
			 "and a record ring of %u (flow.max_flows, "
			 "flow.event_ring_size): out of memory",
			 id, sizeof(*w->flows) * conf->max_flows,
			 conf->event_ring_size);
		vigil_worker_free(w);
		return -1;
	}
	return 0;
}

void
vigil_worker_free(struct vigil_worker *w)
{
	rte_hash_free(w->table);
	rte_free(w->flows);
	rte_free(w->staged);
	rte_ring_free(w->events);
	w->table = NULL;
	w->flows = NULL;
	w->staged = NULL;
	w->events = NULL;
}

/* Stage the record of flow `pos` and remove it from the table. */
static void
emit(struct vigil_worker *w, int32_t pos, const struct vigil_flow_key *key,
     enum vigil_end_reason why, bool remove)
{
	struct vigil_flow_rec *r = &w->staged[w->nstaged++];

	r->key = *key;
	r->f = w->flows[pos];
	r->reason = (uint8_t)why;
	r->worker = (uint8_t)w->id;
	vigil_ctr_add(w->ctr, VIGIL_CTR_flows_expired, 1);
	if (remove) {
		w->flows[pos].in_use = 0;
		rte_hash_del_key(w->table, key);
		w->active--;
	}
}

/* Move staged records to the ring. Returns the number still staged. */
static uint32_t
flush_staged(struct vigil_worker *w)
{
	unsigned n;

	if (w->nstaged == 0)
		return 0;
	n = rte_ring_enqueue_burst_elem(w->events, w->staged,
					sizeof(struct vigil_flow_rec),
					w->nstaged, NULL);
	vigil_ctr_add(w->ctr, VIGIL_CTR_flow_events, n);
	if (n > 0 && n < w->nstaged)
		memmove(w->staged, w->staged + n,
			(w->nstaged - n) * sizeof(*w->staged));
	w->nstaged -= n;
	if (w->nstaged > 0 && (!w->backpressure || *w->abort)) {
		vigil_ctr_add(w->ctr, VIGIL_CTR_drop_event_ring_full,
			      w->nstaged);
		w->nstaged = 0;
	}
	return w->nstaged;
}

static void
handle_packets(struct vigil_worker *w, struct rte_mbuf **pkts, unsigned n)
{
	const void *keys[LOOKUP_CHUNK];
	hash_sig_t sig[LOOKUP_CHUNK];
	int32_t pos[LOOKUP_CHUNK];

	for (unsigned i = 0; i < n; i++) {
		const struct vigil_pkt_meta *m = vigil_pkt_meta(pkts[i]);

		keys[i] = &m->key;
		sig[i] = m->rx_hash;
	}
	rte_hash_lookup_with_hash_bulk(w->table, keys, sig, n, pos);

	unsigned counted = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct vigil_pkt_meta *m = vigil_pkt_meta(pkts[i]);
		struct vigil_flow_entry *f;
		int32_t p = pos[i];

		if (m->ts_us > w->now_us)
			w->now_us = m->ts_us;
		if (p < 0) {
			p = rte_hash_add_key_with_hash(w->table, &m->key,
						       m->rx_hash);
			if (p < 0) {
				vigil_ctr_add(w->ctr,
					      VIGIL_CTR_drop_flow_table_full, 1);
				continue;
			}
		}
		f = &w->flows[p];
		if (f->in_use &&
		    m->ts_us > f->last_us + w->idle_us[f->proto]) {
			/* Idle longer than its timeout: that flow ended. */
			emit(w, p, &m->key, VIGIL_END_IDLE, false);
			f->in_use = 0;
			w->active--;
		}
		if (!f->in_use) {
			vigil_flow_init(f, m);
			w->active++;
			vigil_ctr_add(w->ctr, VIGIL_CTR_flows_created, 1);
		}
		vigil_flow_update(f, m);
		counted++;
	}
	vigil_ctr_add(w->ctr, VIGIL_CTR_worker_packets, counted);
}

/* Check up to `expiry_step` slots; `all` expires whatever is there. */
static void
scan(struct vigil_worker *w, bool all)
{
	uint32_t end = w->cursor + w->expiry_step;

	if (end > w->max_flows)
		end = w->max_flows;
	for (uint32_t p = w->cursor; p < end; p++) {
		struct vigil_flow_entry *f = &w->flows[p];
		void *key;

		if (!f->in_use)
			continue;
		bool idle = w->now_us > f->last_us + w->idle_us[f->proto];

		if (!all && !idle)
			continue;
		if (rte_hash_get_key_with_position(w->table, (int32_t)p,
						   &key) != 0) {
			f->in_use = 0; /* cannot happen: table and array agree */
			continue;
		}
		/* Idle by packet time is idle, whoever found it first: the
		 * records do not depend on how far the scan had got. */
		emit(w, (int32_t)p, key,
		     idle ? VIGIL_END_IDLE : VIGIL_END_SHUTDOWN, true);
	}
	w->cursor = end == w->max_flows ? 0 : end;
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

static unsigned
take_burst(struct vigil_worker *w)
{
	struct rte_mbuf *pkts[256];
	struct rte_ring *r = w->in[w->next_in];
	unsigned n;

	if (++w->next_in == w->nin)
		w->next_in = 0;
	n = rte_ring_dequeue_burst(r, (void **)pkts, w->burst, NULL);
	for (unsigned off = 0; off < n; off += LOOKUP_CHUNK) {
		unsigned k = n - off < LOOKUP_CHUNK ? n - off : LOOKUP_CHUNK;

		handle_packets(w, pkts + off, k);
	}
	if (n > 0)
		rte_pktmbuf_free_bulk(pkts, n);
	return n;
}

int
vigil_worker_step(struct vigil_worker *w)
{
	if (flush_staged(w) > 0) {
		vigil_ctr_add(w->ctr, VIGIL_CTR_backpressure, 1);
		return 1;
	}
	switch (w->state) {
	case VIGIL_W_RUN:
		if (w->live_clock)
			w->now_us = vigil_clock_now_us(&w->clock);
		if (take_burst(w) == 0 && inputs_closed(w)) {
			w->state = VIGIL_W_DRAIN;
			w->cursor = 0;
			for (unsigned i = 0; i < w->nin; i++)
				if (w->in_last_ts[i] != NULL &&
				    *w->in_last_ts[i] > w->now_us &&
				    !w->live_clock)
					w->now_us = *w->in_last_ts[i];
			break;
		}
		if (rte_get_tsc_cycles() >= w->next_scan_tsc) {
			w->next_scan_tsc = rte_get_tsc_cycles() + w->scan_gap_tsc;
			scan(w, false);
		}
		break;
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
