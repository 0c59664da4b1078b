/*
 * vigil dispatch: RX stage (see vigil_dispatch.h).
 */
#include "vigil_dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <rte_cycles.h>
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
	vigil_decoder_defaults(&s->dec);
	for (unsigned i = 0; i < VIGIL_RX_MAX_QUEUES; i++)
		s->q[i].linktype = VIGIL_DLT_EN10MB;
	s->pend = rte_zmalloc_socket("vigil_rx_pend",
				     sizeof(*s->pend) * burst * nworkers,
				     RTE_CACHE_LINE_SIZE, socket);
	s->frag = rte_malloc_socket("vigil_rx_frag",
				    vigil_frag_table_size(VIGIL_FRAG_ENTRIES),
				    RTE_CACHE_LINE_SIZE, socket);
	if (s->pend == NULL || s->frag == NULL) {
		snprintf(err, errlen,
			 "RX stage %u: out of memory (pending packets and "
			 "a fragment table of %u entries)",
			 id, VIGIL_FRAG_ENTRIES);
		vigil_rx_free(s);
		return -1;
	}
	vigil_frag_table_init(s->frag, VIGIL_FRAG_ENTRIES,
			      VIGIL_FRAG_TIMEOUT_US);
	return 0;
}

void
vigil_rx_free(struct vigil_rx_stage *s)
{
	rte_free(s->pend);
	s->pend = NULL;
	rte_free(s->frag);
	s->frag = NULL;
}

/* The value of the n-th "key=" argument in a device string
 * ("net_pcap0,rx_pcap=a.pcap,rx_pcap=b.pcap"), copied to out; false if
 * there is none. */
static bool
device_arg(const char *device, const char *key, unsigned n, char *out,
	   size_t outlen)
{
	size_t klen = strlen(key);
	const char *p = strchr(device, ',');

	while (p != NULL) {
		const char *a = p + 1;
		size_t alen = strcspn(a, ",");

		if (alen > klen && strncmp(a, key, klen) == 0 &&
		    a[klen] == '=') {
			if (n == 0) {
				size_t vlen = alen - klen - 1;

				if (vlen >= outlen)
					return false;
				memcpy(out, a + klen + 1, vlen);
				out[vlen] = '\0';
				return true;
			}
			n--;
		}
		p = strchr(a, ',');
	}
	return false;
}

