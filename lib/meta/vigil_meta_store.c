/*
 * vigil_meta_store.c — the identity history of each address (vigil_meta.h,
 * "the identity history store"), for the appliance's control thread.
 *
 * Layout: an open-addressing table (linear probing, backward-shift
 * deletion, so no tombstones) of pointers to one node per address; a node
 * holds the address's history as an array of entries sorted by since,
 * grown by doubling up to max_history. An entry is one allocation: the
 * struct, its label pointer arrays and its strings. The table doubles when
 * half full, so a probe sequence stays short; it never holds more than
 * max_ips nodes.
 *
 * Bounds, and what happens at them (never silently): a new address when
 * max_ips are held is refused (VIGIL_META_ERR_IPS_FULL); an entry for a
 * full history pushes out the oldest one (VIGIL_META_TRIMMED: the oldest
 * names only the oldest packets) unless it is itself older than all of
 * them (VIGIL_META_ERR_HISTORY_FULL). The caller counts these.
 *
 * Time: lookup is a hash probe and a binary search over at most
 * max_history entries; set and rm move at most max_history pointers.
 *
 * The hash mixes a seed taken at creation, so that the addresses that
 * collide differ from one run to the next.
 */
#include "vigil_meta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_IPS_MAX (1u << 24)
#define STORE_HISTORY_MAX 4096u
#define TABLE_MIN 64u

struct node {
	struct vigil_meta_ip ip;
	uint32_t n;   /* entries in hist */
	uint32_t cap; /* slots allocated in hist */
	struct vigil_meta_entry **hist; /* sorted by since_us, unique */
};

struct vigil_meta_store {
	uint32_t max_ips;
	uint32_t max_history;
	uint32_t n_ips;
	uint64_t n_entries;
	uint64_t seed;
	uint32_t mask; /* table size - 1 (a power of two) */
	struct node **table;
};

/* ---- entries ------------------------------------------------------------ */

static char *put_str(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *at = *p;

	memcpy(at, s, n);
	*p += n;
	return at;
}

/* One allocation: the struct, label_key[n], label_value[n], the strings. */
static struct vigil_meta_entry *entry_new(const struct vigil_identity *id)
{
	size_t n = id->n_labels, size = sizeof(struct vigil_meta_entry) +
					 2 * n * sizeof(char *);
	struct vigil_meta_entry *e;
	const char **keys, **values;
	char *p;

	size += strlen(id->pod) + strlen(id->namespace) + strlen(id->image) +
		strlen(id->service) + 4;
	for (size_t i = 0; i < n; i++)
		size += strlen(id->labels[i].key) +
			strlen(id->labels[i].value) + 2;
	e = malloc(size);
	if (!e)
		return NULL;
	keys = (const char **)(e + 1);
	values = keys + n;
	p = (char *)(values + n);
	e->since_us = id->since_us;
	e->has_since = id->has_since;
	e->n_labels = id->n_labels;
	e->pod = put_str(&p, id->pod);
	e->namespace = put_str(&p, id->namespace);
	e->image = put_str(&p, id->image);
	e->service = put_str(&p, id->service);
	for (size_t i = 0; i < n; i++) {
		keys[i] = put_str(&p, id->labels[i].key);
		values[i] = put_str(&p, id->labels[i].value);
	}
	e->label_key = keys;
	e->label_value = values;
	return e;
}

/* ---- the address table ---------------------------------------------------- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint32_t ip_hash(const struct vigil_meta_store *st,
			const struct vigil_meta_ip *ip)
{
	uint64_t w0, w1;

	memcpy(&w0, ip->addr, 8);
	memcpy(&w1, ip->addr + 8, 8);
	return (uint32_t)mix(mix(st->seed ^ w0 ^ ip->family) ^ w1);
}

static bool ip_eq(const struct vigil_meta_ip *a, const struct vigil_meta_ip *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, 16);
}

/* The slot of ip, or of the empty slot where it would go. */
static uint32_t find_slot(const struct vigil_meta_store *st,
			  const struct vigil_meta_ip *ip)
{
	uint32_t i = ip_hash(st, ip) & st->mask;

	while (st->table[i] && !ip_eq(&st->table[i]->ip, ip))
		i = (i + 1) & st->mask;
	return i;
}

