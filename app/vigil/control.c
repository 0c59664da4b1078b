/*
 * vigil control thread: everything that is allowed to block.
 *
 * One loop: follow the identities in Redis (lib/publish's metasync: one
 * bounded poll a pass; a replay first waits for the full load, so that
 * every flow is named by the same identities), drain the workers' record
 * rings into the publisher (pipelined XADDs; each worker's L7 records
 * before the flow records they belong to, see drain_records; pending L7
 * records aged by packet time; each record through the entity stage),
 * merge the entity batch into Redis every entity.publish_s of packet time,
 * write a counter snapshot every stats.interval_ms, watch for
 * SIGINT/SIGTERM and for the end of a replay, and lead the shutdown: set
 * `stop`, wait for the workers to finish, give up waiting (set `abort`)
 * after shutdown.drain_timeout_ms, write the last records, the last entity
 * batch and stats.
 *
 * It sleeps 1 ms when a pass found nothing to do: it is a control thread,
 * not a polling lcore.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jemalloc/jemalloc.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "vigil.h"

#define RECS_PER_PASS 256
/* A replay waits this long for the identities before its first record. */
#define META_LOAD_TIMEOUT_MS 60000

void
vigil_control_snapshot(struct vigil_app *app, uint64_t snap[VIGIL_CTR_MAX])
{
	memset(snap, 0, sizeof(uint64_t) * VIGIL_CTR_MAX);
	for (unsigned lc = 0; lc <= RTE_MAX_LCORE; lc++)
		vigil_counters_accumulate(snap, &app->ctr[lc]);
}

static uint64_t
flows_active(const struct vigil_app *app)
{
	uint64_t n = 0;

	for (unsigned j = 0; j < app->nworkers; j++)
		n += vigil_worker_active(&app->w[j]);
	return n;
}

/* A growing list of field/value strings for one HSET. */
struct kv {
	unsigned n, cap;
	char **f, **v;
};

static void
kv_add(struct kv *kv, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
kv_add(struct kv *kv, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *val = NULL;

	if (kv->n == kv->cap) {
		unsigned cap = kv->cap ? kv->cap * 2 : 64;
		char **f = realloc(kv->f, sizeof(*f) * cap);
		char **v;

		if (f == NULL)
			return;
		kv->f = f;
		v = realloc(kv->v, sizeof(*v) * cap);
		if (v == NULL)
			return;
		kv->v = v;
		kv->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&val, fmt, ap) < 0)
		val = NULL;
	va_end(ap);
	kv->f[kv->n] = strdup(field);
	kv->v[kv->n] = val;
	if (kv->f[kv->n] == NULL || val == NULL) {
		free(kv->f[kv->n]);
		free(val);
		return;
	}
	kv->n++;
}

static void
kv_free(struct kv *kv)
{
	for (unsigned i = 0; i < kv->n; i++) {
		free(kv->f[i]);
		free(kv->v[i]);
	}
	free(kv->f);
	free(kv->v);
	memset(kv, 0, sizeof(*kv));
}

static void
add_jemalloc(struct kv *kv)
{
	static const char *const names[] = { "allocated", "active", "resident",
					     "mapped" };
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);

	mallctl("epoch", &epoch, &sz, &epoch, sz);
	for (unsigned i = 0; i < RTE_DIM(names); i++) {
		char ctl[32], field[32];
		size_t v = 0;

		sz = sizeof(v);
		snprintf(ctl, sizeof(ctl), "stats.%s", names[i]);
		snprintf(field, sizeof(field), "jemalloc.%s", names[i]);
		if (mallctl(ctl, &v, &sz, NULL, 0) == 0)
			kv_add(kv, field, "%zu", v);
	}
}

