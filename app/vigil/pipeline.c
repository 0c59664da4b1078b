/*
 * vigil pipeline: builds the stages the layout asks for and runs them.
 *
 * For R RX lcores and W workers there are R*W single-producer/single-
 * consumer packet rings (one per pair) and W record rings (worker to
 * control thread). The (port, queue) pairs are dealt round-robin to the RX
 * lcores. Each lcore then loops over the stages placed on it: an lcore that
 * is both RX and worker (the one-lcore layout) runs both in one loop.
 *
 * The control thread (publisher, stats, signals, end of replay) is an EAL
 * control thread, never one of the packet lcores.
 *
 * Stopping is a cascade, each stage finishing only when the one before it
 * has: RX stops reading and flushes what it holds, each worker empties its
 * rings and then expires every flow, the control thread writes the last
 * records and stats.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>

#include "vigil.h"

static int
lcore_loop(void *arg)
{
	struct vigil_lcore *l = arg;
	int active;

	do {
		active = 0;
		for (unsigned i = 0; i < l->nrx; i++)
			active |= vigil_rx_step(l->rx[i]);
		for (unsigned i = 0; i < l->nw; i++)
			active |= vigil_worker_step(l->w[i]);
	} while (active);
	return 0;
}

static bool
is_pcap_port(uint16_t port)
{
	struct rte_eth_dev_info info;

	return rte_eth_dev_info_get(port, &info) == 0 &&
	       strcmp(info.driver_name, "net_pcap") == 0;
}

/*
 * dispatch.decode_on: where packets are decoded. With several workers the
 * RX lcore must decode to choose one by flow. With one worker on its own
 * lcore, decoding there balances the two (the RX lcore then only polls the
 * port and hands packets on, which is what it has the least time for):
 * "auto" does that when the RX stage's queues agree on link type and
 * timestamps (the worker cannot tell which queue a packet came from).
 */
static int
choose_decode_site(struct vigil_app *app, char *err, size_t errlen)
{
	const struct vigil_conf *c = &app->conf;
	bool want = strcmp(c->decode_on, "worker") == 0;

	if (strcmp(c->decode_on, "rx") == 0 || app->nworkers != 1)
		return 0;
	for (unsigned i = 0; i < app->nrx; i++) {
		struct vigil_rx_stage *s = &app->rx[i];
		bool alike = true;

		for (unsigned k = 1; k < s->nq; k++)
			if (s->q[k].linktype != s->q[0].linktype ||
			    s->q[k].pcap_ts != s->q[0].pcap_ts)
				alike = false;
		if (!alike && want) {
			snprintf(err, errlen,
				 "dispatch.decode_on = \"worker\": the queues of "
				 "RX lcore %u differ in link type or "
				 "timestamps; use \"rx\" or one queue a lcore",
				 s->lcore);
			return -1;
		}
		/* auto: only when the worker has its own lcore. */
		if (!alike || (!want && c->worker_lcores[0] == s->lcore))
			continue;
		s->raw = true;
		app->w[0].decode_for[i] = s;
	}
	return 0;
}

/* The SP/SC ring from RX stage rx to worker w, or back; NULL with err set. */
static struct rte_ring *
make_ring(int socket, unsigned size, bool back, unsigned rx, unsigned w,
	  char *err, size_t errlen)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	if (back)
		snprintf(name, sizeof(name), "vigil_w%u_rx%u", w, rx);
	else
		snprintf(name, sizeof(name), "vigil_rx%u_w%u", rx, w);
	r = rte_ring_create(name, size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (r == NULL)
		snprintf(err, errlen,
			 "cannot create ring %s of %u slots "
			 "(dispatch.worker_ring_size): %s",
			 name, size, rte_strerror(rte_errno));
	return r;
}

