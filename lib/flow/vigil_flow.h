/*
 * vigil flow: the worker stage. Each worker owns one flow table (an
 * rte_hash keyed by the canonical flow key, with the flow state in an array
 * indexed by the hash's key position), counts packets and bytes each way,
 * tracks TCP history, expires idle flows in bounded steps and hands finished
 * flows to the publisher as fixed-size records on its own ring.
 *
 * Share-nothing: a table is only ever touched by its worker, so nothing is
 * locked. The packets come from one SP/SC ring per RX lcore; the records
 * leave on one SP/SC ring (elements of sizeof(struct vigil_flow_rec)).
 *
 * Time is packet time: a flow whose next packet arrives later than its idle
 * timeout is finished and a new one started, whatever the scan did, so the
 * records of a replay do not depend on how fast it ran. The scan uses the
 * newest packet time the worker has seen (replay) or the TSC clock (live).
 * The scan is paced on the TSC to cover the table once per
 * flow.scan_period_ms rather than on every loop: a busy worker then spends
 * its cycles on packets, and an idle flow is reported at most one period
 * after its timeout.
 *
 * Flow control: with `backpressure` set (replay), a worker whose record ring
 * is full stops taking packets until it has room, so nothing is lost and
 * the RX side slows down in turn. Without it (live), records that do not fit
 * are dropped and counted (drop_event_ring_full); packets never wait.
 *
 * Threading: vigil_worker_step() runs on the worker's lcore only.
 * vigil_worker_create()/free() run on the main thread before launch / after
 * join. `done` may be read by any thread (acquire).
 */
#ifndef VIGIL_FLOW_H
#define VIGIL_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>
#include <rte_ring.h>

#include "vigil_clock.h"
#include "vigil_conf.h"
#include "vigil_decode.h"
#include "vigil_stats.h"

#define VIGIL_MAX_WORKERS VIGIL_MAX_STAGE_LCORES
#define VIGIL_MAX_RX VIGIL_MAX_STAGE_LCORES

/* History letters, Zeek conn.log style: bit i is letter "SHADFR"[i]. */
enum vigil_hist {
	VIGIL_H_SYN,
	VIGIL_H_SYNACK,
	VIGIL_H_ACK,
	VIGIL_H_DATA,
	VIGIL_H_FIN,
	VIGIL_H_RST,
	VIGIL_H_NLETTERS
};

#define VIGIL_HIST_MAX 16 /* 12 letters + '^' + NUL, rounded */

struct vigil_flow_entry {
	uint64_t first_us;
	uint64_t last_us;
	uint64_t l2_bytes[2];  /* [0] originator, [1] responder */
	uint64_t ip_bytes[2];
	uint64_t payload[2];
	uint32_t pkts[2];
	uint8_t in_use;
	uint8_t orig;	      /* key side of the originator */
	uint8_t proto;	      /* copy of key.proto, for the scan */
	uint8_t icmp_type;    /* of the first packet */
	uint8_t icmp_code;
	uint8_t hist_len;
	uint8_t seen[2];      /* history bits seen, [0] orig, [1] resp */
	char history[VIGIL_HIST_MAX];
};

enum vigil_end_reason {
	VIGIL_END_IDLE = 1,
	VIGIL_END_SHUTDOWN = 2,
};

/* What a worker hands to the publisher for a finished flow. */
struct vigil_flow_rec {
	struct vigil_flow_key key;
	struct vigil_flow_entry f;
	uint8_t reason; /* enum vigil_end_reason */
	uint8_t worker;
	uint8_t pad[6];
} __rte_aligned(8);

enum vigil_worker_state {
	VIGIL_W_RUN,   /* taking packets */
	VIGIL_W_DRAIN, /* inputs closed and empty: expiring every flow */
	VIGIL_W_DONE,
};

struct vigil_worker {
	/* Set up before launch. */
	unsigned id;
	unsigned lcore;
	unsigned nin;
	struct rte_ring *in[VIGIL_MAX_RX];
	const volatile int *in_done[VIGIL_MAX_RX]; /* RX stages' done flags */
	/* RX stages' newest packet time, read once they are done: the drain
	 * judges idleness by the end of the whole input, not by the last
	 * packet this worker happened to get. */
	const uint64_t *in_last_ts[VIGIL_MAX_RX];
	struct rte_ring *events;
	struct rte_hash *table;
	struct vigil_flow_entry *flows; /* [max_flows], by key position */
	uint32_t max_flows;
	uint32_t burst;
	uint32_t expiry_step;
	uint64_t scan_gap_tsc; /* TSC cycles between two scan steps */
	uint64_t next_scan_tsc;
	uint64_t idle_us[256]; /* by IP protocol */
	bool backpressure;
	bool live_clock;
	const volatile int *abort; /* drain timed out: drop what is pending */
	struct vigil_clock clock;
	struct vigil_counters *ctr;

	/* Worker-private state. */
	enum vigil_worker_state state;
	unsigned next_in;
	uint32_t cursor; /* scan position */
	uint64_t now_us;
	uint32_t active;
	uint32_t nstaged;
	struct vigil_flow_rec *staged; /* [burst + expiry_step] */
	volatile int done;
} __rte_cache_aligned;

/*
 * Allocate the worker's table, flow array, record ring and staging area on
 * `socket`. Returns 0, or -1 with a message in err naming what failed.
 */
int vigil_worker_create(struct vigil_worker *w, unsigned id,
			const struct vigil_conf *conf, int socket, char *err,
			size_t errlen);

/* Free what vigil_worker_create() allocated. */
void vigil_worker_free(struct vigil_worker *w);

/*
 * One bounded step: flush records, take one burst from the next input ring,
 * update flows, check `expiry_step` slots for idle flows. Returns 1 while the
 * worker has work left, 0 once it is done (inputs closed, every flow emitted
 * and every record on the ring or counted as dropped).
 */
int vigil_worker_step(struct vigil_worker *w);

/* Number of flows in the table (worker thread, or after join). */
static inline uint32_t
vigil_worker_active(const struct vigil_worker *w)
{
	return __atomic_load_n(&w->active, __ATOMIC_RELAXED);
}

/* Zeek conn_state of a finished flow ("SF", "S0", "REJ", ...). */
const char *vigil_conn_state(const struct vigil_flow_rec *r);

/* Account one packet to a flow entry (exposed for tests). */
void vigil_flow_update(struct vigil_flow_entry *f,
		       const struct vigil_pkt_meta *m);

/* Initialise an entry from the first packet of a flow. */
void vigil_flow_init(struct vigil_flow_entry *f,
		     const struct vigil_pkt_meta *m);

#endif /* VIGIL_FLOW_H */
