/*
 * vigil metasync: the identities of workloads, from Redis into the
 * appliance, followed live.
 *
 * What a CI/CD pipeline or an orchestrator writes with `vigilctl meta`
 * (README "Redis schema": P:meta:<ip>, P:meta:<ip>:history, the channel
 * P:meta:updates) is read into a vigil_meta_store (lib/meta), where the
 * entity stage looks up the identity an address had at a flow's time.
 *
 *   load     every P:meta:* key, found with SCAN (a step of SCAN_COUNT keys
 *            per poll), each address read with one Lua script call that
 *            returns its hash and its newest meta.max_history history
 *            members, types checked and sizes bounded on the server side
 *   follow   a second connection, non-blocking, SUBSCRIBEd to
 *            P:meta:updates; "set <ip>" and "rm <ip>" queue the address to
 *            be read again (its whole history replaced; nothing there: it
 *            is forgotten), at most READS_PER_POLL addresses a poll
 *   resync   each time the subscription is (re)established, a full load:
 *            what changed while nobody listened is read again. After the
 *            first load it is built in a second store and swapped in when
 *            complete, so lookups never see a half-loaded store and
 *            addresses deleted meanwhile go away
 *
 * Hostile content (anyone with write access to Redis may write anything):
 * every key name, hash and history member is validated with lib/meta; what
 * fails is refused, counted (meta_refused, meta_updates_refused) and logged
 * (the first few, with the reason), and never trusted in part. Sizes are
 * bounded before anything crosses the wire: a hash of more than six fields
 * or a member longer than an identity can be is refused by the read
 * script itself.
 *
 * Redis away: the store keeps the identities it has, the connections are
 * retried at most once per redis.retry_ms (meta_reconnects), and the outage
 * is logged once when it starts and once when it ends. The subscription
 * socket is polled without blocking; the reads block at most
 * redis.command_timeout_ms each. None of it runs on a packet lcore.
 *
 * Threading: one follower, used by the control thread only.
 */
#ifndef VIGIL_METASYNC_H
#define VIGIL_METASYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil_conf.h"
#include "vigil_meta.h"
#include "vigil_stats.h"

/* Keys a SCAN step asks for, and addresses read again per poll. */
#define VIGIL_METASYNC_SCAN_COUNT 256
#define VIGIL_METASYNC_READS_PER_POLL 256
/* Addresses waiting to be read again; beyond, a full load instead. */
#define VIGIL_METASYNC_QUEUE 65536

/* The read script (see vigil_metasync.c); exposed for tests. */
extern const char vigil_metasync_read_lua[];

struct vigil_metasync;

/* A follower of c's Redis (redis.*, meta.*), counting into ctr; does not
 * connect yet. NULL on out of memory. */
struct vigil_metasync *vigil_metasync_create(const struct vigil_conf *c,
					     struct vigil_counters *ctr);
void vigil_metasync_free(struct vigil_metasync *m);

/*
 * One bounded step: (re)connect when due, read what the subscription
 * delivered, read queued addresses again, go on with a load. Returns how
 * much it did (0: nothing to do).
 */
unsigned vigil_metasync_poll(struct vigil_metasync *m);

/*
 * Polls until a full load is complete (the start of a replay: every flow
 * is then named by the same identities), Redis turns out unreachable, or
 * timeout_ms pass. True when loaded.
 */
bool vigil_metasync_load(struct vigil_metasync *m, uint32_t timeout_ms);

/* The identities, for lookups (valid until the next poll). */
const struct vigil_meta_store *vigil_metasync_store(const struct vigil_metasync *m);

struct vigil_metasync_info {
	bool connected;	 /* both connections up */
	bool subscribed; /* following P:meta:updates */
	bool loading;	 /* a full load is under way */
	uint32_t ips;	 /* addresses in the store in use */
	uint64_t entries;
	uint32_t queued; /* addresses waiting to be read again */
};
void vigil_metasync_info(const struct vigil_metasync *m,
			 struct vigil_metasync_info *out);

#endif /* VIGIL_METASYNC_H */