int
vigil_pipeline_setup(struct vigil_app *app, char *err, size_t errlen)
{
	const struct vigil_conf *c = &app->conf;
	int socket = (int)rte_socket_id();
	int ts_off;
	uint64_t ts_flag = 0;
	int flag_bit;
	unsigned qi = 0;

	vigil_clock_init(&app->clock);
	app->nrx = c->nrx;
	app->nworkers = c->nworkers;
	app->ctr = rte_zmalloc("vigil_counters",
			       sizeof(*app->ctr) * (RTE_MAX_LCORE + 1),
			       RTE_CACHE_LINE_SIZE);
	app->rx = rte_zmalloc("vigil_rx", sizeof(*app->rx) * app->nrx,
			      RTE_CACHE_LINE_SIZE);
	app->w = rte_zmalloc("vigil_workers", sizeof(*app->w) * app->nworkers,
			     RTE_CACHE_LINE_SIZE);
	/* Forward rings, then the return rings of the same pairs. */
	app->rx_rings = rte_zmalloc("vigil_rx_rings",
				    sizeof(*app->rx_rings) * 2 * app->nrx *
					    app->nworkers,
				    0);
	if (app->ctr == NULL || app->rx == NULL || app->w == NULL ||
	    app->rx_rings == NULL) {
		snprintf(err, errlen, "out of memory for the pipeline");
		return -1;
	}

	/* Capture time written by net_pcap, if a PMD registered the field. */
	ts_off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME,
					  NULL);
	flag_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME,
					   NULL);
	if (ts_off >= 0 && flag_bit >= 0)
		ts_flag = 1ull << flag_bit;
	else
		ts_off = -1;

	for (unsigned j = 0; j < app->nworkers; j++) {
		struct vigil_worker *w = &app->w[j];
		unsigned lc = c->worker_lcores[j];

		if (vigil_worker_create(w, j, c, socket, err, errlen) != 0)
			return -1;
		w->lcore = lc;
		w->ctr = &app->ctr[lc];
		w->backpressure = app->replay;
		w->live_clock = !app->replay;
		w->abort = &app->abort;
		w->clock = app->clock;
		w->nin = app->nrx;
		/* With several workers, each learns the DNS answers the
		 * others saw, through the control thread. */
		if (c->l7_enabled && c->l7_dns_cache > 0 && app->nworkers > 1) {
			char name[RTE_RING_NAMESIZE];

			snprintf(name, sizeof(name), "vigil_dnsfeed_%u", j);
			w->dns_feed = rte_ring_create_elem(
				name, sizeof(struct vigil_dns_note),
				c->l7_ring_size, socket,
				RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (w->dns_feed == NULL) {
				snprintf(err, errlen,
					 "cannot create ring %s of %u slots "
					 "(l7.ring_size): %s",
					 name, c->l7_ring_size,
					 rte_strerror(rte_errno));
				return -1;
			}
		}
		app->lcores[lc].w[app->lcores[lc].nw++] = w;
	}
	for (unsigned i = 0; i < app->nrx; i++) {
		struct vigil_rx_stage *s = &app->rx[i];
		unsigned lc = c->rx_lcores[i];

		if (vigil_rx_init(s, i, c->burst, app->nworkers, socket, err,
				  errlen) != 0)
			return -1;
		s->dec.decap = c->decap != 0;
		s->dec.geneve_port = (uint16_t)c->geneve_port;
		s->dec.n_vxlan = (uint8_t)c->n_vxlan_ports;
		for (unsigned k = 0; k < c->n_vxlan_ports; k++)
			s->dec.vxlan_ports[k] = (uint16_t)c->vxlan_ports[k];
		s->lcore = lc;
		s->ctr = &app->ctr[lc];
		s->backpressure = app->replay;
		s->stop = &app->stop;
		s->abort = &app->abort;
		s->ts_offset = ts_off;
		s->ts_flag = ts_flag;
		s->clock = app->clock;
		for (unsigned j = 0; j < app->nworkers; j++) {
			struct rte_ring *r, *back;

			r = make_ring(socket, c->worker_ring_size, false, i, j,
				      err, errlen);
			back = make_ring(socket, c->worker_ring_size, true, i, j,
					 err, errlen);
			if (r == NULL || back == NULL) {
				rte_ring_free(r);
				return -1;
			}
			app->rx_rings[i * app->nworkers + j] = r;
			app->rx_rings[(app->nrx + i) * app->nworkers + j] = back;
			s->out[j] = r;
			/* Handled packets go back to this RX lcore to be
			 * freed, unless it is the worker's own lcore. */
			s->back[j] = c->worker_lcores[j] == lc ? NULL : back;
			app->w[j].in[i] = r;
			app->w[j].back[i] = s->back[j];
			app->w[j].in_done[i] = &s->done;
			app->w[j].in_last_ts[i] = &s->last_ts_us;
		}
		app->lcores[lc].rx[app->lcores[lc].nrx++] = s;
	}
	/* Deal the (port, queue) pairs round-robin to the RX lcores. */
	for (uint16_t p = 0; p < app->nports; p++) {
		/* Capture time only in a replay: a live run keeps one clock
		 * (the TSC) for packets and for the idle scan alike. */
		bool pcap = app->replay && is_pcap_port(app->port_ids[p]);

		for (uint16_t q = 0; q < c->ports[p].queues; q++, qi++) {
			struct vigil_rx_stage *s = &app->rx[qi % app->nrx];
			/* What the queue delivers: a capture file's own link
			 * type (net_pcap does not pass it on), else
			 * Ethernet. */
			int lt = vigil_device_linktype(c->ports[p].device, q,
						       err, errlen);

			if (lt < 0)
				return -1;
			if (s->nq == VIGIL_RX_MAX_QUEUES) {
				snprintf(err, errlen,
					 "too many queues for %u RX lcores",
					 app->nrx);
				return -1;
			}
			s->q[s->nq].port = app->port_ids[p];
			s->q[s->nq].queue = q;
			s->q[s->nq].pcap_ts = pcap;
			s->q[s->nq].linktype = lt;
			s->nq++;
		}
	}
	if (choose_decode_site(app, err, errlen) != 0)
		return -1;
	app->pub = vigil_pub_create(c, VIGIL_CTL_CTR(app));
	if (app->pub == NULL) {
		snprintf(err, errlen, "out of memory for the publisher");
		return -1;
	}
	if (c->meta_enabled) {
		app->meta = vigil_metasync_create(c, VIGIL_CTL_CTR(app));
		if (app->meta == NULL) {
			snprintf(err, errlen,
				 "out of memory for the metadata follower");
			return -1;
		}
		vigil_pub_set_meta(app->pub, app->meta);
	}
	return 0;
}

