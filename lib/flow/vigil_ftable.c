/*
 * vigil ftable: see vigil_ftable.h for the layout and its reasons.
 */
#include "vigil_ftable.h"

#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

/* 85% of the slots used when the entries are all in use. */
#define LOAD_NUM 85
#define LOAD_DEN 100

#define SEED_B1 0x8d2c3b1fu
#define SEED_B2 0x2f5ab7e3u

static inline uint32_t
get_idx(const struct vigil_ft_bucket *b, unsigned s)
{
	return (uint32_t)b->idx[s][0] | (uint32_t)b->idx[s][1] << 8 |
	       (uint32_t)b->idx[s][2] << 16;
}

static inline void
set_idx(struct vigil_ft_bucket *b, unsigned s, uint32_t i)
{
	b->idx[s][0] = (uint8_t)i;
	b->idx[s][1] = (uint8_t)(i >> 8);
	b->idx[s][2] = (uint8_t)(i >> 16);
}

static inline uint32_t
free_next(const struct vigil_ftable *t, uint32_t i)
{
	uint32_t n;

	memcpy(&n, vigil_ft_key(t, i), sizeof(n));
	return n;
}

static inline void
set_free_next(struct vigil_ftable *t, uint32_t i, uint32_t next)
{
	memcpy(vigil_ft_key(t, i), &next, sizeof(next));
}

int
vigil_ftable_create(struct vigil_ftable *t, uint32_t capacity, int socket)
{
	uint64_t slots;

	RTE_BUILD_BUG_ON(sizeof(struct vigil_ft_bucket) != 64);
	RTE_BUILD_BUG_ON(VIGIL_FT_ENTRY_SIZE != 120);
	memset(t, 0, sizeof(*t));
	if (capacity == 0 || capacity > VIGIL_FT_MAX_ENTRIES) {
		rte_errno = EINVAL;
		return -1;
	}
	slots = ((uint64_t)capacity * LOAD_DEN + LOAD_NUM - 1) / LOAD_NUM;
	t->nbuckets = (uint32_t)((slots + VIGIL_FT_SLOTS - 1) / VIGIL_FT_SLOTS);
	t->capacity = capacity;
	t->entries = rte_zmalloc_socket("vigil_flow_entries",
					(size_t)capacity * VIGIL_FT_ENTRY_SIZE,
					RTE_CACHE_LINE_SIZE, socket);
	t->buckets = rte_zmalloc_socket("vigil_flow_index",
					(size_t)t->nbuckets *
						sizeof(struct vigil_ft_bucket),
					RTE_CACHE_LINE_SIZE, socket);
	if (t->entries == NULL || t->buckets == NULL) {
		vigil_ftable_free(t);
		rte_errno = ENOMEM;
		return -1;
	}
	t->bytes = (uint64_t)capacity * VIGIL_FT_ENTRY_SIZE +
		   (uint64_t)t->nbuckets * sizeof(struct vigil_ft_bucket);
	/* Chain the free entries in order, so the first flows are packed at
	 * the start of the array. */
	for (uint32_t i = 0; i < capacity; i++)
		set_free_next(t, i, i + 1 < capacity ? i + 1 : VIGIL_FT_NONE);
	t->free_head = 0;
	return 0;
}

void
vigil_ftable_free(struct vigil_ftable *t)
{
	rte_free(t->entries);
	rte_free(t->buckets);
	t->entries = NULL;
	t->buckets = NULL;
}

void
vigil_ftable_where(const struct vigil_ftable *t, uint32_t hash,
		   struct vigil_ft_where *w)
{
	uint32_t h1 = rte_hash_crc_4byte(hash, SEED_B1);
	/* Chained, not a second seed: CRC is affine in its seed, so two
	 * seeds on the same input differ by a constant and the two buckets
	 * would always come in the same pairs. */
	uint32_t h2 = rte_hash_crc_4byte(h1, SEED_B2);

	w->b[0] = (uint32_t)(((uint64_t)h1 * t->nbuckets) >> 32);
	w->b[1] = (uint32_t)(((uint64_t)h2 * t->nbuckets) >> 32);
	/* The low half of h1 did not choose the bucket: use it as the
	 * signature, never 0 (0 marks an empty slot). */
	w->sig = (uint16_t)h1 ? (uint16_t)h1 : 1;
}

