/*
 * vigil entity: the batch of entities, services, edges and map cells, and
 * its merge into Redis (see vigil_entity.h).
 *
 * Layout: five open-addressing tables (linear probing, 64-bit hashes kept
 * in the slots) of pointers to records allocated one by one; a record
 * carries its id inline. Nothing is ever removed from a table but all of
 * it at once, after a publish, so there are no tombstones. A table starts
 * small and doubles when half full, up to twice its bound. Records point
 * at each other (a service at its entity, an edge at its service and at
 * its group edge, a cell at its edge): all of them live exactly as long as
 * the batch.
 *
 * Why a batch and not the totals: the totals live in Redis, where the
 * merge script adds to them. The appliance then needs memory for what
 * changed in one publish interval only, a restart loses nothing that was
 * published, and several sensors (or a replay after a live run) add up.
 * The merge is commutative for counts, minima, maxima and set unions; for
 * values that replace each other (the name of an address, an identity) the
 * one with the newest packet time wins, ties going to the greater value,
 * so the result does not depend on the order batches arrive in.
 *
 * The cost per flow: two identity lookups (a hash probe and a binary search
 * in lib/meta), the ids formatted, and up to five table probes plus one per
 * bucket the flow spans.
 */
#include "vigil_entity.h"

#include "vigil_l7.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the merge scripts ---------------------------------------------------- */

/*
 * merge: KEYS[1] a hash; KEYS[2..] sorted sets that get ARGV[1] with score
 * ARGV[2] unless they hold it with a higher one (ZADD GT); KEYS[3..] also
 * expire after ARGV[3] seconds (0: never). From ARGV[4], operations on the
 * hash (N: the number of field/value pairs that follow):
 *   ini N F V ..       F := V, only when the hash is new (has no `id`):
 *                      what never changes for a key
 *   set N F V ..       F := V
 *   add N F X ..       F := F + X (integers; F absent or not a number: 0)
 *   pair N F "A B" ..  F := "A+a B+b" where F held "a b" (0 0 if absent or
 *                      malformed)
 *   min F T / max F T  keep the smaller / greater timestamp ("S.UUUUUU",
 *                      compared as text, shorter first: exact to the us)
 *   uni F L CAP        F := sorted union of the ','-lists F and L, at most
 *                      CAP members (those already there first)
 *   lat TF T N F1 V1 .. FN VN
 *                      if T is newer than TF (ties: V1 greater than F1):
 *                      TF := T and each Fi := Vi ("": the field goes)
 * The fields it needs are read with one HMGET and what changed is written
 * with one HSET (and one HDEL), whatever the number of operations; counts
 * and sets already up to date cost no write. Needs Redis >= 6.2 (ZADD GT).
 * Counts are Lua numbers, written with %d (a tenth of %.0f's cost): exact
 * to 2^53.
 */
const char vigil_entity_merge_lua[] =
	"local function older(a, b)\n"
	"  if #a ~= #b then return #a < #b end\n"
	"  return a < b\n"
	"end\n"
	"local h, n, i = KEYS[1], #ARGV, 4\n"
	"local fields, seen = {'id'}, {id = true}\n"
	"local function need(f)\n"
	"  if not seen[f] then seen[f] = true; fields[#fields + 1] = f end\n"
	"end\n"
	"while i <= n do\n"
	"  local op = ARGV[i]\n"
	"  if op == 'ini' or op == 'set' then\n"
	"    i = i + 2 + 2 * tonumber(ARGV[i+1])\n"
	"  elseif op == 'add' or op == 'pair' then\n"
	"    local k = tonumber(ARGV[i+1])\n"
	"    for j = 0, k - 1 do need(ARGV[i+2+2*j]) end\n"
	"    i = i + 2 + 2 * k\n"
	"  elseif op == 'min' or op == 'max' then\n"
	"    need(ARGV[i+1]); i = i + 3\n"
	"  elseif op == 'uni' then\n"
	"    need(ARGV[i+1]); i = i + 4\n"
	"  elseif op == 'lat' then\n"
	"    need(ARGV[i+1]); need(ARGV[i+4])\n"
	"    i = i + 4 + 2 * tonumber(ARGV[i+3])\n"
	"  else\n"
	"    return redis.error_reply('vigil merge: unknown operation')\n"
	"  end\n"
	"end\n"
	"local cur, v = {}, redis.call('HMGET', h, unpack(fields))\n"
	"for j = 1, #fields do if v[j] then cur[fields[j]] = v[j] end end\n"
	"local new, flat, del = not cur.id, {}, {}\n"
	"local function put(f, x)\n"
	"  cur[f] = x; flat[#flat + 1] = f; flat[#flat + 1] = x\n"
	"end\n"
	"i = 4\n"
	"while i <= n do\n"
	"  local op = ARGV[i]\n"
	"  if op == 'ini' or op == 'set' then\n"
	"    local k = tonumber(ARGV[i+1])\n"
	"    if op == 'set' or new then\n"
	"      for j = i + 2, i + 2 * k, 2 do put(ARGV[j], ARGV[j+1]) end\n"
	"    end\n"
	"    i = i + 2 + 2 * k\n"
	"  elseif op == 'add' then\n"
	"    local k = tonumber(ARGV[i+1])\n"
	"    for j = i + 2, i + 2 * k, 2 do\n"
	"      local f, x = ARGV[j], tonumber(ARGV[j+1])\n"
	"      if x ~= 0 then\n"
	"        put(f, string.format('%d', (tonumber(cur[f]) or 0) + x))\n"
	"      elseif not cur[f] then put(f, '0') end\n"
	"    end\n"
	"    i = i + 2 + 2 * k\n"
	"  elseif op == 'pair' then\n"
	"    local k = tonumber(ARGV[i+1])\n"
	"    for j = i + 2, i + 2 * k, 2 do\n"
	"      local a, b = string.match(ARGV[j+1], '^(%d+) (%d+)$')\n"
	"      local x, y = 0, 0\n"
	"      local o = cur[ARGV[j]]\n"
	"      if o then\n"
	"        local p, q = string.match(o, '^(%d+) (%d+)$')\n"
	"        if p then x, y = tonumber(p), tonumber(q) end\n"
	"      end\n"
	"      put(ARGV[j], string.format('%d %d', x + tonumber(a),\n"
	"                                 y + tonumber(b)))\n"
	"    end\n"
	"    i = i + 2 + 2 * k\n"
	"  elseif op == 'min' or op == 'max' then\n"
	"    local f, x = ARGV[i+1], ARGV[i+2]\n"
	"    local o = cur[f]\n"
	"    if (not o) or (op == 'min' and older(x, o)) or\n"
	"       (op == 'max' and older(o, x)) then put(f, x) end\n"
	"    i = i + 3\n"
	"  elseif op == 'uni' then\n"
	"    local f, x, cap = ARGV[i+1], ARGV[i+2], tonumber(ARGV[i+3])\n"
	"    local o, missing = cur[f], true\n"
	"    if o then\n"
	"      local w = ',' .. o .. ','\n"
	"      missing = false\n"
	"      for t in string.gmatch(x, '[^,]+') do\n"
	"        if not string.find(w, ',' .. t .. ',', 1, true) then\n"
	"          missing = true; break\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"    if missing then\n"
	"      local set, list = {}, {}\n"
	"      for _, s in ipairs({o or '', x}) do\n"
	"        for t in string.gmatch(s, '[^,]+') do\n"
	"          if not set[t] and #list < cap then\n"
	"            set[t] = true; list[#list + 1] = t\n"
	"          end\n"
	"        end\n"
	"      end\n"
	"      table.sort(list)\n"
	"      put(f, table.concat(list, ','))\n"
	"    end\n"
	"    i = i + 4\n"
	"  else -- lat TF T N F1 V1 ...\n"
	"    local f, t, k = ARGV[i+1], ARGV[i+2], tonumber(ARGV[i+3])\n"
	"    local o = cur[f]\n"
	"    local win = (not o) or older(o, t)\n"
	"    if (not win) and o == t then\n"
	"      local c = cur[ARGV[i+4]]\n"
	"      win = (not c) or ARGV[i+5] > c\n"
	"    end\n"
	"    if win then\n"
	"      put(f, t)\n"
	"      for j = i + 4, i + 2 + 2 * k, 2 do\n"
	"        if ARGV[j+1] == '' then del[#del + 1] = ARGV[j]\n"
	"        else put(ARGV[j], ARGV[j+1]) end\n"
	"      end\n"
	"    end\n"
	"    i = i + 4 + 2 * k\n"
	"  end\n"
	"end\n"
	"if #flat > 0 then redis.call('HSET', h, unpack(flat)) end\n"
	"if #del > 0 then redis.call('HDEL', h, unpack(del)) end\n"
	"for j = 2, #KEYS do\n"
	"  redis.call('ZADD', KEYS[j], 'GT', ARGV[2], ARGV[1])\n"
	"  if j >= 3 and tonumber(ARGV[3]) > 0 then\n"
	"    redis.call('EXPIRE', KEYS[j], ARGV[3])\n"
	"  end\n"
	"end\n"
	"return 1\n";

