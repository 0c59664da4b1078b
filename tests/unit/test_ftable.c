/*
 * Unit tests of lib/flow/vigil_ftable: the worker's flow table (120-byte
 * entries, 64-byte buckets of 12 signature slots, two candidate buckets a
 * key, a free list through the entries). EAL without hugepages: the table
 * lives in rte_malloc memory.
 *
 * Hashes are vigil_key_hash() of the key, as the RX stage computes them
 * (vigil_ftable_remove() finds a key's slot from that hash).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "vigil_decode.h"
#include "vigil_ftable.h"

/* ---- keys ------------------------------------------------------------------ */

static uint64_t rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic, so every run sees the same keys. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

/* Key number `i`: random addresses and protocol, made distinct by `i` in
 * the ports (IPv4 and IPv6 mixed). */
static struct vigil_flow_key
rkey(uint32_t i)
{
	struct vigil_flow_key k;
	uint64_t r = rng();

	memset(&k, 0, sizeof(k));
	k.family = (r & 1) ? VIGIL_AF_INET6 : VIGIL_AF_INET;
	k.proto = (r & 2) ? VIGIL_IPPROTO_TCP : VIGIL_IPPROTO_UDP;
	for (unsigned s = 0; s < 2; s++) {
		unsigned n = k.family == VIGIL_AF_INET ? 4 : 16;

		for (unsigned b = 0; b < n; b += 8) {
			uint64_t v = rng();

			memcpy(k.addr[s] + b, &v, n - b < 8 ? n - b : 8);
		}
	}
	k.port[0] = (uint16_t)i;
	k.port[1] = (uint16_t)(i >> 16);
	k.vlan = (uint16_t)((r >> 8) & 0xfff);
	return k;
}

static void
where_of(const struct vigil_ftable *t, const struct vigil_flow_key *k,
	 struct vigil_ft_where *w)
{
	vigil_ftable_where(t, vigil_key_hash(k), w);
}

static uint32_t
lookup(const struct vigil_ftable *t, const struct vigil_flow_key *k)
{
	struct vigil_ft_where w;

	where_of(t, k, &w);
	return vigil_ftable_lookup(t, k, &w);
}

static uint32_t
insert(struct vigil_ftable *t, const struct vigil_flow_key *k)
{
	struct vigil_ft_where w;

	where_of(t, k, &w);
	return vigil_ftable_insert(t, k, &w);
}

/* Bulk lookup of keys[0..n) in bursts of VIGIL_FT_BURST; checks that every
 * `where` it returns is vigil_ftable_where()'s. */
static void
lookup_bulk(const struct vigil_ftable *t, const struct vigil_flow_key *keys,
	    unsigned n, uint32_t *out)
{
	for (unsigned off = 0; off < n; off += VIGIL_FT_BURST) {
		unsigned k = n - off < VIGIL_FT_BURST ? n - off : VIGIL_FT_BURST;
		const struct vigil_flow_key *kp[VIGIL_FT_BURST];
		uint32_t h[VIGIL_FT_BURST];
		struct vigil_ft_where w[VIGIL_FT_BURST], w1;

		for (unsigned i = 0; i < k; i++) {
			kp[i] = &keys[off + i];
			h[i] = vigil_key_hash(kp[i]);
		}
		vigil_ftable_lookup_bulk(t, kp, h, k, w, out + off);
		for (unsigned i = 0; i < k; i++) {
			vigil_ftable_where(t, h[i], &w1);
			assert_int_equal(w[i].b[0], w1.b[0]);
			assert_int_equal(w[i].b[1], w1.b[1]);
			assert_int_equal(w[i].sig, w1.sig);
		}
	}
}

/* Occupied slots of bucket b. */
static unsigned
bucket_used(const struct vigil_ftable *t, uint32_t b)
{
	unsigned n = 0;

	for (unsigned s = 0; s < VIGIL_FT_SLOTS; s++)
		n += t->buckets[b].sig[s] != 0;
	return n;
}

/* Entry number of slot s (24 bits, little endian: vigil_ftable.h). */
static uint32_t
slot_idx(const struct vigil_ft_bucket *b, unsigned s)
{
	return (uint32_t)b->idx[s][0] | (uint32_t)b->idx[s][1] << 8 |
	       (uint32_t)b->idx[s][2] << 16;
}

