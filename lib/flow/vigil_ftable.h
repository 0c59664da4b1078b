/*
 * vigil ftable: the flow table of one worker, built for 128 bytes a flow.
 *
 * Layout. Flows live in one array of fixed 120-byte entries: the 48-byte
 * canonical key followed by 72 bytes of state the caller owns. An index of
 * 64-byte buckets finds them: each bucket holds 12 slots of a 16-bit
 * signature and a 24-bit entry number (5 bytes a slot), and every key has
 * two candidate buckets (two-choice hashing): it goes to the first while
 * that has room, so most lookups read one bucket. The index is sized for 85%
 * load, so a table of N flows takes 120 N + about 6.3 N bytes: under 128
 * bytes a flow, measured by scripts/bench/flowmem.sh. Free entries are
 * chained through the entries themselves, so there is no free list to pay
 * for.
 *
 * Full: when both candidate buckets of a new key are full, one resident is
 * moved to its other bucket if that has room (one level of cuckoo
 * displacement). When that fails too, or no entry is free, the caller is
 * told which flow in the two buckets was seen least
 * recently (vigil_ftable_victim) and may evict it; nothing ever waits and
 * nothing is allocated after creation.
 *
 * Lookups work on bursts: signatures and bucket numbers for the whole
 * burst, prefetch the buckets, then the candidate entries, then compare
 * keys, as DPDK's l3fwd does.
 *
 * Hashing: the caller passes the key's 32-bit hash (the RX stage's
 * symmetric hash). The table remixes it with two CRC32-C steps, so the bits
 * that picked the worker are not the bits that pick the bucket.
 *
 * Threading: single-threaded; one table per worker, touched only by it.
 */
#ifndef VIGIL_FTABLE_H
#define VIGIL_FTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "vigil_decode.h"

#define VIGIL_FT_SLOTS 12		/* slots per 64-byte bucket */
#define VIGIL_FT_STATE_SIZE 72
#define VIGIL_FT_ENTRY_SIZE (sizeof(struct vigil_flow_key) + VIGIL_FT_STATE_SIZE)
#define VIGIL_FT_MAX_ENTRIES ((1u << 24) - 1)	/* 24-bit entry numbers */
#define VIGIL_FT_NONE UINT32_MAX
#define VIGIL_FT_BURST 64

struct vigil_ft_bucket {
	uint16_t sig[VIGIL_FT_SLOTS];	  /* 0 = empty slot */
	uint8_t idx[VIGIL_FT_SLOTS][3];	  /* entry number, little endian */
	uint32_t pad;
};

/* Where a key lives or would live. */
struct vigil_ft_where {
	uint32_t b[2];	/* candidate buckets */
	uint16_t sig;
};

struct vigil_ftable {
	uint32_t capacity;  /* entries */
	uint32_t nbuckets;
	uint32_t used;	    /* entries in use */
	uint32_t free_head; /* first free entry, VIGIL_FT_NONE when none */
	uint8_t *entries;   /* capacity * VIGIL_FT_ENTRY_SIZE */
	struct vigil_ft_bucket *buckets;
	uint64_t bytes;	    /* allocated for entries and index */
};

/* Entry `i`: its key and its state. */
static inline struct vigil_flow_key *
vigil_ft_key(const struct vigil_ftable *t, uint32_t i)
{
	return (struct vigil_flow_key *)(t->entries +
					 (size_t)i * VIGIL_FT_ENTRY_SIZE);
}

static inline void *
vigil_ft_state(const struct vigil_ftable *t, uint32_t i)
{
	return t->entries + (size_t)i * VIGIL_FT_ENTRY_SIZE +
	       sizeof(struct vigil_flow_key);
}

/*
 * Allocate a table of `capacity` flows on `socket` (rte_malloc). The state
 * of every entry is zeroed; `in_use(state)` below is the caller's business.
 * Returns 0, or -1 (rte_errno set) when memory is short.
 */
int vigil_ftable_create(struct vigil_ftable *t, uint32_t capacity,
			int socket);
void vigil_ftable_free(struct vigil_ftable *t);

/* Buckets and signature of a key from its hash. */
void vigil_ftable_where(const struct vigil_ftable *t, uint32_t hash,
			struct vigil_ft_where *w);

/*
 * Look up `n` (<= VIGIL_FT_BURST) keys. out[i] is the entry number or
 * VIGIL_FT_NONE. The keys must stay valid during the call.
 */
void vigil_ftable_lookup_bulk(const struct vigil_ftable *t,
			      const struct vigil_flow_key *const *keys,
			      const uint32_t *hashes, unsigned n,
			      struct vigil_ft_where *where, uint32_t *out);

/* Look up one key whose place is known. */
uint32_t vigil_ftable_lookup(const struct vigil_ftable *t,
			     const struct vigil_flow_key *key,
			     const struct vigil_ft_where *w);

/*
 * Insert a key known to be absent. Returns its entry number (key copied,
 * state left as the previous user left it: initialise it), or VIGIL_FT_NONE
 * when both buckets are full or no entry is free.
 */
uint32_t vigil_ftable_insert(struct vigil_ftable *t,
			     const struct vigil_flow_key *key,
			     const struct vigil_ft_where *w);

/* Remove entry `i` (its key is read to find its slot). */
void vigil_ftable_remove(struct vigil_ftable *t, uint32_t i);

/*
 * The occupied entries of a key's two buckets, for an eviction choice:
 * writes up to 2 * VIGIL_FT_SLOTS entry numbers to out and returns how many.
 */
unsigned vigil_ftable_candidates(const struct vigil_ftable *t,
				 const struct vigil_ft_where *w,
				 uint32_t *out);

/* Key equality on the six 8-byte words. */
static inline bool
vigil_ft_key_eq(const struct vigil_flow_key *a, const struct vigil_flow_key *b)
{
	uint64_t x[6], y[6];

	/* memcpy, not a pointer cast: no aliasing assumptions; compiles to
	 * the same six loads. */
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		(x[3] ^ y[3]) | (x[4] ^ y[4]) | (x[5] ^ y[5])) == 0;
}

#endif /* VIGIL_FTABLE_H */