static void
publish_stats(struct vigil_app *app, uint64_t now_us)
{
	const struct vigil_conf *c = &app->conf;
	uint64_t snap[VIGIL_CTR_MAX];
	struct kv kv = { 0 };
	char key[160], ts[32], field[64], json[512], host[128] = "";

	vigil_control_snapshot(app, snap);
	vigil_fmt_ts(now_us, ts, sizeof(ts));
	kv_add(&kv, "sensor", "%s", c->sensor_id);
	kv_add(&kv, "ts", "%s", ts);
	kv_add(&kv, "uptime_s", "%" PRIu64, (now_us - app->start_us) / 1000000u);
	kv_add(&kv, "mode", "%s", app->replay ? "replay" : "live");
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++)
		kv_add(&kv, vigil_ctr_name(i), "%" PRIu64, snap[i]);
	kv_add(&kv, "drops", "%" PRIu64, vigil_counters_drops(snap));
	kv_add(&kv, "flows_active", "%" PRIu64, flows_active(app));
	{
		uint64_t tb = 0, cap = 0;

		for (unsigned j = 0; j < app->nworkers; j++) {
			tb += app->w[j].table_heap_bytes;
			cap += app->w[j].table.capacity;
		}
		kv_add(&kv, "flow.table_bytes", "%" PRIu64, tb);
		kv_add(&kv, "flow.table_capacity", "%" PRIu64, cap);
	}
	if (c->l7_enabled) {
		kv_add(&kv, "l7.pending", "%" PRIu32,
		       vigil_pub_l7_pending(app->pub));
		kv_add(&kv, "l7.pending_bytes", "%" PRIu64,
		       vigil_pub_l7_pending_bytes(app->pub));
	}
	for (unsigned lc = 0; lc < RTE_MAX_LCORE; lc++) {
		if (app->lcores[lc].nrx == 0 && app->lcores[lc].nw == 0)
			continue;
		for (unsigned i = 0; i < VIGIL_CTR_MAX; i++) {
			snprintf(field, sizeof(field), "lcore.%u.%s", lc,
				 vigil_ctr_name(i));
			kv_add(&kv, field, "%" PRIu64,
			       vigil_ctr_read(&app->ctr[lc], i));
		}
	}
	for (uint16_t p = 0; p < app->nports; p++) {
		struct rte_eth_stats st;

		if (rte_eth_stats_get(app->port_ids[p], &st) != 0)
			continue;
		snprintf(field, sizeof(field), "port.%u.ipackets", p);
		kv_add(&kv, field, "%" PRIu64, st.ipackets);
		snprintf(field, sizeof(field), "port.%u.imissed", p);
		kv_add(&kv, field, "%" PRIu64, st.imissed);
		snprintf(field, sizeof(field), "port.%u.ierrors", p);
		kv_add(&kv, field, "%" PRIu64, st.ierrors);
		snprintf(field, sizeof(field), "port.%u.rx_nombuf", p);
		kv_add(&kv, field, "%" PRIu64, st.rx_nombuf);
	}
	kv_add(&kv, "mempool.in_use", "%u", rte_mempool_in_use_count(app->pool));
	kv_add(&kv, "mempool.avail", "%u", rte_mempool_avail_count(app->pool));
	add_jemalloc(&kv);
	kv_add(&kv, "redis.connected", "%d", vigil_pub_connected(app->pub));
	kv_add(&kv, "redis.reconnects", "%" PRIu64,
	       vigil_pub_reconnects(app->pub));
	kv_add(&kv, "redis.errors", "%" PRIu64, vigil_pub_errors(app->pub));
	if (app->meta != NULL) {
		struct vigil_metasync_info mi;

		vigil_metasync_info(app->meta, &mi);
		kv_add(&kv, "meta.connected", "%d", mi.connected);
		kv_add(&kv, "meta.subscribed", "%d", mi.subscribed);
		kv_add(&kv, "meta.loading", "%d", mi.loading);
		kv_add(&kv, "meta.ips", "%" PRIu32, mi.ips);
		kv_add(&kv, "meta.entries", "%" PRIu64, mi.entries);
		kv_add(&kv, "meta.queued", "%" PRIu32, mi.queued);
	}
	if (vigil_pub_entity_stage(app->pub) != NULL) {
		struct vigil_entity_held h;

		vigil_entity_held(vigil_pub_entity_stage(app->pub), &h);
		kv_add(&kv, "entity.held_entities", "%" PRIu32, h.entities);
		kv_add(&kv, "entity.held_services", "%" PRIu32, h.services);
		kv_add(&kv, "entity.held_edges", "%" PRIu32, h.edges);
		kv_add(&kv, "entity.held_svcedges", "%" PRIu32, h.svcedges);
		kv_add(&kv, "entity.held_cells", "%" PRIu32, h.cells);
		kv_add(&kv, "entity.held_bytes", "%" PRIu64, h.bytes);
	}

	snprintf(key, sizeof(key), "%s:stats", c->redis_prefix);
	vigil_pub_hset(app->pub, key, kv.n, (const char *const *)kv.f,
		       (const char *const *)kv.v);
	snprintf(key, sizeof(key), "%s:stats:%s", c->redis_prefix,
		 c->sensor_id);
	vigil_pub_hset(app->pub, key, kv.n, (const char *const *)kv.f,
		       (const char *const *)kv.v);
	kv_free(&kv);

	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '_';
	{
		char started[32];
		const char *fields[1] = { c->sensor_id };
		const char *values[1] = { json };

		vigil_fmt_ts(app->start_us, started, sizeof(started));
		snprintf(json, sizeof(json),
			 "{\"id\":\"%s\",\"hostname\":\"%s\",\"version\":\"%s\","
			 "\"mode\":\"%s\",\"started\":%s,\"last_seen\":%s}",
			 c->sensor_id, host, VIGIL_VERSION,
			 app->replay ? "replay" : "live", started, ts);
		snprintf(key, sizeof(key), "%s:sensors", c->redis_prefix);
		vigil_pub_hset(app->pub, key, 1, fields, values);
	}
	vigil_pub_flush(app->pub);
}

