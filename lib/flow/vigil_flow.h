/*
 * vigil flow: the worker stage. Each worker owns one flow table (see
 * vigil_ftable.h: 120-byte entries plus a compact index, under 128 bytes a
 * flow), counts packets and bytes each way, keeps Zeek's conn_state and
 * history, expires flows by idle and active timeouts in bounded steps, and
 * hands finished flows to the publisher as fixed-size records on its own
 * ring.
 *
 * Share-nothing: a table is only ever touched by its worker, so nothing is
 * locked. Packets come from one SP/SC ring per RX lcore; records leave on
 * one SP/SC ring (elements of sizeof(struct vigil_flow_rec)).
 *
 * Time is packet time: a flow whose next packet arrives later than its idle
 * timeout is finished and a new one started, whatever the scan did, so the
 * records of a replay do not depend on how fast it ran. The scan uses the
 * newest packet time the worker has seen (replay) or the TSC clock (live),
 * and is paced on the TSC to cover the table once per flow.scan_period_ms.
 *
 * Timeouts (flow.*): TCP established tcp_idle_s, TCP attempt (SYN without
 * any answer) tcp_attempt_s, TCP closed (FIN both ways, or RST) tcp_closed_s,
 * UDP udp_idle_s, ICMP icmp_idle_s, others other_idle_s; any flow longer
 * than active_timeout_s is reported and continues as a new record.
 *
 * Full table: a new flow whose two index buckets are full, or that finds no
 * free entry, evicts the least recently seen flow of those buckets (its
 * record is emitted with end_reason "evicted", counted in flows_evicted).
 * Only if there is nothing to evict is the packet dropped
 * (drop_flow_table_full). The worker never stalls.
 *
 * Flow control: with `backpressure` set (replay), a worker whose record ring
 * is full stops taking packets until it has room, so nothing is lost. Without
 * it (live), records that do not fit are dropped and counted
 * (drop_event_ring_full); packets never wait.
 *
 * Threading: vigil_worker_step() runs on the worker's lcore only.
 * vigil_worker_create()/free() run on the main thread before launch / after
 * join. `done` may be read by any thread (acquire).
 */
#ifndef VIGIL_FLOW_H
#define VIGIL_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ring.h>

#include "vigil_clock.h"
#include "vigil_conf.h"
#include "vigil_decode.h"
#include "vigil_dispatch.h"
#include "vigil_ftable.h"
#include "vigil_dnscache.h"
#include "vigil_inspect.h"
#include "vigil_stats.h"

#define VIGIL_MAX_WORKERS VIGIL_MAX_STAGE_LCORES
#define VIGIL_MAX_RX VIGIL_MAX_STAGE_LCORES

/* History letters, Zeek conn.log style. A code is letter + 8 * role
 * (role 0 = originator, upper case; 1 = responder, lower case). */
enum vigil_hist {
	VIGIL_H_SYN,	/* S: SYN without ACK */
	VIGIL_H_SYNACK, /* H: SYN with ACK */
	VIGIL_H_ACK,	/* A: pure ACK */
	VIGIL_H_DATA,	/* D: payload */
	VIGIL_H_FIN,	/* F */
	VIGIL_H_RST,	/* R */
	VIGIL_H_RETX,	/* T: retransmitted payload */
	VIGIL_H_ZWIN,	/* W: zero window advertised */
	VIGIL_H_NLETTERS
};

#define VIGIL_HIST_MAX 15

/* Flow state flags. */
#define VIGIL_FF_IN_USE 0x01
#define VIGIL_FF_ORIG 0x02	  /* the originator is key side 1 */
#define VIGIL_FF_FLIPPED 0x04	  /* first packet was the responder's SYN-ACK */
#define VIGIL_FF_SEQ0 0x08	  /* TCP sequence tracking started, originator */
#define VIGIL_FF_SEQ1 0x10	  /* ... responder */
#define VIGIL_FF_INSPECT 0x20	  /* payload being inspected (a context) */
#define VIGIL_FF_L7_DONE 0x40	  /* inspection of this record is over */

