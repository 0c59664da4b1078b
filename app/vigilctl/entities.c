/*
 * entities.c — vigilctl entities, services and entity: what vigil's entity
 * stage (lib/entity) wrote to Redis, for people and scripts.
 *
 *   entities [--limit N]   the N entities seen last (P:entities, newest
 *                          first; 0 = all)
 *   services [--limit N]   the same for services (P:services)
 *   entity IP|NAME|ID      one entity (or every entity an address or a
 *                          name had: P:entities:ip:<addr>,
 *                          P:entities:name:<name>) with its services and
 *                          its edges both ways (P:edges, ZSCAN)
 *
 * Keys and fields: README.md "Redis schema", P:entity:<id> and after.
 *
 * Everything read is untrusted (anyone with write access to Redis may have
 * written anything): ids must match the grammar of lib/entity, identity
 * fields the rules of lib/meta, times, counts, addresses and lists their
 * form; a field that fails is shown as "invalid" (JSON: null, and named in
 * "invalid"), a member that names no entity is skipped and counted on
 * standard error, unknown fields are left out. Hashes above HASH_MAX fields
 * are not read. Every walk is bounded (LIST_MAX members, SCAN_CALLS_MAX
 * ZSCAN calls, EDGES_MAX edges a way).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "text.h"
#include "vigil_meta.h"
#include "vigilctl.h"

#define HASH_MAX 256          /* fields of an entity/service/edge hash */
#define LIST_MAX 1000000      /* members listed */
#define EDGES_MAX 1000        /* edges shown each way by entity */
#define MATCHES_MAX 1000      /* entities an address or a name had */
#define SCAN_CALLS_MAX 100000 /* ZSCAN calls of one walk */
#define TOKENS_MAX 64         /* members of a list field */

/* ---- what a field may hold ------------------------------------------------ */

enum kind {
	K_ENTITY,  /* pod/<ns>/<pod> | ip/<addr> */
	K_GROUP,   /* svc/<ns>/<service> | an entity id */
	K_SERVICE, /* <entity id>:<port>/<transport> */
	K_SVCGRP,  /* <group>:<port>/<transport> */
	K_EDGE,    /* <entity>><service> */
	K_SVCEDGE, /* <group>><group>:<port>/<transport> */
	K_TS,      /* epoch seconds */
	K_COUNT,   /* a decimal integer */
	K_IP,
	K_IPS,     /* ','-list of addresses */
	K_PORTS,   /* ','-list of <port>/<transport> */
	K_APPS,    /* ','-list of [a-z0-9]{1,15} */
	K_SENSOR,  /* [A-Za-z0-9._:-]{1,63} */
	K_SENSORS,
	K_WIRE,    /* a name from the wire, escaped by vigil: 0x20..0x7e */
	K_SOURCE,  /* cicd | discovered */
	K_TRANSPORT,
	K_POD, K_NAMESPACE, K_IMAGE, K_SVCNAME, K_LABELS, K_SINCE,
};

struct field {
	const char *name;
	enum kind kind;
};

static const struct field entity_fields[] = {
	{ "id", K_ENTITY },	      { "name", K_WIRE },
	{ "source", K_SOURCE },	      { "ip", K_IP },
	{ "ips", K_IPS },	      { "group", K_GROUP },
	{ "pod", K_POD },	      { "namespace", K_NAMESPACE },
	{ "image", K_IMAGE },	      { "service", K_SVCNAME },
	{ "labels", K_LABELS },	      { "since", K_SINCE },
	{ "dns_name", K_WIRE },	      { "first_seen", K_TS },
	{ "last_seen", K_TS },	      { "flows", K_COUNT },
	{ "flows_client", K_COUNT },  { "flows_server", K_COUNT },
	{ "pkts_out", K_COUNT },      { "pkts_in", K_COUNT },
	{ "bytes_out", K_COUNT },     { "bytes_in", K_COUNT },
	{ "ports", K_PORTS },	      { "sensor", K_SENSOR },
	{ "sensors", K_SENSORS },     { "identity_seen", K_TS },
	{ "ip_seen", K_TS },	      { "dns_seen", K_TS },
};

