/*
 * vigil fragment table: see vigil_frag.h. Open addressing over a
 * power-of-two array; a lookup or insert touches at most VIGIL_FRAG_PROBE
 * consecutive slots, so the cost per fragment is bounded whatever the
 * table holds.
 */
#include "vigil_frag.h"

#include <string.h>

#include <rte_hash_crc.h>

_Static_assert(sizeof(struct vigil_frag_id) == 48, "frag id: 48 bytes");
_Static_assert(sizeof(struct vigil_frag_entry) == 128, "frag entry: 128");

size_t
vigil_frag_table_size(uint32_t entries)
{
	return sizeof(struct vigil_frag_table) +
	       (size_t)entries * sizeof(struct vigil_frag_entry);
}

struct vigil_frag_table *
vigil_frag_table_init(void *mem, uint32_t entries, uint64_t timeout_us)
{
	struct vigil_frag_table *t = mem;

	if (t == NULL || entries < VIGIL_FRAG_PROBE ||
	    (entries & (entries - 1)) != 0)
		return NULL;
	t->mask = entries - 1;
	t->timeout_us = timeout_us;
	vigil_frag_table_clear(t);
	return t;
}

void
vigil_frag_table_clear(struct vigil_frag_table *t)
{
	memset(t->e, 0, ((size_t)t->mask + 1) * sizeof(t->e[0]));
	t->live = 0;
}

static inline uint32_t
fid_hash(const struct vigil_frag_id *f)
{
	return rte_hash_crc(f, sizeof(*f), 0x5bd1e995u);
}

static inline bool
expired(const struct vigil_frag_table *t, const struct vigil_frag_entry *e,
	uint64_t now_us)
{
	/* Packet time may step back a little (several ports): not expired. */
	return now_us > e->ts_us && now_us - e->ts_us > t->timeout_us;
}

struct vigil_frag_entry *
vigil_frag_find(struct vigil_frag_table *t, const struct vigil_frag_id *fid,
		uint64_t now_us)
{
	uint32_t h = fid_hash(fid);

	for (uint32_t i = 0; i < VIGIL_FRAG_PROBE; i++) {
		struct vigil_frag_entry *e = &t->e[(h + i) & t->mask];

		if (e->used && memcmp(&e->fid, fid, sizeof(*fid)) == 0)
			return expired(t, e, now_us) ? NULL : e;
	}
	return NULL;
}

struct vigil_frag_entry *
vigil_frag_insert(struct vigil_frag_table *t, const struct vigil_frag_id *fid,
		  uint64_t now_us, bool *evicted)
{
	uint32_t h = fid_hash(fid);
	struct vigil_frag_entry *slot = NULL, *oldest = NULL;

	*evicted = false;
	for (uint32_t i = 0; i < VIGIL_FRAG_PROBE; i++) {
		struct vigil_frag_entry *e = &t->e[(h + i) & t->mask];

		if (!e->used) {
			if (slot == NULL)
				slot = e;
			continue;
		}
		if (memcmp(&e->fid, fid, sizeof(*fid)) == 0) {
			/* The first fragment again (a retransmission, or the
			 * id wrapped): start over. */
			slot = e;
			break;
		}
		if (expired(t, e, now_us)) {
			if (slot == NULL)
				slot = e;
			continue;
		}
		if (oldest == NULL || e->ts_us < oldest->ts_us)
			oldest = e;
	}
	if (slot == NULL) {
		slot = oldest;
		*evicted = true;
	}
	if (!slot->used)
		t->live++;
	memset(slot, 0, sizeof(*slot));
	slot->fid = *fid;
	slot->ts_us = now_us;
	slot->used = 1;
	return slot;
}

void
vigil_frag_account(struct vigil_frag_table *t, struct vigil_frag_entry *e,
		   uint32_t off, uint32_t len, bool last)
{
	e->seen += len;
	if (last)
		e->total = off + len;
	if (e->total != 0 && e->seen >= e->total) {
		e->used = 0;
		t->live--;
	}
}
