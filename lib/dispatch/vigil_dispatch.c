/*
 * vigil dispatch: RX stage (see vigil_dispatch.h).
 */
#include "vigil_dispatch.h"

#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>

int
vigil_rx_init(struct vigil_rx_stage *s, unsigned id, unsigned burst,
	      unsigned nworkers, int socket, char *err, size_t errlen)
{
	s->id = id;
	s->burst = burst;
	s->nworkers = nworkers;
	s->ts_offset = -1;
	s->pend = rte_zmalloc_socket("vigil_rx_pend",
				     sizeof(*s->pend) * burst * nworkers,
				     RTE_CACHE_LINE_SIZE, socket);
	if (s->pend == NULL) {
		snprintf(err, errlen, "RX stage %u: out of memory", id);
		return -1;
	}
	return 0;
}

void
vigil_rx_free(struct vigil_rx_stage *s)
{
	rte_free(s->pend);
	s->pend = NULL;
}

/* Try to move worker w's pending packets to its ring. Returns how many are
 * left pending. */
static unsigned
push(struct vigil_rx_stage *s, unsigned w)
{
	struct rte_mbuf **p = s->pend + (size_t)w * s->burst;
	unsigned n = s->npend[w], sent;

	if (n == 0)
		return 0;
	sent = rte_ring_enqueue_burst(s->out[w], (void **)p, n, NULL);
	vigil_ctr_add(s->ctr, VIGIL_CTR_dispatched, sent);
	if (sent < n) {
		if (!s->backpressure || *s->abort) {
			rte_pktmbuf_free_bulk(p + sent, n - sent);
			vigil_ctr_add(s->ctr,
				      *s->abort ? VIGIL_CTR_drop_shutdown
						: VIGIL_CTR_drop_ring_full,
				      n - sent);
			sent = n;
		} else if (sent > 0) {
			memmove(p, p + sent, (n - sent) * sizeof(*p));
		}
	}
	s->npend[w] = (uint16_t)(n - sent);
	return n - sent;
}

static unsigned
push_all(struct vigil_rx_stage *s)
{
	unsigned left = 0;

	for (unsigned w = 0; w < s->nworkers; w++)
		left += push(s, w);
	return left;
}

static void
classify(struct vigil_rx_stage *s, const struct vigil_rxq *q,
	 struct rte_mbuf **pkts, unsigned n)
{
	uint64_t now_us = 0, bytes = 0;

	if (!q->pcap_ts || s->ts_offset < 0)
		now_us = vigil_clock_now_us(&s->clock);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct vigil_pkt_meta *meta = vigil_pkt_meta(m);
		int rc;
		unsigned w;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += rte_pktmbuf_pkt_len(m);
		rc = vigil_decode_mbuf(m, meta);
		if (unlikely(rc != VIGIL_DECODE_OK)) {
			vigil_ctr_add(s->ctr, (enum vigil_ctr)rc, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		if (q->pcap_ts && s->ts_offset >= 0 && (m->ol_flags & s->ts_flag))
			meta->ts_us = *RTE_MBUF_DYNFIELD(m, s->ts_offset,
							 uint64_t *);
		else
			meta->ts_us = now_us ? now_us
					     : vigil_clock_now_us(&s->clock);
		if (unlikely(meta->notes & VIGIL_NOTE_IP_LEN_ZERO))
			vigil_ctr_add(s->ctr, VIGIL_CTR_ipv4_len_zero, 1);
		if (meta->ts_us > s->last_ts_us)
			s->last_ts_us = meta->ts_us;
		w = vigil_rx_pick_worker(meta->rx_hash, s->nworkers);
		s->pend[(size_t)w * s->burst + s->npend[w]++] = m;
	}
	vigil_ctr_add(s->ctr, VIGIL_CTR_rx_packets, n);
	vigil_ctr_add(s->ctr, VIGIL_CTR_rx_bytes, bytes);
}

int
vigil_rx_step(struct vigil_rx_stage *s)
{
	struct rte_mbuf *pkts[VIGIL_MAX_BURST];

	if (s->done)
		return 0;
	if (push_all(s) > 0) {
		vigil_ctr_add(s->ctr, VIGIL_CTR_backpressure, 1);
		return 1;
	}
	if (*s->stop) {
		__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
		return 0;
	}
	for (unsigned i = 0; i < s->nq; i++) {
		const struct vigil_rxq *q = &s->q[i];
		unsigned n = rte_eth_rx_burst(q->port, q->queue, pkts,
					      (uint16_t)s->burst);

		if (n == 0)
			continue;
		classify(s, q, pkts, n);
		if (push_all(s) > 0)
			break; /* backpressure: read no more until it fits */
	}
	return 1;
}