static const struct field service_fields[] = {
	{ "id", K_SERVICE },	    { "entity", K_ENTITY },
	{ "group", K_SVCGRP },	    { "port", K_COUNT },
	{ "transport", K_TRANSPORT }, { "app", K_APPS },
	{ "first_seen", K_TS },	    { "last_seen", K_TS },
	{ "flows", K_COUNT },	    { "pkts", K_COUNT },
	{ "bytes", K_COUNT },	    { "sensor", K_SENSOR },
	{ "sensors", K_SENSORS },
};

static const struct field edge_fields[] = {
	{ "id", K_EDGE },	      { "client", K_ENTITY },
	{ "server", K_ENTITY },	      { "service", K_SERVICE },
	{ "port", K_COUNT },	      { "transport", K_TRANSPORT },
	{ "client_group", K_GROUP },  { "server_group", K_GROUP },
	{ "svcedge", K_SVCEDGE },     { "app", K_APPS },
	{ "first_seen", K_TS },	      { "last_seen", K_TS },
	{ "flows", K_COUNT },	      { "pkts", K_COUNT },
	{ "bytes", K_COUNT },	      { "sensor", K_SENSOR },
	{ "sensors", K_SENSORS },
};

#define NFIELDS_MAX 32

struct schema {
	const char *what; /* "entity", "service", "edge": P:<what>:<id> */
	const struct field *f;
	size_t n;
};

static const struct schema S_ENTITY = { "entity", entity_fields,
					sizeof(entity_fields) / sizeof(entity_fields[0]) };
static const struct schema S_SERVICE = { "service", service_fields,
					 sizeof(service_fields) / sizeof(service_fields[0]) };
static const struct schema S_EDGE = { "edge", edge_fields,
				      sizeof(edge_fields) / sizeof(edge_fields[0]) };

static bool
is_count(const char *s, size_t n)
{
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n == 1 || s[0] != '0';
}

static bool
ip_ok(const char *s, size_t n)
{
	char norm[VIGIL_META_IP_MAX + 1];

	return vigil_meta_parse_ip(s, n, NULL, norm, NULL, 0) == 0 &&
	       strlen(norm) == n && memcmp(norm, s, n) == 0;
}

static bool
meta_ok(const char *field, const char *s, size_t n)
{
	struct vigil_identity id;

	vigil_identity_init(&id);
	return vigil_identity_set_field(&id, field, strlen(field), s, n, NULL,
					0) == 0;
}

static bool
transport_ok(const char *s, size_t n)
{
	return (n == 3 && (!memcmp(s, "tcp", 3) || !memcmp(s, "udp", 3))) ||
	       (n == 4 && !memcmp(s, "sctp", 4));
}

/* "<port>/<transport>" */
static bool
portspec_ok(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);

	return slash && is_count(s, (size_t)(slash - s)) &&
	       atoi(s) <= 65535 && (size_t)(slash - s) <= 5 &&
	       transport_ok(slash + 1, n - (size_t)(slash - s) - 1);
}

bool
entity_id_ok(const char *s, size_t n)
{
	const char *slash;

	if (n > 3 && !memcmp(s, "ip/", 3))
		return ip_ok(s + 3, n - 3);
	if (n < 4 || memcmp(s, "pod/", 4))
		return false;
	slash = memchr(s + 4, '/', n - 4);
	return slash && meta_ok("namespace", s + 4, (size_t)(slash - s - 4)) &&
	       meta_ok("pod", slash + 1, n - (size_t)(slash - s) - 1);
}

bool
group_ok(const char *s, size_t n)
{
	const char *slash;

	if (n < 4 || memcmp(s, "svc/", 4))
		return entity_id_ok(s, n);
	slash = memchr(s + 4, '/', n - 4);
	return slash && meta_ok("namespace", s + 4, (size_t)(slash - s - 4)) &&
	       meta_ok("service", slash + 1, n - (size_t)(slash - s) - 1);
}

/* "<node>:<port>/<transport>", node an entity id (or a group). */
static bool
service_id_ok(const char *s, size_t n, bool group)
{
	const char *colon = NULL;

	for (size_t i = n; i-- > 0;)
		if (s[i] == ':') {
			colon = s + i;
			break;
		}
	if (colon == NULL || !portspec_ok(colon + 1, n - (size_t)(colon - s) - 1))
		return false;
	return group ? group_ok(s, (size_t)(colon - s))
		     : entity_id_ok(s, (size_t)(colon - s));
}