/* Rates since the last call; worker_cpp is the workers' busy TSC cycles
 * per packet, so worker_cap_mpps is what they could take if fed faster;
 * rx_cpp likewise for the RX lcores (the PMD's own work included). */
static void
print_progress(struct vigil_app *app, uint64_t now_us, uint64_t *last_us,
	       uint64_t *last_rx, uint64_t *last_w, uint64_t *last_cyc,
	       uint64_t *last_rxcyc)
{
	uint64_t snap[VIGIL_CTR_MAX], dt = now_us - *last_us;
	uint64_t dw, dc, dr, drc;
	double cpp, rcpp;

	vigil_control_snapshot(app, snap);
	if (dt == 0)
		return;
	dw = snap[VIGIL_CTR_worker_packets] - *last_w;
	dc = snap[VIGIL_CTR_worker_cycles] - *last_cyc;
	dr = snap[VIGIL_CTR_rx_packets] - *last_rx;
	drc = snap[VIGIL_CTR_rx_cycles] - *last_rxcyc;
	cpp = dw ? (double)dc / (double)dw : 0;
	rcpp = dr ? (double)drc / (double)dr : 0;
	printf("progress t=%.3f rx_mpps=%.3f rx_cpp=%.1f worker_mpps=%.3f "
	       "worker_cpp=%.1f "
	       "worker_cap_mpps=%.2f rx=%" PRIu64 " worker=%" PRIu64
	       " flows_active=%" PRIu64 " drops=%" PRIu64 "\n",
	       (double)(now_us - app->start_us) / 1e6,
	       (double)dr / (double)dt, rcpp, (double)dw / (double)dt, cpp,
	       cpp > 0 ? (double)rte_get_tsc_hz() / cpp / 1e6 *
				 app->nworkers
		       : 0,
	       snap[VIGIL_CTR_rx_packets], snap[VIGIL_CTR_worker_packets],
	       flows_active(app), vigil_counters_drops(snap));
	fflush(stdout);
	*last_us = now_us;
	*last_rx = snap[VIGIL_CTR_rx_packets];
	*last_w = snap[VIGIL_CTR_worker_packets];
	*last_cyc = snap[VIGIL_CTR_worker_cycles];
	*last_rxcyc = snap[VIGIL_CTR_rx_cycles];
}

/*
 * Move up to RECS_PER_PASS records of each worker to the publisher. A
 * worker enqueues a flow's L7 record before its flow record, so: count the
 * flow records there now, then take every L7 record there (at least every
 * one enqueued before those flow records), then at most that many flow
 * records. Each flow record then finds its L7 fields already pending.
 */
/* The DNS answers worker `from` saw, to the other workers' caches. The
 * packet time of the record's flow dates them (their TTL floor applies). */
static void
forward_dns(struct vigil_app *app, unsigned from, const struct vigil_l7_rec *r)
{
	struct vigil_dns_note notes[VIGIL_DNS_ANSWERS_MAX];
	unsigned n;

	if (r->service != VIGIL_L7_DNS)
		return;
	n = vigil_dns_notes(&r->u.dns, r->first_us, notes);
	for (unsigned k = 0; k < app->nworkers && n > 0; k++) {
		if (k == from || app->w[k].dns_feed == NULL)
			continue;
		unsigned sent = rte_ring_enqueue_burst_elem(
			app->w[k].dns_feed, notes, sizeof(notes[0]), n, NULL);

		vigil_ctr_add(VIGIL_CTL_CTR(app), VIGIL_CTR_dns_feed_full,
			      n - sent);
	}
}

/* Worker `from`'s L7 records: indices into its inspector's record pool,
 * read in place and given back on its return ring once formatted. */