static struct node *find(const struct vigil_meta_store *st,
			 const struct vigil_meta_ip *ip)
{
	return st->table[find_slot(st, ip)];
}

static int grow(struct vigil_meta_store *st)
{
	uint32_t old = st->mask + 1, size = old * 2;
	struct node **prev = st->table;

	st->table = calloc(size, sizeof(*st->table));
	if (!st->table) {
		st->table = prev;
		return -1;
	}
	st->mask = size - 1;
	for (uint32_t i = 0; i < old; i++)
		if (prev[i])
			st->table[find_slot(st, &prev[i]->ip)] = prev[i];
	free(prev);
	return 0;
}

/* Empties slot i and shifts back the entries of its cluster that may no
 * longer be reachable (Knuth's algorithm R). */
static void remove_slot(struct vigil_meta_store *st, uint32_t i)
{
	uint32_t j = i;

	st->table[i] = NULL;
	for (;;) {
		uint32_t home;

		j = (j + 1) & st->mask;
		if (!st->table[j])
			return;
		home = ip_hash(st, &st->table[j]->ip) & st->mask;
		/* Leave it if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		st->table[i] = st->table[j];
		st->table[j] = NULL;
		i = j;
	}
}

static void node_free(struct vigil_meta_store *st, struct node *nd)
{
	for (uint32_t k = 0; k < nd->n; k++)
		free(nd->hist[k]);
	st->n_entries -= nd->n;
	free(nd->hist);
	free(nd);
}

/* ---- the API ---------------------------------------------------------------- */

struct vigil_meta_store *vigil_meta_store_create(uint32_t max_ips,
						 uint32_t max_history)
{
	struct vigil_meta_store *st;
	struct timespec ts;

	if (max_ips < 1 || max_ips > STORE_IPS_MAX || max_history < 1 ||
	    max_history > STORE_HISTORY_MAX) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->table = calloc(TABLE_MIN, sizeof(*st->table));
	if (!st->table) {
		free(st);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	st->seed = mix((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
		       (uint64_t)(uintptr_t)st);
	st->mask = TABLE_MIN - 1;
	st->max_ips = max_ips;
	st->max_history = max_history;
	return st;
}

void vigil_meta_store_free(struct vigil_meta_store *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i <= st->mask; i++)
		if (st->table[i])
			node_free(st, st->table[i]);
	free(st->table);
	free(st);
}

/* Index of the first entry with since >= t (n if none). */
static uint32_t lower_bound(const struct node *nd, uint64_t t)
{
	uint32_t lo = 0, hi = nd->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (nd->hist[mid]->since_us < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool ip_valid(const struct vigil_meta_ip *ip)
{
	static const uint8_t zero[12];

	return ip->family == VIGIL_META_AF_INET6 ||
	       (ip->family == VIGIL_META_AF_INET &&
		!memcmp(ip->addr + 4, zero, 12));
}

/* A new node for ip in its empty slot (the table grown first if half
 * full); NULL when out of memory. */
static struct node *node_add(struct vigil_meta_store *st,
			     const struct vigil_meta_ip *ip)
{
	struct node *nd;

	if ((uint64_t)(st->n_ips + 1) * 2 > (uint64_t)st->mask + 1 &&
	    grow(st))
		return NULL;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return NULL;
	nd->ip = *ip;
	st->table[find_slot(st, ip)] = nd;
	st->n_ips++;
	return nd;
}

static void node_drop(struct vigil_meta_store *st, struct node *nd)
{
	uint32_t slot = find_slot(st, &nd->ip);

	node_free(st, nd);
	remove_slot(st, slot);
	st->n_ips--;
}

int vigil_meta_store_set(struct vigil_meta_store *st,
			 const struct vigil_meta_ip *ip,
			 const struct vigil_identity *id)
{
	struct vigil_meta_entry *e;
	struct node *nd;
	uint32_t pos;
	int rc = VIGIL_META_ADDED;

	if (!ip_valid(ip) || vigil_identity_check(id, NULL, 0))
		return VIGIL_META_ERR_INVALID;
	nd = find(st, ip);
	if (nd) {
		pos = lower_bound(nd, id->since_us);
		if (pos < nd->n && nd->hist[pos]->since_us == id->since_us) {
			e = entry_new(id);
			if (!e)
				return VIGIL_META_ERR_NOMEM;
			free(nd->hist[pos]);
			nd->hist[pos] = e;
			return VIGIL_META_REPLACED;
		}
		if (nd->n == st->max_history && pos == 0)
			return VIGIL_META_ERR_HISTORY_FULL;
	} else if (st->n_ips >= st->max_ips) {
		return VIGIL_META_ERR_IPS_FULL;
	}
	e = entry_new(id);
	if (!e)
		return VIGIL_META_ERR_NOMEM;
	if (!nd) {
		nd = node_add(st, ip);
		if (!nd) {
			free(e);
			return VIGIL_META_ERR_NOMEM;
		}
		pos = 0;
	}
	if (nd->n == st->max_history) {
		/* Drop the oldest; the new one goes just before pos. */
		free(nd->hist[0]);
		memmove(&nd->hist[0], &nd->hist[1],
			(pos - 1) * sizeof(nd->hist[0]));
		nd->hist[pos - 1] = e;
		return VIGIL_META_TRIMMED;
	}
	if (nd->n == nd->cap) {
		uint32_t cap = nd->cap ? nd->cap * 2 : 2;
		struct vigil_meta_entry **h;

		if (cap > st->max_history)
			cap = st->max_history;
		h = realloc(nd->hist, cap * sizeof(*h));
		if (!h) {
			free(e);
			if (nd->n == 0)
				node_drop(st, nd);
			return VIGIL_META_ERR_NOMEM;
		}
		nd->hist = h;
		nd->cap = cap;
	}
	memmove(&nd->hist[pos + 1], &nd->hist[pos],
		(nd->n - pos) * sizeof(nd->hist[0]));
	nd->hist[pos] = e;
	nd->n++;
	st->n_entries++;
	return rc;
}

uint32_t vigil_meta_store_rm(struct vigil_meta_store *st,
			     const struct vigil_meta_ip *ip, bool all,
			     uint64_t since_us)
{
	struct node *nd;
	uint32_t pos, n;

	if (!ip_valid(ip))
		return 0;
	nd = find(st, ip);
	if (!nd)
		return 0;
	if (all) {
		n = nd->n;
		node_drop(st, nd);
		return n;
	}
	pos = lower_bound(nd, since_us);
	if (pos == nd->n || nd->hist[pos]->since_us != since_us)
		return 0;
	free(nd->hist[pos]);
	memmove(&nd->hist[pos], &nd->hist[pos + 1],
		(nd->n - pos - 1) * sizeof(nd->hist[0]));
	nd->n--;
	st->n_entries--;
	if (nd->n == 0)
		node_drop(st, nd);
	return 1;
}

const struct vigil_meta_entry *
vigil_meta_lookup(const struct vigil_meta_store *st,
		  const struct vigil_meta_ip *ip, uint64_t t_us)
{
	const struct node *nd;
	uint32_t pos;

	if (!ip_valid(ip))
		return NULL;
	nd = find(st, ip);
	if (!nd)
		return NULL;
	/* The last entry with since <= t: just before the first > t. */
	pos = t_us == UINT64_MAX ? nd->n : lower_bound(nd, t_us + 1);
	return pos ? nd->hist[pos - 1] : NULL;
}

uint32_t vigil_meta_store_history(const struct vigil_meta_store *st,
				  const struct vigil_meta_ip *ip,
				  const struct vigil_meta_entry **out,
				  uint32_t max)
{
	const struct node *nd = ip_valid(ip) ? find(st, ip) : NULL;

	if (!nd)
		return 0;
	for (uint32_t k = 0; k < nd->n && k < max; k++)
		out[k] = nd->hist[k];
	return nd->n;
}

uint32_t vigil_meta_store_ips(const struct vigil_meta_store *st)
{
	return st->n_ips;
}

uint64_t vigil_meta_store_entries(const struct vigil_meta_store *st)
{
	return st->n_entries;
}
