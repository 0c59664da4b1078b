/*
 * vigil publish: the control-plane side that writes to Redis.
 *
 * It turns flow records into entries of the `<prefix>:flows` stream (Zeek
 * conn.log field names, see README "Redis schema"), writes counter
 * snapshots and the sensor's registration, and owns the one Redis
 * connection. Commands are pipelined: appended to hiredis' output buffer and
 * their replies read in one go when `redis.pipeline` commands are queued or
 * when the caller flushes.
 *
 * Redis going away never stops the appliance: a failed connection is retried
 * at most once per `redis.retry_ms`; records that cannot be written meanwhile
 * are counted (drop_records_undelivered) and the outage is logged once when
 * it starts and once when it ends, never per record. (A spool that holds
 * them through an outage is a later issue.)
 *
 * Threading: one publisher, used by the control thread only. It never runs
 * on a packet lcore.
 */
#ifndef VIGIL_PUBLISH_H
#define VIGIL_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil_conf.h"
#include "vigil_entity.h"
#include "vigil_flow.h"
#include "vigil_l7pub.h"
#include "vigil_metasync.h"
#include "vigil_stats.h"

struct vigil_pub;

/* Create a publisher (does not connect yet). NULL on out of memory. */
struct vigil_pub *vigil_pub_create(const struct vigil_conf *c,
				   struct vigil_counters *ctr);

void vigil_pub_free(struct vigil_pub *p);

/* Connect if not connected and the retry interval has passed. Returns true
 * when connected. Logs the first failure of an outage and its end. */
bool vigil_pub_connect(struct vigil_pub *p);

bool vigil_pub_connected(const struct vigil_pub *p);

/* Queue the XADD of one flow record, with the fields of its L7 record
 * when one is pending (l7_merged), and with entity.enabled its endpoints'
 * entity ids (orig_entity, resp_entity), after the record has gone
 * through the entity stage (lib/entity; a full batch is published
 * first). */
void vigil_pub_flow(struct vigil_pub *p, const struct vigil_flow_rec *r);

/*
 * The entity stage (entity.enabled): its identities come from m (NULL:
 * none). vigil_pub_entities_tick publishes its batch when it is due
 * (entity.publish_s of packet time; now_us the wall clock in a live run,
 * 0 in a replay); vigil_pub_entities publishes it now (the end of a
 * replay, a stop). Merges that Redis does not take are counted in
 * drop_entity_undelivered.
 */
void vigil_pub_set_meta(struct vigil_pub *p, struct vigil_metasync *m);
void vigil_pub_entities_tick(struct vigil_pub *p, uint64_t now_us);
void vigil_pub_entities(struct vigil_pub *p);
/* The stage, or NULL without entity.enabled (for its gauges). */
const struct vigil_entity *vigil_pub_entity_stage(const struct vigil_pub *p);

/* An L7 record from a worker: formatted and kept until its flow record
 * comes (see vigil_l7pub.h). Ignored when l7.enabled is 0. */
void vigil_pub_l7(struct vigil_pub *p, const struct vigil_l7_rec *rec);

/* Age out pending L7 records whose flow record never came: now_us is the
 * wall clock in live mode, 0 in a replay (packet time only), UINT64_MAX at
 * exit (every one left). Bounded per call; returns how many went. */
unsigned vigil_pub_l7_expire(struct vigil_pub *p, uint64_t now_us);

/* L7 records pending and the bytes they take (0 without l7). */
uint32_t vigil_pub_l7_pending(const struct vigil_pub *p);
uint64_t vigil_pub_l7_pending_bytes(const struct vigil_pub *p);

/* Queue "HSET key f1 v1 f2 v2 ..." (n pairs). */
void vigil_pub_hset(struct vigil_pub *p, const char *key, unsigned n,
		    const char *const *fields, const char *const *values);

/* Write everything queued and read the replies. */
void vigil_pub_flush(struct vigil_pub *p);

/* Counters of the connection: reconnects, errors. */
uint64_t vigil_pub_reconnects(const struct vigil_pub *p);
uint64_t vigil_pub_errors(const struct vigil_pub *p);

/*
 * Helpers, exposed for tests and other writers.
 */

/* Community ID v1 (seed 0) of a record: "1:<base64 sha1>". */
void vigil_community_id(const struct vigil_flow_rec *r, char *out,
			size_t len);

/* Deterministic flow uid: "C" + 17 base62 chars from sensor, key, ts. */
void vigil_flow_uid(const char *sensor, const struct vigil_flow_rec *r,
		    char *out, size_t len);

/* "tcp", "udp", "icmp" or the protocol number. */
const char *vigil_proto_name(uint8_t proto, char *buf, size_t len);

/* Epoch microseconds as "1767225600.123456". */
void vigil_fmt_ts(uint64_t us, char *out, size_t len);

/* Queue a command of argc arguments (argvlen: their lengths, NULL for C
 * strings); an entity merge (is_entity) is accounted as one. */
void vigil_pub_command(struct vigil_pub *p, int argc, const char **argv,
		       const size_t *argvlen, bool is_entity);

/* Register a Lua script: it is loaded (SCRIPT LOAD) on every connection
 * before any other command, and again after Redis answers NOSCRIPT. Its
 * SHA-1 goes to sha (41 bytes). 0, or -1 when VIGIL_PUB_SCRIPTS are
 * registered already. */
#define VIGIL_PUB_SCRIPTS 4
int vigil_pub_script(struct vigil_pub *p, const char *text, char sha[41]);

/* Field/value pairs of the flow record, in stream order, then the fields
 * of its L7 record when l7 is not NULL (they point into *l7, which must
 * outlive the use of *out). Returns the number of pairs written (at most
 * VIGIL_FLOW_FIELDS). Other strings point into `buf`. */
#define VIGIL_CONN_FIELDS 29
#define VIGIL_FLOW_FIELDS (VIGIL_CONN_FIELDS + VIGIL_L7_FIELDS)
struct vigil_flow_fmt {
	const char *field[VIGIL_FLOW_FIELDS];
	const char *value[VIGIL_FLOW_FIELDS];
	char buf[2048]; /* conn fields; resp_name escaped can take 920 */
};
unsigned vigil_flow_format(const char *sensor, const struct vigil_flow_rec *r,
			   const struct vigil_l7_fields *l7,
			   struct vigil_flow_fmt *out);

#endif /* VIGIL_PUBLISH_H */