static unsigned
drain_l7(struct vigil_app *app, unsigned from)
{
	struct vigil_worker *w = &app->w[from];
	const struct vigil_l7_rec *recs = vigil_inspector_recs(w->insp);
	uint32_t nrecs = vigil_inspector_nrecs(w->insp);
	uint32_t idx[VIGIL_L7_READER_BURST];
	unsigned n, total = 0, left = rte_ring_count(w->l7_events);

	while (left > 0) {
		n = rte_ring_dequeue_burst_elem(w->l7_events, idx,
						sizeof(idx[0]),
						RTE_MIN(left, RTE_DIM(idx)),
						NULL);
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			if (idx[i] >= nrecs) /* cannot happen */
				continue;
			vigil_pub_l7(app->pub, &recs[idx[i]]);
			forward_dns(app, from, &recs[idx[i]]);
		}
		/* The return ring has room for the whole pool. */
		rte_ring_enqueue_burst_elem(w->l7_free, idx, sizeof(idx[0]), n,
					    NULL);
		left -= n;
		total += n;
	}
	return total;
}

static unsigned
drain_records(struct vigil_app *app)
{
	struct vigil_flow_rec recs[32];
	unsigned total = 0;

	for (unsigned j = 0; j < app->nworkers; j++) {
		unsigned n, left = rte_ring_count(app->w[j].events);

		if (app->w[j].l7_events != NULL) {
			/* The flow records counted above were enqueued
			 * after their L7 records: see those too. */
			rte_atomic_thread_fence(__ATOMIC_ACQUIRE);
			total += drain_l7(app, j);
		}
		left = RTE_MIN(left, RECS_PER_PASS);
		while (left > 0) {
			n = rte_ring_dequeue_burst_elem(
				app->w[j].events, recs, sizeof(recs[0]),
				RTE_MIN(left, RTE_DIM(recs)), NULL);
			if (n == 0)
				break;
			for (unsigned i = 0; i < n; i++)
				vigil_pub_flow(app->pub, &recs[i]);
			left -= n;
			total += n;
		}
	}
	return total;
}

static bool
records_empty(const struct vigil_app *app)
{
	for (unsigned j = 0; j < app->nworkers; j++)
		if (!rte_ring_empty(app->w[j].events) ||
		    (app->w[j].l7_events != NULL &&
		     !rte_ring_empty(app->w[j].l7_events)))
			return false;
	return true;
}