bool
edge_id_ok(const char *s, size_t n, bool group)
{
	const char *gt = memchr(s, '>', n);

	if (gt == NULL)
		return false;
	return (group ? group_ok(s, (size_t)(gt - s))
		      : entity_id_ok(s, (size_t)(gt - s))) &&
	       service_id_ok(gt + 1, n - (size_t)(gt - s) - 1, group);
}

static bool
sensor_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == ':' || c == '-'))
			return false;
	}
	return true;
}

static bool
app_ok(const char *s, size_t n)
{
	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool
list_ok(const char *s, size_t n, bool (*ok)(const char *, size_t))
{
	size_t start = 0, count = 0;

	if (n == 0)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		if (!ok(s + start, i - start) || ++count > TOKENS_MAX)
			return false;
		start = i + 1;
	}
	return true;
}

bool
wire_ok(const char *s, size_t n)
{
	if (n == 0 || n > 1024)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool
valid(enum kind k, const char *s, size_t n)
{
	char iso[32];

	switch (k) {
	case K_ENTITY:
		return entity_id_ok(s, n);
	case K_GROUP:
		return group_ok(s, n);
	case K_SERVICE:
		return service_id_ok(s, n, false);
	case K_SVCGRP:
		return service_id_ok(s, n, true);
	case K_EDGE:
		return edge_id_ok(s, n, false);
	case K_SVCEDGE:
		return edge_id_ok(s, n, true);
	case K_TS:
		return text_epoch_iso(s, n, iso);
	case K_COUNT:
		return is_count(s, n);
	case K_IP:
		return ip_ok(s, n);
	case K_IPS:
		return list_ok(s, n, ip_ok);
	case K_PORTS:
		return list_ok(s, n, portspec_ok);
	case K_APPS:
		return list_ok(s, n, app_ok);
	case K_SENSOR:
		return sensor_ok(s, n);
	case K_SENSORS:
		return list_ok(s, n, sensor_ok);
	case K_WIRE:
		return wire_ok(s, n);
	case K_SOURCE:
		return (n == 4 && !memcmp(s, "cicd", 4)) ||
		       (n == 10 && !memcmp(s, "discovered", 10));
	case K_TRANSPORT:
		return transport_ok(s, n);
	case K_POD:
		return meta_ok("pod", s, n);
	case K_NAMESPACE:
		return meta_ok("namespace", s, n);
	case K_IMAGE:
		return meta_ok("image", s, n);
	case K_SVCNAME:
		return meta_ok("service", s, n);
	case K_LABELS:
		return n > 0 && meta_ok("labels", s, n);
	case K_SINCE:
		return meta_ok("since", s, n) && text_epoch_iso(s, n, iso);
	}
	return false;
}

/* ---- records read from Redis ------------------------------------------------ */

struct obj {
	const struct schema *sc;
	redisReply *r; /* the HGETALL reply */
	const redisReply *v[NFIELDS_MAX];
	bool bad[NFIELDS_MAX];
};

static int
field_index(const struct schema *sc, const char *name)
{
	for (size_t i = 0; i < sc->n; i++)
		if (!strcmp(sc->f[i].name, name))
			return (int)i;
	return -1;
}

static const redisReply *
get(const struct obj *o, const char *name)
{
	int i = field_index(o->sc, name);

	return i >= 0 ? o->v[i] : NULL;
}

static bool
is_bad(const struct obj *o, const char *name)
{
	int i = field_index(o->sc, name);

	return i >= 0 && o->bad[i];
}

static char *
key_of(const struct app *a, const char *what, const char *id, size_t n)
{
	struct buf b = { 0 };

	buf_puts(&b, a->o.prefix);
	buf_putc(&b, ':');
	buf_puts(&b, what);
	buf_putc(&b, ':');
	buf_put(&b, id, n);
	return buf_take(&b);
}

/* P:<what>:<id> read and validated into o; false if it is not there (or
 * not a hash of at most HASH_MAX fields). */
static bool
obj_read(struct app *a, const struct schema *sc, const char *id, size_t n,
	 struct obj *o)
{
	char *key = key_of(a, sc->what, id, n);
	const char *hlen[] = { "HLEN", key }, *all[] = { "HGETALL", key };
	redisReply *r = redisCommandArgv(a->rc, 2, hlen, NULL);
	bool ok;

	memset(o, 0, sizeof(*o));
	o->sc = sc;
	if (!r)
		fail(1, "Redis HLEN %s failed: %s", shown_str(key),
		     shown_str(a->rc->errstr));
	ok = r->type == REDIS_REPLY_INTEGER && r->integer > 0 &&
	     r->integer <= HASH_MAX;
	freeReplyObject(r);
	if (!ok) {
		free(key);
		return false;
	}
	r = redis_cmd(a, 2, all);
	free(key);
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		freeReplyObject(r);
		return false;
	}
	o->r = r;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];
		char name[32];
		int f;

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    k->len >= sizeof(name))
			continue;
		memcpy(name, k->str, k->len);
		name[k->len] = '\0';
		f = field_index(sc, name);
		if (f < 0 || o->v[f] != NULL || o->bad[f])
			continue;
		if (valid(sc->f[f].kind, v->str, v->len))
			o->v[f] = v;
		else
			o->bad[f] = true;
	}
	/* The id written in the hash must be the one asked for. */
	if (o->v[0] && (o->v[0]->len != n || memcmp(o->v[0]->str, id, n))) {
		o->v[0] = NULL;
		o->bad[0] = true;
	}
	return true;
}