/* Bit s set where slot s holds signature sig: the twelve 16-bit
 * signatures are compared at once (SSE2), not slot by slot. */
static inline unsigned
sig_mask(const struct vigil_ft_bucket *b, uint16_t sig)
{
	__m128i want = _mm_set1_epi16((short)sig);
	__m128i lo = _mm_loadu_si128((const __m128i *)(const void *)b->sig);
	/* Slots 8..11; the upper half of this load is zero. */
	__m128i hi = _mm_loadl_epi64(
		(const __m128i *)(const void *)(b->sig + 8));
	/* Each 16-bit result (0 or -1) narrowed to a byte: one movemask bit
	 * a slot. Bits 12..15 come from the zero half: masked off. */
	__m128i eq = _mm_packs_epi16(_mm_cmpeq_epi16(lo, want),
				     _mm_cmpeq_epi16(hi, want));

	return (unsigned)_mm_movemask_epi8(eq) & ((1u << VIGIL_FT_SLOTS) - 1);
}

static inline uint32_t
find_in(const struct vigil_ftable *t, const struct vigil_ft_bucket *b,
	uint16_t sig, const struct vigil_flow_key *key)
{
	for (unsigned m = sig_mask(b, sig); m != 0; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);
		uint32_t i = get_idx(b, s);

		if (vigil_ft_key_eq(vigil_ft_key(t, i), key))
			return i;
	}
	return VIGIL_FT_NONE;
}

uint32_t
vigil_ftable_lookup(const struct vigil_ftable *t,
		    const struct vigil_flow_key *key,
		    const struct vigil_ft_where *w)
{
	uint32_t i = find_in(t, &t->buckets[w->b[0]], w->sig, key);

	if (i == VIGIL_FT_NONE && w->b[1] != w->b[0])
		i = find_in(t, &t->buckets[w->b[1]], w->sig, key);
	return i;
}

/* First slot of bucket b whose signature matches, or VIGIL_FT_SLOTS. */
static inline unsigned
first_sig(const struct vigil_ft_bucket *b, uint16_t sig)
{
	unsigned m = sig_mask(b, sig);

	return m ? (unsigned)__builtin_ctz(m) : VIGIL_FT_SLOTS;
}

void
vigil_ftable_lookup_bulk(const struct vigil_ftable *t,
			 const struct vigil_flow_key *const *keys,
			 const uint32_t *hashes, unsigned n,
			 struct vigil_ft_where *where, uint32_t *out)
{
	uint32_t guess[VIGIL_FT_BURST];

	/* 1. First buckets of the whole burst, prefetched (keys live in
	 *    their first bucket unless it was full when they came). */
	for (unsigned i = 0; i < n; i++) {
		vigil_ftable_where(t, hashes[i], &where[i]);
		rte_prefetch0(&t->buckets[where[i].b[0]]);
	}
	/* 2. The likely entry of each key (first signature match in its
	 *    first bucket, else its second), prefetched: both of its lines. */
	for (unsigned i = 0; i < n; i++) {
		const struct vigil_ft_bucket *b = &t->buckets[where[i].b[0]];
		unsigned s = first_sig(b, where[i].sig);

		if (s == VIGIL_FT_SLOTS) {
			b = &t->buckets[where[i].b[1]];
			s = first_sig(b, where[i].sig);
		}
		if (s == VIGIL_FT_SLOTS) {
			guess[i] = VIGIL_FT_NONE;
			continue;
		}
		guess[i] = get_idx(b, s);
		const uint8_t *e = (const uint8_t *)vigil_ft_key(t, guess[i]);

		rte_prefetch0(e);
		rte_prefetch0(e + VIGIL_FT_ENTRY_SIZE - 1);
	}
	/* 3. Compare; a wrong guess (signature collision) falls back to the
	 *    full search of both buckets. */
	for (unsigned i = 0; i < n; i++) {
		if (guess[i] != VIGIL_FT_NONE &&
		    vigil_ft_key_eq(vigil_ft_key(t, guess[i]), keys[i]))
			out[i] = guess[i];
		else if (guess[i] == VIGIL_FT_NONE)
			out[i] = VIGIL_FT_NONE;
		else
			out[i] = vigil_ftable_lookup(t, keys[i], &where[i]);
	}
}

