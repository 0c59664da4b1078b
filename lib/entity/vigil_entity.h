/*
 * vigil entity: who talks to whom. Endpoints become entities, the ports
 * they answer on become services, and each client -> service pair an edge,
 * counted over time in buckets, from the finished flow records the control
 * thread hands on (and the application protocol the L7 record found).
 *
 * Identity. An endpoint is named by the identity its address had at the
 * flow's first packet (vigil_meta_lookup on the CI/CD metadata, lib/meta):
 *   pod/<namespace>/<pod>   an address with an identity (source "cicd")
 *   ip/<address>            one without (source "discovered"); its name is
 *                           the DNS name a client resolved it with, as the
 *                           wire had it (the flow record's resp_name)
 * so an address reused by a second pod is a second entity from the time
 * the second identity is valid. Each entity belongs to a group, the node
 * of the service-level map: svc/<namespace>/<service> for pods (their
 * replicas share it), the entity itself otherwise.
 *
 * Services and edges. A service is (server entity, port, transport): a
 * TCP, UDP or SCTP port that answered (TCP: a SYN-ACK, or payload from the
 * responder of a flow picked up mid-stream; UDP, SCTP: any packet back),
 * with the application protocols L7 inspection recognised on it. A flow to
 * a port that did not answer counts for its two entities only. An edge is
 * client entity -> service; its group edge is client group -> server
 * group:port/transport, so the replicas of a service and of its clients
 * fold into one edge. Both levels are kept.
 *
 * Ids (printable ASCII, never a space; README "Redis schema"):
 *   entity   pod/<namespace>/<pod> | ip/<address>
 *   group    svc/<namespace>/<service> | the entity id
 *   service  <entity id>:<port>/<transport>   (transport tcp, udp, sctp)
 *   edge     <client entity id>><service id>
 *   svcedge  <client group>><server group>:<port>/<transport>
 *
 * Time is packet time: the flow's first packet (identity, first_seen) and
 * last packet (last_seen); the map counts a flow in every bucket of
 * entity.bucket_s its [first, last] overlaps, and spreads its bytes over
 * them in proportion to the overlap (the parts add up to the whole).
 * Replaying a capture gives the same entities, services, edges and map.
 *
 * Memory: the stage holds only what changed since the last publish (one
 * batch), at most entity.max_entities entities, max_services services,
 * max_edges edges and group edges, and max_edges map cells of each level.
 * Redis holds the totals: each publish merges the batch into the hashes
 * there (counts added, first_seen kept smallest, last_seen largest, the
 * newest name and identity win, sets united) with one Lua script per key,
 * so a restart, a second sensor or a batch flushed early adds up exactly.
 * A flow that finds a table full makes vigil_entity_flow return
 * VIGIL_ENTITY_FULL; the caller publishes the batch (which empties the
 * tables) and hands the flow again (entity_flush_full counts these).
 *
 * Publishing is Redis-agnostic here: vigil_entity_publish() produces the
 * commands (EVALSHA of the two scripts below) through a callback; lib/publish
 * sends them, pipelined. Keys written, with P the key prefix:
 *   P:entity:<id> P:entities P:entities:ip:<addr> P:entities:name:<name>
 *   P:service:<id> P:services P:edge:<id> P:edges P:svcedge:<id> P:svcedges
 *   P:map:<bucket> P:map:<bucket>:svc P:map:buckets
 * and P:entities, P:services, P:edges, P:svcedges and P:map:buckets are
 * trimmed to entity.retention_s of packet time (at most
 * VIGIL_ENTITY_TRIM_STEP members each publish).
 *
 * Threading: one stage, used by the control thread only. Not on the packet
 * path: it allocates (jemalloc in the appliance).
 */
#ifndef VIGIL_ENTITY_H
#define VIGIL_ENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil_conf.h"
#include "vigil_flow.h"
#include "vigil_meta.h"
#include "vigil_stats.h"

/* Longest entity id: "pod/" namespace "/" pod. */
#define VIGIL_ENTITY_ID_MAX \
	(4 + VIGIL_META_NAMESPACE_MAX + 1 + VIGIL_META_POD_MAX)