static void
obj_free(struct obj *o)
{
	if (o->r)
		freeReplyObject(o->r);
	o->r = NULL;
}

/* ---- output -------------------------------------------------------------------- */

static char *
cell(const struct obj *o, const char *name)
{
	const redisReply *v = get(o, name);
	char iso[32];
	int i = field_index(o->sc, name);

	if (v == NULL)
		return xstrdup(is_bad(o, name) ? "invalid" : "-");
	if (i >= 0 && o->sc->f[i].kind == K_TS &&
	    text_epoch_iso(v->str, v->len, iso))
		return xstrdup(iso);
	return text_cell(v->str, v->len);
}

/* "a/b" of two counts. */
static char *
cell_pair(const struct obj *o, const char *x, const char *y)
{
	char *a = cell(o, x), *b = cell(o, y);
	struct buf out = { 0 };

	buf_puts(&out, a);
	buf_putc(&out, '/');
	buf_puts(&out, b);
	free(a);
	free(b);
	return buf_take(&out);
}

/* One JSON object of the valid fields (counts and times as numbers),
 * null for the invalid ones, and "invalid": [their names]; without the
 * closing brace when open (the caller adds members). */
static void
obj_json(const struct obj *o, bool open)
{
	bool first = true, any_bad = false;

	putchar('{');
	for (size_t i = 0; i < o->sc->n; i++) {
		const redisReply *v = o->v[i];
		enum kind k = o->sc->f[i].kind;

		if (!v && !o->bad[i])
			continue;
		if (!first)
			putchar(',');
		first = false;
		json_put_string(stdout, o->sc->f[i].name,
				strlen(o->sc->f[i].name));
		putchar(':');
		if (!v)
			fputs("null", stdout);
		else if (k == K_COUNT || k == K_TS)
			fwrite(v->str, 1, v->len, stdout);
		else
			json_put_string(stdout, v->str, v->len);
		any_bad |= o->bad[i];
	}
	if (any_bad) {
		bool f2 = true;

		fputs(first ? "\"invalid\":[" : ",\"invalid\":[", stdout);
		for (size_t i = 0; i < o->sc->n; i++)
			if (o->bad[i]) {
				if (!f2)
					putchar(',');
				f2 = false;
				json_put_string(stdout, o->sc->f[i].name,
						strlen(o->sc->f[i].name));
			}
		putchar(']');
	}
	if (!open)
		puts("}");
}

enum { ENT_COLS = 10, SVC_COLS = 8, EDGE_COLS = 7 };

static struct table *
entity_table(void)
{
	static const char *const head[ENT_COLS] = {
		"id", "name", "source", "ip", "first_seen", "last_seen",
		"flows", "clt/srv", "bytes out/in", "ports",
	};
	static const bool right[ENT_COLS] = { false, false, false, false, false,
					      false, true, true, true, false };

	return table_new(ENT_COLS, head, right);
}

static void
entity_row(struct table *t, const struct obj *o)
{
	char *cells[ENT_COLS] = {
		cell(o, "id"),
		cell(o, "name"),
		cell(o, "source"),
		cell(o, "ip"),
		cell(o, "first_seen"),
		cell(o, "last_seen"),
		cell(o, "flows"),
		cell_pair(o, "flows_client", "flows_server"),
		cell_pair(o, "bytes_out", "bytes_in"),
		cell(o, "ports"),
	};

	table_add(t, cells);
}

