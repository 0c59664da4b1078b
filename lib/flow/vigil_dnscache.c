/*
 * vigil dnscache: see vigil_dnscache.h.
 */
#include "vigil_dnscache.h"

#include "vigil_decode.h"

#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

int
vigil_dnscache_init(struct vigil_dnscache *c, uint32_t entries,
		    uint32_t ttl_min_s, int socket)
{
	memset(c, 0, sizeof(*c));
	if (entries == 0)
		return 0;
	c->nsets = rte_align32pow2((entries + VIGIL_DNSC_WAYS - 1) /
				   VIGIL_DNSC_WAYS);
	c->ttl_min_us = (uint64_t)ttl_min_s * 1000000u;
	c->e = rte_zmalloc_socket("vigil_dnscache",
				  sizeof(*c->e) * c->nsets * VIGIL_DNSC_WAYS,
				  RTE_CACHE_LINE_SIZE, socket);
	if (c->e == NULL) {
		c->nsets = 0;
		return -1;
	}
	return 0;
}

void
vigil_dnscache_free(struct vigil_dnscache *c)
{
	rte_free(c->e);
	c->e = NULL;
	c->nsets = 0;
}

static inline struct vigil_dnsc_entry *
set_of(const struct vigil_dnscache *c, uint8_t family, const uint8_t *addr)
{
	uint32_t h = rte_hash_crc(addr, 16, family);

	return &c->e[(size_t)(h & (c->nsets - 1)) * VIGIL_DNSC_WAYS];
}

static inline bool
same(const struct vigil_dnsc_entry *e, uint8_t family, const uint8_t *addr)
{
	return e->expire_us != 0 && e->family == family &&
	       memcmp(e->addr, addr, 16) == 0;
}

void
vigil_dnscache_put(struct vigil_dnscache *c, uint8_t family,
		   const uint8_t addr[16], const char *name, unsigned len,
		   uint64_t now_us, uint64_t expire_us)
{
	struct vigil_dnsc_entry *set, *w = NULL;

	if (c->nsets == 0 || len == 0)
		return;
	if (expire_us < now_us + c->ttl_min_us)
		expire_us = now_us + c->ttl_min_us;
	if (expire_us == 0)
		expire_us = 1;
	set = set_of(c, family, addr);
	for (unsigned i = 0; i < VIGIL_DNSC_WAYS && w == NULL; i++)
		if (same(&set[i], family, addr))
			w = &set[i];
	for (unsigned i = 0; i < VIGIL_DNSC_WAYS && w == NULL; i++)
		if (set[i].expire_us == 0 || set[i].expire_us <= now_us)
			w = &set[i];
	if (w == NULL) {
		w = &set[0];
		for (unsigned i = 1; i < VIGIL_DNSC_WAYS; i++)
			if (set[i].expire_us < w->expire_us)
				w = &set[i];
	}
	if (len > VIGIL_DNSC_NAME)
		len = VIGIL_DNSC_NAME;
	/* The same name again: it has been valid since the first answer
	 * (flows that began in between keep it); only its life grows. */
	if (same(w, family, addr) && w->expire_us > now_us && w->len == len &&
	    memcmp(w->name, name, len) == 0) {
		if (expire_us > w->expire_us)
			w->expire_us = expire_us;
		return;
	}
	w->expire_us = expire_us;
	w->learned_us = now_us;
	memcpy(w->addr, addr, 16);
	w->family = family;
	w->len = (uint8_t)len;
	memcpy(w->name, name, len);
}

unsigned
vigil_dns_notes(const struct vigil_dns_msg *d, uint64_t learned_us,
		struct vigil_dns_note out[VIGIL_DNS_ANSWERS_MAX])
{
	unsigned n = 0;

	if (!d->qr || d->query.len == 0)
		return 0;
	for (unsigned i = 0; i < d->n_answers && i < VIGIL_DNS_ANSWERS_MAX;
	     i++) {
		const struct vigil_dns_answer *a = &d->answers[i];
		struct vigil_dns_note *o = &out[n];

		if (a->type != 1 && a->type != 28)
			continue;
		memset(o, 0, sizeof(*o));
		o->family = a->type == 1 ? VIGIL_AF_INET : VIGIL_AF_INET6;
		memcpy(o->addr, a->addr, a->type == 1 ? 4 : 16);
		o->len = (uint8_t)RTE_MIN((unsigned)d->query.len,
					  (unsigned)VIGIL_DNSC_NAME);
		memcpy(o->name, d->query.s, o->len);
		o->learned_us = learned_us;
		o->expire_us = learned_us + (uint64_t)a->ttl * 1000000u;
		n++;
	}
	return n;
}

void
vigil_dnscache_put_note(struct vigil_dnscache *c,
			const struct vigil_dns_note *n)
{
	vigil_dnscache_put(c, n->family, n->addr, n->name, n->len,
			   n->learned_us, n->expire_us);
}

const char *
vigil_dnscache_get(const struct vigil_dnscache *c, uint8_t family,
		   const uint8_t addr[16], uint64_t at_us, unsigned *len)
{
	const struct vigil_dnsc_entry *set;

	*len = 0;
	if (c->nsets == 0)
		return NULL;
	set = set_of(c, family, addr);
	for (unsigned i = 0; i < VIGIL_DNSC_WAYS; i++)
		if (same(&set[i], family, addr) && set[i].expire_us > at_us &&
		    set[i].learned_us <= at_us) {
			*len = set[i].len;
			return set[i].name;
		}
	return NULL;
}