/* Can `k` be inserted without a full-bucket failure? */
static bool
has_room(const struct vigil_ftable *t, const struct vigil_flow_key *k)
{
	struct vigil_ft_where w;

	where_of(t, k, &w);
	return bucket_used(t, w.b[0]) < VIGIL_FT_SLOTS ||
	       bucket_used(t, w.b[1]) < VIGIL_FT_SLOTS;
}

/*
 * The whole index is consistent with the `live` entries (live[e] != 0 when
 * entry e is in use): every occupied slot names a live entry, in one of its
 * key's two buckets, with its key's signature; every live entry has
 * exactly one slot; `used` counts them.
 */
static void
check_index(const struct vigil_ftable *t, const uint8_t *live)
{
	uint8_t *slots = calloc(t->capacity, 1);
	uint32_t nlive = 0, nslots = 0;

	assert_non_null(slots);
	for (uint32_t b = 0; b < t->nbuckets; b++) {
		const struct vigil_ft_bucket *bk = &t->buckets[b];

		for (unsigned s = 0; s < VIGIL_FT_SLOTS; s++) {
			struct vigil_ft_where w;
			uint32_t e;

			if (bk->sig[s] == 0)
				continue;
			e = slot_idx(bk, s);
			assert_true(e < t->capacity);
			assert_true(live[e]);
			assert_int_equal(slots[e], 0);
			slots[e] = 1;
			nslots++;
			where_of(t, vigil_ft_key(t, e), &w);
			assert_int_equal(bk->sig[s], w.sig);
			assert_true(b == w.b[0] || b == w.b[1]);
		}
	}
	for (uint32_t e = 0; e < t->capacity; e++)
		nlive += live[e] != 0;
	assert_int_equal(nslots, nlive);
	assert_int_equal(t->used, nlive);
	free(slots);
}

/* ---- EAL ------------------------------------------------------------------- */

static int
eal_setup(void **state)
{
	char *argv[] = { "test", "--no-huge", "-m", "256", "--no-pci",
			 "--no-shconf", "-l", "0", "--log-level=4" };

	(void)state;
	return rte_eal_init((int)RTE_DIM(argv), argv) < 0 ? -1 : 0;
}

static int
eal_teardown(void **state)
{
	(void)state;
	rte_eal_cleanup();
	return 0;
}

/* ---- layout ---------------------------------------------------------------- */

static void
test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vigil_flow_key), 48);
	assert_int_equal(VIGIL_FT_STATE_SIZE, 72);
	assert_int_equal(VIGIL_FT_ENTRY_SIZE, 120);
	assert_int_equal(sizeof(struct vigil_ft_bucket), 64);
	assert_int_equal(VIGIL_FT_SLOTS, 12);
	assert_int_equal(VIGIL_FT_MAX_ENTRIES, (1u << 24) - 1);
}

static void
test_create_bad_capacity(void **state)
{
	struct vigil_ftable t;

	(void)state;
	rte_errno = 0;
	assert_int_equal(vigil_ftable_create(&t, 0, SOCKET_ID_ANY), -1);
	assert_int_equal(rte_errno, EINVAL);
	assert_null(t.entries);
	rte_errno = 0;
	assert_int_equal(vigil_ftable_create(&t, VIGIL_FT_MAX_ENTRIES + 1,
					     SOCKET_ID_ANY),
			 -1);
	assert_int_equal(rte_errno, EINVAL);
	/* Freeing a table that was never made is harmless. */
	vigil_ftable_free(&t);
}

/* ---- single keys ----------------------------------------------------------- */