/*
 * trim: KEYS[1] a sorted set of ids; the members scored below ARGV[2], at
 * most ARGV[3] of them, are removed with the keys ARGV[1]..id and
 * ARGV[1]..id..ARGV[j] (j >= 4). Returns how many went.
 */
const char vigil_entity_trim_lua[] =
	"local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf',\n"
	"  '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))\n"
	"for _, id in ipairs(ids) do\n"
	"  redis.call('DEL', ARGV[1] .. id)\n"
	"  for j = 4, #ARGV do redis.call('DEL', ARGV[1] .. id .. ARGV[j]) end\n"
	"  redis.call('ZREM', KEYS[1], id)\n"
	"end\n"
	"return #ids\n";

/* ---- records ---------------------------------------------------------------- */

#define APP_MAX 15
#define ADDRS_MAX 4 /* addresses of one entity in one batch */

struct apps {
	uint8_t n;
	char name[VIGIL_ENTITY_APPS][APP_MAX + 1];
};

struct counts {
	uint64_t first_us, last_us;
	uint64_t flows, pkts, bytes;
};

struct ent {
	uint64_t h;
	uint64_t first_us, last_us;
	uint64_t flows, flows_client, flows_server;
	uint64_t pkts_out, pkts_in, bytes_out, bytes_in;
	uint64_t ip_us; /* packet time of ip */
	struct vigil_meta_ip ip;
	uint8_t nips;
	struct vigil_meta_ip ips[ADDRS_MAX];
	uint64_t dns_us; /* packet time of dns */
	char *dns;	 /* escaped resp_name, or NULL */
	uint64_t ident_us;
	uint64_t ident_since; /* the since of the identity in ident */
	/* pod, namespace, image, service, labels, since, group: NUL-separated
	 * (cicd entities), or NULL */
	char *ident;
	size_t ident_len;
	char *group; /* the group id (into ident, or id) */
	uint8_t nports;
	uint32_t ports[VIGIL_ENTITY_PORTS]; /* port << 8 | IP protocol */
	uint16_t idlen;
	char id[];
};

struct svc {
	uint64_t h;
	struct ent *ent;
	struct counts c;
	struct apps apps;
	uint16_t port;
	uint8_t proto;
	uint16_t idlen;
	char id[];
};

struct gedge;

struct edge {
	uint64_t h;
	struct ent *cli;
	struct svc *svc;
	struct gedge *g;
	struct counts c;
	struct apps apps;
	uint16_t idlen;
	char id[];
};

struct gedge {
	uint64_t h;
	struct counts c;
	struct apps apps;
	uint16_t port;
	uint8_t proto;
	uint16_t cli_len;  /* the client group: id[0 .. cli_len) */
	uint16_t srv_off;  /* the server group: id[srv_off .. srv_end) */
	uint16_t srv_end;
	uint16_t idlen;
	char id[];
};

/* A map cell: flows and bytes of one edge (level 0) or group edge (1) in
 * one bucket. */
struct cell {
	uint64_t h;
	uint64_t bucket; /* start, epoch seconds */
	const void *edge;
	uint8_t level;
	uint64_t flows, bytes;
};

/* ---- tables ------------------------------------------------------------------- */

struct slot {
	uint64_t h;
	void *p;
};

struct tab {
	struct slot *s;
	uint32_t mask; /* slots - 1; 0 before the first insert */
	uint32_t n, max;
};

enum { T_ENT, T_SVC, T_EDGE, T_GEDGE, T_CELL, T_COUNT };

struct vigil_entity {
	const struct vigil_conf *conf;
	struct vigil_counters *ctr;
	struct tab t[T_COUNT];
	uint64_t rec_bytes; /* records and their strings */
	uint64_t pkt_us;    /* newest packet time seen */
	uint64_t batch_pkt_us; /* packet time of the batch's first flow */
	uint64_t batch_wall_us; /* wall clock at the batch's first due check */
	uint64_t bucket_us, publish_us;
	char merge_sha[41], trim_sha[41];
};

static uint64_t
mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Ids are hashed 8 bytes at a time (a multiply and a shift each). */
static uint64_t
hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h = seed * 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, b, n);
	return mix64(h ^ w);
}

/* A string being built: what the ids are made of (snprintf would be
 * most of the cost of a flow). Ids are bounded by construction; one
 * that would not fit is cut, never overrun. */
struct sb {
	char *p;
	size_t n, cap; /* cap: room for cap - 1 characters and the NUL */
};

