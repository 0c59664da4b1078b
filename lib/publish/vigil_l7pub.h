/*
 * vigil l7pub: L7 records on the publisher's side, until their flow record
 * comes.
 *
 * A worker hands the results of inspecting a flow (struct vigil_l7_rec,
 * lib/flow/vigil_inspect.h) to the control thread on its own ring, always
 * before that flow's flow record. The control thread formats each L7 record
 * at once into (field, value) strings with Zeek's names and conventions
 * (dns.log, http.log, ssl.log; see vigil_l7_format) and keeps them in a
 * pending store keyed by (flow key, first_us) -- what, with the sensor,
 * makes the flow record's uid. When the flow record is formatted, its
 * fields are taken from the store and appended to it (vigil_pub_flow).
 *
 * Bounds: the store holds at most l7.pending_max entries; an L7 record that
 * finds it full is dropped and counted (drop_l7_pending_full). An entry
 * whose flow record never comes (dropped on a full ring, or lost at
 * shutdown) is aged out once packet time has moved flow.active_timeout_s +
 * the largest idle timeout past its arrival (l7_pending_expired): by then
 * its flow record would have been emitted. Ageing walks the entries in
 * arrival order and stops at the first young one, at most
 * VIGIL_L7PUB_EXPIRE_STEP entries a call. Each entry is one allocation
 * (jemalloc) sized to its strings.
 *
 * Clock: the largest packet time the store has been shown (L7 records'
 * first_us, flow records' last packet), or the wall clock the caller
 * passes when it is later. The control thread ages entries in a live run
 * only: a replay loses no flow record (its stages wait for room), and a
 * replayed flow may be emitted only at the final drain, long after its L7
 * record in packet time (a capture spanning days), so a replay keeps every
 * entry until its flow record comes or the exit.
 *
 * Threading: one store, used by the control thread only.
 */
#ifndef VIGIL_L7PUB_H
#define VIGIL_L7PUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil_conf.h"
#include "vigil_decode.h"
#include "vigil_inspect.h"
#include "vigil_stats.h"

/* Largest number of fields one L7 record gives (TLS: service, version,
 * server_name, next_protocol, cipher, ja3, ja3s, ja4, subject, issuer,
 * l7_error). */
#define VIGIL_L7_FIELDS 12

/* The fields of one L7 record, formatted. field[] are static names;
 * value[] are NUL-terminated printable ASCII (0x20..0x7e). */
struct vigil_l7_fields {
	unsigned n;
	const char *field[VIGIL_L7_FIELDS];
	const char *value[VIGIL_L7_FIELDS];
};

/* Scratch for vigil_l7_format: the fields and room for their values (every
 * escaped string of the record at its longest fits). */
struct vigil_l7_fmt {
	struct vigil_l7_fields f;
	char buf[24576];
};

/*
 * Format one L7 record: Zeek's field names and value conventions, strings
 * from the wire escaped with vigil_l7_escape() (and ',' inside an element
 * of a list written "\x2c", as Zeek does), fields without a value left out.
 * Returns the number of fields (out->f.n).
 */
unsigned vigil_l7_format(const struct vigil_l7_rec *rec,
			 struct vigil_l7_fmt *out);

struct vigil_l7pub;

/* A store of at most conf->l7_pending_max entries, counting into ctr. NULL
 * on out of memory. */
struct vigil_l7pub *vigil_l7pub_create(const struct vigil_conf *conf,
				       struct vigil_counters *ctr);

/* Frees every entry (without counting them; see vigil_l7pub_expire). */
void vigil_l7pub_free(struct vigil_l7pub *s);

/*
 * Format rec and keep its fields until its flow record comes. Returns
 * false when it was dropped: store full (drop_l7_pending_full) or out of
 * memory (counted the same). A second record for the same flow replaces
 * the first.
 */
bool vigil_l7pub_add(struct vigil_l7pub *s, const struct vigil_l7_rec *rec);

/* Tell the store the packet time a flow record reached (its last packet):
 * the clock that ages entries. */
void vigil_l7pub_saw(struct vigil_l7pub *s, uint64_t packet_us);

/* The entry of the flow (key, first_us), removed from the store; NULL when
 * there is none. Free it with vigil_l7pub_release once its fields have
 * been used. */
const struct vigil_l7_fields *vigil_l7pub_take(struct vigil_l7pub *s,
					       const struct vigil_flow_key *key,
					       uint64_t first_us);
void vigil_l7pub_release(const struct vigil_l7_fields *f);

/*
 * Age out entries older than flow.active_timeout_s + the largest idle
 * timeout at time max(now_us, the packet time seen); at most
 * VIGIL_L7PUB_EXPIRE_STEP of them (UINT64_MAX: every entry, at shutdown).
 * Counts them in l7_pending_expired; returns how many.
 */
#define VIGIL_L7PUB_EXPIRE_STEP 4096
unsigned vigil_l7pub_expire(struct vigil_l7pub *s, uint64_t now_us);

/* Entries held, and the bytes they take (allocations included). */
uint32_t vigil_l7pub_count(const struct vigil_l7pub *s);
uint64_t vigil_l7pub_bytes(const struct vigil_l7pub *s);

#endif /* VIGIL_L7PUB_H */