static void
test_insert_lookup_remove(void **state)
{
	struct vigil_ftable t;
	struct vigil_flow_key a, b, c;
	struct vigil_ft_where wa;
	uint32_t ea, eb, ec;
	uint8_t *st;

	(void)state;
	rng_seed(1);
	assert_int_equal(vigil_ftable_create(&t, 1024, SOCKET_ID_ANY), 0);
	assert_int_equal(t.capacity, 1024);
	assert_int_equal(t.used, 0);
	a = rkey(1);
	b = rkey(2);
	c = rkey(3);

	where_of(&t, &a, &wa);
	assert_true(wa.b[0] < t.nbuckets);
	assert_true(wa.b[1] < t.nbuckets);
	assert_int_not_equal(wa.sig, 0);
	assert_int_equal(vigil_ftable_lookup(&t, &a, &wa), VIGIL_FT_NONE);

	/* Entries are handed out from the start of the array. */
	ea = vigil_ftable_insert(&t, &a, &wa);
	assert_int_equal(ea, 0);
	assert_int_equal(t.used, 1);
	assert_memory_equal(vigil_ft_key(&t, ea), &a, sizeof(a));
	assert_int_equal(vigil_ftable_lookup(&t, &a, &wa), ea);
	assert_int_equal(lookup(&t, &b), VIGIL_FT_NONE);
	eb = insert(&t, &b);
	assert_int_equal(eb, 1);
	assert_int_equal(lookup(&t, &a), ea);
	assert_int_equal(lookup(&t, &b), eb);
	assert_int_equal(lookup(&t, &c), VIGIL_FT_NONE);
	assert_int_equal(t.used, 2);

	/* The state is the 72 bytes after the key, zeroed at creation. */
	st = vigil_ft_state(&t, eb);
	assert_ptr_equal(st, (uint8_t *)vigil_ft_key(&t, eb) + 48);
	assert_ptr_equal((uint8_t *)vigil_ft_key(&t, eb),
			 t.entries + (size_t)eb * VIGIL_FT_ENTRY_SIZE);
	for (unsigned i = 0; i < VIGIL_FT_STATE_SIZE; i++)
		assert_int_equal(st[i], 0);
	memset(st, 0xab, VIGIL_FT_STATE_SIZE);
	/* Writing the state touches neither key. */
	assert_memory_equal(vigil_ft_key(&t, eb), &b, sizeof(b));
	assert_int_equal(lookup(&t, &a), ea);
	assert_int_equal(lookup(&t, &b), eb);

	/* Remove a: b stays, a misses. */
	vigil_ftable_remove(&t, ea);
	assert_int_equal(t.used, 1);
	assert_int_equal(lookup(&t, &a), VIGIL_FT_NONE);
	assert_int_equal(lookup(&t, &b), eb);
	/* The freed entry is the next one handed out. */
	ec = insert(&t, &c);
	assert_int_equal(ec, ea);
	assert_memory_equal(vigil_ft_key(&t, ec), &c, sizeof(c));
	assert_int_equal(lookup(&t, &c), ec);
	assert_int_equal(lookup(&t, &a), VIGIL_FT_NONE);
	/* A removed key can come back. */
	ea = insert(&t, &a);
	assert_int_equal(ea, 2);
	assert_int_equal(lookup(&t, &a), ea);
	assert_int_equal(t.used, 3);

	vigil_ftable_remove(&t, eb);
	vigil_ftable_remove(&t, ec);
	vigil_ftable_remove(&t, ea);
	assert_int_equal(t.used, 0);
	assert_int_equal(lookup(&t, &a), VIGIL_FT_NONE);
	assert_int_equal(lookup(&t, &b), VIGIL_FT_NONE);
	assert_int_equal(lookup(&t, &c), VIGIL_FT_NONE);
	for (uint32_t bk = 0; bk < t.nbuckets; bk++)
		assert_int_equal(bucket_used(&t, bk), 0);
	vigil_ftable_free(&t);
	assert_null(t.entries);
	assert_null(t.buckets);
}

static void
test_key_eq(void **state)
{
	struct vigil_flow_key a, b;

	(void)state;
	rng_seed(2);
	a = rkey(7);
	memcpy(&b, &a, sizeof(b));
	assert_true(vigil_ft_key_eq(&a, &b));
	/* A difference in any byte (each of the six words) is seen. */
	for (unsigned i = 0; i < sizeof(a); i++) {
		memcpy(&b, &a, sizeof(b));
		((uint8_t *)&b)[i] ^= 0x10;
		assert_false(vigil_ft_key_eq(&a, &b));
	}
}

static __attribute__((noinline)) void
key_fill(struct vigil_flow_key *k, unsigned v)
{
	memset(k, 0, sizeof(*k));
	k->addr[0][0] = (uint8_t)v;
	k->port[0] = (uint16_t)v;
	k->proto = VIGIL_IPPROTO_TCP;
	k->family = VIGIL_AF_INET;
}

