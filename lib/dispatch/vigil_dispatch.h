/*
 * vigil dispatch: the RX stage. An RX lcore polls its (port, queue) pairs
 * with rte_eth_rx_burst, decodes each packet far enough to key its flow
 * (the result goes into the mbuf's private area), and hands it to a worker
 * through the single-producer/single-consumer ring of that (RX lcore,
 * worker) pair. The worker is chosen by a symmetric hash of the flow key, so
 * both directions of a flow meet on one worker.
 *
 * Each queue has the pcap link type of what it delivers (Ethernet for a
 * NIC; a net_pcap port reading a file delivers the file's frames as they
 * are, so the capture's link type, see vigil_device_linktype()). The stage
 * decodes with its own decoder settings (`dec`, read-only once running)
 * and its own fragment table, so later IP fragments are keyed like the
 * first fragment of their datagram (vigil_frag.h).
 *
 * Packets that cannot be keyed are freed and counted by reason. When a
 * worker ring is full: live (no backpressure) the packets are freed and
 * counted as drop_ring_full and the lcore never waits; replay
 * (backpressure) the packets stay pending and the lcore reads no more until
 * they fit, so a capture replays without loss at whatever speed the
 * workers manage.
 *
 * Packet time: the capture time the PMD wrote (net_pcap: microseconds) when
 * the port provides it, else the TSC clock read once per burst.
 *
 * Threading: vigil_rx_step() runs on the RX lcore only. `done` is written
 * with release order after the last enqueue, so a worker that sees it set
 * (acquire) sees every packet this stage will ever send.
 */
#ifndef VIGIL_DISPATCH_H
#define VIGIL_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "vigil_clock.h"
#include "vigil_conf.h"
#include "vigil_decode.h"
#include "vigil_frag.h"
#include "vigil_stats.h"

#define VIGIL_RX_MAX_QUEUES 64
#define VIGIL_RX_MAX_WORKERS VIGIL_MAX_STAGE_LCORES
#define VIGIL_MAX_BURST 256

struct vigil_rxq {
	uint16_t port;
	uint16_t queue;
	bool pcap_ts; /* the PMD writes capture time in microseconds */
	int linktype; /* VIGIL_DLT_* of the frames (vigil_rx_init: Ethernet) */
};

struct vigil_rx_stage {
	/* Set up before launch. */
	unsigned id;
	unsigned lcore;
	unsigned nq;
	struct vigil_rxq q[VIGIL_RX_MAX_QUEUES];
	unsigned nworkers;
	struct rte_ring *out[VIGIL_RX_MAX_WORKERS];
	/* Packets the workers are done with, freed here (see
	 * recycle() in vigil_dispatch.c); NULL: the workers free them. */
	struct rte_ring *back[VIGIL_RX_MAX_WORKERS];
	unsigned burst;
	bool backpressure;
	/* dispatch.decode_on = worker: hand packets undecoded to the one
	 * worker, which decodes them with this stage's decoder, queue
	 * settings (all queues alike, q[0]) and fragment table. */
	bool raw;
	const volatile int *stop;  /* stop reading the ports */
	const volatile int *abort; /* drain timed out: drop what is pending */
	int ts_offset;		   /* mbuf timestamp dynfield, -1 = none */
	uint64_t ts_flag;	   /* its ol_flags bit */
	struct vigil_clock clock;
	struct vigil_counters *ctr;
	struct vigil_decoder dec; /* vigil_rx_init: vigil_decoder_defaults() */

	/* RX-lcore-private state. */
	uint16_t npend[VIGIL_RX_MAX_WORKERS];
	struct rte_mbuf **pend; /* [nworkers][burst] */
	struct vigil_frag_table *frag; /* VIGIL_FRAG_ENTRIES entries */
	uint64_t last_ts_us;	/* newest packet time seen; final at done */
	volatile int done;
} __rte_cache_aligned;

/*
 * Prepare a stage (rings are created by the caller and stored in `out`).
 * Allocates the pending arrays and the fragment table, sets the decoder
 * defaults and every queue's link type to Ethernet. 0, or -1 with a
 * message in err.
 */
int vigil_rx_init(struct vigil_rx_stage *s, unsigned id, unsigned burst,
		  unsigned nworkers, int socket, char *err, size_t errlen);

void vigil_rx_free(struct vigil_rx_stage *s);

/*
 * Link type (VIGIL_DLT_*) of what RX queue `queue` of the port configured
 * as `device` delivers: for a net_pcap vdev reading files (rx_pcap=FILE,
 * one per queue, in order) the link type of that capture file, read with
 * libpcap; Ethernet for anything else. -1 with a message naming the device
 * and the link type when the file cannot be read or its link type is not
 * one the decoder reads. Control thread, before the lcores start.
 */
int vigil_device_linktype(const char *device, unsigned queue, char *err,
			  size_t errlen);

/*
 * One bounded step: retry pending packets, then (unless stopped or still
 * blocked) one burst from each queue. Returns 1 while active, 0 once the
 * stage is done (stopped and nothing pending).
 */
int vigil_rx_step(struct vigil_rx_stage *s);

/*
 * Decode packet m as queue q of stage s delivers it: capture time (or
 * now_us, or the clock when now_us is 0), the stage's decoder and fragment
 * table; oddities and tunnels are counted in ctr. Returns VIGIL_DECODE_OK
 * with the metadata filled, or the drop counter (neither counted nor freed:
 * the caller does both). The RX lcore calls it, or with raw set the worker,
 * which is then the only user of the stage's fragment table.
 */
int vigil_rx_decode(struct vigil_rx_stage *s, const struct vigil_rxq *q,
		    struct vigil_counters *ctr, struct rte_mbuf *m,
		    uint64_t now_us);

/*
 * Give packets back to their pool. The common case (every mbuf direct,
 * unshared, one segment, from one pool: what an RX queue hands out) goes
 * straight to the mempool reading only each mbuf's first cache line, as
 * the drivers' MBUF_FAST_FREE does; anything else takes the general path.
 */
static inline void
vigil_pkts_free(struct rte_mbuf **pkts, unsigned n)
{
	struct rte_mempool *mp;

	if (n == 0)
		return;
	mp = pkts[0]->pool;
	for (unsigned i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];

		if (unlikely(m->pool != mp || m->nb_segs != 1 ||
			     rte_mbuf_refcnt_read(m) != 1 ||
			     !RTE_MBUF_DIRECT(m))) {
			rte_pktmbuf_free_bulk(pkts, n);
			return;
		}
	}
	rte_mempool_put_bulk(mp, (void **)pkts, n);
}

/* Worker index for a symmetric hash: multiply-shift, not modulo (no
 * division). The worker's table remixes the same hash before choosing its
 * buckets (vigil_ftable_where), so the two choices stay independent. */
static inline unsigned
vigil_rx_pick_worker(uint32_t hash, unsigned nworkers)
{
	return (unsigned)(((uint64_t)hash * nworkers) >> 32);
}

#endif /* VIGIL_DISPATCH_H */
