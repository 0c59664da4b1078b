/*
 * Unit tests of lib/dispatch: worker choice, and the RX stage end to end on
 * a ring-backed port (rte_eth_from_rings) whose RX ring the test fills with
 * hand-made frames. EAL without hugepages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "vigil_clock.h"
#include "vigil_decode.h"
#include "vigil_dispatch.h"
#include "vigil_stats.h"

/* ---- vigil_rx_pick_worker (pure) ----------------------------------------- */

static uint32_t rng_state = 0x12345678u;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
test_pick_worker_in_range(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= VIGIL_RX_MAX_WORKERS; n++) {
		assert_int_equal(vigil_rx_pick_worker(0, n), 0);
		assert_int_equal(vigil_rx_pick_worker(UINT32_MAX, n), n - 1);
		for (int i = 0; i < 10000; i++)
			assert_true(vigil_rx_pick_worker(rnd(), n) < n);
	}
	/* One worker takes everything. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vigil_rx_pick_worker(rnd(), 1), 0);
}

static void
test_pick_worker_spreads_evenly(void **state)
{
	unsigned cnt[4] = { 0 };
	unsigned cnt3[3] = { 0 };

	(void)state;
	for (int i = 0; i < 100000; i++) {
		uint32_t h = rnd();

		cnt[vigil_rx_pick_worker(h, 4)]++;
		cnt3[vigil_rx_pick_worker(h, 3)]++;
	}
	for (int w = 0; w < 4; w++) {
		assert_in_range(cnt[w], 25000 - 1250, 25000 + 1250);
	}
	for (int w = 0; w < 3; w++)
		assert_in_range(cnt3[w], 33333 - 1667, 33333 + 1667);
}

static void
test_pick_worker_uses_high_bits(void **state)
{
	(void)state;
	/* Multiply-shift, not modulo: the low bits (which index a worker's
	 * table) do not move a flow between workers. */
	for (uint32_t low = 0; low < 65536; low += 7) {
		assert_int_equal(vigil_rx_pick_worker(0x40000000u | low, 4), 1);
		assert_int_equal(vigil_rx_pick_worker(0xc0000000u | low, 4), 3);
	}
	assert_int_equal(vigil_rx_pick_worker(0x3fffffffu, 4), 0);
	assert_int_equal(vigil_rx_pick_worker(0x80000000u, 2), 1);
	assert_int_equal(vigil_rx_pick_worker(0x7fffffffu, 2), 0);
}

/* ---- frames --------------------------------------------------------------- */

struct fb {
	uint8_t b[512];
	uint32_t n;
};

static void
put16(struct fb *f, uint16_t v)
{
	f->b[f->n++] = (uint8_t)(v >> 8);
	f->b[f->n++] = (uint8_t)v;
}

static void
put_eth(struct fb *f, uint16_t type)
{
	f->n = 0;
	memset(f->b, 0x02, 12);
	f->n = 12;
	put16(f, type);
}

static void
put_ip4(struct fb *f, uint32_t src, uint32_t dst, uint8_t proto,
	uint16_t l4len)
{
	put16(f, 0x4500);
	put16(f, (uint16_t)(20 + l4len));
	put16(f, 0);
	put16(f, 0);
	f->b[f->n++] = 64;
	f->b[f->n++] = proto;
	put16(f, 0);
	put16(f, (uint16_t)(src >> 16));
	put16(f, (uint16_t)src);
	put16(f, (uint16_t)(dst >> 16));
	put16(f, (uint16_t)dst);
}

static void
mk_udp4(struct fb *f, uint32_t src, uint16_t sport, uint32_t dst,
	uint16_t dport, uint16_t payload)
{
	put_eth(f, 0x0800);
	put_ip4(f, src, dst, 17, (uint16_t)(8 + payload));
	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
	memset(f->b + f->n, 'p', payload);
	f->n += payload;
	while (f->n < 60)
		f->b[f->n++] = 0;
}

static void
mk_tcp4(struct fb *f, uint32_t src, uint16_t sport, uint32_t dst,
	uint16_t dport, uint8_t flags, uint16_t payload)
{
	put_eth(f, 0x0800);
	put_ip4(f, src, dst, 6, (uint16_t)(20 + payload));
	put16(f, sport);
	put16(f, dport);
	put16(f, 0);
	put16(f, 1);
	put16(f, 0);
	put16(f, 0);
	put16(f, (uint16_t)(0x5000 | flags));
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	memset(f->b + f->n, 't', payload);
	f->n += payload;
	while (f->n < 60)
		f->b[f->n++] = 0;
}