static void
sb_put(struct sb *b, const char *s, size_t n)
{
	if (b->n + n >= b->cap)
		n = b->cap - 1 - b->n;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void
sb_u(struct sb *b, unsigned v)
{
	char t[12];
	unsigned i = sizeof(t);

	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	sb_put(b, t + i, sizeof(t) - i);
}

static void
tab_clear(struct tab *t)
{
	if (t->s != NULL)
		memset(t->s, 0, sizeof(*t->s) * ((size_t)t->mask + 1));
	t->n = 0;
}

/* The slot of hash h whose record eq() accepts, or the empty slot where
 * it would go. */
typedef bool (*eq_fn)(const void *rec, const void *key);

static struct slot *
tab_find(struct tab *t, uint64_t h, eq_fn eq, const void *key)
{
	uint32_t i = (uint32_t)h & t->mask;

	for (;;) {
		struct slot *s = &t->s[i];

		if (s->p == NULL || (s->h == h && eq(s->p, key)))
			return s;
		i = (i + 1) & t->mask;
	}
}

/* Make room for one more; false when out of memory. */
static bool
tab_reserve(struct tab *t)
{
	uint32_t cap = t->mask ? t->mask + 1 : 0, ncap;
	struct slot *ns;

	if (cap != 0 && (uint64_t)(t->n + 1) * 2 <= cap)
		return true;
	ncap = cap ? cap * 2 : 256;
	ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return false;
	for (uint32_t i = 0; i < cap; i++) {
		uint32_t j;

		if (t->s[i].p == NULL)
			continue;
		j = (uint32_t)t->s[i].h & (ncap - 1);
		while (ns[j].p != NULL)
			j = (j + 1) & (ncap - 1);
		ns[j] = t->s[i];
	}
	free(t->s);
	t->s = ns;
	t->mask = ncap - 1;
	return true;
}

static void *
tab_get(struct tab *t, uint64_t h, eq_fn eq, const void *key)
{
	if (t->n == 0)
		return NULL;
	return tab_find(t, h, eq, key)->p;
}

static bool
tab_put(struct tab *t, uint64_t h, eq_fn eq, const void *key, void *rec)
{
	struct slot *s;

	if (!tab_reserve(t))
		return false;
	s = tab_find(t, h, eq, key);
	s->h = h;
	s->p = rec;
	t->n++;
	return true;
}

/* Keys: an id (string), or a cell. */
struct idkey {
	const char *s;
	size_t n;
};

static bool
eq_ent(const void *rec, const void *key)
{
	const struct ent *r = rec;
	const struct idkey *k = key;

	return r->idlen == k->n && memcmp(r->id, k->s, k->n) == 0;
}

static bool
eq_svc(const void *rec, const void *key)
{
	const struct svc *r = rec;
	const struct idkey *k = key;

	return r->idlen == k->n && memcmp(r->id, k->s, k->n) == 0;
}

static bool
eq_edge(const void *rec, const void *key)
{
	const struct edge *r = rec;
	const struct idkey *k = key;

	return r->idlen == k->n && memcmp(r->id, k->s, k->n) == 0;
}

static bool
eq_gedge(const void *rec, const void *key)
{
	const struct gedge *r = rec;
	const struct idkey *k = key;

	return r->idlen == k->n && memcmp(r->id, k->s, k->n) == 0;
}

static bool
eq_cell(const void *rec, const void *key)
{
	const struct cell *r = rec, *k = key;

	return r->bucket == k->bucket && r->edge == k->edge &&
	       r->level == k->level;
}

/* ---- create, free, clear ---------------------------------------------------- */

struct vigil_entity *
vigil_entity_create(const struct vigil_conf *c, struct vigil_counters *ctr)
{
	struct vigil_entity *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->conf = c;
	e->ctr = ctr;
	e->t[T_ENT].max = c->entity_max_entities;
	e->t[T_SVC].max = c->entity_max_services;
	e->t[T_EDGE].max = c->entity_max_edges;
	e->t[T_GEDGE].max = c->entity_max_edges;
	e->t[T_CELL].max = 2 * c->entity_max_edges;
	e->bucket_us = (uint64_t)c->entity_bucket_s * 1000000u;
	e->publish_us = (uint64_t)c->entity_publish_s * 1000000u;
	return e;
}

static void
free_records(struct vigil_entity *e)
{
	for (unsigned k = 0; k < T_COUNT; k++) {
		struct tab *t = &e->t[k];

		for (uint32_t i = 0; t->n > 0 && i <= t->mask; i++) {
			struct ent *en = t->s[i].p;

			if (en == NULL)
				continue;
			if (k == T_ENT) {
				free(en->dns);
				free(en->ident);
			}
			free(en);
		}
		tab_clear(t);
	}
	e->rec_bytes = 0;
	e->batch_pkt_us = 0;
	e->batch_wall_us = 0;
}

void
vigil_entity_free(struct vigil_entity *e)
{
	if (e == NULL)
		return;
	free_records(e);
	for (unsigned k = 0; k < T_COUNT; k++)
		free(e->t[k].s);
	free(e);
}

void
vigil_entity_set_scripts(struct vigil_entity *e, const char *merge_sha,
			 const char *trim_sha)
{
	snprintf(e->merge_sha, sizeof(e->merge_sha), "%s", merge_sha);
	snprintf(e->trim_sha, sizeof(e->trim_sha), "%s", trim_sha);
}

/* ---- ids ---------------------------------------------------------------------- */

/* The id into out (VIGIL_ENTITY_ID_MAX + 1 bytes), its length in *len. */
static const struct vigil_meta_entry *
id_of(const struct vigil_meta_store *st, const struct vigil_meta_ip *ip,
      uint64_t t_us, char *out, size_t *len)
{
	const struct vigil_meta_entry *m =
		st != NULL ? vigil_meta_lookup(st, ip, t_us) : NULL;
	struct sb b = { out, 0, VIGIL_ENTITY_ID_MAX + 1 };
	char text[VIGIL_META_IP_MAX + 1];

	out[0] = '\0';
	if (m != NULL) {
		sb_put(&b, "pod/", 4);
		sb_str(&b, m->namespace);
		sb_put(&b, "/", 1);
		sb_str(&b, m->pod);
	} else if (ip->family == VIGIL_META_AF_INET) {
		/* what inet_ntop writes, without its sprintf */
		sb_put(&b, "ip/", 3);
		for (unsigned i = 0; i < 4; i++) {
			if (i)
				sb_put(&b, ".", 1);
			sb_u(&b, ip->addr[i]);
		}
	} else {
		vigil_meta_format_ip(ip, text);
		sb_put(&b, "ip/", 3);
		sb_str(&b, text);
	}
	*len = b.n;
	return m;
}

const struct vigil_meta_entry *
vigil_entity_id_of(const struct vigil_meta_store *st,
		   const struct vigil_meta_ip *ip, uint64_t t_us, char *out)
{
	size_t len;

	return id_of(st, ip, t_us, out, &len);
}

static const char *
transport(uint8_t proto)
{
	switch (proto) {
	case VIGIL_IPPROTO_TCP:
		return "tcp";
	case VIGIL_IPPROTO_UDP:
		return "udp";
	case VIGIL_IPPROTO_SCTP:
		return "sctp";
	default:
		return NULL;
	}
}

/* Did the responder answer on its port (see vigil_entity.h)? */
static bool
served(const struct vigil_flow_rec *r)
{
	const struct vigil_flow_state *f = &r->s;

	if (f->pkts[1] == 0)
		return false;
	if (r->key.proto != VIGIL_IPPROTO_TCP)
		return true;
	if (vigil_flow_seen(f, VIGIL_H_SYNACK, 1))
		return true;
	/* Picked up mid-stream: no handshake seen, the responder sent
	 * payload. */
	return !vigil_flow_seen(f, VIGIL_H_SYN, 0) &&
	       vigil_flow_seen(f, VIGIL_H_DATA, 1);
}

/* An application protocol name fit for a set: [a-z0-9], 1..15 bytes
 * (n of them at app). */
static bool
app_ok(const char *app, size_t n)
{
	if (n == 0 || n > APP_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((app[i] >= 'a' && app[i] <= 'z') ||
		      (app[i] >= '0' && app[i] <= '9')))
			return false;
	return true;
}

/* One name (n bytes), kept sorted, so that a batch is written the same
 * way whatever the order of its flows. */
static void
app_add(struct apps *a, const char *app, size_t n)
{
	char name[APP_MAX + 1];
	unsigned i;

	memcpy(name, app, n);
	name[n] = '\0';
	for (i = 0; i < a->n; i++) {
		int c = strcmp(a->name[i], name);

		if (c == 0)
			return;
		if (c > 0)
			break;
	}
	if (a->n == VIGIL_ENTITY_APPS)
		return;
	memmove(a->name[i + 1], a->name[i], (a->n - i) * sizeof(a->name[0]));
	memcpy(a->name[i], name, n + 1);
	a->n++;
}

/* The L7 record's service: one name, or several ("http,ssl": TLS in an
 * HTTP CONNECT tunnel); what is not a name is left out. */
static void
apps_add(struct apps *a, const char *list)
{
	for (const char *p = list; p != NULL && *p;) {
		size_t n = strcspn(p, ",");

		if (app_ok(p, n))
			app_add(a, p, n);
		p += n + (p[n] == ',');
	}
}

static void
counts_add(struct counts *c, uint64_t t0, uint64_t t1, uint64_t pkts,
	   uint64_t bytes)
{
	if (c->flows == 0 || t0 < c->first_us)
		c->first_us = t0;
	if (c->flows == 0 || t1 > c->last_us)
		c->last_us = t1;
	c->flows++;
	c->pkts += pkts;
	c->bytes += bytes;
}

/* ---- the stage ---------------------------------------------------------------- */

/* The n-th string of an identity block. */
static const char *
ident_field(const char *b, unsigned n)
{
	while (n-- > 0)
		b += strlen(b) + 1;
	return b;
}

/* The identity block of an entry: pod, namespace, image, service, labels
 * ("k=v,k=v"), since, group, each NUL-terminated. */
static char *
ident_block(const struct vigil_meta_entry *m, size_t *len)
{
	size_t n = strlen(m->pod) + strlen(m->namespace) + strlen(m->image) +
		   2 * strlen(m->service) + strlen(m->namespace) + 6 + 7 +
		   VIGIL_META_SINCE_TEXT_MAX + 1;
	char *b, *p;

	for (uint32_t i = 0; i < m->n_labels; i++)
		n += strlen(m->label_key[i]) + strlen(m->label_value[i]) + 2;
	b = malloc(n);
	if (b == NULL)
		return NULL;
	p = b;
	p = stpcpy(p, m->pod) + 1;
	p = stpcpy(p, m->namespace) + 1;
	p = stpcpy(p, m->image) + 1;
	p = stpcpy(p, m->service) + 1;
	*p = '\0';
	for (uint32_t i = 0; i < m->n_labels; i++) {
		if (i)
			*p++ = ',';
		p = stpcpy(p, m->label_key[i]);
		*p++ = '=';
		p = stpcpy(p, m->label_value[i]);
	}
	p++;
	if (m->has_since)
		vigil_meta_format_since(m->since_us, p);
	else
		*p = '\0';
	p += strlen(p) + 1;
	p = stpcpy(stpcpy(stpcpy(stpcpy(p, "svc/"), m->namespace), "/"),
		   m->service) + 1;
	*len = (size_t)(p - b);
	return b;
}

/* Is block b the identity m (but for its since, compared apart)? */
static bool
ident_same(const char *b, const struct vigil_meta_entry *m, uint64_t since_us)
{
	const char *l;

	if (m->since_us != since_us || strcmp(b, m->pod) ||
	    strcmp(ident_field(b, 1), m->namespace) ||
	    strcmp(ident_field(b, 2), m->image) ||
	    strcmp(ident_field(b, 3), m->service))
		return false;
	l = ident_field(b, 4);
	for (uint32_t i = 0; i < m->n_labels; i++) {
		size_t k = strlen(m->label_key[i]), v = strlen(m->label_value[i]);

		if ((i && *l++ != ',') || strncmp(l, m->label_key[i], k) ||
		    l[k] != '=' || strncmp(l + k + 1, m->label_value[i], v))
			return false;
		l += k + 1 + v;
	}
	return *l == '\0';
}

static struct ent *
ent_new(struct vigil_entity *e, const char *id, size_t idlen, uint64_t h,
	const struct vigil_meta_entry *m)
{
	struct ent *en = calloc(1, sizeof(*en) + idlen + 1);

	if (en == NULL)
		return NULL;
	en->h = h;
	en->idlen = (uint16_t)idlen;
	memcpy(en->id, id, idlen);
	if (m != NULL) {
		en->ident = ident_block(m, &en->ident_len);
		if (en->ident == NULL) {
			free(en);
			return NULL;
		}
		en->group = (char *)ident_field(en->ident, 6);
		en->ident_since = m->since_us;
	} else {
		en->group = en->id;
	}
	e->rec_bytes += sizeof(*en) + idlen + 1 + en->ident_len;
	if (!tab_put(&e->t[T_ENT], h, eq_ent,
		     &(struct idkey){ en->id, idlen }, en)) {
		free(en->ident);
		free(en);
		return NULL;
	}
	return en;
}

/* One side of a flow on its entity: role 0 originator, 1 responder. */
static void
ent_count(struct vigil_entity *e, struct ent *en,
	  const struct vigil_flow_rec *r, unsigned role, unsigned side,
	  const struct vigil_meta_entry *m, bool first_side)
{
	const struct vigil_flow_state *f = &r->s;
	uint64_t t0 = f->first_us, t1 = vigil_flow_last_us(f);
	struct vigil_meta_ip ip = { .family = r->key.family };
	bool fresh = en->flows == 0;

	memcpy(ip.addr, r->key.addr[side], 16);
	if (fresh || t0 < en->first_us)
		en->first_us = t0;
	if (fresh || t1 > en->last_us)
		en->last_us = t1;
	if (first_side)
		en->flows++;
	if (role == 0)
		en->flows_client++;
	else
		en->flows_server++;
	en->pkts_out += f->pkts[role];
	en->pkts_in += f->pkts[role ^ 1];
	en->bytes_out += vigil_flow_ip_bytes(f, role);
	en->bytes_in += vigil_flow_ip_bytes(f, role ^ 1);
	/* The newest address (ties: the greater). */
	if (fresh || t0 > en->ip_us ||
	    (t0 == en->ip_us && memcmp(&ip, &en->ip, sizeof(ip)) > 0)) {
		en->ip_us = t0;
		en->ip = ip;
	}
	{
		unsigned i;

		int c = 1;

		/* sorted, as apps_add */
		for (i = 0; i < en->nips; i++) {
			c = memcmp(&en->ips[i], &ip, sizeof(ip));
			if (c >= 0)
				break;
		}
		if (c != 0 && en->nips < ADDRS_MAX) {
			memmove(&en->ips[i + 1], &en->ips[i],
				(en->nips - i) * sizeof(ip));
			en->ips[i] = ip;
			en->nips++;
		}
	}
	/* The identity of the newest flow (pods only; it may have changed in
	 * place, a new image under the same pod name). ent_new took the
	 * first one. */
	if (m != NULL && en->ident != NULL && (fresh || t0 > en->ident_us)) {
		size_t len;
		char *b = fresh || ident_same(en->ident, m, en->ident_since)
				  ? NULL
				  : ident_block(m, &len);

		if (b != NULL) {
			en->ident_since = m->since_us;
			e->rec_bytes += len;
			e->rec_bytes -= en->ident_len;
			free(en->ident);
			en->ident = b;
			en->ident_len = len;
			en->group = (char *)ident_field(b, 6);
		}
		en->ident_us = t0;
	}
	if (role == 1 && r->resp_name_len > 0 &&
	    (en->dns == NULL || t0 >= en->dns_us)) {
		char esc[4 * VIGIL_DNSC_NAME + 1];
		size_t n = vigil_l7_escape(esc, sizeof(esc), r->resp_name,
					   r->resp_name_len);

		/* Newest name; the same time: the greater one. */
		if (en->dns == NULL || t0 > en->dns_us ||
		    strcmp(esc, en->dns) > 0) {
			char *d = malloc(n + 1);

			if (d != NULL) {
				memcpy(d, esc, n + 1);
				if (en->dns != NULL)
					e->rec_bytes -= strlen(en->dns) + 1;
				free(en->dns);
				en->dns = d;
				en->dns_us = t0;
				e->rec_bytes += n + 1;
			}
		}
	}
}

static void
ent_port(struct vigil_entity *e, struct ent *en, uint16_t port, uint8_t proto)
{
	uint32_t p = (uint32_t)port << 8 | proto;
	unsigned i;

	/* sorted, as apps_add */
	for (i = 0; i < en->nports && en->ports[i] < p; i++)
		;
	if (i < en->nports && en->ports[i] == p)
		return;
	if (en->nports == VIGIL_ENTITY_PORTS) {
		vigil_ctr_add(e->ctr, VIGIL_CTR_entity_ports_full, 1);
		return;
	}
	memmove(&en->ports[i + 1], &en->ports[i],
		(en->nports - i) * sizeof(p));
	en->ports[i] = p;
	en->nports++;
}

/* Buckets [b0, b1] (start times in us) a flow overlaps. */
static void
span(const struct vigil_entity *e, uint64_t t0, uint64_t t1, uint64_t *b0,
     uint64_t *b1)
{
	*b0 = t0 - t0 % e->bucket_us;
	*b1 = t1 - t1 % e->bucket_us;
}

/* Bytes of [t0, t1] that fall before time x, of total: the cumulative
 * share, so that the parts of consecutive buckets add up to total. */
static uint64_t
share_before(uint64_t total, uint64_t t0, uint64_t t1, uint64_t x)
{
	unsigned __int128 p;

	if (x <= t0)
		return 0;
	if (x >= t1)
		return total;
	p = (unsigned __int128)total * (x - t0);
	return (uint64_t)(p / (t1 - t0));
}

static bool
cell_add(struct vigil_entity *e, const void *edge, uint8_t level,
	 uint64_t bucket_us, uint64_t bytes)
{
	struct cell key = { .bucket = bucket_us / 1000000u, .edge = edge,
			    .level = level };
	uint64_t h = mix64(key.bucket ^ mix64((uintptr_t)edge) ^ level);
	struct cell *c = tab_get(&e->t[T_CELL], h, eq_cell, &key);

	if (c == NULL) {
		c = malloc(sizeof(*c));
		if (c == NULL)
			return false;
		*c = key;
		c->h = h;
		c->flows = 0;
		c->bytes = 0;
		if (!tab_put(&e->t[T_CELL], h, eq_cell, &key, c)) {
			free(c);
			return false;
		}
		e->rec_bytes += sizeof(*c);
	}
	c->flows++;
	c->bytes += bytes;
	return true;
}

/* The flow in every bucket it overlaps, for an edge and its group edge. */
static bool
map_add(struct vigil_entity *e, const struct edge *ed, uint64_t t0,
	uint64_t t1, uint64_t bytes)
{
	uint64_t b0, b1;

	span(e, t0, t1, &b0, &b1);
	for (uint64_t b = b0; b <= b1; b += e->bucket_us) {
		uint64_t part = share_before(bytes, t0, t1, b + e->bucket_us) -
				share_before(bytes, t0, t1, b);

		if (!cell_add(e, ed, 0, b, part) || !cell_add(e, ed->g, 1, b, part))
			return false;
	}
	return true;
}

/* Room for n more in table k? */
static bool
room(const struct vigil_entity *e, unsigned k, uint64_t n)
{
	return (uint64_t)e->t[k].n + n <= e->t[k].max;
}


static bool
key_eq(const struct idkey *a, const struct idkey *b)
{
	return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
}

/* The group of an endpoint: svc/<ns>/<service> for a pod, else its id. */
static void
group_of(const struct vigil_meta_entry *m, const char *id, struct sb *b)
{
	if (m != NULL) {
		sb_put(b, "svc/", 4);
		sb_str(b, m->namespace);
		sb_put(b, "/", 1);
		sb_str(b, m->service);
	} else {
		sb_str(b, id);
	}
}

static struct svc *
svc_new(struct vigil_entity *e, const struct idkey *k, uint64_t h,
	struct ent *en, uint16_t port, uint8_t proto)
{
	struct svc *sv = calloc(1, sizeof(*sv) + k->n + 1);

	if (sv == NULL)
		return NULL;
	sv->h = h;
	sv->ent = en;
	sv->port = port;
	sv->proto = proto;
	sv->idlen = (uint16_t)k->n;
	memcpy(sv->id, k->s, k->n);
	if (!tab_put(&e->t[T_SVC], h, eq_svc, k, sv)) {
		free(sv);
		return NULL;
	}
	e->rec_bytes += sizeof(*sv) + k->n + 1;
	return sv;
}

static struct edge *
edge_new(struct vigil_entity *e, const struct idkey *k, uint64_t h,
	 struct ent *cli, struct svc *sv, struct gedge *g)
{
	struct edge *ed = calloc(1, sizeof(*ed) + k->n + 1);

	if (ed == NULL)
		return NULL;
	ed->h = h;
	ed->cli = cli;
	ed->svc = sv;
	ed->g = g;
	ed->idlen = (uint16_t)k->n;
	memcpy(ed->id, k->s, k->n);
	if (!tab_put(&e->t[T_EDGE], h, eq_edge, k, ed)) {
		free(ed);
		return NULL;
	}
	e->rec_bytes += sizeof(*ed) + k->n + 1;
	return ed;
}

static struct gedge *
gedge_new(struct vigil_entity *e, const struct idkey *k, uint64_t h,
	  size_t cli_len, size_t srv_len, uint16_t port, uint8_t proto)
{
	struct gedge *g = calloc(1, sizeof(*g) + k->n + 1);

	if (g == NULL)
		return NULL;
	g->h = h;
	g->port = port;
	g->proto = proto;
	g->cli_len = (uint16_t)cli_len;
	g->srv_off = (uint16_t)(cli_len + 1);
	g->srv_end = (uint16_t)(cli_len + 1 + srv_len);
	g->idlen = (uint16_t)k->n;
	memcpy(g->id, k->s, k->n);
	if (!tab_put(&e->t[T_GEDGE], h, eq_gedge, k, g)) {
		free(g);
		return NULL;
	}
	e->rec_bytes += sizeof(*g) + k->n + 1;
	return g;
}

int
vigil_entity_flow(struct vigil_entity *e, const struct vigil_meta_store *st,
		  const struct vigil_flow_rec *r, const char *app,
		  struct vigil_entity_ids *ids)
{
	const struct vigil_flow_state *f = &r->s;
	unsigned o = vigil_flow_orig_side(f), s = o ^ 1;
	uint64_t t0 = f->first_us, t1 = vigil_flow_last_us(f);
	uint64_t bytes = vigil_flow_ip_bytes(f, 0) + vigil_flow_ip_bytes(f, 1);
	uint64_t pkts = (uint64_t)f->pkts[0] + f->pkts[1];
	uint64_t ho, hr, hs = 0, he = 0, hg = 0, nb = 0, mt0 = t0;
	struct vigil_entity_ids local;
	struct vigil_meta_ip ipo = { .family = r->key.family };
	struct vigil_meta_ip ipr = { .family = r->key.family };
	const struct vigil_meta_entry *mo, *mr;
	const char *tp = transport(r->key.proto);
	bool svc_too = tp != NULL && served(r), same;
	uint16_t port = r->key.port[s];
	char sid[VIGIL_SERVICE_ID_MAX + 1], eid[VIGIL_EDGE_ID_MAX + 1];
	char gid[VIGIL_EDGE_ID_MAX + 1];
	size_t gol = 0, grl = 0;
	struct idkey ko, kr, ks = { sid, 0 }, ke = { eid, 0 }, kg = { gid, 0 };
	struct ent *eo, *er;
	struct svc *sv = NULL;
	struct edge *ed = NULL;
	struct gedge *ge = NULL;
	unsigned new_ents;

	if (ids == NULL)
		ids = &local;
	memcpy(ipo.addr, r->key.addr[o], 16);
	memcpy(ipr.addr, r->key.addr[s], 16);
	mo = id_of(st, &ipo, t0, ids->orig, &ko.n);
	mr = id_of(st, &ipr, t0, ids->resp, &kr.n);
	ko.s = ids->orig;
	kr.s = ids->resp;
	same = key_eq(&ko, &kr);
	ho = hash_bytes(ko.s, ko.n, 1);
	hr = hash_bytes(kr.s, kr.n, 1);
	eo = tab_get(&e->t[T_ENT], ho, eq_ent, &ko);
	er = same ? eo : tab_get(&e->t[T_ENT], hr, eq_ent, &kr);
	if (svc_too) {
		uint64_t b0, b1;

		struct sb bs = { sid, 0, sizeof(sid) };
		struct sb be = { eid, 0, sizeof(eid) };
		struct sb bg = { gid, 0, sizeof(gid) };
		size_t gl;

		sb_put(&bs, kr.s, kr.n);
		sb_put(&bs, ":", 1);
		sb_u(&bs, port);
		sb_put(&bs, "/", 1);
		sb_str(&bs, tp);
		ks.n = bs.n;
		sb_put(&be, ko.s, ko.n);
		sb_put(&be, ">", 1);
		sb_put(&be, sid, bs.n);
		ke.n = be.n;
		group_of(mo, ids->orig, &bg);
		gl = bg.n;
		sb_put(&bg, ">", 1);
		group_of(mr, ids->resp, &bg);
		grl = bg.n - gl - 1;
		sb_put(&bg, sid + kr.n, bs.n - kr.n); /* ":port/transport" */
		kg.n = bg.n;
		gol = gl;
		hs = hash_bytes(ks.s, ks.n, 2);
		he = hash_bytes(ke.s, ke.n, 3);
		hg = hash_bytes(kg.s, kg.n, 4);
		sv = tab_get(&e->t[T_SVC], hs, eq_svc, &ks);
		ed = tab_get(&e->t[T_EDGE], he, eq_edge, &ke);
		ge = tab_get(&e->t[T_GEDGE], hg, eq_gedge, &kg);
		/* A flow spans at most flow.active_timeout_s (4000 s): at
		 * most 401 buckets of 10 s, which the smallest table holds.
		 * Clamped all the same, so that the bound always holds. */
		span(e, t0, t1, &b0, &b1);
		nb = (b1 - b0) / e->bucket_us + 1;
		if (2 * nb > e->t[T_CELL].max) {
			nb = e->t[T_CELL].max / 2;
			mt0 = b1 - (nb - 1) * e->bucket_us;
		}
	}

	/* Everything that needs room, checked before anything is counted. */
	new_ents = (eo == NULL) + (!same && er == NULL);
	if (!room(e, T_ENT, new_ents) ||
	    (svc_too &&
	     (!room(e, T_SVC, sv == NULL) || !room(e, T_EDGE, ed == NULL) ||
	      !room(e, T_GEDGE, ge == NULL) || !room(e, T_CELL, 2 * nb)))) {
		vigil_ctr_add(e->ctr, VIGIL_CTR_entity_flush_full, 1);
		return VIGIL_ENTITY_FULL;
	}

	if (eo == NULL && (eo = ent_new(e, ko.s, ko.n, ho, mo)) == NULL)
		return VIGIL_ENTITY_NOMEM;
	if (same)
		er = eo;
	else if (er == NULL && (er = ent_new(e, kr.s, kr.n, hr, mr)) == NULL)
		return VIGIL_ENTITY_NOMEM;
	if (svc_too) {
		if (sv == NULL &&
		    (sv = svc_new(e, &ks, hs, er, port, r->key.proto)) == NULL)
			return VIGIL_ENTITY_NOMEM;
		if (ge == NULL &&
		    (ge = gedge_new(e, &kg, hg, gol, grl, port,
				    r->key.proto)) == NULL)
			return VIGIL_ENTITY_NOMEM;
		if (ed == NULL &&
		    (ed = edge_new(e, &ke, he, eo, sv, ge)) == NULL)
			return VIGIL_ENTITY_NOMEM;
	}

	if (e->batch_pkt_us == 0)
		e->batch_pkt_us = t1 ? t1 : 1;
	if (t1 > e->pkt_us)
		e->pkt_us = t1;
	vigil_ctr_add(e->ctr, VIGIL_CTR_entity_flows, 1);
	vigil_ctr_add(e->ctr, VIGIL_CTR_entity_identified,
		      (mo != NULL) + (mr != NULL));
	vigil_ctr_add(e->ctr, VIGIL_CTR_entity_discovered,
		      (mo == NULL) + (mr == NULL));
	ent_count(e, eo, r, 0, o, mo, true);
	ent_count(e, er, r, 1, s, mr, !same);
	if (!svc_too)
		return VIGIL_ENTITY_OK;
	ent_port(e, er, port, r->key.proto);
	counts_add(&sv->c, t0, t1, pkts, bytes);
	counts_add(&ed->c, t0, t1, pkts, bytes);
	counts_add(&ge->c, t0, t1, pkts, bytes);
	apps_add(&sv->apps, app);
	apps_add(&ed->apps, app);
	apps_add(&ge->apps, app);
	if (!map_add(e, ed, mt0, t1 < mt0 ? mt0 : t1, bytes))
		return VIGIL_ENTITY_NOMEM;
	return VIGIL_ENTITY_OK;
}

/* ---- publishing ------------------------------------------------------------- */

/* A command being built: its arguments in one growing buffer. */
struct cmd {
	unsigned n, cap;
	size_t *off, *len;
	char *buf;
	size_t used, size;
	const char **argv;
	bool oom;
};

static void
cmd_arg(struct cmd *c, const char *s, size_t n)
{
	if (c->oom)
		return;
	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 64;
		size_t *off = realloc(c->off, cap * sizeof(*off));
		size_t *len = off ? realloc(c->len, cap * sizeof(*len)) : NULL;
		const char **argv =
			len ? realloc(c->argv, cap * sizeof(*argv)) : NULL;

		if (off)
			c->off = off;
		if (len)
			c->len = len;
		if (argv == NULL) {
			c->oom = true;
			return;
		}
		c->argv = argv;
		c->cap = cap;
	}
	if (c->used + n + 1 > c->size) {
		size_t size = c->size ? c->size : 4096;
		char *b;

		while (c->used + n + 1 > size)
			size *= 2;
		b = realloc(c->buf, size);
		if (b == NULL) {
			c->oom = true;
			return;
		}
		c->buf = b;
		c->size = size;
	}
	memcpy(c->buf + c->used, s, n);
	c->buf[c->used + n] = '\0';
	c->off[c->n] = c->used;
	c->len[c->n] = n;
	c->n++;
	c->used += n + 1;
}