/*
 * Regression (was a bug: lib/flow/vigil_ftable.h, vigil_ft_key_eq(), lines 131-139):
 * the key is read through `const uint64_t *` pointers, which breaks C's
 * strict-aliasing rule (struct vigil_flow_key has no uint64_t member). With
 * this build's compiler and flags (GCC 12.2, -O2), a caller that assigns a
 * key and then compares it, `b = a; vigil_ft_key_eq(&a, &b)`, gets false:
 * the six loads are moved before the struct copy. GCC also warns
 * "'b' is used uninitialized", fatal under werror=true, so the pragmas
 * below are needed for this file to compile at all. Expected: true. Fix:
 * load the words with memcpy() (compiled to the same six loads), or
 * through a typedef with __attribute__((may_alias)). The library itself
 * is not hit today only because its compares and its key writes sit in
 * different functions (or memcpy()); LTO or a new caller can change that.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
static void
test_key_eq_after_struct_copy(void **state)
{
	struct vigil_flow_key a, b;

	(void)state;
	key_fill(&a, 41);
	b = a;
	assert_true(vigil_ft_key_eq(&a, &b));
}
#pragma GCC diagnostic pop

static void
test_signature_never_zero(void **state)
{
	struct vigil_ftable t;
	struct vigil_ft_where w;
	uint32_t ones = 0, twos = 0;

	(void)state;
	assert_int_equal(vigil_ftable_create(&t, 100000, SOCKET_ID_ANY), 0);
	/* 2^24 consecutive hashes: the remix reaches every low half, 0
	 * included, and 0 must never be a signature (it marks an empty
	 * slot). */
	for (uint32_t h = 0; h < (1u << 24); h++) {
		vigil_ftable_where(&t, h * 0x9E3779B1u, &w);
		assert_true(w.sig != 0);
		assert_true(w.b[0] < t.nbuckets);
		assert_true(w.b[1] < t.nbuckets);
		ones += w.sig == 1;
		twos += w.sig == 2;
	}
	print_message("signatures over 2^24 hashes: sig 1 (also takes 0) %u "
		      "times, sig 2 %u times\n",
		      ones, twos);
	vigil_ftable_free(&t);
}

/* ---- bursts ---------------------------------------------------------------- */

static void
test_lookup_bulk_matches_lookup(void **state)
{
	enum { NPRESENT = 3000, NABSENT = 3000 };
	static struct vigil_flow_key present[NPRESENT], absent[NABSENT];
	static uint32_t ent[NPRESENT];
	struct vigil_flow_key burst[VIGIL_FT_BURST];
	uint32_t out[VIGIL_FT_BURST];
	struct vigil_ftable t;

	(void)state;
	rng_seed(3);
	assert_int_equal(vigil_ftable_create(&t, 4096, SOCKET_ID_ANY), 0);
	for (uint32_t i = 0; i < NPRESENT; i++) {
		present[i] = rkey(i);
		ent[i] = insert(&t, &present[i]);
		assert_int_not_equal(ent[i], VIGIL_FT_NONE);
	}
	for (uint32_t i = 0; i < NABSENT; i++)
		absent[i] = rkey(1000000 + i);

	/* 300 bursts of every size, present and absent keys mixed at
	 * random, with repeats of a key inside a burst. */
	for (unsigned round = 0; round < 300; round++) {
		unsigned n = 1 + round % VIGIL_FT_BURST;
		int32_t want[VIGIL_FT_BURST];

		for (unsigned i = 0; i < n; i++) {
			uint64_t r = rng();

			if (i > 0 && r % 7 == 0) {
				unsigned j = (unsigned)((r >> 8) % i);

				burst[i] = burst[j];
				want[i] = want[j];
			} else if (r & 8) {
				unsigned j = (unsigned)((r >> 8) % NPRESENT);

				burst[i] = present[j];
				want[i] = (int32_t)ent[j];
			} else {
				burst[i] = absent[(r >> 8) % NABSENT];
				want[i] = -1;
			}
		}
		lookup_bulk(&t, burst, n, out);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(out[i], lookup(&t, &burst[i]));
			assert_int_equal(out[i], want[i] < 0 ? VIGIL_FT_NONE
							     : (uint32_t)want[i]);
		}
	}

	/* A full burst of one present key twice and one absent key twice. */
	for (unsigned i = 0; i < VIGIL_FT_BURST; i++)
		burst[i] = i < 2 ? present[5] : i < 4 ? absent[5] : present[i];
	lookup_bulk(&t, burst, VIGIL_FT_BURST, out);
	assert_int_equal(out[0], ent[5]);
	assert_int_equal(out[1], ent[5]);
	assert_int_equal(out[2], VIGIL_FT_NONE);
	assert_int_equal(out[3], VIGIL_FT_NONE);
	for (unsigned i = 4; i < VIGIL_FT_BURST; i++)
		assert_int_equal(out[i], ent[i]);
	vigil_ftable_free(&t);
}