/* ---- RX stage on a ring-backed port (EAL) --------------------------------- */

#define NW_MAX 4

static struct rte_mempool *mp;
static struct rte_ring *port_rx, *port_tx;
static uint16_t port_id;
static struct rte_ring *wring[NW_MAX];
static struct vigil_rx_stage s;
static struct vigil_counters ctr;
static volatile int stop_flag, abort_flag;

static int
eal_setup(void **state)
{
	char *argv[] = { "test", "--no-huge", "-m", "256", "--no-pci",
			 "--no-shconf", "-l", "0", "--log-level=4" };
	struct rte_eth_conf pc;
	int p;

	(void)state;
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0)
		return -1;
	mp = rte_pktmbuf_pool_create("dispatch_pool", 2047, 0,
				     RTE_ALIGN(sizeof(struct vigil_pkt_meta),
					       RTE_MBUF_PRIV_ALIGN),
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	port_rx = rte_ring_create("port_rx", 1024, SOCKET_ID_ANY,
				  RING_F_SP_ENQ | RING_F_SC_DEQ);
	port_tx = rte_ring_create("port_tx", 64, SOCKET_ID_ANY,
				  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (mp == NULL || port_rx == NULL || port_tx == NULL)
		return -1;
	p = rte_eth_from_rings("net_ring_test", &port_rx, 1, &port_tx, 1,
			       (unsigned)rte_socket_id());
	if (p < 0)
		return -1;
	port_id = (uint16_t)p;
	memset(&pc, 0, sizeof(pc));
	if (rte_eth_dev_configure(port_id, 1, 1, &pc) != 0 ||
	    rte_eth_rx_queue_setup(port_id, 0, 256, rte_socket_id(), NULL,
				   mp) != 0 ||
	    rte_eth_tx_queue_setup(port_id, 0, 256, rte_socket_id(), NULL) !=
		    0 ||
	    rte_eth_dev_start(port_id) != 0)
		return -1;
	return 0;
}

static int
eal_teardown(void **state)
{
	(void)state;
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	rte_ring_free(port_rx);
	rte_ring_free(port_tx);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}

/* A stage with `nw` worker rings of `wsize` slots. */
static void
stage_init(unsigned nw, unsigned wsize, bool backpressure)
{
	char err[128], name[32];

	memset(&s, 0, sizeof(s));
	memset(&ctr, 0, sizeof(ctr));
	stop_flag = 0;
	abort_flag = 0;
	assert_int_equal(vigil_rx_init(&s, 0, 32, nw, SOCKET_ID_ANY, err,
				       sizeof(err)),
			 0);
	assert_int_equal(s.ts_offset, -1);
	for (unsigned w = 0; w < nw; w++) {
		snprintf(name, sizeof(name), "wring%u", w);
		wring[w] = rte_ring_create(name, wsize, SOCKET_ID_ANY,
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		assert_non_null(wring[w]);
		s.out[w] = wring[w];
	}
	s.nq = 1;
	s.q[0].port = port_id;
	s.q[0].queue = 0;
	s.q[0].pcap_ts = false;
	s.backpressure = backpressure;
	s.stop = &stop_flag;
	s.abort = &abort_flag;
	s.ctr = &ctr;
	vigil_clock_init(&s.clock);
}

static void
drain_worker_rings(void)
{
	struct rte_mbuf *m;

	for (unsigned w = 0; w < s.nworkers; w++)
		while (rte_ring_dequeue(wring[w], (void **)&m) == 0)
			rte_pktmbuf_free(m);
}

static int
stage_teardown(void **state)
{
	(void)state;
	drain_worker_rings();
	for (unsigned w = 0; w < s.nworkers; w++) {
		rte_ring_free(wring[w]);
		wring[w] = NULL;
	}
	vigil_rx_free(&s);
	assert_null(s.pend);
	return 0;
}

static void
port_put(const struct fb *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	char *d;

	assert_non_null(m);
	d = rte_pktmbuf_append(m, (uint16_t)f->n);
	assert_non_null(d);
	memcpy(d, f->b, f->n);
	assert_int_equal(rte_ring_enqueue(port_rx, m), 0);
}

/* Step until the port's RX ring is empty and nothing is pending. */
static void
rx_run(void)
{
	for (int i = 0; i < 1000; i++) {
		unsigned pend = 0;

		assert_int_equal(vigil_rx_step(&s), 1);
		for (unsigned w = 0; w < s.nworkers; w++)
			pend += s.npend[w];
		if (rte_ring_empty(port_rx) && pend == 0)
			return;
	}
	fail_msg("RX stage did not drain its port");
}

static uint64_t
C(enum vigil_ctr id)
{
	return vigil_ctr_read(&ctr, id);
}

#define NFLOWS 64

static void
test_rx_both_directions_same_worker(void **state)
{
	int flow_worker[NFLOWS];
	unsigned per_worker[NW_MAX] = { 0 };
	unsigned used = 0, got = 0;
	uint64_t bytes = 0, t_before, t_after, newest = 0;
	struct fb f;

	(void)state;
	stage_init(4, 512, true);
	/* 64 flows, one packet each way: 10.1.0.i:(2000+i) <-> 10.2.0.1:80. */
	for (unsigned i = 0; i < NFLOWS; i++) {
		uint32_t c = 0x0a010000u + i, srv = 0x0a020001u;

		mk_tcp4(&f, c, (uint16_t)(2000 + i), srv, 80, 0x02, 0);
		port_put(&f);
		bytes += f.n;
		mk_tcp4(&f, srv, 80, c, (uint16_t)(2000 + i), 0x12, 0);
		port_put(&f);
		bytes += f.n;
		flow_worker[i] = -1;
	}
	t_before = vigil_clock_now_us(&s.clock);
	rx_run();
	t_after = vigil_clock_now_us(&s.clock);
	assert_int_equal(C(VIGIL_CTR_rx_packets), 2 * NFLOWS);
	assert_int_equal(C(VIGIL_CTR_rx_bytes), bytes);
	assert_int_equal(C(VIGIL_CTR_dispatched), 2 * NFLOWS);
	assert_int_equal(vigil_counters_drops(ctr.c), 0);

	for (unsigned w = 0; w < 4; w++) {
		struct rte_mbuf *m;

		while (rte_ring_dequeue(wring[w], (void **)&m) == 0) {
			const struct vigil_pkt_meta *pm = vigil_pkt_meta(m);
			unsigned i = pm->key.addr[0][3];

			/* The RX stage decoded the packet and keyed it. */
			assert_int_equal(pm->key.proto, VIGIL_IPPROTO_TCP);
			assert_int_equal(pm->key.addr[0][0], 10);
			assert_int_equal(pm->key.addr[0][1], 1);
			assert_int_equal(pm->key.port[0], 2000 + i);
			assert_int_equal(pm->key.port[1], 80);
			assert_int_equal(pm->l2_len, 60);
			assert_int_equal(pm->rx_hash, vigil_key_hash(&pm->key));
			assert_int_equal(vigil_rx_pick_worker(pm->rx_hash, 4),
					 w);
			assert_in_range(pm->ts_us, t_before - 1000000,
					t_after + 1000000);
			assert_true(i < NFLOWS);
			if (pm->ts_us > newest)
				newest = pm->ts_us;
			if (flow_worker[i] < 0)
				flow_worker[i] = (int)w;
			/* Both directions on the same worker. */
			assert_int_equal(flow_worker[i], (int)w);
			per_worker[w]++;
			got++;
			rte_pktmbuf_free(m);
		}
	}
	assert_int_equal(got, 2 * NFLOWS);
	/* The stage keeps the newest packet time (read by workers at the
	 * end of a replay). */
	assert_int_equal(s.last_ts_us, newest);
	for (unsigned w = 0; w < 4; w++) {
		assert_true(per_worker[w] % 2 == 0);
		used += per_worker[w] > 0;
	}
	/* 64 flows over 4 workers: more than one worker is used. */
	assert_true(used >= 2);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

static void
test_rx_uses_capture_timestamps(void **state)
{
	const uint64_t t0 = 1767225600000000ull;
	struct fb f;
	struct rte_mbuf *m;
	int off;
	uint64_t flag, t_before, t_after;
	unsigned got = 0;

	(void)state;
	stage_init(1, 64, true);
	/* What net_pcap does: the capture time in microseconds in the
	 * mbuf's timestamp dynfield, with its flag set. */
	assert_int_equal(rte_mbuf_dyn_rx_timestamp_register(&off, &flag), 0);
	s.ts_offset = off;
	s.ts_flag = flag;
	s.q[0].pcap_ts = true;
	mk_udp4(&f, 0x0a000001u, 1000, 0x0a000002u, 53, 20);
	for (int i = 0; i < 5; i++) {
		port_put(&f);
	}
	/* Stamp the five mbufs in the port ring: 5, 1, 4, 2, 3 ms. */
	{
		static const unsigned ms[5] = { 5, 1, 4, 2, 3 };
		struct rte_mbuf *b[5];

		assert_int_equal(rte_ring_dequeue_bulk(port_rx, (void **)b, 5,
						       NULL),
				 5);
		for (int i = 0; i < 5; i++) {
			*RTE_MBUF_DYNFIELD(b[i], off, uint64_t *) =
				t0 + ms[i] * 1000;
			b[i]->ol_flags |= flag;
		}
		assert_int_equal(rte_ring_enqueue_bulk(port_rx, (void **)b, 5,
						       NULL),
				 5);
	}
	/* One more without the flag: the TSC clock is used for it. */
	port_put(&f);
	t_before = vigil_clock_now_us(&s.clock);
	rx_run();
	t_after = vigil_clock_now_us(&s.clock);
	assert_int_equal(C(VIGIL_CTR_dispatched), 6);
	while (rte_ring_dequeue(wring[0], (void **)&m) == 0) {
		const struct vigil_pkt_meta *pm = vigil_pkt_meta(m);
		static const unsigned ms[5] = { 5, 1, 4, 2, 3 };

		if (got < 5)
			assert_int_equal(pm->ts_us, t0 + ms[got] * 1000);
		else
			assert_in_range(pm->ts_us, t_before - 1000000,
					t_after + 1000000);
		got++;
		rte_pktmbuf_free(m);
	}
	assert_int_equal(got, 6);
	/* The newest time is the clock's (the unstamped packet). */
	assert_in_range(s.last_ts_us, t_before - 1000000, t_after + 1000000);
}

static void
test_rx_drops_undecodable(void **state)
{
	struct fb f;

	(void)state;
	stage_init(2, 64, true);
	/* ARP. */
	put_eth(&f, 0x0806);
	memset(f.b + f.n, 0, 46);
	f.n += 46;
	port_put(&f);
	/* Ethernet header cut short. */
	f.n = 10;
	port_put(&f);
	/* IPv4 non-first fragment. */
	mk_udp4(&f, 0x0a000001u, 1, 0x0a000002u, 2, 10);
	f.b[14 + 6] = 0x00;
	f.b[14 + 7] = 0x10;
	port_put(&f);
	/* A valid UDP packet. */
	mk_udp4(&f, 0x0a000001u, 1, 0x0a000002u, 2, 100);
	port_put(&f);
	/* A TCP packet whose IPv4 total length is 0 (captured before TSO):
	 * kept, and counted in ipv4_len_zero (not a drop). */
	mk_tcp4(&f, 0x0a000001u, 3, 0x0a000002u, 4, 0x10, 100);
	f.b[14 + 2] = 0;
	f.b[14 + 3] = 0;
	port_put(&f);
	rx_run();
	assert_int_equal(C(VIGIL_CTR_rx_packets), 5);
	assert_int_equal(C(VIGIL_CTR_rx_bytes), 60 + 10 + 60 + 142 + 154);
	assert_int_equal(C(VIGIL_CTR_drop_arp), 1);
	assert_int_equal(C(VIGIL_CTR_drop_truncated), 1);
	assert_int_equal(C(VIGIL_CTR_drop_fragment_unmatched), 1);
	assert_int_equal(C(VIGIL_CTR_ipv4_len_zero), 1);
	assert_int_equal(C(VIGIL_CTR_dispatched), 2);
	assert_int_equal(vigil_counters_drops(ctr.c), 3);
	/* The dropped frames went back to the pool; only the dispatched ones
	 * are still out. */
	assert_int_equal(rte_mempool_in_use_count(mp), 2);
	assert_int_equal(rte_ring_count(wring[0]) + rte_ring_count(wring[1]),
			 2);
	drain_worker_rings();
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

static void
test_rx_ring_full_live_drops(void **state)
{
	struct fb f;

	(void)state;
	/* One worker, a ring of 64 slots (63 usable), nobody reading it. */
	stage_init(1, 64, false);
	mk_udp4(&f, 0x0a000001u, 1000, 0x0a000002u, 53, 20);
	for (int i = 0; i < 100; i++)
		port_put(&f);
	rx_run();
	assert_int_equal(C(VIGIL_CTR_rx_packets), 100);
	assert_int_equal(C(VIGIL_CTR_dispatched), 63);
	assert_int_equal(C(VIGIL_CTR_drop_ring_full), 37);
	assert_int_equal(C(VIGIL_CTR_backpressure), 0);
	assert_int_equal(rte_ring_count(wring[0]), 63);
	/* The dropped packets were freed. */
	assert_int_equal(rte_mempool_in_use_count(mp), 63);
	drain_worker_rings();
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

static void
test_rx_ring_full_backpressure_waits(void **state)
{
	struct fb f;
	struct rte_mbuf *m;
	unsigned got = 0;

	(void)state;
	stage_init(1, 64, true);
	mk_udp4(&f, 0x0a000001u, 1000, 0x0a000002u, 53, 20);
	for (int i = 0; i < 100; i++)
		port_put(&f);
	for (int i = 0; i < 50; i++)
		assert_int_equal(vigil_rx_step(&s), 1);
	/* The ring is full, the rest waits: pending in the stage (at most a
	 * burst) or still in the port. Nothing is lost. */
	assert_int_equal(rte_ring_count(wring[0]), 63);
	assert_int_equal(C(VIGIL_CTR_drop_ring_full), 0);
	assert_true(C(VIGIL_CTR_backpressure) > 0);
	assert_true(s.npend[0] <= 32);
	assert_int_equal(s.npend[0] + rte_ring_count(port_rx), 100 - 63);
	assert_int_equal(C(VIGIL_CTR_rx_packets), 63 + s.npend[0]);
	/* A consumer makes room: everything arrives, in order. */
	for (int i = 0; i < 1000 && got < 100; i++) {
		vigil_rx_step(&s);
		while (rte_ring_dequeue(wring[0], (void **)&m) == 0) {
			got++;
			rte_pktmbuf_free(m);
		}
	}
	assert_int_equal(got, 100);
	assert_int_equal(C(VIGIL_CTR_dispatched), 100);
	assert_int_equal(C(VIGIL_CTR_rx_packets), 100);
	assert_int_equal(vigil_counters_drops(ctr.c), 0);
	/* Stop: the stage reports done, once nothing is pending. */
	stop_flag = 1;
	assert_int_equal(vigil_rx_step(&s), 0);
	assert_int_equal(s.done, 1);
	assert_int_equal(vigil_rx_step(&s), 0);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

static void
test_rx_abort_drops_pending(void **state)
{
	struct fb f;

	(void)state;
	stage_init(1, 64, true);
	mk_udp4(&f, 0x0a000001u, 1000, 0x0a000002u, 53, 20);
	for (int i = 0; i < 100; i++)
		port_put(&f);
	for (int i = 0; i < 10; i++)
		vigil_rx_step(&s);
	/* Burst 1 fills 32 slots, burst 2 fits 31 of 32: one pending. */
	assert_int_equal(s.npend[0], 1);
	assert_int_equal(rte_ring_count(port_rx), 100 - 64);
	/* Stop with the drain time run out: what is pending is dropped and
	 * counted as drop_shutdown, not drop_ring_full, and the stage is
	 * done without reading the port again. */
	stop_flag = 1;
	abort_flag = 1;
	assert_int_equal(vigil_rx_step(&s), 0);
	assert_int_equal(s.done, 1);
	assert_int_equal(s.npend[0], 0);
	assert_int_equal(C(VIGIL_CTR_drop_shutdown), 1);
	assert_int_equal(C(VIGIL_CTR_drop_ring_full), 0);
	assert_int_equal(C(VIGIL_CTR_dispatched), 63);
	assert_int_equal(C(VIGIL_CTR_rx_packets), 64);
	assert_int_equal(rte_ring_count(port_rx), 100 - 64);
	/* Leave the port empty for the next test. */
	{
		struct rte_mbuf *m;

		while (rte_ring_dequeue(port_rx, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
	drain_worker_rings();
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}


/* Packets a worker hands back are freed by the RX stage on its next step,
 * whatever else it does; a shared or chained mbuf takes the general free. */
static void
test_rx_frees_what_workers_hand_back(void **state)
{
	struct rte_ring *back = rte_ring_create("back0", 256, SOCKET_ID_ANY,
						RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_mbuf *m[8];

	(void)state;
	assert_non_null(back);
	stage_init(1, 64, false);
	s.back[0] = back;
	for (unsigned i = 0; i < 8; i++) {
		m[i] = rte_pktmbuf_alloc(mp);
		assert_non_null(m[i]);
	}
	/* One with a second reference (a clone a worker would keep). */
	rte_mbuf_refcnt_update(m[3], 1);
	assert_int_equal(rte_ring_enqueue_bulk(back, (void **)m, 8, NULL), 8);
	assert_int_equal(rte_mempool_in_use_count(mp), 8);
	assert_int_equal(vigil_rx_step(&s), 1);
	assert_int_equal(rte_ring_count(back), 0);
	/* Seven back in the pool, the shared one still held once. */
	assert_int_equal(rte_mempool_in_use_count(mp), 1);
	assert_int_equal(rte_mbuf_refcnt_read(m[3]), 1);
	rte_pktmbuf_free(m[3]);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
	s.back[0] = NULL;
	rte_ring_free(back);
}

/* ---- link types, tunnels, fragments through the stage --------------------- */

/* Raw IPv4 header (no link layer) at f->n; returns its offset. */
static uint32_t
raw_ip4(struct fb *f, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
	uint16_t frag, uint16_t l4len)
{
	uint32_t off = f->n;

	put_ip4(f, src, dst, proto, l4len);
	f->b[off + 4] = (uint8_t)(id >> 8);
	f->b[off + 5] = (uint8_t)id;
	f->b[off + 6] = (uint8_t)(frag >> 8);
	f->b[off + 7] = (uint8_t)frag;
	return off;
}

static void
put_udp(struct fb *f, uint16_t sport, uint16_t dport, uint16_t ulen,
	uint16_t payload)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, ulen);
	put16(f, 0);
	memset(f->b + f->n, 'u', payload);
	f->n += payload;
}

static void
put_tcp(struct fb *f, uint16_t sport, uint16_t dport, const uint8_t *opt,
	uint8_t optlen)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 0x1111);
	put16(f, 0x2222);
	put16(f, 0x3333);
	put16(f, 0x4444);
	put16(f, (uint16_t)(((5 + optlen / 4) << 12) | 0x10));
	put16(f, 512);
	put16(f, 0);
	put16(f, 0);
	memcpy(f->b + f->n, opt, optlen);
	f->n += optlen;
}

static void
test_rx_linktype_tunnels_fragments(void **state)
{
	static const uint8_t badopt[4] = { 2, 3, 1, 1 };
	const uint32_t a = 0x0a000001u, b = 0x0a000002u;
	const uint32_t n1 = 0xc0a83201u, n2 = 0xc0a83202u;
	struct fb f;
	struct rte_mbuf *m;
	unsigned got = 0, tunnelled = 0, frag_keys = 0;
	struct vigil_flow_key first_key;

	(void)state;
	stage_init(1, 512, true);
	/* vigil_rx_init's defaults. */
	assert_int_equal(s.dec.n_vxlan, 2);
	assert_int_equal(s.dec.vxlan_ports[1], 8472);
	assert_true(s.dec.decap);
	assert_int_equal(s.q[0].linktype, VIGIL_DLT_EN10MB);
	assert_int_equal(s.q[VIGIL_RX_MAX_QUEUES - 1].linktype,
			 VIGIL_DLT_EN10MB);
	assert_non_null(s.frag);
	/* This port delivers raw IP (as a net_pcap port on a raw capture). */
	s.q[0].linktype = VIGIL_DLT_RAW;

	/* 1: plain UDP. */
	f.n = 0;
	raw_ip4(&f, a, b, 17, 1, 0, 8 + 10);
	put_udp(&f, 1000, 53, 8 + 10, 10);
	port_put(&f);
	/* 2: VXLAN 192.168.50.1 -> .2, VNI 42, inner Ethernet + TCP. */
	f.n = 0;
	raw_ip4(&f, n1, n2, 17, 2, 0, 8 + 8 + 14 + 40);
	put_udp(&f, 50000, 4789, 8 + 8 + 14 + 40, 0);
	put16(&f, 0x0800);
	put16(&f, 0);
	put16(&f, 0);
	put16(&f, 42 << 8);
	memset(f.b + f.n, 0x02, 12);
	f.n += 12;
	put16(&f, 0x0800);
	raw_ip4(&f, a, b, 6, 3, 0, 20);
	put_tcp(&f, 40000, 80, NULL, 0);
	port_put(&f);
	/* 3: GRE with key 7 around an IPv4 UDP packet. */
	f.n = 0;
	raw_ip4(&f, n1, n2, 47, 4, 0, 8 + 20 + 8);
	put16(&f, 0x2000);
	put16(&f, 0x0800);
	put16(&f, 0);
	put16(&f, 7);
	raw_ip4(&f, a, b, 17, 5, 0, 8);
	put_udp(&f, 1, 2, 8, 0);
	port_put(&f);
	/* 4, 5: a datagram in two fragments (first 24 bytes of UDP, then
	 * 16), 6: a later fragment of a datagram never seen. */
	f.n = 0;
	raw_ip4(&f, a, b, 17, 0x99, 0x2000, 24);
	put_udp(&f, 7000, 7001, 40, 16);
	port_put(&f);
	f.n = 0;
	raw_ip4(&f, a, b, 17, 0x99, 3, 16);
	memset(f.b + f.n, 'x', 16);
	f.n += 16;
	port_put(&f);
	f.n = 0;
	raw_ip4(&f, a, b, 17, 0x98, 3, 16);
	memset(f.b + f.n, 'x', 16);
	f.n += 16;
	port_put(&f);
	/* 7: TCP with a bad MSS option (kept, counted). */
	f.n = 0;
	raw_ip4(&f, a, b, 6, 6, 0, 24);
	put_tcp(&f, 40001, 80, badopt, 4);
	port_put(&f);
	/* 8: an Ethernet frame on this raw port: version nibble 0. */
	mk_udp4(&f, a, 1, b, 2, 10);
	port_put(&f);
	rx_run();

	assert_int_equal(C(VIGIL_CTR_rx_packets), 8);
	assert_int_equal(C(VIGIL_CTR_dispatched), 6);
	assert_int_equal(C(VIGIL_CTR_tunnel_vxlan), 1);
	assert_int_equal(C(VIGIL_CTR_tunnel_gre), 1);
	assert_int_equal(C(VIGIL_CTR_tunnel_geneve), 0);
	assert_int_equal(C(VIGIL_CTR_fragments_matched), 1);
	assert_int_equal(C(VIGIL_CTR_drop_fragment_unmatched), 1);
	assert_int_equal(C(VIGIL_CTR_tcp_bad_options), 1);
	assert_int_equal(C(VIGIL_CTR_drop_bad_linktype), 1);
	assert_int_equal(vigil_counters_drops(ctr.c), 2);
	memset(&first_key, 0, sizeof(first_key));
	while (rte_ring_dequeue(wring[0], (void **)&m) == 0) {
		const struct vigil_pkt_meta *pm = vigil_pkt_meta(m);

		assert_int_equal(pm->rx_hash, vigil_key_hash(&pm->key));
		assert_int_equal(pm->l2_len, rte_pktmbuf_pkt_len(m));
		if (pm->tun.type != VIGIL_TUN_NONE) {
			tunnelled++;
			assert_int_equal(pm->key.tun_type, pm->tun.type);
			assert_int_equal(pm->tun.src[0], 192);
			assert_int_equal(pm->tun.dst[3], 2);
			assert_int_equal(pm->key.vni,
					 pm->tun.type == VIGIL_TUN_VXLAN ? 42
									 : 7);
			assert_int_equal(pm->key.addr[0][3], 1);
		}
		if (pm->key.port[0] == 7000) {
			if (frag_keys++ == 0)
				first_key = pm->key;
			else
				assert_memory_equal(&pm->key, &first_key,
						    sizeof(first_key));
		}
		if (pm->key.port[0] == 40000) {
			assert_int_equal(pm->tcp_seq, 0x11112222u);
			assert_int_equal(pm->tcp_ack, 0x33334444u);
			assert_int_equal(pm->tcp_win, 512);
		}
		got++;
		rte_pktmbuf_free(m);
	}
	assert_int_equal(got, 6);
	assert_int_equal(tunnelled, 2);
	assert_int_equal(frag_keys, 2);
	assert_int_equal(rte_mempool_in_use_count(mp), 0);
}

/* A classic pcap file header of link type `dlt`, no packets. */
static void
write_pcap(const char *path, uint32_t dlt)
{
	uint32_t h[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, dlt };
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(h, sizeof(h), 1, fp), 1);
	fclose(fp);
}

static void
test_device_linktype(void **state)
{
	char dir[] = "/tmp/vigil-dispatch-XXXXXX", p1[128], p2[128], p3[128];
	char dev[512], err[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p1, sizeof(p1), "%s/sll2.pcap", dir);
	snprintf(p2, sizeof(p2), "%s/raw.pcap", dir);
	snprintf(p3, sizeof(p3), "%s/wifi.pcap", dir);
	write_pcap(p1, 276);
	write_pcap(p2, 101);
	write_pcap(p3, 105);
	/* Not a capture file: Ethernet. */
	assert_int_equal(vigil_device_linktype("0000:01:00.0", 0, err,
					       sizeof(err)),
			 VIGIL_DLT_EN10MB);
	assert_int_equal(vigil_device_linktype("net_null0", 0, err,
					       sizeof(err)),
			 VIGIL_DLT_EN10MB);
	assert_int_equal(vigil_device_linktype("net_pcap0,iface=eth0", 0, err,
					       sizeof(err)),
			 VIGIL_DLT_EN10MB);
	/* One file per queue, in order. */
	snprintf(dev, sizeof(dev), "net_pcap0,rx_pcap=%s,rx_pcap=%s,"
		 "infinite_rx=0", p1, p2);
	assert_int_equal(vigil_device_linktype(dev, 0, err, sizeof(err)), 276);
	/* libpcap maps LINKTYPE_RAW (101) to DLT_RAW (12 here). */
	assert_true(vigil_linktype_supported(
		vigil_device_linktype(dev, 1, err, sizeof(err))));
	assert_int_not_equal(vigil_device_linktype(dev, 1, err, sizeof(err)),
			     VIGIL_DLT_EN10MB);
	assert_int_equal(vigil_device_linktype(dev, 2, err, sizeof(err)),
			 VIGIL_DLT_EN10MB);
	/* Refused with the link type named, or the file named. */
	snprintf(dev, sizeof(dev), "net_pcap0,rx_pcap=%s", p3);
	assert_int_equal(vigil_device_linktype(dev, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "IEEE802_11"));
	assert_non_null(strstr(err, "(105)"));
	snprintf(dev, sizeof(dev), "net_pcap0,rx_pcap=%s/none.pcap", dir);
	assert_int_equal(vigil_device_linktype(dev, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "none.pcap"));
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_pick_worker_in_range),
		cmocka_unit_test(test_pick_worker_spreads_evenly),
		cmocka_unit_test(test_pick_worker_uses_high_bits),
		cmocka_unit_test(test_device_linktype),
	};
#define R(f) cmocka_unit_test_teardown(f, stage_teardown)
	const struct CMUnitTest rx[] = {
		R(test_rx_both_directions_same_worker),
		R(test_rx_uses_capture_timestamps),
		R(test_rx_drops_undecodable),
		R(test_rx_ring_full_live_drops),
		R(test_rx_ring_full_backpressure_waits),
		R(test_rx_abort_drops_pending),
		R(test_rx_frees_what_workers_hand_back),
		R(test_rx_linktype_tunnels_fragments),
	};
#undef R
	int fails = 0;

	fails += cmocka_run_group_tests_name("pick_worker", pure, NULL, NULL);
	fails += cmocka_run_group_tests_name("rx_stage", rx, eal_setup,
					     eal_teardown);
	return fails;
}