/* The 72 bytes of state after each 48-byte key in the table. Arrays are
 * indexed by role: [0] originator, [1] responder. */
struct vigil_flow_state {
	uint64_t first_us;
	uint64_t hist; /* history codes, 4 bits each, in order of appearance */
	union {
		struct {
			uint32_t isn[2]; /* sequence number of the first byte */
			uint32_t end[2]; /* highest sequence number + 1 seen */
		} tcp;
		uint64_t payload[2]; /* other protocols: payload bytes */
	} u;
	uint32_t pkts[2];
	uint32_t last_delta_us; /* last packet - first packet */
	uint8_t flags;		/* VIGIL_FF_* */
	uint8_t nhist;
	uint16_t tunnel;	/* tunnel table entry + 1, 0 = none */
	uint32_t l2_lo[2];	/* frame bytes, low and high parts */
	uint32_t ip_lo[2];	/* IP bytes */
	uint16_t l2_hi[2];
	uint16_t ip_hi[2];
};

enum vigil_end_reason {
	VIGIL_END_IDLE = 1,	/* no packet for the idle timeout */
	VIGIL_END_SHUTDOWN = 2, /* still active at the end of input / stop */
	VIGIL_END_ACTIVE = 3,	/* longer than the active timeout: continues */
	VIGIL_END_EVICTED = 4,	/* pushed out of a full table */
	VIGIL_END_REUSED = 5,	/* a new connection (SYN) on a closed one */
};

/* Outer tunnel endpoints of a flow, kept once per worker. */
struct vigil_tunnel_rec {
	uint8_t type; /* VIGIL_TUN_*, 0 = none */
	uint8_t family;
	uint16_t pad;
	uint32_t id;
	uint8_t src[16], dst[16];
};

/* What a worker hands to the publisher for a finished flow. */
struct vigil_flow_rec {
	struct vigil_flow_key key;
	struct vigil_flow_state s;
	struct vigil_tunnel_rec tun;
	uint8_t reason; /* enum vigil_end_reason */
	uint8_t worker;
	uint8_t resp_name_len; /* 0: the responder has no name */
	uint8_t pad[5];
	/* The name a DNS answer gave the responder's address (the query),
	 * as the wire had it (not escaped). */
	char resp_name[VIGIL_DNSC_NAME];
};

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
	/* Where handled packets go back to be freed by their RX lcore (see
	 * recycle() in vigil_dispatch.c); NULL: freed here. */
	struct rte_ring *back[VIGIL_MAX_RX];
	/* Non-NULL: the RX stage of input i hands its packets undecoded
	 * (dispatch.decode_on = worker); this worker decodes them. */
	struct vigil_rx_stage *decode_for[VIGIL_MAX_RX];
	struct rte_ring *events;
	/* L7 records, NULL when l7.enabled is 0: indices (uint32_t) into
	 * the inspector's record pool (vigil_inspector_recs(insp)), which
	 * the reader gives back on l7_free once it has read them. A flow's
	 * L7 record is always enqueued before its flow record. */
	struct rte_ring *l7_events;
	struct rte_ring *l7_free; /* the inspector's return ring */
	struct vigil_ftable table;
	uint64_t table_heap_bytes; /* heap taken by the table, measured */
	uint32_t expiry_step;
	uint64_t scan_gap_tsc; /* TSC cycles between two scan steps */
	uint64_t next_scan_tsc;
	uint64_t idle_us[256]; /* by IP protocol */
	uint64_t tcp_attempt_us;
	uint64_t tcp_closed_us;
	uint64_t active_us;
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
	uint32_t staged_cap;
	struct vigil_flow_rec *staged; /* [staged_cap] */
	struct vigil_inspector *insp; /* NULL when l7.enabled is 0 */
	struct vigil_dnscache dns;    /* names of addresses (l7.dns_cache) */
	/* Answers other workers saw (struct vigil_dns_note), forwarded by
	 * the control thread; NULL with one worker. */
	struct rte_ring *dns_feed;
	uint32_t nl7_staged;
	uint32_t *l7_staged; /* [staged_cap] record indices */
	uint32_t ntunnels, max_tunnels;
	struct vigil_tunnel_rec *tunnels; /* [max_tunnels] */
	/* Software pipeline: the burst taken from a ring on one step is
	 * prefetched and handled on the next (see take_burst). */
	uint32_t nheld;
	uint32_t held_in; /* the input they came from */
	struct rte_mbuf *held[VIGIL_FT_BURST];
	volatile int done;
} __rte_cache_aligned;