/*
 * Signature collisions: in a table of two buckets, keys that share a
 * signature (and so, in the bulk lookup, a wrong first guess) are still
 * told apart, wherever they are.
 */
static void
test_lookup_bulk_signature_collisions(void **state)
{
	enum { NKEYS = 4000 };
	static struct vigil_flow_key keys[NKEYS];
	static struct vigil_ft_where where[NKEYS];
	struct vigil_flow_key burst[6], c;
	struct vigil_ft_where wc;
	uint32_t out[6], ea, eb, tries = 0;
	struct vigil_ftable t;
	int a = -1, b = -1;

	(void)state;
	rng_seed(4);
	assert_int_equal(vigil_ftable_create(&t, 12, SOCKET_ID_ANY), 0);
	assert_int_equal(t.nbuckets, 2);
	/* Two keys of one signature (birthday search)... */
	for (int i = 0; i < NKEYS && b < 0; i++) {
		keys[i] = rkey((uint32_t)i);
		where_of(&t, &keys[i], &where[i]);
		for (int j = 0; j < i; j++)
			if (where[i].sig == where[j].sig) {
				a = j;
				b = i;
				break;
			}
	}
	assert_true(a >= 0 && b >= 0);
	/* ... and a third, absent one. */
	do {
		assert_true(++tries < 10000000);
		c = rkey(100000 + tries);
		where_of(&t, &c, &wc);
	} while (wc.sig != where[a].sig);

	ea = insert(&t, &keys[a]);
	eb = insert(&t, &keys[b]);
	assert_int_not_equal(ea, VIGIL_FT_NONE);
	assert_int_not_equal(eb, VIGIL_FT_NONE);
	assert_int_equal(lookup(&t, &keys[a]), ea);
	assert_int_equal(lookup(&t, &keys[b]), eb);
	assert_int_equal(lookup(&t, &c), VIGIL_FT_NONE);
	burst[0] = keys[b];
	burst[1] = keys[a];
	burst[2] = keys[b];
	burst[3] = c;
	burst[4] = keys[a];
	burst[5] = keys[0];
	lookup_bulk(&t, burst, 6, out);
	assert_int_equal(out[0], eb);
	assert_int_equal(out[1], ea);
	assert_int_equal(out[2], eb);
	assert_int_equal(out[3], VIGIL_FT_NONE);
	assert_int_equal(out[4], ea);
	assert_int_equal(out[5], a == 0 ? ea : VIGIL_FT_NONE);
	/* Remove the one inserted first: the other is still found. */
	vigil_ftable_remove(&t, ea);
	lookup_bulk(&t, burst, 6, out);
	assert_int_equal(out[0], eb);
	assert_int_equal(out[1], VIGIL_FT_NONE);
	assert_int_equal(out[2], eb);
	assert_int_equal(out[3], VIGIL_FT_NONE);
	/* c in a's place: found, and b still is. */
	assert_int_equal(vigil_ftable_insert(&t, &c, &wc), ea);
	lookup_bulk(&t, burst, 6, out);
	assert_int_equal(out[0], eb);
	assert_int_equal(out[1], VIGIL_FT_NONE);
	assert_int_equal(out[3], ea);
	vigil_ftable_remove(&t, eb);
	vigil_ftable_remove(&t, ea);
	lookup_bulk(&t, burst, 6, out);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(out[i], VIGIL_FT_NONE);
	vigil_ftable_free(&t);
}

/* ---- a full table ---------------------------------------------------------- */

#define BIG 100000u

static struct vigil_flow_key big_keys[BIG];
static uint32_t big_ent[BIG];
static uint8_t big_live[BIG];

/* Insert random keys into `t` until the first failure; returns how many
 * succeeded. Every success is a distinct entry below capacity and is
 * found again right away. */