static void
cmd_str(struct cmd *c, const char *s)
{
	cmd_arg(c, s, strlen(s));
}

static void
cmd_fmt(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cmd_fmt(struct cmd *c, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		c->oom = true;
		return;
	}
	cmd_arg(c, tmp, (size_t)n);
}

static void
cmd_reset(struct cmd *c)
{
	c->n = 0;
	c->used = 0;
	c->oom = false;
}

static void
cmd_free(struct cmd *c)
{
	free(c->off);
	free(c->len);
	free(c->buf);
	free(c->argv);
}

struct out {
	struct vigil_entity *e;
	vigil_entity_emit_fn emit;
	void *arg;
	unsigned sent;
	struct cmd c;
};

static void
cmd_send(struct out *o)
{
	struct cmd *c = &o->c;

	if (!c->oom && c->n > 0) {
		for (unsigned i = 0; i < c->n; i++)
			c->argv[i] = c->buf + c->off[i];
		o->emit(o->arg, (int)c->n, c->argv, c->len);
		o->sent++;
	}
	cmd_reset(c);
}

static void
ts_text(uint64_t us, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 ".%06" PRIu64, us / 1000000u,
		 us % 1000000u);
}

/* EVALSHA merge NKEYS KEYS... member score ttl: the start of a merge. */
static void
merge_begin(struct out *o, unsigned nkeys)
{
	cmd_reset(&o->c);
	cmd_str(&o->c, "EVALSHA");
	cmd_str(&o->c, o->e->merge_sha);
	cmd_fmt(&o->c, "%u", nkeys);
}