int
vigil_pipeline_run(struct vigil_app *app, char *err, size_t errlen)
{
	unsigned main_lc = rte_get_main_lcore();
	int rc;

	app->start_us = vigil_clock_now_us(&app->clock);
	rc = rte_ctrl_thread_create(&app->ctl_thread, "vigil-ctl", NULL,
				    vigil_control_main, app);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s",
			 strerror(rc));
		return -1;
	}
	for (unsigned lc = 0; lc < RTE_MAX_LCORE; lc++) {
		struct vigil_lcore *l = &app->lcores[lc];

		if (lc == main_lc || (l->nrx == 0 && l->nw == 0))
			continue;
		rc = rte_eal_remote_launch(lcore_loop, l, lc);
		if (rc != 0) {
			/* Cannot happen after check_layout; stop cleanly. */
			fprintf(stderr, "vigil: cannot launch lcore %u: %s\n",
				lc, rte_strerror(-rc));
			app->stop = 1;
			app->abort = 1;
		}
	}
	if (app->lcores[main_lc].nrx || app->lcores[main_lc].nw)
		lcore_loop(&app->lcores[main_lc]);
	rte_eal_mp_wait_lcore();
	pthread_join(app->ctl_thread, NULL);
	app->stop_us = vigil_clock_now_us(&app->clock);
	return 0;
}

void
vigil_pipeline_free(struct vigil_app *app)
{
	if (app->w != NULL)
		for (unsigned j = 0; j < app->nworkers; j++)
			vigil_worker_free(&app->w[j]);
	if (app->rx != NULL)
		for (unsigned i = 0; i < app->nrx; i++)
			vigil_rx_free(&app->rx[i]);
	if (app->rx_rings != NULL)
		for (unsigned i = 0; i < 2 * app->nrx * app->nworkers; i++) {
			struct rte_mbuf *m;

			/* Packets a worker handed back as its RX stopped. */
			while (app->rx_rings[i] != NULL &&
			       rte_ring_dequeue(app->rx_rings[i],
						(void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(app->rx_rings[i]);
		}
	vigil_pub_free(app->pub);
	app->pub = NULL;
	vigil_metasync_free(app->meta);
	app->meta = NULL;
	rte_free(app->rx_rings);
	rte_free(app->rx);
	rte_free(app->w);
	rte_free(app->ctr);
	app->rx_rings = NULL;
	app->rx = NULL;
	app->w = NULL;
	app->ctr = NULL;
}