static uint32_t
fill_until_failure(struct vigil_ftable *t)
{
	uint32_t n;

	memset(big_live, 0, sizeof(big_live));
	for (n = 0; n < BIG; n++) {
		uint32_t e;

		big_keys[n] = rkey(n);
		e = insert(t, &big_keys[n]);
		if (e == VIGIL_FT_NONE)
			break;
		assert_true(e < t->capacity);
		assert_int_equal(big_live[e], 0);
		big_live[e] = 1;
		big_ent[n] = e;
		assert_int_equal(t->used, n + 1);
	}
	/* The failure changed nothing. */
	assert_int_equal(t->used, n);
	if (n < BIG)
		assert_int_equal(lookup(t, &big_keys[n]), VIGIL_FT_NONE);
	return n;
}

/*
 * Regression (was a bug: lib/flow/vigil_ftable.c, vigil_ftable_where(), lines
 * 101-102): the two candidate buckets come from
 *   h1 = rte_hash_crc_4byte(hash, SEED_B1);
 *   h2 = rte_hash_crc_4byte(hash, SEED_B2);
 * CRC is affine in its initial value, so h2 == h1 ^ 0xf26fcc03 for every
 * hash: the second bucket is (nearly) a fixed function of the first, every
 * key of a bucket shares the same alternative, and two-choice hashing
 * degenerates into pairs of buckets. Filling a 100000-flow table with
 * random keys, the first insert failure comes after about 51-69% of
 * capacity instead of about 98% (measured by simulating the same buckets
 * with an independent second hash), far from the 85% load the index is
 * sized for. In the worker every such failure evicts a live flow while the
 * table is half empty. Expected: at least 80% of capacity inserted before
 * the first VIGIL_FT_NONE. Fix: derive h2 non-affinely from h1, e.g.
 * rte_hash_crc_4byte(h1, SEED_B2) (measured about 0.98).
 */
static void
test_fill_load_factor(void **state)
{
	struct vigil_ftable t;
	uint32_t n;

	(void)state;
	rng_seed(5);
	assert_int_equal(vigil_ftable_create(&t, BIG, SOCKET_ID_ANY), 0);
	n = fill_until_failure(&t);
	print_message("ftable: %u of %u flows inserted before the first "
		      "failure: load factor %.4f of capacity (%.4f of the "
		      "%u index slots)\n",
		      n, BIG, (double)n / BIG,
		      (double)n / ((double)t.nbuckets * VIGIL_FT_SLOTS),
		      t.nbuckets * VIGIL_FT_SLOTS);
	check_index(&t, big_live);
	assert_true(n >= (uint32_t)(0.80 * BIG));
	vigil_ftable_free(&t);
}

static void
test_fill_remove_half(void **state)
{
	struct vigil_ftable t;
	uint32_t n, removed = 0;
	static uint32_t out[BIG];

	(void)state;
	rng_seed(6);
	assert_int_equal(vigil_ftable_create(&t, BIG, SOCKET_ID_ANY), 0);
	n = fill_until_failure(&t);
	assert_true(n > BIG / 4);
	/* Every inserted key is found, singly and in bursts. */
	lookup_bulk(&t, big_keys, n, out);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(out[i], big_ent[i]);
		assert_int_equal(lookup(&t, &big_keys[i]), big_ent[i]);
	}
	/* Remove every other one. */
	for (uint32_t i = 0; i < n; i += 2) {
		vigil_ftable_remove(&t, big_ent[i]);
		big_live[big_ent[i]] = 0;
		removed++;
	}
	assert_int_equal(t.used, n - removed);
	check_index(&t, big_live);
	lookup_bulk(&t, big_keys, n, out);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t want = (i & 1) ? big_ent[i] : VIGIL_FT_NONE;

		assert_int_equal(out[i], want);
		assert_int_equal(lookup(&t, &big_keys[i]), want);
		if (i & 1)
			assert_memory_equal(vigil_ft_key(&t, big_ent[i]),
					    &big_keys[i], sizeof(big_keys[i]));
	}
	vigil_ftable_free(&t);
}

/*
 * The free list: removed entries are handed out again, most recently
 * removed first, so that all `capacity` entries can be in use at once, and
 * only then is an insert refused for want of an entry.
 */