/* An operation with N field/value pairs: "set 3 a 1 b 2 c 3". The pairs
 * follow with kv(); n must be what follows. */
static void
op_group(struct cmd *c, const char *op, unsigned n)
{
	cmd_str(c, op);
	cmd_fmt(c, "%u", n);
}

static void
kv(struct cmd *c, const char *f, const char *v)
{
	cmd_str(c, f);
	cmd_str(c, v);
}

static void
kv_u64(struct cmd *c, const char *f, uint64_t v)
{
	cmd_str(c, f);
	cmd_fmt(c, "%" PRIu64, v);
}

static void
op_ts(struct cmd *c, const char *op, const char *f, uint64_t us)
{
	char ts[32];

	ts_text(us, ts, sizeof(ts));
	cmd_str(c, op);
	kv(c, f, ts);
}

static void
op_uni(struct cmd *c, const char *f, const char *list, unsigned cap)
{
	cmd_str(c, "uni");
	kv(c, f, list);
	cmd_fmt(c, "%u", cap);
}

/* lat TF T N: then the N pairs with kv(). */
static void
op_lat(struct cmd *c, const char *tf, uint64_t us, unsigned n)
{
	char ts[32];

	ts_text(us, ts, sizeof(ts));
	cmd_str(c, "lat");
	kv(c, tf, ts);
	cmd_fmt(c, "%u", n);
}