static struct table *
service_table(void)
{
	static const char *const head[SVC_COLS] = {
		"service", "app", "group", "first_seen", "last_seen", "flows",
		"pkts", "bytes",
	};
	static const bool right[SVC_COLS] = { false, false, false, false, false,
					      true, true, true };

	return table_new(SVC_COLS, head, right);
}

static void
service_row(struct table *t, const struct obj *o)
{
	char *cells[SVC_COLS] = {
		cell(o, "id"),	       cell(o, "app"),	     cell(o, "group"),
		cell(o, "first_seen"), cell(o, "last_seen"), cell(o, "flows"),
		cell(o, "pkts"),       cell(o, "bytes"),
	};

	table_add(t, cells);
}

/* An edge from one side: the other end in the first column. */
static struct table *
edge_table(const char *first)
{
	static const char *const out_head[EDGE_COLS] = {
		"to service", "app", "first_seen", "last_seen", "flows",
		"pkts", "bytes",
	};
	static const char *const in_head[EDGE_COLS] = {
		"from client", "app", "first_seen", "last_seen", "flows",
		"pkts", "bytes",
	};
	static const bool right[EDGE_COLS] = { false, false, false, false, true,
					       true, true };

	return table_new(EDGE_COLS, strcmp(first, "service") ? in_head : out_head,
			 right);
}

static void
edge_row(struct table *t, const struct obj *o, const char *first)
{
	char *cells[EDGE_COLS] = {
		cell(o, first),	       cell(o, "app"),	     cell(o, "first_seen"),
		cell(o, "last_seen"), cell(o, "flows"),	     cell(o, "pkts"),
		cell(o, "bytes"),
	};

	table_add(t, cells);
}

/* ---- listings ------------------------------------------------------------------------ */

/* ZREVRANGE key 0 limit-1 (limit 0: all, at most LIST_MAX). */
static redisReply *
newest(struct app *a, const char *key, long long limit)
{
	char stop[24];
	const char *argv[] = { "ZREVRANGE", key, "0", stop };
	redisReply *r;

	snprintf(stop, sizeof(stop), "%lld",
		 (limit <= 0 || limit > LIST_MAX ? LIST_MAX : limit) - 1);
	r = redis_cmd(a, 4, argv);
	if (r->type != REDIS_REPLY_ARRAY)
		fail(1, "unexpected reply from Redis to ZREVRANGE %s",
		     shown_str(key));
	return r;
}

static int
list(struct app *a, const struct schema *sc, const char *index)
{
	char *key = key_of(a, index, "", 0);
	redisReply *r;
	struct table *t = NULL;
	unsigned long long bad = 0, gone = 0;
	size_t shown_rows = 0;

	key[strlen(key) - 1] = '\0'; /* "P:entities", not "P:entities:" */
	r = newest(a, key, a->o.limit);
	if (!a->o.json)
		t = sc == &S_ENTITY ? entity_table() : service_table();
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];
		struct obj o;

		if (m->type != REDIS_REPLY_STRING ||
		    !valid(sc == &S_ENTITY ? K_ENTITY : K_SERVICE, m->str,
			   m->len)) {
			bad++;
			continue;
		}
		if (!obj_read(a, sc, m->str, m->len, &o)) {
			gone++; /* trimmed meanwhile, or not a hash */
			continue;
		}
		if (t)
			sc == &S_ENTITY ? entity_row(t, &o) : service_row(t, &o);
		else
			obj_json(&o, false);
		obj_free(&o);
		if (++shown_rows % 1000 == 0) {
			if (t)
				table_flush(t, stdout);
			check_stdout();
		}
	}
	if (t)
		table_flush(t, stdout);
	check_stdout();
	if (bad)
		fprintf(stderr, "vigilctl: skipped %llu members of %s that name "
			"no %s\n", bad, shown_str(key), sc->what);
	if (gone)
		fprintf(stderr, "vigilctl: %llu members of %s have no readable "
			"%s hash\n", gone, shown_str(key), sc->what);
	table_free(t);
	freeReplyObject(r);
	free(key);
	return 0;
}

int
cmd_entities(struct app *a)
{
	return list(a, &S_ENTITY, "entities");
}

int
cmd_services(struct app *a)
{
	return list(a, &S_SERVICE, "services");
}