static void
test_free_list_reuse(void **state)
{
	enum { CAP = 5000 };
	static struct vigil_flow_key keys[CAP];
	static uint8_t live[CAP];
	struct vigil_ftable t;
	struct vigil_flow_key k;
	uint32_t tries = 0, e;

	(void)state;
	rng_seed(7);
	assert_int_equal(vigil_ftable_create(&t, CAP, SOCKET_ID_ANY), 0);
	memset(live, 0, sizeof(live));
	/* Fill every entry, skipping keys whose two buckets are full. */
	while (t.used < CAP) {
		assert_true(++tries < 50 * CAP);
		k = rkey(tries);
		if (!has_room(&t, &k))
			continue;
		e = insert(&t, &k);
		/* In order while nothing was removed. */
		assert_int_equal(e, t.used - 1);
		keys[e] = k;
		live[e] = 1;
	}
	assert_int_equal(t.used, CAP);
	check_index(&t, live);
	/* No entry left: refused even with room in the buckets. */
	do {
		k = rkey(++tries);
	} while (!has_room(&t, &k));
	assert_int_equal(insert(&t, &k), VIGIL_FT_NONE);
	assert_int_equal(t.used, CAP);
	assert_int_equal(lookup(&t, &k), VIGIL_FT_NONE);

	/* Remove one: the very same entry is handed out next. */
	vigil_ftable_remove(&t, 1234);
	live[1234] = 0;
	assert_int_equal(lookup(&t, &keys[1234]), VIGIL_FT_NONE);
	while (!has_room(&t, &k))
		k = rkey(++tries);
	e = insert(&t, &k);
	assert_int_equal(e, 1234);
	keys[e] = k;
	live[e] = 1;

	/* Churn: 10 x capacity removals and inserts. Entries stay below
	 * capacity, each insert gets the entry just freed, and the table is
	 * full again after each round. */
	for (uint32_t round = 0; round < 10 * CAP; round++) {
		uint32_t victim = (uint32_t)(rng() % CAP);

		assert_true(live[victim]);
		vigil_ftable_remove(&t, victim);
		live[victim] = 0;
		assert_int_equal(lookup(&t, &keys[victim]), VIGIL_FT_NONE);
		assert_int_equal(t.used, CAP - 1);
		do {
			k = rkey(++tries);
		} while (!has_room(&t, &k));
		e = insert(&t, &k);
		assert_int_equal(e, victim);
		keys[e] = k;
		live[e] = 1;
		assert_int_equal(t.used, CAP);
	}
	check_index(&t, live);
	for (e = 0; e < CAP; e++)
		assert_int_equal(lookup(&t, &keys[e]), e);

	/* Free half in one go, refill: exactly those entries come back. */
	for (e = 0; e < CAP; e += 2) {
		vigil_ftable_remove(&t, e);
		live[e] = 0;
	}
	assert_int_equal(t.used, CAP / 2);
	while (t.used < CAP) {
		k = rkey(++tries);
		if (!has_room(&t, &k))
			continue;
		e = insert(&t, &k);
		assert_true(e < CAP);
		assert_int_equal(live[e], 0);
		assert_int_equal(e % 2, 0);
		keys[e] = k;
		live[e] = 1;
	}
	check_index(&t, live);
	vigil_ftable_free(&t);
}

/* ---- eviction candidates ---------------------------------------------------- */

/* candidates() for key k is exactly the occupied slots of its buckets. */
static void
check_candidates(const struct vigil_ftable *t, const struct vigil_flow_key *k)
{
	struct vigil_ft_where w;
	uint32_t got[2 * VIGIL_FT_SLOTS + 1], want[2 * VIGIL_FT_SLOTS];
	unsigned n, nw = 0;

	where_of(t, k, &w);
	memset(got, 0xee, sizeof(got));
	n = vigil_ftable_candidates(t, &w, got);
	assert_true(n <= 2 * VIGIL_FT_SLOTS);
	/* Nothing written past the count. */
	assert_int_equal(got[n], 0xeeeeeeeeu);
	for (unsigned b = 0; b < 2; b++) {
		if (b == 1 && w.b[1] == w.b[0])
			break;
		for (unsigned s = 0; s < VIGIL_FT_SLOTS; s++)
			if (t->buckets[w.b[b]].sig[s] != 0)
				want[nw++] = slot_idx(&t->buckets[w.b[b]], s);
	}
	assert_int_equal(n, nw);
	/* Same set, each once. */
	for (unsigned i = 0; i < n; i++) {
		unsigned hits = 0;

		assert_true(got[i] < t->capacity);
		for (unsigned j = 0; j < n; j++) {
			hits += got[j] == want[i];
			if (j != i)
				assert_int_not_equal(got[i], got[j]);
		}
		assert_int_equal(hits, 1);
	}
}