/* What every record has: sensor (the last to write), sensors (all). */
static void
sensor_ops(struct out *o)
{
	op_group(&o->c, "set", 1);
	kv(&o->c, "sensor", o->e->conf->sensor_id);
	op_uni(&o->c, "sensors", o->e->conf->sensor_id, 32);
}

static void
counts_ops(struct cmd *c, const struct counts *k)
{
	op_ts(c, "min", "first_seen", k->first_us);
	op_ts(c, "max", "last_seen", k->last_us);
	op_group(c, "add", 3);
	kv_u64(c, "flows", k->flows);
	kv_u64(c, "pkts", k->pkts);
	kv_u64(c, "bytes", k->bytes);
}

static void
apps_ops(struct cmd *c, const struct apps *a)
{
	char list[VIGIL_ENTITY_APPS * (APP_MAX + 1) + 1];
	size_t n = 0;

	if (a->n == 0)
		return;
	/* (set members go out sorted, as the merge keeps them) */
	for (unsigned i = 0; i < a->n; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
				      i ? "," : "", a->name[i]);
	op_uni(c, "app", list, 8);
}

static void
pub_entity(struct out *o, const struct ent *en)
{
	const struct vigil_conf *conf = o->e->conf;
	struct cmd *c = &o->c;
	const char *names[3];
	unsigned nnames = 0, nkeys;
	char addr[VIGIL_META_IP_MAX + 1], ts[32], list[ADDRS_MAX * 48];
	size_t n = 0;

	if (en->ident != NULL) {
		names[nnames++] = ident_field(en->ident, 0); /* pod */
		if (strcmp(ident_field(en->ident, 3), names[0]) != 0)
			names[nnames++] = ident_field(en->ident, 3);
	}
	if (en->dns != NULL) {
		bool dup = false;

		for (unsigned i = 0; i < nnames; i++)
			dup |= strcmp(names[i], en->dns) == 0;
		if (!dup)
			names[nnames++] = en->dns;
	}
	nkeys = 2 + en->nips + nnames;
	merge_begin(o, nkeys);
	cmd_fmt(c, "%s:entity:%s", conf->redis_prefix, en->id);
	cmd_fmt(c, "%s:entities", conf->redis_prefix);
	for (unsigned i = 0; i < en->nips; i++) {
		vigil_meta_format_ip(&en->ips[i], addr);
		cmd_fmt(c, "%s:entities:ip:%s", conf->redis_prefix, addr);
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
				      i ? "," : "", addr);
	}
	for (unsigned i = 0; i < nnames; i++)
		cmd_fmt(c, "%s:entities:name:%s", conf->redis_prefix, names[i]);
	cmd_str(c, en->id);
	ts_text(en->last_us, ts, sizeof(ts));
	cmd_str(c, ts);
	cmd_fmt(c, "%u", conf->entity_retention_s);
	/* What an id implies: set when the key is made. */
	op_group(c, "ini", 3);
	kv(c, "id", en->id);
	kv(c, "source", en->ident != NULL ? "cicd" : "discovered");
	if (en->ident != NULL)
		kv(c, "name", ident_field(en->ident, 0));
	else
		kv(c, "group", en->id);
	sensor_ops(o);
	op_ts(c, "min", "first_seen", en->first_us);
	op_ts(c, "max", "last_seen", en->last_us);
	op_group(c, "add", 7);
	kv_u64(c, "flows", en->flows);
	kv_u64(c, "flows_client", en->flows_client);
	kv_u64(c, "flows_server", en->flows_server);
	kv_u64(c, "pkts_out", en->pkts_out);
	kv_u64(c, "pkts_in", en->pkts_in);
	kv_u64(c, "bytes_out", en->bytes_out);
	kv_u64(c, "bytes_in", en->bytes_in);
	vigil_meta_format_ip(&en->ip, addr);
	op_lat(c, "ip_seen", en->ip_us, 1);
	kv(c, "ip", addr);
	op_uni(c, "ips", list, 16);
	if (en->nports > 0) {
		char plist[VIGIL_ENTITY_PORTS * 16];
		size_t pn = 0;

		for (unsigned i = 0; i < en->nports; i++)
			pn += (size_t)snprintf(plist + pn, sizeof(plist) - pn,
					       "%s%u/%s", i ? "," : "",
					       en->ports[i] >> 8,
					       transport((uint8_t)en->ports[i]));
		op_uni(c, "ports", plist, VIGIL_ENTITY_PORTS_KEPT);
	}
	if (en->ident != NULL) {
		static const char *const f[] = { "pod", "namespace", "image",
						 "service", "labels", "since",
						 "group" };

		op_lat(c, "identity_seen", en->ident_us, 7);
		for (unsigned i = 0; i < 7; i++)
			kv(c, f[i], ident_field(en->ident, i));
	}
	if (en->dns != NULL) {
		op_lat(c, "dns_seen", en->dns_us, en->ident != NULL ? 1 : 2);
		kv(c, "dns_name", en->dns);
		if (en->ident == NULL)
			kv(c, "name", en->dns);
	}
	cmd_send(o);
}