static inline int
empty_slot(const struct vigil_ft_bucket *b)
{
	unsigned m = sig_mask(b, 0);

	return m ? __builtin_ctz(m) : -1;
}

/*
 * Free a slot of full bucket `bi` by moving one of its entries to that
 * entry's other candidate bucket, if it has room (one level of cuckoo
 * displacement). Costs a key hash per resident tried, and runs only when a
 * new key finds both its buckets full, so it keeps the table usable to
 * nearly all of its capacity.
 */
static bool
make_room(struct vigil_ftable *t, uint32_t bi)
{
	struct vigil_ft_bucket *b = &t->buckets[bi];

	for (unsigned s = 0; s < VIGIL_FT_SLOTS; s++) {
		uint32_t i = get_idx(b, s);
		struct vigil_ft_where w;
		uint32_t alt;
		int free_slot;

		vigil_ftable_where(t, vigil_key_hash(vigil_ft_key(t, i)), &w);
		alt = w.b[0] == bi ? w.b[1] : w.b[0];
		if (alt == bi)
			continue;
		free_slot = empty_slot(&t->buckets[alt]);
		if (free_slot < 0)
			continue;
		t->buckets[alt].sig[free_slot] = b->sig[s];
		set_idx(&t->buckets[alt], (unsigned)free_slot, i);
		b->sig[s] = 0;
		set_idx(b, s, 0);
		return true;
	}
	return false;
}

uint32_t
vigil_ftable_insert(struct vigil_ftable *t, const struct vigil_flow_key *key,
		    const struct vigil_ft_where *w)
{
	struct vigil_ft_bucket *b0 = &t->buckets[w->b[0]];
	struct vigil_ft_bucket *b1 = &t->buckets[w->b[1]];
	struct vigil_ft_bucket *b;
	int s0, s1, s;
	uint32_t i;

	if (t->free_head == VIGIL_FT_NONE)
		return VIGIL_FT_NONE;
	s0 = empty_slot(b0);
	s1 = empty_slot(b1);
	if (s0 < 0 && s1 < 0) {
		/* Both full: move one resident to its other bucket. */
		if (make_room(t, w->b[0]))
			s0 = empty_slot(b0);
		else if (w->b[1] != w->b[0] && make_room(t, w->b[1]))
			s1 = empty_slot(b1);
		if (s0 < 0 && s1 < 0)
			return VIGIL_FT_NONE;
	}
	/* The first bucket while it has room: most keys are then found in
	 * the bucket a lookup reads first, and the second is fetched only
	 * for the rest. */
	b = s0 >= 0 ? b0 : b1;
	s = s0 >= 0 ? s0 : s1;
	i = t->free_head;
	t->free_head = free_next(t, i);
	memcpy(vigil_ft_key(t, i), key, sizeof(*key));
	b->sig[s] = w->sig;
	set_idx(b, (unsigned)s, i);
	t->used++;
	return i;
}

void
vigil_ftable_remove(struct vigil_ftable *t, uint32_t i)
{
	struct vigil_flow_key *key = vigil_ft_key(t, i);
	struct vigil_ft_where w;

	vigil_ftable_where(t, vigil_key_hash(key), &w);
	for (unsigned k = 0; k < 2; k++) {
		struct vigil_ft_bucket *b = &t->buckets[w.b[k]];

		for (unsigned s = 0; s < VIGIL_FT_SLOTS; s++)
			if (b->sig[s] == w.sig && get_idx(b, s) == i) {
				b->sig[s] = 0;
				set_idx(b, s, 0);
				set_free_next(t, i, t->free_head);
				t->free_head = i;
				t->used--;
				return;
			}
	}
}

unsigned
vigil_ftable_candidates(const struct vigil_ftable *t,
			const struct vigil_ft_where *w, uint32_t *out)
{
	unsigned n = 0;

	for (unsigned k = 0; k < 2; k++) {
		const struct vigil_ft_bucket *b = &t->buckets[w->b[k]];

		if (k == 1 && w->b[1] == w->b[0])
			break;
		for (unsigned s = 0; s < VIGIL_FT_SLOTS; s++)
			if (b->sig[s] != 0)
				out[n++] = get_idx(b, s);
	}
	return n;
}