int
vigil_device_linktype(const char *device, unsigned queue, char *err,
		      size_t errlen)
{
	char path[VIGIL_DEVICE_MAX], ebuf[PCAP_ERRBUF_SIZE] = "";
	const char *name;
	pcap_t *p;
	int dlt;

	if (strncmp(device, "net_pcap", 8) != 0 ||
	    !device_arg(device, "rx_pcap", queue, path, sizeof(path)))
		return VIGIL_DLT_EN10MB;
	p = pcap_open_offline(path, ebuf);
	if (p == NULL) {
		snprintf(err, errlen, "port %s: cannot read capture %s: %s",
			 device, path, ebuf);
		return -1;
	}
	dlt = pcap_datalink(p);
	pcap_close(p);
	if (vigil_linktype_supported(dlt))
		return dlt;
	name = pcap_datalink_val_to_name(dlt);
	snprintf(err, errlen,
		 "capture %s has link type %s (%d): vigil decodes Ethernet, "
		 "Linux cooked (SLL, SLL2), raw IP and BSD loopback (NULL, "
		 "LOOP) captures",
		 path, name ? name : "unknown", dlt);
	return -1;
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

/* The counter of packets decapsulated from a tunnel of this (outermost)
 * type. A type added to the decoder without a counter here fails the build
 * (the assert below) instead of landing silently in some other counter. */
enum vigil_tun_kind {
	TUN_VXLAN = VIGIL_TUN_VXLAN,
	TUN_GENEVE = VIGIL_TUN_GENEVE,
	TUN_GRE = VIGIL_TUN_GRE,
	TUN_ERSPAN2 = VIGIL_TUN_ERSPAN2,
	TUN_ERSPAN3 = VIGIL_TUN_ERSPAN3,
	TUN_IPIP = VIGIL_TUN_IPIP,
};
_Static_assert(VIGIL_TUN_MAX == VIGIL_TUN_IPIP,
	       "a new tunnel type needs its counter in tunnel_ctr()");

static inline enum vigil_ctr
tunnel_ctr(uint8_t type)
{
	switch ((enum vigil_tun_kind)type) {
	case TUN_VXLAN:
		return VIGIL_CTR_tunnel_vxlan;
	case TUN_GENEVE:
		return VIGIL_CTR_tunnel_geneve;
	case TUN_GRE:
		return VIGIL_CTR_tunnel_gre;
	case TUN_ERSPAN2:
	case TUN_ERSPAN3:
		return VIGIL_CTR_tunnel_erspan;
	case TUN_IPIP:
		return VIGIL_CTR_tunnel_ipip;
	}
	return VIGIL_CTR_tunnel_ipip; /* unreachable: the assert above */
}

/* PREFETCHW: fetch a line for writing (a no-op on CPUs without it; the
 * corei7 baseline DPDK builds for does not let the compiler emit it). */
static inline void
prefetch_w(const void *p)
{
	asm volatile("prefetchw %0" : : "m"(*(const volatile char *)p));
}

/* The non-drop counters of the oddities a keyed packet carried. */
static void
count_notes(struct vigil_counters *ctr, uint8_t notes)
{
	if (notes & VIGIL_NOTE_IP_LEN_ZERO)
		vigil_ctr_add(ctr, VIGIL_CTR_ipv4_len_zero, 1);
	if (notes & VIGIL_NOTE_TCP_OPTS_BAD)
		vigil_ctr_add(ctr, VIGIL_CTR_tcp_bad_options, 1);
	if (notes & VIGIL_NOTE_IPV4_OPTS_BAD)
		vigil_ctr_add(ctr, VIGIL_CTR_ipv4_bad_options, 1);
	if (notes & VIGIL_NOTE_FRAGMENT)
		vigil_ctr_add(ctr, VIGIL_CTR_fragments_matched, 1);
	if (notes & VIGIL_NOTE_FRAG_EVICT)
		vigil_ctr_add(ctr, VIGIL_CTR_frag_table_full, 1);
}

int
vigil_rx_decode(struct vigil_rx_stage *s, const struct vigil_rxq *q,
		struct vigil_counters *ctr, struct rte_mbuf *m, uint64_t now_us)
{
	struct vigil_pkt_meta *meta = vigil_pkt_meta(m);
	uint64_t ts;
	int rc;

	/* Time first: the fragment table ages by packet time. */
	if (q->pcap_ts && s->ts_offset >= 0 && (m->ol_flags & s->ts_flag))
		ts = *RTE_MBUF_DYNFIELD(m, s->ts_offset, uint64_t *);
	else
		ts = now_us ? now_us : vigil_clock_now_us(&s->clock);
	rc = vigil_decode_mbuf_lt(&s->dec, s->frag, ts, q->linktype, m, meta);
	if (unlikely(rc != VIGIL_DECODE_OK))
		return rc;
	meta->ts_us = ts;
	if (unlikely(meta->notes != 0))
		count_notes(ctr, meta->notes);
	if (unlikely(meta->tun.type != VIGIL_TUN_NONE))
		vigil_ctr_add(ctr, tunnel_ctr(meta->tun.type), 1);
	return VIGIL_DECODE_OK;
}

static void
classify(struct vigil_rx_stage *s, const struct vigil_rxq *q,
	 struct rte_mbuf **pkts, unsigned n)
{
	uint64_t now_us = 0, bytes = 0;

	if (s->raw) {
		/* decode_on = worker: the one worker decodes; this lcore
		 * only reads the port and hands the packets on. */
		for (unsigned i = 0; i < n; i++) {
			bytes += rte_pktmbuf_pkt_len(pkts[i]);
			s->pend[s->npend[0]++] = pkts[i];
		}
		vigil_ctr_add(s->ctr, VIGIL_CTR_rx_packets, n);
		vigil_ctr_add(s->ctr, VIGIL_CTR_rx_bytes, bytes);
		return;
	}
	if (!q->pcap_ts || s->ts_offset < 0)
		now_us = vigil_clock_now_us(&s->clock);
	/* The metadata lines were last read by a worker: ask for them
	 * writable now, so the decoder's stores do not wait on each. */
	for (unsigned i = 0; i < n; i++) {
		char *meta = (char *)vigil_pkt_meta(pkts[i]);

		prefetch_w(meta);
		prefetch_w(meta + RTE_CACHE_LINE_SIZE);
	}
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		const struct vigil_pkt_meta *meta = vigil_pkt_meta(m);
		int rc;
		unsigned w;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		bytes += rte_pktmbuf_pkt_len(m);
		rc = vigil_rx_decode(s, q, s->ctr, m, now_us);
		if (unlikely(rc != VIGIL_DECODE_OK)) {
			vigil_ctr_add(s->ctr, (enum vigil_ctr)rc, 1);
			rte_pktmbuf_free(m);
			continue;
		}
		if (meta->ts_us > s->last_ts_us)
			s->last_ts_us = meta->ts_us;
		w = vigil_rx_pick_worker(meta->rx_hash, s->nworkers);
		s->pend[(size_t)w * s->burst + s->npend[w]++] = m;
	}
	vigil_ctr_add(s->ctr, VIGIL_CTR_rx_packets, n);
	vigil_ctr_add(s->ctr, VIGIL_CTR_rx_bytes, bytes);
}

/*
 * Free what the workers handed back. An mbuf freed on the worker's lcore
 * goes to that lcore's mempool cache and from there through the pool's
 * common ring, which is FIFO: the RX lcore would then allocate mbufs last
 * touched long ago, and the PMD's copy into them would miss the cache on
 * every line. Freed here, they land in this lcore's own cache and the PMD
 * reuses them at once, still warm (the reason DPDK 23.07 added mbuf
 * recycling to ethdev).
 */
static void
recycle(struct vigil_rx_stage *s)
{
	struct rte_mbuf *pkts[VIGIL_MAX_BURST];

	for (unsigned w = 0; w < s->nworkers; w++) {
		unsigned n;

		if (s->back[w] == NULL)
			continue;
		n = rte_ring_dequeue_burst(s->back[w], (void **)pkts,
					   VIGIL_MAX_BURST, NULL);
		vigil_pkts_free(pkts, n);
	}
}

int
vigil_rx_step(struct vigil_rx_stage *s)
{
	struct rte_mbuf *pkts[VIGIL_MAX_BURST];

	if (s->done)
		return 0;
	recycle(s);
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
		uint64_t t0 = rte_rdtsc();
		unsigned n = rte_eth_rx_burst(q->port, q->queue, pkts,
					      (uint16_t)s->burst);
		unsigned left;

		if (n == 0)
			continue;
		classify(s, q, pkts, n);
		left = push_all(s);
		/* Busy cycles (PMD, decode, hand-off), for cycles per
		 * packet next to the worker's. */
		vigil_ctr_add(s->ctr, VIGIL_CTR_rx_cycles, rte_rdtsc() - t0);
		if (left > 0)
			break; /* backpressure: read no more until it fits */
	}
	return 1;
}