static void
index_args(struct out *o, const char *kind, const char *id,
	   const struct counts *k)
{
	char ts[32];

	cmd_fmt(&o->c, "%s:%s:%s", o->e->conf->redis_prefix, kind, id);
	cmd_fmt(&o->c, "%s:%ss", o->e->conf->redis_prefix, kind);
	cmd_str(&o->c, id);
	ts_text(k->last_us, ts, sizeof(ts));
	cmd_str(&o->c, ts);
	cmd_str(&o->c, "0");
}

static void
pub_service(struct out *o, const struct svc *sv)
{
	struct cmd *c = &o->c;

	merge_begin(o, 2);
	index_args(o, "service", sv->id, &sv->c);
	op_group(c, "ini", 5);
	kv(c, "id", sv->id);
	kv(c, "entity", sv->ent->id);
	kv_u64(c, "port", sv->port);
	kv(c, "transport", transport(sv->proto));
	cmd_str(c, "group");
	cmd_fmt(c, "%s:%u/%s", sv->ent->group, sv->port, transport(sv->proto));
	sensor_ops(o);
	apps_ops(c, &sv->apps);
	counts_ops(c, &sv->c);
	cmd_send(o);
}

static void
pub_edge(struct out *o, const struct edge *ed)
{
	struct cmd *c = &o->c;

	merge_begin(o, 2);
	index_args(o, "edge", ed->id, &ed->c);
	op_group(c, "ini", 9);
	kv(c, "id", ed->id);
	kv(c, "client", ed->cli->id);
	kv(c, "server", ed->svc->ent->id);
	kv(c, "service", ed->svc->id);
	kv_u64(c, "port", ed->svc->port);
	kv(c, "transport", transport(ed->svc->proto));
	cmd_str(c, "client_group");
	cmd_arg(c, ed->g->id, ed->g->cli_len);
	cmd_str(c, "server_group");
	cmd_arg(c, ed->g->id + ed->g->srv_off,
		(size_t)(ed->g->srv_end - ed->g->srv_off));
	kv(c, "svcedge", ed->g->id);
	sensor_ops(o);
	apps_ops(c, &ed->apps);
	counts_ops(c, &ed->c);
	cmd_send(o);
}

