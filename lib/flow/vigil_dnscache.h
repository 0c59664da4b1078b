/*
 * vigil dnscache: the names DNS answers gave to addresses, kept by each
 * worker so that a later flow to an address can be named by the name that
 * resolved to it (the flow record's resp_name).
 *
 * An address maps to the name the client asked for (the query: what a
 * person recognises, not the CDN's CNAME target). A flow is named only by
 * an answer seen before it began, so a replay names the same flows
 * whatever the timing of the scan that ends them. An answer is kept for
 * its TTL, but at least l7.dns_ttl_min_s: clients connect long after short
 * TTLs run out. The table is set-associative (4 ways a set, fixed size, no
 * allocation after creation): a new address takes a way that is empty or
 * expired, else the one closest to expiry. A newer answer for an address
 * replaces the older.
 *
 * Fed by the worker's own DNS inspection and, with several workers, by
 * the answers the other workers saw (forwarded by the control thread on
 * the worker's feed ring, struct vigil_dns_note). Those arrive a few
 * milliseconds late: live, that rarely matters; in a replay, which runs
 * far faster than the capture was taken, a flow on another worker than
 * its DNS query may miss its name.
 *
 * Threading: one cache per worker, touched only by it.
 */
#ifndef VIGIL_DNSCACHE_H
#define VIGIL_DNSCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "vigil_dns.h"

#define VIGIL_DNSC_NAME 222 /* bytes of a name kept (longer: cut) */
#define VIGIL_DNSC_WAYS 4

struct vigil_dnsc_entry {
	uint64_t expire_us;  /* 0: empty */
	uint64_t learned_us; /* packet time of the answer */
	uint8_t addr[16];
	uint8_t family;
	uint8_t len;
	char name[VIGIL_DNSC_NAME];
};

struct vigil_dnscache {
	uint32_t nsets; /* power of two; 0: disabled */
	uint64_t ttl_min_us;
	struct vigil_dnsc_entry *e; /* nsets * VIGIL_DNSC_WAYS */
};

/* One answer, as the control thread forwards it to the other workers. */
struct vigil_dns_note {
	uint64_t expire_us;
	uint64_t learned_us;
	uint8_t addr[16];
	uint8_t family;
	uint8_t len;
	char name[VIGIL_DNSC_NAME];
};

/* A cache of at least `entries` entries (0: disabled, never allocates).
 * Returns 0 or -1 when memory is short. */
int vigil_dnscache_init(struct vigil_dnscache *c, uint32_t entries,
			uint32_t ttl_min_s, int socket);
void vigil_dnscache_free(struct vigil_dnscache *c);

/* Address (family VIGIL_AF_*, 4 or 16 bytes in addr[16]) -> name until
 * expire_us (raised to the TTL floor from now_us). */
void vigil_dnscache_put(struct vigil_dnscache *c, uint8_t family,
			const uint8_t addr[16], const char *name, unsigned len,
			uint64_t now_us, uint64_t expire_us);

/* The A and AAAA answers of a DNS response as notes (address -> the name
 * asked for), learned at learned_us and valid for their TTL from then.
 * Returns how many (none for a query or a response without a question). */
unsigned vigil_dns_notes(const struct vigil_dns_msg *d, uint64_t learned_us,
			 struct vigil_dns_note out[VIGIL_DNS_ANSWERS_MAX]);

/* vigil_dnscache_put of a note. */
void vigil_dnscache_put_note(struct vigil_dnscache *c,
			     const struct vigil_dns_note *n);

/* The name of an address for a flow that began at at_us: from an answer
 * seen by then and still valid; NULL (and *len 0) when there is none. */
const char *vigil_dnscache_get(const struct vigil_dnscache *c, uint8_t family,
			       const uint8_t addr[16], uint64_t at_us,
			       unsigned *len);

#endif /* VIGIL_DNSCACHE_H */