static bool
workers_done(const struct vigil_app *app)
{
	for (unsigned j = 0; j < app->nworkers; j++)
		if (!__atomic_load_n(&app->w[j].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

void *
vigil_control_main(void *arg)
{
	struct vigil_app *app = arg;
	const struct vigil_conf *c = &app->conf;
	uint64_t interval_us = (uint64_t)c->stats_interval_ms * 1000u;
	uint64_t next_stats = 0, stop_at = 0, last_us, last_rx = 0, last_w = 0;
	uint64_t last_cyc = 0, last_rxcyc = 0;
	uint64_t deadline = 0;
	bool finished = false;

	last_us = app->start_us;
	if (app->opts.duration_s > 0)
		deadline = app->start_us +
			   (uint64_t)(app->opts.duration_s * 1e6);
	vigil_pub_connect(app->pub);
	if (app->meta != NULL && app->replay)
		vigil_metasync_load(app->meta, META_LOAD_TIMEOUT_MS);
	while (!finished) {
		uint64_t now = vigil_clock_now_us(&app->clock);
		unsigned moved;

		/* Checked before draining: once the workers are done, no
		 * record can arrive after this pass's drain. */
		bool done = workers_done(app);

		vigil_pub_connect(app->pub);
		if (app->meta != NULL)
			moved = vigil_metasync_poll(app->meta);
		else
			moved = 0;
		moved += drain_records(app);
		vigil_pub_entities_tick(app->pub, app->replay ? 0 : now);
		/* Live, a flow record can be lost on a full ring: its
		 * pending L7 record is aged out by the clock. A replay loses
		 * no record (the stages wait for room), and its flows may
		 * end only at the final drain, days of packet time after
		 * their L7 record: nothing is aged before the exit. */
		if (!app->replay)
			vigil_pub_l7_expire(app->pub, now);
		vigil_pub_flush(app->pub);
		finished = done && records_empty(app);

		if (!app->stop) {
			const char *why = NULL;

			if (vigil_signal)
				why = "signal";
			else if (app->replay && vigil_ports_input_exhausted(app))
				why = "end of capture";
			else if (deadline && now >= deadline)
				why = "duration reached";
			if (why != NULL) {
				app->stop = 1;
				stop_at = now;
				if (!app->replay || vigil_signal)
					fprintf(stderr,
						"vigil: stopping (%s): draining "
						"and flushing\n",
						why);
			}
		} else if (!app->abort &&
			   now - stop_at > (uint64_t)c->drain_timeout_ms * 1000u) {
			fprintf(stderr,
				"vigil: drain took longer than "
				"shutdown.drain_timeout_ms = %u; dropping what "
				"is still queued (counted in drop_shutdown)\n",
				c->drain_timeout_ms);
			app->abort = 1;
		}
		if (now >= next_stats) {
			publish_stats(app, now);
			if (app->opts.progress && next_stats != 0)
				print_progress(app, now, &last_us, &last_rx,
					       &last_w, &last_cyc, &last_rxcyc);
			next_stats = now + interval_us;
		}
		if (moved == 0 && !finished) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	/* L7 records still pending lost their flow record (a full ring,
	 * the drain time): counted in l7_pending_expired. */
	vigil_pub_l7_expire(app->pub, UINT64_MAX);
	vigil_pub_entities(app->pub);
	vigil_pub_flush(app->pub);
	publish_stats(app, vigil_clock_now_us(&app->clock));
	return NULL;
}

void
vigil_print_summary(struct vigil_app *app, FILE *out)
{
	uint64_t snap[VIGIL_CTR_MAX];
	double secs = (double)(app->stop_us - app->start_us) / 1e6;

	vigil_control_snapshot(app, snap);
	if (app->replay)
		fprintf(out, "vigil: replayed %s in %.3f s\n",
			app->opts.capture, secs);
	else
		fprintf(out, "vigil: ran %.3f s\n", secs);
	fprintf(out,
		"  packets  %" PRIu64 " received, %" PRIu64
		" counted in flows, %" PRIu64 " dropped\n",
		snap[VIGIL_CTR_rx_packets], snap[VIGIL_CTR_worker_packets],
		vigil_counters_drops(snap) -
			snap[VIGIL_CTR_drop_event_ring_full] -
			snap[VIGIL_CTR_drop_records_undelivered] -
			snap[VIGIL_CTR_drop_l7_ring_full] -
			snap[VIGIL_CTR_drop_l7_pending_full] -
			snap[VIGIL_CTR_drop_entity_undelivered]);
	fprintf(out,
		"  flows    %" PRIu64 " created, %" PRIu64
		" records published to redis %s:%u, %" PRIu64
		" undelivered, %" PRIu64 " lost to a full ring\n",
		snap[VIGIL_CTR_flows_created], snap[VIGIL_CTR_records_published],
		app->conf.redis_host, app->conf.redis_port,
		snap[VIGIL_CTR_drop_records_undelivered],
		snap[VIGIL_CTR_drop_event_ring_full]);
	if (app->conf.l7_enabled)
		fprintf(out,
			"  l7       %" PRIu64 " flows inspected, %" PRIu64
			" records written with their flow, %" PRIu64
			" without a flow record\n",
			snap[VIGIL_CTR_l7_inspected], snap[VIGIL_CTR_l7_merged],
			snap[VIGIL_CTR_l7_pending_expired]);
	if (vigil_pub_entity_stage(app->pub) != NULL)
		fprintf(out,
			"  entities %" PRIu64 " flows counted, %" PRIu64
			" endpoints named from metadata, %" PRIu64
			" discovered, %" PRIu64 " merges written, %" PRIu64
			" undelivered\n",
			snap[VIGIL_CTR_entity_flows],
			snap[VIGIL_CTR_entity_identified],
			snap[VIGIL_CTR_entity_discovered],
			snap[VIGIL_CTR_entity_writes],
			snap[VIGIL_CTR_drop_entity_undelivered]);
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++)
		if (vigil_ctr_is_drop(i) && snap[i] != 0)
			fprintf(out, "  drop     %-26s %" PRIu64 "\n",
				vigil_ctr_name(i), snap[i]);
	if (app->replay && snap[VIGIL_CTR_rx_packets] < app->cap.packets)
		fprintf(out,
			"  note     the capture holds %" PRIu64
			" packets; %" PRIu64 " were not delivered by the port "
			"(see port.0.rx_nombuf / ierrors in vigil:stats)\n",
			app->cap.packets,
			app->cap.packets - snap[VIGIL_CTR_rx_packets]);
}