/* Records a worker may stage before they reach its rings. */
static inline uint32_t
vigil_worker_staged_cap(const struct vigil_conf *conf)
{
	return 2 * VIGIL_FT_BURST + conf->expiry_step;
}

/* Most L7 records a reader holds at once before giving them back. */
#define VIGIL_L7_READER_BURST 64

/* L7 records beyond one a context that the pool needs: the ring's, the
 * staged ones and a reader's burst (vigil_inspect.h). */
static inline uint32_t
vigil_worker_l7_spare(const struct vigil_conf *conf)
{
	return conf->l7_ring_size + vigil_worker_staged_cap(conf) +
	       VIGIL_L7_READER_BURST;
}

int vigil_worker_create(struct vigil_worker *w, unsigned id,
			const struct vigil_conf *conf, int socket, char *err,
			size_t errlen);
void vigil_worker_free(struct vigil_worker *w);

/*
 * One bounded step: flush records, take one burst from the next input ring,
 * update flows, scan a slice of the table for expired flows. Returns 1
 * while the worker has work left, 0 once it is done (inputs closed, every
 * flow emitted and every record on the ring or counted as dropped).
 */
int vigil_worker_step(struct vigil_worker *w);

/* Number of flows in the table. */
static inline uint32_t
vigil_worker_active(const struct vigil_worker *w)
{
	return __atomic_load_n(&w->active, __ATOMIC_RELAXED);
}

/*
 * Flow state, exposed for the publisher and tests.
 */
void vigil_flow_init(struct vigil_flow_state *f,
		     const struct vigil_pkt_meta *m);
/* Account one packet. Returns false if the packet starts a new connection
 * on this key (a SYN on a closed TCP flow): emit and re-init first. */
bool vigil_flow_update(struct vigil_flow_state *f,
		       const struct vigil_pkt_meta *m);

/* Key side (0/1) of the originator. */
static inline unsigned
vigil_flow_orig_side(const struct vigil_flow_state *f)
{
	return (f->flags & VIGIL_FF_ORIG) ? 1 : 0;
}

static inline uint64_t
vigil_flow_l2_bytes(const struct vigil_flow_state *f, unsigned role)
{
	return (uint64_t)f->l2_hi[role] << 32 | f->l2_lo[role];
}

static inline uint64_t
vigil_flow_ip_bytes(const struct vigil_flow_state *f, unsigned role)
{
	return (uint64_t)f->ip_hi[role] << 32 | f->ip_lo[role];
}

static inline uint64_t
vigil_flow_last_us(const struct vigil_flow_state *f)
{
	return f->first_us + f->last_delta_us;
}

/* Payload bytes: TCP from sequence numbers (as Zeek), else the sum. */
uint64_t vigil_flow_payload(const struct vigil_flow_state *f, uint8_t proto,
			    unsigned role);

/* Has role `role` shown history letter `h`? */
bool vigil_flow_seen(const struct vigil_flow_state *f, enum vigil_hist h,
		     unsigned role);

/* History string ("ShADadFf", "^hADad"); returns its length. */
unsigned vigil_flow_history(const struct vigil_flow_state *f, char *buf,
			    unsigned len);

/* Zeek conn_state of a flow ("SF", "S0", "REJ", ...). */
const char *vigil_conn_state(const struct vigil_flow_state *f, uint8_t proto);

/* Name of an end reason ("idle", ...). */
const char *vigil_end_reason_name(uint8_t reason);

#endif /* VIGIL_FLOW_H */