static void
test_candidates(void **state)
{
	enum { CAP = 2000 };
	static struct vigil_flow_key keys[CAP];
	struct vigil_ftable t;
	struct vigil_ft_where w;
	uint32_t out[2 * VIGIL_FT_SLOTS];

	(void)state;
	rng_seed(8);
	assert_int_equal(vigil_ftable_create(&t, CAP, SOCKET_ID_ANY), 0);
	/* Empty table: no candidates. */
	keys[0] = rkey(0);
	where_of(&t, &keys[0], &w);
	assert_int_equal(vigil_ftable_candidates(&t, &w, out), 0);

	for (uint32_t i = 0; i < CAP; i++) {
		keys[i] = rkey(i);
		if (insert(&t, &keys[i]) == VIGIL_FT_NONE)
			break;
		/* Candidates of present keys include themselves. */
		check_candidates(&t, &keys[i]);
		if (i % 16 == 0) {
			struct vigil_flow_key other = rkey(900000 + i);

			check_candidates(&t, &other);
		}
	}
	/* Every key of the table is among its own candidates. */
	for (uint32_t i = 0; i < CAP; i++) {
		uint32_t e = lookup(&t, &keys[i]);
		unsigned n, found = 0;

		if (e == VIGIL_FT_NONE)
			continue;
		where_of(&t, &keys[i], &w);
		n = vigil_ftable_candidates(&t, &w, out);
		for (unsigned j = 0; j < n; j++)
			found += out[j] == e;
		assert_int_equal(found, 1);
	}

	/* Keys whose two buckets are one bucket: its slots counted once.
	 * (A table of at most 10 flows has a single bucket.) */
	vigil_ftable_free(&t);
	assert_int_equal(vigil_ftable_create(&t, 10, SOCKET_ID_ANY), 0);
	assert_int_equal(t.nbuckets, 1);
	for (uint32_t i = 0; i < 20; i++) {
		struct vigil_flow_key k = rkey(i);

		where_of(&t, &k, &w);
		assert_int_equal(w.b[0], 0);
		assert_int_equal(w.b[1], 0);
		if (t.used < 10)
			assert_int_not_equal(insert(&t, &k), VIGIL_FT_NONE);
		else
			assert_int_equal(insert(&t, &k), VIGIL_FT_NONE);
		check_candidates(&t, &k);
		assert_int_equal(vigil_ftable_candidates(&t, &w, out), t.used);
	}
	vigil_ftable_free(&t);
}

/* ---- memory ----------------------------------------------------------------- */

static void
test_bytes_per_flow(void **state)
{
	static const uint32_t caps[] = { 1024, 100000, 262144 };
	struct vigil_ftable t;

	(void)state;
	for (unsigned i = 0; i < RTE_DIM(caps); i++) {
		double per;

		assert_int_equal(vigil_ftable_create(&t, caps[i], SOCKET_ID_ANY),
				 0);
		per = (double)t.bytes / t.capacity;
		print_message("ftable: %u flows: %" PRIu64 " bytes, %u buckets, "
			      "%.2f bytes a flow\n",
			      caps[i], t.bytes, t.nbuckets, per);
		assert_int_equal(t.bytes,
				 (uint64_t)caps[i] * VIGIL_FT_ENTRY_SIZE +
					 (uint64_t)t.nbuckets * 64);
		/* The index has room for the flows at 85% load. */
		assert_true((uint64_t)t.nbuckets * VIGIL_FT_SLOTS * 85 >=
			    (uint64_t)caps[i] * 100);
		assert_true(t.bytes / t.capacity < 128);
		assert_true(per < 128.0);
		vigil_ftable_free(&t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_create_bad_capacity),
		cmocka_unit_test(test_insert_lookup_remove),
		cmocka_unit_test(test_key_eq),
		cmocka_unit_test(test_key_eq_after_struct_copy),
		cmocka_unit_test(test_signature_never_zero),
		cmocka_unit_test(test_lookup_bulk_matches_lookup),
		cmocka_unit_test(test_lookup_bulk_signature_collisions),
		cmocka_unit_test(test_fill_load_factor),
		cmocka_unit_test(test_fill_remove_half),
		cmocka_unit_test(test_free_list_reuse),
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_bytes_per_flow),
	};

	return cmocka_run_group_tests_name("ftable", tests, eal_setup,
					   eal_teardown);
}