/* Longest service id: entity id ":65535/" transport. */
#define VIGIL_SERVICE_ID_MAX (VIGIL_ENTITY_ID_MAX + 12)
/* Longest edge id: client ">" service. */
#define VIGIL_EDGE_ID_MAX (VIGIL_ENTITY_ID_MAX + 1 + VIGIL_SERVICE_ID_MAX)

/* Served ports one entity gathers in one batch (more: entity_ports_full),
 * and the most P:entity:<id> lists in `ports`. */
#define VIGIL_ENTITY_PORTS 16
#define VIGIL_ENTITY_PORTS_KEPT 64
/* Application protocols one service or edge gathers in one batch. */
#define VIGIL_ENTITY_APPS 4
/* Members trimmed from each index per publish. */
#define VIGIL_ENTITY_TRIM_STEP 1000

struct vigil_entity;

/* The two ids a flow record gets (orig_entity, resp_entity). */
struct vigil_entity_ids {
	char orig[VIGIL_ENTITY_ID_MAX + 1];
	char resp[VIGIL_ENTITY_ID_MAX + 1];
};

/*
 * A stage for configuration c (entity.*, sensor.id, redis.prefix),
 * counting into ctr. NULL on out of memory.
 */
struct vigil_entity *vigil_entity_create(const struct vigil_conf *c,
					 struct vigil_counters *ctr);
void vigil_entity_free(struct vigil_entity *e);

/* What vigil_entity_flow returns. */
enum vigil_entity_rc {
	VIGIL_ENTITY_OK = 0,
	VIGIL_ENTITY_FULL = 1, /* a table has no room: nothing was counted;
				* publish, then hand the flow again */
	VIGIL_ENTITY_NOMEM = -1,
};

/*
 * One finished flow: r as lib/flow made it, app the application protocol
 * L7 inspection recognised ("dns", "http", ... or NULL), identities
 * looked up in st (NULL: none). Fills ids (if not NULL) in every case.
 */
int vigil_entity_flow(struct vigil_entity *e, const struct vigil_meta_store *st,
		      const struct vigil_flow_rec *r, const char *app,
		      struct vigil_entity_ids *ids);

/*
 * The entity id of address ip at time t_us (epoch microseconds) into out
 * (VIGIL_ENTITY_ID_MAX + 1 bytes): pod/<ns>/<pod> or ip/<addr>. Returns
 * the identity used, or NULL.
 */
const struct vigil_meta_entry *
vigil_entity_id_of(const struct vigil_meta_store *st,
		   const struct vigil_meta_ip *ip, uint64_t t_us, char *out);

/* The Lua scripts the commands call (EVALSHA): the caller loads them
 * (SCRIPT LOAD) and gives their SHA-1 (40 hex digits) here. */
extern const char vigil_entity_merge_lua[];
extern const char vigil_entity_trim_lua[];
void vigil_entity_set_scripts(struct vigil_entity *e, const char *merge_sha,
			      const char *trim_sha);

/* Sends one command: argc arguments of argvlen[i] bytes each. */
typedef void (*vigil_entity_emit_fn)(void *arg, int argc, const char **argv,
				     const size_t *argvlen);

/*
 * Is a publish due: entity.publish_s of packet time since the last one
 * (now_us: the wall clock in a live run, which stands in for packet time
 * when no flow ends; 0 in a replay)?
 */
bool vigil_entity_due(struct vigil_entity *e, uint64_t now_us);

/*
 * Writes the batch (one merge command per entity, service, edge, group
 * edge and map bucket) and the trims through emit, then empties the
 * tables. Returns the number of commands.
 */
unsigned vigil_entity_publish(struct vigil_entity *e, vigil_entity_emit_fn emit,
			      void *arg);

/* What the batch holds now. */
struct vigil_entity_held {
	uint32_t entities, services, edges, svcedges, cells;
	uint64_t bytes; /* records, strings and tables */
};
void vigil_entity_held(const struct vigil_entity *e,
		       struct vigil_entity_held *h);

/* The newest packet time the stage has seen (0: none). */
uint64_t vigil_entity_packet_us(const struct vigil_entity *e);

#endif /* VIGIL_ENTITY_H */