/* ---- entity X --------------------------------------------------------------------------- */

/* The glob pattern of s: every special character escaped. */
static void
glob_put(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr("*?[]\\", s[i]))
			buf_putc(b, '\\');
		buf_putc(b, s[i]);
	}
}

/* Members of P:edges matching pattern, at most EDGES_MAX (ZSCAN). */
static char **
edges_matching(struct app *a, const char *pattern, size_t *n, bool *more)
{
	char *key = key_of(a, "edges", "", 0), cursor[32] = "0";
	char **out = NULL;
	size_t cap = 0;

	key[strlen(key) - 1] = '\0';
	*n = 0;
	*more = false;
	for (unsigned long calls = 0; calls < SCAN_CALLS_MAX; calls++) {
		const char *argv[] = { "ZSCAN", key, cursor, "MATCH", pattern,
				       "COUNT", "1000" };
		redisReply *r = redis_cmd(a, 7, argv);

		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY)
			fail(1, "unexpected reply from Redis to ZSCAN %s",
			     shown_str(key));
		for (size_t i = 0; i + 1 < r->element[1]->elements; i += 2) {
			const redisReply *m = r->element[1]->element[i];

			if (m->type != REDIS_REPLY_STRING ||
			    !valid(K_EDGE, m->str, m->len))
				continue;
			if (*n == EDGES_MAX) {
				*more = true;
				break;
			}
			if (*n == cap) {
				cap = cap ? 2 * cap : 64;
				out = xrealloc(out, cap * sizeof(*out));
			}
			out[*n] = xmalloc(m->len + 1);
			memcpy(out[*n], m->str, m->len);
			out[*n][m->len] = '\0';
			(*n)++;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		freeReplyObject(r);
		if (!strcmp(cursor, "0") || *more)
			break;
	}
	free(key);
	return out;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The edges of id one way: out (id is the client) or in (a server). */
static void
show_edges(struct app *a, const char *id, bool out, bool json_first)
{
	struct buf pat = { 0 };
	char *p;
	size_t n;
	bool more;
	char **e;
	struct table *t = a->o.json ? NULL : edge_table(out ? "service" : "client");
	bool first = true;

	if (out) {
		glob_put(&pat, id, strlen(id));
		buf_puts(&pat, ">*");
	} else {
		buf_puts(&pat, "*>");
		glob_put(&pat, id, strlen(id));
		buf_puts(&pat, ":*");
	}
	p = buf_take(&pat);
	e = edges_matching(a, p, &n, &more);
	qsort(e, n, sizeof(*e), cmp_str);
	if (a->o.json)
		printf("%s\"%s\":[", json_first ? "" : ",",
		       out ? "edges_out" : "edges_in");
	for (size_t i = 0; i < n; i++) {
		struct obj o;
		const redisReply *srv;

		if (!obj_read(a, &S_EDGE, e[i], strlen(e[i]), &o))
			continue;
		/* "*>id:*" also matches ids that merely start with id. */
		srv = get(&o, out ? "client" : "server");
		if (srv == NULL || srv->len != strlen(id) ||
		    memcmp(srv->str, id, srv->len)) {
			obj_free(&o);
			continue;
		}
		if (t) {
			edge_row(t, &o, out ? "service" : "client");
		} else {
			if (!first)
				putchar(',');
			first = false;
			obj_json(&o, true);
			putchar('}');
		}
		obj_free(&o);
	}
	if (t && table_pending(t)) {
		printf("  %s\n", out ? "talks to (as client)"
				     : "clients (as server)");
		table_flush(t, stdout);
	}
	if (a->o.json)
		putchar(']');
	if (more)
		fprintf(stderr, "vigilctl: %s has more than %d edges %s; the "
			"first %d are shown\n", shown_str(id), EDGES_MAX,
			out ? "out" : "in", EDGES_MAX);
	for (size_t i = 0; i < n; i++)
		free(e[i]);
	free(e);
	free(p);
	table_free(t);
}

/* The services of an entity: one per port in its `ports`. */
static void
show_services(struct app *a, const struct obj *ent, const char *id)
{
	const redisReply *ports = get(ent, "ports");
	struct table *t = a->o.json ? NULL : service_table();
	size_t start = 0;
	bool first = true;

	if (a->o.json)
		fputs(",\"services\":[", stdout);
	for (size_t i = 0; ports && i <= ports->len; i++) {
		struct buf sid = { 0 };
		struct obj o;
		char *s;

		if (i < ports->len && ports->str[i] != ',')
			continue;
		buf_puts(&sid, id);
		buf_putc(&sid, ':');
		buf_put(&sid, ports->str + start, i - start);
		start = i + 1;
		s = buf_take(&sid);
		if (obj_read(a, &S_SERVICE, s, strlen(s), &o)) {
			if (t) {
				service_row(t, &o);
			} else {
				if (!first)
					putchar(',');
				first = false;
				obj_json(&o, true);
				putchar('}');
			}
			obj_free(&o);
		}
		free(s);
	}
	if (a->o.json)
		putchar(']');
	if (t && table_pending(t)) {
		printf("  services\n");
		table_flush(t, stdout);
	}
	table_free(t);
}

static bool
show_entity(struct app *a, const char *id, bool first_entity)
{
	struct obj o;

	if (!obj_read(a, &S_ENTITY, id, strlen(id), &o))
		return false;
	if (a->o.json) {
		obj_json(&o, true);
		show_services(a, &o, id);
		show_edges(a, id, true, false);
		show_edges(a, id, false, false);
		puts("}");
	} else {
		static const char *const head[] = { "field", "value" };
		static const bool right[] = { false, false };
		struct table *t = table_new(2, head, right);

		if (!first_entity)
			putchar('\n');
		for (size_t i = 0; i < o.sc->n; i++) {
			char *cells[2];

			if (!o.v[i] && !o.bad[i])
				continue;
			cells[0] = xstrdup(o.sc->f[i].name);
			cells[1] = cell(&o, o.sc->f[i].name);
			table_add(t, cells);
		}
		printf("entity %s\n", shown_str(id));
		table_flush(t, stdout);
		table_free(t);
		show_services(a, &o, id);
		show_edges(a, id, true, false);
		show_edges(a, id, false, false);
	}
	obj_free(&o);
	check_stdout();
	return true;
}

int
cmd_entity(struct app *a)
{
	const char *x = a->o.args[0];
	size_t xn = strlen(x);
	char norm[VIGIL_META_IP_MAX + 1];
	redisReply *r = NULL;
	char *key = NULL;
	size_t shown_n = 0;

	if (valid(K_ENTITY, x, xn)) {
		if (!show_entity(a, x, true))
			fail(1, "no entity %s under prefix %s", shown_str(x),
			     shown_str(a->o.prefix));
		return 0;
	}
	if (vigil_meta_parse_ip(x, xn, NULL, norm, NULL, 0) == 0)
		key = key_of(a, "entities:ip", norm, strlen(norm));
	else
		key = key_of(a, "entities:name", x, xn);
	r = newest(a, key, MATCHES_MAX);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *m = r->element[i];
		char *id;

		if (m->type != REDIS_REPLY_STRING || !valid(K_ENTITY, m->str, m->len))
			continue;
		id = xmalloc(m->len + 1);
		memcpy(id, m->str, m->len);
		id[m->len] = '\0';
		if (show_entity(a, id, shown_n == 0))
			shown_n++;
		free(id);
	}
	freeReplyObject(r);
	free(key);
	if (shown_n == 0)
		fail(1, "no entity has the %s %s under prefix %s",
		     vigil_meta_parse_ip(x, xn, NULL, NULL, NULL, 0) == 0 ?
		     "address" : "name", shown_str(x), shown_str(a->o.prefix));
	return 0;
}

/* ---- for map.c and policy.c --------------------------------------------------------- */

int
entity_hget(struct app *a, const char *id, const char *field, char **out)
{
	char *key = key_of(a, "entity", id, strlen(id));
	const char *argv[] = { "HGET", key, field };
	redisReply *r = redis_cmd(a, 3, argv);
	int f = field_index(&S_ENTITY, field), rc = 0;

	*out = NULL;
	if (r->type == REDIS_REPLY_STRING && f >= 0) {
		if (valid(S_ENTITY.f[f].kind, r->str, r->len)) {
			*out = xmalloc(r->len + 1);
			memcpy(*out, r->str, r->len);
			(*out)[r->len] = '\0';
			rc = 1;
		} else {
			rc = -1;
		}
	}
	freeReplyObject(r);
	free(key);
	return rc;
}

bool
apps_ok(const char *s, size_t n)
{
	return list_ok(s, n, app_ok);
}