static void
pub_gedge(struct out *o, const struct gedge *g)
{
	struct cmd *c = &o->c;

	merge_begin(o, 2);
	index_args(o, "svcedge", g->id, &g->c);
	op_group(c, "ini", 5);
	kv(c, "id", g->id);
	cmd_str(c, "client");
	cmd_arg(c, g->id, g->cli_len);
	cmd_str(c, "server");
	cmd_arg(c, g->id + g->srv_off, (size_t)(g->srv_end - g->srv_off));
	kv_u64(c, "port", g->port);
	kv(c, "transport", transport(g->proto));
	sensor_ops(o);
	apps_ops(c, &g->apps);
	counts_ops(c, &g->c);
	cmd_send(o);
}

static const char *
cell_edge_id(const struct cell *c)
{
	return c->level == 0 ? ((const struct edge *)c->edge)->id
			     : ((const struct gedge *)c->edge)->id;
}

/* By level, bucket, then edge id: the same batch is always written the
 * same way. */
static int
cmp_cell(const void *pa, const void *pb)
{
	const struct cell *a = *(const struct cell *const *)pa;
	const struct cell *b = *(const struct cell *const *)pb;

	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	if (a->bucket != b->bucket)
		return a->bucket < b->bucket ? -1 : 1;
	return strcmp(cell_edge_id(a), cell_edge_id(b));
}

/* Cells of one bucket per command, at most this many. */
#define CELLS_PER_CMD 512

static void
pub_map(struct out *o)
{
	struct tab *t = &o->e->t[T_CELL];
	const struct vigil_conf *conf = o->e->conf;
	struct cell **v;
	uint32_t n = 0;

	if (t->n == 0)
		return;
	v = malloc(sizeof(*v) * t->n);
	if (v == NULL)
		return;
	for (uint32_t i = 0; i <= t->mask; i++)
		if (t->s[i].p != NULL)
			v[n++] = t->s[i].p;
	qsort(v, n, sizeof(*v), cmp_cell);
	for (uint32_t i = 0; i < n;) {
		uint32_t j = i;
		struct cmd *c = &o->c;

		merge_begin(o, 2);
		cmd_fmt(c, "%s:map:%" PRIu64 "%s", conf->redis_prefix,
			v[i]->bucket, v[i]->level ? ":svc" : "");
		cmd_fmt(c, "%s:map:buckets", conf->redis_prefix);
		cmd_fmt(c, "%" PRIu64, v[i]->bucket);
		cmd_fmt(c, "%" PRIu64, v[i]->bucket);
		cmd_str(c, "0");
		op_uni(c, "sensors", conf->sensor_id, 32);
		op_group(c, "set", 1);
		kv_u64(c, "bucket_s", conf->entity_bucket_s);
		while (j < n && j - i < CELLS_PER_CMD &&
		       v[j]->level == v[i]->level && v[j]->bucket == v[i]->bucket)
			j++;
		op_group(c, "pair", j - i);
		for (uint32_t k = i; k < j; k++) {
			if (v[k]->level == 0) {
				const struct edge *ed = v[k]->edge;

				cmd_arg(c, ed->id, ed->idlen);
			} else {
				const struct gedge *g = v[k]->edge;

				cmd_arg(c, g->id, g->idlen);
			}
			cmd_fmt(c, "%" PRIu64 " %" PRIu64, v[k]->flows,
				v[k]->bytes);
		}
		cmd_send(o);
		i = j;
	}
	free(v);
}

static void
pub_trim(struct out *o, const char *index, const char *prefix,
	 const char *cutoff, const char *suffix)
{
	const struct vigil_conf *conf = o->e->conf;
	struct cmd *c = &o->c;

	cmd_reset(c);
	cmd_str(c, "EVALSHA");
	cmd_str(c, o->e->trim_sha);
	cmd_str(c, "1");
	cmd_fmt(c, "%s:%s", conf->redis_prefix, index);
	cmd_fmt(c, "%s:%s", conf->redis_prefix, prefix);
	cmd_str(c, cutoff);
	cmd_fmt(c, "%u", VIGIL_ENTITY_TRIM_STEP);
	if (suffix != NULL)
		cmd_str(c, suffix);
	cmd_send(o);
}

bool
vigil_entity_due(struct vigil_entity *e, uint64_t now_us)
{
	if (e->batch_pkt_us == 0)
		return false;
	if (e->pkt_us >= e->batch_pkt_us + e->publish_us)
		return true;
	if (now_us == 0)
		return false;
	if (e->batch_wall_us == 0)
		e->batch_wall_us = now_us;
	return now_us >= e->batch_wall_us + e->publish_us;
}

unsigned
vigil_entity_publish(struct vigil_entity *e, vigil_entity_emit_fn emit,
		     void *arg)
{
	struct out o = { .e = e, .emit = emit, .arg = arg };
	uint64_t ret = (uint64_t)e->conf->entity_retention_s * 1000000u;

	for (unsigned k = 0; k < T_COUNT; k++) {
		struct tab *t = &e->t[k];

		for (uint32_t i = 0; t->n > 0 && i <= t->mask; i++) {
			void *p = t->s[i].p;

			if (p == NULL)
				continue;
			switch (k) {
			case T_ENT:
				pub_entity(&o, p);
				break;
			case T_SVC:
				pub_service(&o, p);
				break;
			case T_EDGE:
				pub_edge(&o, p);
				break;
			case T_GEDGE:
				pub_gedge(&o, p);
				break;
			default:
				break;
			}
		}
	}
	pub_map(&o);
	if (e->pkt_us > ret) {
		char cut[32], cutb[32];
		uint64_t cb = (e->pkt_us - ret) / 1000000u;

		ts_text(e->pkt_us - ret, cut, sizeof(cut));
		snprintf(cutb, sizeof(cutb), "%" PRIu64,
			 cb > e->conf->entity_bucket_s
				 ? cb - e->conf->entity_bucket_s : 0);
		pub_trim(&o, "entities", "entity:", cut, NULL);
		pub_trim(&o, "services", "service:", cut, NULL);
		pub_trim(&o, "edges", "edge:", cut, NULL);
		pub_trim(&o, "svcedges", "svcedge:", cut, NULL);
		pub_trim(&o, "map:buckets", "map:", cutb, ":svc");
	}
	cmd_free(&o.c);
	free_records(e);
	vigil_ctr_add(e->ctr, VIGIL_CTR_entity_writes, o.sent);
	return o.sent;
}

void
vigil_entity_held(const struct vigil_entity *e, struct vigil_entity_held *h)
{
	h->entities = e->t[T_ENT].n;
	h->services = e->t[T_SVC].n;
	h->edges = e->t[T_EDGE].n;
	h->svcedges = e->t[T_GEDGE].n;
	h->cells = e->t[T_CELL].n;
	h->bytes = e->rec_bytes;
	for (unsigned k = 0; k < T_COUNT; k++)
		if (e->t[k].mask)
			h->bytes += sizeof(struct slot) *
				    ((uint64_t)e->t[k].mask + 1);
}

uint64_t
vigil_entity_packet_us(const struct vigil_entity *e)
{
	return e->pkt_us;
}
