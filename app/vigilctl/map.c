/*
 * map.c — vigilctl map and policy: the dependency map as it was at a time,
 * and the Kubernetes NetworkPolicy that allows exactly what it shows.
 *
 *   map [--at TIME] [--window D] [--format table|json|dot] [--by service|entity]
 *   policy --service NAME [--namespace NS] [--window D] [--at TIME]
 *
 * Both read the time-bucketed map of lib/entity (README "Redis schema"):
 * P:map:buckets (sorted set of bucket starts), P:map:<start> (entity-level
 * edges) and P:map:<start>:svc (service-level edges), each edge field
 * holding "<flows> <bytes>". The buckets read are those overlapping
 * [TIME - D, TIME] (D = 0: the bucket holding TIME); each edge's flows and
 * bytes are summed over them.
 *
 * Everything read is untrusted: members, bucket sizes, edge ids and counts
 * must match their grammar (the validators of entities.c) or the cell is
 * skipped and counted on standard error; node names (DNS names from the
 * wire) and application lists that fail show as "invalid", never raw. DOT
 * ids and labels are quoted and escaped even though validated ids cannot
 * hold a quote. Every walk is bounded: BUCKETS_MAX buckets, CELLS_MAX
 * fields a bucket hash, EDGES_MAX edges in all.
 *
 * policy is the only part that writes: P:policy:<ns>/<service>, see
 * policy_store() and README "vigilctl policy".
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "table.h"
#include "text.h"
#include "vigil_meta.h"
#include "vigilctl.h"

#define BUCKETS_MAX 100000   /* buckets of one window */
#define CELLS_MAX 1000000    /* fields of one bucket hash */
#define EDGES_MAX 4000000    /* cells summed in all */
#define BUCKET_S_MAX 86400   /* largest entity.bucket_s */
#define WINDOW_MAX_S (10LL * 366 * 86400)
#define LABELS_MAX 32

/* ---- time and duration ------------------------------------------------------- */

/* TIME: "now", epoch seconds or RFC 3339 (lib/meta's since grammar), in us. */
static int64_t
parse_at(const char *s)
{
	uint64_t us;
	char err[256];

	if (s == NULL || !strcmp(s, "now")) {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	}
	if (vigil_meta_parse_since(s, strlen(s), &us, err, sizeof(err)) != 0)
		usage_error("invalid --at '%s': expected epoch seconds, an RFC "
			    "3339 time (2026-01-01T03:12:00Z) or now",
			    shown_str(s));
	return (int64_t)us;
}

/* D: seconds, or a number with s, m, h or d; in seconds. */
static long long
parse_window(const char *s)
{
	long long v = 0, mul = 1;
	size_t n = strlen(s), i;

	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9' && i < 12; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0)
		v = -1;
	else if (i + 1 == n && s[i] == 's')
		mul = 1;
	else if (i + 1 == n && s[i] == 'm')
		mul = 60;
	else if (i + 1 == n && s[i] == 'h')
		mul = 3600;
	else if (i + 1 == n && s[i] == 'd')
		mul = 86400;
	else if (i != n)
		v = -1;
	if (v < 0 || v * mul > WINDOW_MAX_S)
		usage_error("invalid --window '%s': expected seconds or a "
			    "duration like 300, 5m, 1h, 2d (at most 10 years)",
			    shown_str(s));
	return v * mul;
}

static void
iso_of_us(int64_t us, char out[32])
{
	char s[40];

	snprintf(s, sizeof(s), "%" PRId64 ".%06" PRId64, us / 1000000,
		 us % 1000000);
	if (!text_epoch_iso(s, strlen(s), out))
		snprintf(out, 32, "?");
}

/* ---- reading the buckets ---------------------------------------------------- */

struct edge {
	char *client;
	char *server;   /* node, without the port */
	char *id;       /* the edge id as in the bucket */
	unsigned port;
	char transport[5];
	uint64_t flows, bytes;
};

struct mapview {
	struct edge *e;
	size_t n, cap;
	size_t buckets;
	int64_t from_us, to_us; /* extent of the buckets read */
	unsigned long long bad_cells, bad_buckets;
};

static bool
count_of(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}

static char *
dup_n(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static char *
map_key(const struct app *a, const char *rest)
{
	struct buf b = { 0 };

	buf_puts(&b, a->o.prefix);
	buf_puts(&b, ":map:");
	buf_puts(&b, rest);
	return buf_take(&b);
}

/* One cell "<client>><server>:<port>/<transport>" = "<flows> <bytes>". */
static bool
add_cell(struct mapview *m, const redisReply *k, const redisReply *v,
	 bool group)
{
	const char *gt, *colon = NULL, *sp;
	struct edge e;

	if (!edge_id_ok(k->str, k->len, group))
		return false;
	sp = memchr(v->str, ' ', v->len);
	if (!sp || !count_of(v->str, (size_t)(sp - v->str), &e.flows) ||
	    !count_of(sp + 1, v->len - (size_t)(sp - v->str) - 1, &e.bytes))
		return false;
	gt = memchr(k->str, '>', k->len);
	for (size_t i = k->len; i-- > 0;)
		if (k->str[i] == ':') {
			colon = k->str + i;
			break;
		}
	if (m->n == EDGES_MAX)
		fail(1, "more than %d edge cells in the window: give a shorter "
		     "--window", EDGES_MAX);
	e.client = dup_n(k->str, (size_t)(gt - k->str));
	e.server = dup_n(gt + 1, (size_t)(colon - gt - 1));
	e.id = dup_n(k->str, k->len);
	e.port = (unsigned)atoi(colon + 1);
	snprintf(e.transport, sizeof(e.transport), "%s", strchr(colon, '/') + 1);
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->e = xrealloc(m->e, m->cap * sizeof(*m->e));
	}
	m->e[m->n++] = e;
	return true;
}

static int
edge_cmp(const void *x, const void *y)
{
	const struct edge *a = x, *b = y;
	int c = strcmp(a->client, b->client);

	if (c == 0)
		c = strcmp(a->server, b->server);
	if (c == 0)
		c = (a->port > b->port) - (a->port < b->port);
	if (c == 0)
		c = strcmp(a->transport, b->transport);
	return c;
}

static void
edge_free(struct edge *e)
{
	free(e->client);
	free(e->server);
	free(e->id);
}

/*
 * The edges of the buckets overlapping [at - window, at] (window < 0: every
 * bucket up to at), service-level when group, summed per edge and sorted.
 */
static void
map_read(struct app *a, int64_t at_us, long long window_s, bool group,
	 struct mapview *m)
{
	char *zkey = map_key(a, "buckets");
	char lo[32], hi[32], lim[32];
	int64_t lo_us = window_s < 0 ? INT64_MIN : at_us - window_s * 1000000;
	redisReply *r;

	memset(m, 0, sizeof(*m));
	m->from_us = INT64_MAX;
	m->to_us = INT64_MIN;
	if (window_s < 0)
		snprintf(lo, sizeof(lo), "-inf");
	else
		snprintf(lo, sizeof(lo), "%" PRId64,
			 (lo_us / 1000000) - BUCKET_S_MAX);
	snprintf(hi, sizeof(hi), "%" PRId64, at_us / 1000000);
	snprintf(lim, sizeof(lim), "%d", BUCKETS_MAX + 1);
	{
		const char *argv[] = { "ZRANGEBYSCORE", zkey, lo, hi, "LIMIT",
				       "0", lim };

		r = redis_cmd(a, 7, argv);
	}
	if (r->type != REDIS_REPLY_ARRAY)
		fail(1, "unexpected reply from Redis to ZRANGEBYSCORE %s",
		     shown_str(zkey));
	if (r->elements > BUCKETS_MAX)
		fail(1, "more than %d buckets in the window: give a shorter "
		     "--window", BUCKETS_MAX);
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *mem = r->element[i];
		uint64_t start, bs;
		char *hkey, *skey;
		redisReply *h;
		bool ok;

		if (mem->type != REDIS_REPLY_STRING ||
		    !count_of(mem->str, mem->len, &start) ||
		    start > (uint64_t)INT64_MAX / 1000000 - BUCKET_S_MAX) {
			m->bad_buckets++;
			continue;
		}
		hkey = dup_n(mem->str, mem->len);
		skey = map_key(a, hkey);
		free(hkey);
		{
			const char *argv[] = { "HGET", skey, "bucket_s" };

			h = redis_cmd(a, 3, argv);
		}
		ok = h->type == REDIS_REPLY_STRING &&
		     count_of(h->str, h->len, &bs) && bs >= 1 &&
		     bs <= BUCKET_S_MAX;
		freeReplyObject(h);
		if (!ok) {
			m->bad_buckets++;
			free(skey);
			continue;
		}
		/* overlaps [lo, at]; with no window, holds at */
		if ((int64_t)start * 1000000 > at_us ||
		    (int64_t)(start + bs) * 1000000 <= lo_us ||
		    (window_s == 0 && (int64_t)(start + bs) * 1000000 <= at_us)) {
			free(skey);
			continue;
		}
		if (group) {
			size_t l = strlen(skey);

			skey = xrealloc(skey, l + 5);
			memcpy(skey + l, ":svc", 5);
		}
		{
			const char *argv[] = { "HLEN", skey };

			h = redis_cmd(a, 2, argv);
		}
		ok = h->type == REDIS_REPLY_INTEGER && h->integer <= CELLS_MAX;
		freeReplyObject(h);
		if (!ok) {
			m->bad_buckets++;
			free(skey);
			continue;
		}
		{
			const char *argv[] = { "HGETALL", skey };

			h = redis_cmd(a, 2, argv);
		}
		free(skey);
		if (h->type != REDIS_REPLY_ARRAY || h->elements % 2) {
			m->bad_buckets++;
			freeReplyObject(h);
			continue;
		}
		m->buckets++;
		if ((int64_t)start * 1000000 < m->from_us)
			m->from_us = (int64_t)start * 1000000;
		if ((int64_t)(start + bs) * 1000000 > m->to_us)
			m->to_us = (int64_t)(start + bs) * 1000000;
		for (size_t j = 0; j + 1 < h->elements; j += 2) {
			const redisReply *k = h->element[j], *v = h->element[j + 1];

			if (k->type != REDIS_REPLY_STRING ||
			    v->type != REDIS_REPLY_STRING)
				m->bad_cells++;
			else if (memchr(k->str, '>', k->len) == NULL)
				continue; /* bucket_s, sensors */
			else if (!add_cell(m, k, v, group))
				m->bad_cells++;
		}
		freeReplyObject(h);
	}
	freeReplyObject(r);
	free(zkey);
	/* sum per edge */
	qsort(m->e, m->n, sizeof(*m->e), edge_cmp);
	{
		size_t out = 0;

		for (size_t i = 0; i < m->n; i++) {
			if (out > 0 && edge_cmp(&m->e[out - 1], &m->e[i]) == 0) {
				m->e[out - 1].flows += m->e[i].flows;
				m->e[out - 1].bytes += m->e[i].bytes;
				edge_free(&m->e[i]);
			} else {
				m->e[out++] = m->e[i];
			}
		}
		m->n = out;
	}
	if (m->bad_buckets)
		fprintf(stderr, "vigilctl: skipped %llu buckets of %s:map:buckets "
			"that are not readable map buckets\n", m->bad_buckets,
			shown_str(a->o.prefix));
	if (m->bad_cells)
		fprintf(stderr, "vigilctl: skipped %llu map cells that are no "
			"edge \"<flows> <bytes>\"\n", m->bad_cells);
}

static void
map_free(struct mapview *m)
{
	for (size_t i = 0; i < m->n; i++)
		edge_free(&m->e[i]);
	free(m->e);
}

/* ---- map --------------------------------------------------------------------- */

/* A node's name: the DNS name of an ip/ entity. NULL: none; "\x01": invalid. */
#define NAME_INVALID "\x01"

static char *
node_name(struct app *a, const char *node)
{
	char *v = NULL;
	int rc;

	if (strncmp(node, "ip/", 3) != 0)
		return NULL;
	rc = entity_hget(a, node, "dns_name", &v);
	if (rc < 0)
		return xstrdup(NAME_INVALID);
	return v;
}

/* The application protocols of an edge (P:svcedge:<id> or P:edge:<id>). */
static char *
edge_app(struct app *a, const struct edge *e, bool group)
{
	struct buf b = { 0 };
	char *key;
	redisReply *r;
	char *out = NULL;

	buf_puts(&b, a->o.prefix);
	buf_puts(&b, group ? ":svcedge:" : ":edge:");
	buf_puts(&b, e->id);
	key = buf_take(&b);
	{
		const char *argv[] = { "HGET", key, "app" };

		r = redis_cmd(a, 3, argv);
	}
	if (r->type == REDIS_REPLY_STRING)
		out = apps_ok(r->str, r->len) ? dup_n(r->str, r->len)
					      : xstrdup(NAME_INVALID);
	freeReplyObject(r);
	free(key);
	return out;
}

/* A DOT quoted string: '"' and '\' escaped; s is printable ASCII. */
static void
dot_put(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(b, '\\');
		if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
			buf_putc(b, *s);
	}
}

static const char *
shown_name(const char *n)
{
	return n == NULL ? NULL : !strcmp(n, NAME_INVALID) ? "invalid" : n;
}

struct node {
	const char *id; /* in an edge of the view */
	char *name;
};

static int
node_cmp(const void *x, const void *y)
{
	return strcmp(((const struct node *)x)->id, ((const struct node *)y)->id);
}

int
cmd_map(struct app *a)
{
	int64_t at = parse_at(a->o.at);
	long long win = a->o.window ? parse_window(a->o.window) : 0;
	const char *fmt = a->o.format ? a->o.format : a->o.json ? "json" : "table";
	bool group = true, dot, json;
	struct mapview m;
	char **cname, **sname, **app;
	struct node *nodes;
	size_t nn = 0;
	char at_iso[32], from_iso[32], to_iso[32];

	if (a->o.by && !strcmp(a->o.by, "entity"))
		group = false;
	else if (a->o.by && strcmp(a->o.by, "service"))
		usage_error("invalid --by '%s': expected service or entity",
			    shown_str(a->o.by));
	if (strcmp(fmt, "table") && strcmp(fmt, "json") && strcmp(fmt, "dot"))
		usage_error("invalid --format '%s': expected table, json or dot",
			    shown_str(fmt));
	dot = !strcmp(fmt, "dot");
	json = !strcmp(fmt, "json");
	map_read(a, at, win, group, &m);
	iso_of_us(at, at_iso);
	if (m.buckets == 0)
		fail(1, "no map bucket under prefix %s overlaps %s%s%s",
		     shown_str(a->o.prefix), win ? "the window ending " : "",
		     at_iso, win ? "" : "");
	iso_of_us(m.from_us, from_iso);
	iso_of_us(m.to_us, to_iso);
	/* the nodes, once each (sorted: the DOT output is deterministic), with
	 * their names read once */
	nodes = xmalloc((2 * m.n + 1) * sizeof(*nodes));
	for (size_t i = 0; i < m.n; i++) {
		nodes[nn++].id = m.e[i].client;
		nodes[nn++].id = m.e[i].server;
	}
	qsort(nodes, nn, sizeof(*nodes), node_cmp);
	{
		size_t u = 0;

		for (size_t i = 0; i < nn; i++)
			if (u == 0 || strcmp(nodes[u - 1].id, nodes[i].id))
				nodes[u++] = nodes[i];
		nn = u;
	}
	for (size_t i = 0; i < nn; i++)
		nodes[i].name = node_name(a, nodes[i].id);
	cname = xmalloc((m.n + 1) * sizeof(char *));
	sname = xmalloc((m.n + 1) * sizeof(char *));
	app = xmalloc((m.n + 1) * sizeof(char *));
	for (size_t i = 0; i < m.n; i++) {
		struct node kc = { m.e[i].client, NULL }, ks = { m.e[i].server, NULL };

		cname[i] = ((struct node *)bsearch(&kc, nodes, nn, sizeof(*nodes),
						   node_cmp))->name;
		sname[i] = ((struct node *)bsearch(&ks, nodes, nn, sizeof(*nodes),
						   node_cmp))->name;
		app[i] = edge_app(a, &m.e[i], group);
	}
	if (dot) {
		struct buf b = { 0 };
		char *out;

		buf_puts(&b, "digraph \"vigil_map\" {\n  graph [rankdir=LR, "
			     "label=\"vigil map at ");
		dot_put(&b, at_iso);
		buf_puts(&b, " (buckets from ");
		dot_put(&b, from_iso);
		buf_puts(&b, " to ");
		dot_put(&b, to_iso);
		buf_puts(&b, ")\"];\n  node [shape=box];\n");
		for (size_t i = 0; i < nn; i++) {
			const char *nm = shown_name(nodes[i].name);

			buf_puts(&b, "  \"");
			dot_put(&b, nodes[i].id);
			buf_puts(&b, "\" [label=\"");
			dot_put(&b, nodes[i].id);
			if (nm) {
				buf_puts(&b, "\\n");
				dot_put(&b, nm);
			}
			buf_puts(&b, "\"];\n");
		}
		for (size_t i = 0; i < m.n; i++) {
			char num[80];

			buf_puts(&b, "  \"");
			dot_put(&b, m.e[i].client);
			buf_puts(&b, "\" -> \"");
			dot_put(&b, m.e[i].server);
			snprintf(num, sizeof(num), "\" [label=\"%u/%s", m.e[i].port,
				 m.e[i].transport);
			buf_puts(&b, num);
			if (app[i]) {
				buf_putc(&b, ' ');
				dot_put(&b, shown_name(app[i]));
			}
			snprintf(num, sizeof(num), "\\n%" PRIu64 " flows, %" PRIu64
				 " B\"];\n", m.e[i].flows, m.e[i].bytes);
			buf_puts(&b, num);
		}
		buf_puts(&b, "}\n");
		out = buf_take(&b);
		fputs(out, stdout);
		free(out);
	} else if (json) {
		for (size_t i = 0; i < m.n; i++) {
			const char *names[3] = { cname[i], sname[i], app[i] };
			const char *keys[3] = { "client_name", "server_name", "app" };
			bool any_bad = false;

			fputs("{\"client\":", stdout);
			json_put_string(stdout, m.e[i].client, strlen(m.e[i].client));
			fputs(",\"server\":", stdout);
			json_put_string(stdout, m.e[i].server, strlen(m.e[i].server));
			printf(",\"port\":%u,\"transport\":\"%s\"", m.e[i].port,
			       m.e[i].transport);
			for (int k = 0; k < 3; k++) {
				printf(",\"%s\":", keys[k]);
				if (names[k] && strcmp(names[k], NAME_INVALID))
					json_put_string(stdout, names[k],
							strlen(names[k]));
				else
					fputs("null", stdout);
				any_bad |= names[k] && !strcmp(names[k], NAME_INVALID);
			}
			printf(",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64,
			       m.e[i].flows, m.e[i].bytes);
			if (any_bad) {
				bool f = true;

				fputs(",\"invalid\":[", stdout);
				for (int k = 0; k < 3; k++)
					if (names[k] && !strcmp(names[k], NAME_INVALID)) {
						printf("%s\"%s\"", f ? "" : ",", keys[k]);
						f = false;
					}
				putchar(']');
			}
			puts("}");
		}
	} else {
		static const char *const head[6] = { "client", "server", "service",
						     "app", "flows", "bytes" };
		static const bool right[6] = { false, false, false, false, true,
					       true };
		struct table *t = table_new(6, head, right);

		printf("map at %s: %zu bucket%s from %s to %s, %s level\n", at_iso,
		       m.buckets, m.buckets == 1 ? "" : "s", from_iso, to_iso,
		       group ? "service" : "entity");
		for (size_t i = 0; i < m.n; i++) {
			char *cells[6];
			struct buf b = { 0 };
			char num[32];

			for (int side = 0; side < 2; side++) {
				const char *nm = shown_name(side ? sname[i] : cname[i]);

				buf_puts(&b, side ? m.e[i].server : m.e[i].client);
				if (nm) {
					buf_puts(&b, " (");
					buf_puts(&b, nm);
					buf_putc(&b, ')');
				}
				cells[side] = text_cell(b.p, b.len);
				buf_free(&b);
			}
			snprintf(num, sizeof(num), "%u/%s", m.e[i].port,
				 m.e[i].transport);
			cells[2] = xstrdup(num);
			cells[3] = xstrdup(app[i] ? shown_name(app[i]) : "-");
			snprintf(num, sizeof(num), "%" PRIu64, m.e[i].flows);
			cells[4] = xstrdup(num);
			snprintf(num, sizeof(num), "%" PRIu64, m.e[i].bytes);
			cells[5] = xstrdup(num);
			table_add(t, cells);
		}
		table_flush(t, stdout);
		table_free(t);
	}
	for (size_t i = 0; i < m.n; i++)
		free(app[i]);
	for (size_t i = 0; i < nn; i++)
		free(nodes[i].name);
	free(nodes);
	free(cname);
	free(sname);
	free(app);
	map_free(&m);
	check_stdout();
	return 0;
}

/* ---- policy ------------------------------------------------------------------ */

/* Labels that name one revision or one pod, never kept in a selector. */
static bool
label_per_pod(const char *k)
{
	return !strcmp(k, "pod-template-hash") ||
	       !strcmp(k, "controller-revision-hash") ||
	       !strcmp(k, "statefulset.kubernetes.io/pod-name") ||
	       !strcmp(k, "apps.kubernetes.io/pod-index") ||
	       !strcmp(k, "batch.kubernetes.io/controller-uid") ||
	       !strcmp(k, "controller-uid");
}

struct labelset {
	size_t n;
	char *k[LABELS_MAX], *v[LABELS_MAX];
	bool init;      /* a pod was seen */
	bool fallback;  /* no shared label: app=<service> */
};

/* Intersects ls with the labels "k=v,k=v" of one pod. */
static void
labels_meet(struct labelset *ls, const char *labels)
{
	struct labelset pod = { 0 };
	char *copy = xstrdup(labels ? labels : ""), *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok && pod.n < LABELS_MAX;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (label_per_pod(tok))
			continue;
		pod.k[pod.n] = xstrdup(tok);
		pod.v[pod.n++] = xstrdup(eq + 1);
	}
	free(copy);
	if (!ls->init) {
		*ls = pod;
		ls->init = true;
		return;
	}
	{
		size_t out = 0;

		for (size_t i = 0; i < ls->n; i++) {
			bool keep = false;

			for (size_t j = 0; j < pod.n && !keep; j++)
				keep = !strcmp(ls->k[i], pod.k[j]) &&
				       !strcmp(ls->v[i], pod.v[j]);
			if (keep) {
				ls->k[out] = ls->k[i];
				ls->v[out++] = ls->v[i];
			} else {
				free(ls->k[i]);
				free(ls->v[i]);
			}
		}
		ls->n = out;
	}
	for (size_t j = 0; j < pod.n; j++) {
		free(pod.k[j]);
		free(pod.v[j]);
	}
}

struct peer {
	char *group;          /* svc/<ns>/<service> or ip/<addr> */
	struct labelset sel;  /* svc groups: the shared labels of its pods */
};

struct peers {
	struct peer *p;
	size_t n, cap;
};

static struct peer *
peer_get(struct peers *ps, const char *group)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->p[i].group, group))
			return &ps->p[i];
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 16;
		ps->p = xrealloc(ps->p, ps->cap * sizeof(*ps->p));
	}
	memset(&ps->p[ps->n], 0, sizeof(ps->p[0]));
	ps->p[ps->n].group = xstrdup(group);
	return &ps->p[ps->n++];
}

static int
str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The selector of each svc group: the labels its pods (seen in the
 * entity-level edges of the window) share; app=<service> when none. */
static void
peers_select(struct app *a, struct peers *ps, const struct mapview *ent)
{
	const char **ids = xmalloc((2 * ent->n + 1) * sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < ent->n; i++) {
		ids[n++] = ent->e[i].client;
		ids[n++] = ent->e[i].server;
	}
	qsort(ids, n, sizeof(*ids), str_cmp);
	for (size_t i = 0; i < n; i++) {
		const char *id = ids[i];
		char *grp = NULL, *labels = NULL;
		struct peer *p = NULL;

		if ((i > 0 && !strcmp(ids[i - 1], id)) || strncmp(id, "pod/", 4))
			continue;
		if (entity_hget(a, id, "group", &grp) != 1)
			continue;
		for (size_t j = 0; j < ps->n; j++)
			if (!strcmp(ps->p[j].group, grp))
				p = &ps->p[j];
		if (p) {
			int rc = entity_hget(a, id, "labels", &labels);

			if (rc >= 0)
				labels_meet(&p->sel, labels);
			else
				fprintf(stderr, "vigilctl: %s has invalid labels: "
					"left out of the selector\n", shown_str(id));
		}
		free(grp);
		free(labels);
	}
	free(ids);
	for (size_t i = 0; i < ps->n; i++) {
		struct peer *p = &ps->p[i];

		if (strncmp(p->group, "svc/", 4) || p->sel.n > 0)
			continue;
		p->sel.fallback = true;
		p->sel.k[0] = xstrdup("app");
		p->sel.v[0] = xstrdup(strchr(p->group + 4, '/') + 1);
		p->sel.n = 1;
	}
}

static void
yaml_selector(struct buf *b, const char *indent, const char *name,
	      const struct labelset *ls, bool first_item)
{
	char **pairs = xmalloc((ls->n + 1) * sizeof(char *));

	for (size_t i = 0; i < ls->n; i++) {
		struct buf p = { 0 };

		buf_puts(&p, ls->k[i]);
		buf_putc(&p, '\x01');
		buf_puts(&p, ls->v[i]);
		pairs[i] = buf_take(&p);
	}
	qsort(pairs, ls->n, sizeof(char *), str_cmp);
	buf_puts(b, indent);
	buf_puts(b, first_item ? "- " : "  ");
	buf_puts(b, name);
	buf_puts(b, ":\n");
	buf_puts(b, indent);
	buf_puts(b, "    matchLabels:\n");
	for (size_t i = 0; i < ls->n; i++) {
		char *sep = strchr(pairs[i], '\x01');

		*sep = '\0';
		buf_puts(b, indent);
		buf_puts(b, "      \"");
		buf_puts(b, pairs[i]);
		buf_puts(b, "\": \"");
		buf_puts(b, sep + 1);
		buf_puts(b, "\"\n");
		free(pairs[i]);
	}
	free(pairs);
}

static const char *
proto_upper(const char *t)
{
	return !strcmp(t, "tcp") ? "TCP" : !strcmp(t, "udp") ? "UDP" : "SCTP";
}

/* The rules of one direction: one per peer (sorted), its ports sorted. */
static void
yaml_rules(struct buf *b, const char *dir, const char *peer_key,
	   const struct mapview *svc, const char *target, bool ingress,
	   struct peers *ps)
{
	bool any = false;

	for (size_t i = 0; i < svc->n; i++) {
		const struct edge *e = &svc->e[i];
		const char *me = ingress ? e->server : e->client;
		const char *peer = ingress ? e->client : e->server;
		bool first_of_peer = true;

		if (strcmp(me, target))
			continue;
		/* edges are sorted by client, then server: a peer's edges are
		 * together in both directions only for egress; look back. */
		for (size_t j = 0; j < i; j++) {
			const struct edge *f = &svc->e[j];

			if (!strcmp(ingress ? f->server : f->client, target) &&
			    !strcmp(ingress ? f->client : f->server, peer))
				first_of_peer = false;
		}
		if (!first_of_peer)
			continue;
		if (!any) {
			buf_puts(b, "  ");
			buf_puts(b, dir);
			buf_puts(b, ":\n");
		}
		any = true;
		buf_puts(b, "  - ");
		buf_puts(b, peer_key);
		buf_puts(b, ":\n");
		if (!strncmp(peer, "ip/", 3)) {
			buf_puts(b, "    - ipBlock:\n        cidr: \"");
			buf_puts(b, peer + 3);
			buf_puts(b, strchr(peer, ':') ? "/128\"\n" : "/32\"\n");
		} else {
			const char *ns = peer + 4, *sl = strchr(ns, '/');
			struct labelset nsl = { .n = 1 };
			struct peer *p = peer_get(ps, peer);

			nsl.k[0] = (char *)"kubernetes.io/metadata.name";
			nsl.v[0] = dup_n(ns, (size_t)(sl - ns));
			if (p->sel.fallback) {
				buf_puts(b, "    # ");
				buf_puts(b, peer);
				buf_puts(b, ": its pods share no label; "
					    "app=<service> assumed\n");
			}
			yaml_selector(b, "    ", "namespaceSelector", &nsl, true);
			yaml_selector(b, "    ", "podSelector", &p->sel, false);
			free(nsl.v[0]);
		}
		buf_puts(b, "    ports:\n");
		for (size_t j = i; j < svc->n; j++) {
			const struct edge *f = &svc->e[j];
			char num[16];

			if (strcmp(ingress ? f->server : f->client, target) ||
			    strcmp(ingress ? f->client : f->server, peer))
				continue;
			buf_puts(b, "    - protocol: ");
			buf_puts(b, proto_upper(f->transport));
			snprintf(num, sizeof(num), "%u", f->port);
			buf_puts(b, "\n      port: ");
			buf_puts(b, num);
			buf_putc(b, '\n');
		}
	}
	if (!any) {
		buf_puts(b, "  ");
		buf_puts(b, dir);
		buf_puts(b, ": []\n");
	}
}

static int
edge_cmp_ingress(const void *x, const void *y)
{
	const struct edge *a = x, *b = y;
	int c = strcmp(a->server, b->server);

	if (c == 0)
		c = strcmp(a->client, b->client);
	if (c == 0)
		c = (a->port > b->port) - (a->port < b->port);
	if (c == 0)
		c = strcmp(a->transport, b->transport);
	return c;
}

/* P:policy:<ns>/<service>: the policy and the edges it allows (README). */
static void
policy_store(struct app *a, const char *ns, const char *svc,
	     const char *target, const struct mapview *m, const char *yaml,
	     long long window_s)
{
	struct buf k = { 0 }, j = { 0 };
	char *key, *allowed;
	char from[32], to[32], gen[32], win[32];
	redisReply *r;
	bool first = true;

	buf_puts(&k, a->o.prefix);
	buf_puts(&k, ":policy:");
	buf_puts(&k, ns);
	buf_putc(&k, '/');
	buf_puts(&k, svc);
	key = buf_take(&k);
	buf_putc(&j, '[');
	for (size_t i = 0; i < m->n; i++) {
		const struct edge *e = &m->e[i];
		char num[64];

		if (strcmp(e->server, target) && strcmp(e->client, target))
			continue;
		buf_puts(&j, first ? "{\"dir\":\"" : ",{\"dir\":\"");
		first = false;
		buf_puts(&j, strcmp(e->server, target) ? "egress" : "ingress");
		buf_puts(&j, "\",\"svcedge\":\"");
		buf_puts(&j, e->id); /* validated: no '"' or '\' */
		buf_puts(&j, "\",\"client\":\"");
		buf_puts(&j, e->client);
		buf_puts(&j, "\",\"server\":\"");
		buf_puts(&j, e->server);
		snprintf(num, sizeof(num), "\",\"port\":%u,\"transport\":\"%s\"}",
			 e->port, e->transport);
		buf_puts(&j, num);
	}
	buf_putc(&j, ']');
	allowed = buf_take(&j);
	snprintf(from, sizeof(from), "%" PRId64, m->from_us / 1000000);
	snprintf(to, sizeof(to), "%" PRId64, m->to_us / 1000000);
	snprintf(win, sizeof(win), "%lld", window_s);
	{
		struct timeval tv;

		gettimeofday(&tv, NULL);
		snprintf(gen, sizeof(gen), "%lld.%06ld", (long long)tv.tv_sec,
			 (long)tv.tv_usec);
	}
	{
		const char *multi[] = { "MULTI" }, *del[] = { "DEL", key },
			   *exec[] = { "EXEC" };
		const char *hset[] = { "HSET", key, "namespace", ns, "service",
				       svc, "group", target, "from", from, "to",
				       to, "window_s", win, "generated", gen,
				       "allowed", allowed, "yaml", yaml };

		freeReplyObject(redis_cmd(a, 1, multi));
		freeReplyObject(redis_cmd(a, 2, del));
		freeReplyObject(redis_cmd(a, 20, hset));
		r = redis_cmd(a, 1, exec);
		if (r->type != REDIS_REPLY_ARRAY)
			fail(1, "Redis did not store %s", shown_str(key));
		freeReplyObject(r);
	}
	fprintf(stderr, "vigilctl: stored in %s\n", shown_str(key));
	free(key);
	free(allowed);
}

int
cmd_policy(struct app *a)
{
	int64_t at = parse_at(a->o.at);
	long long win = a->o.window ? parse_window(a->o.window) : -1;
	const char *svc = a->o.service;
	char ns[64] = "";
	char err[256], from_iso[32], to_iso[32];
	struct vigil_identity id;
	struct mapview m, ent;
	struct peers ps = { 0 };
	struct buf b = { 0 }, t = { 0 };
	char *target, *yaml, name[254];

	vigil_identity_init(&id);
	if (vigil_identity_set_field(&id, "service", 7, svc, strlen(svc), err,
				     sizeof(err)))
		usage_error("invalid --service: %s", err);
	if (a->o.namespace) {
		if (vigil_identity_set_field(&id, "namespace", 9, a->o.namespace,
					     strlen(a->o.namespace), err,
					     sizeof(err)))
			usage_error("invalid --namespace: %s", err);
		snprintf(ns, sizeof(ns), "%s", a->o.namespace);
	}
	map_read(a, at, win, true, &m);
	if (m.buckets == 0)
		fail(1, "no map bucket under prefix %s in the window",
		     shown_str(a->o.prefix));
	if (!*ns) { /* the namespaces a service of that name appears in */
		char found[2][64] = { "", "" };
		size_t nf = 0;

		for (size_t i = 0; i < m.n; i++)
			for (int side = 0; side < 2; side++) {
				const char *g = side ? m.e[i].server : m.e[i].client;
				const char *sl = strchr(g + 4, '/');

				if (strncmp(g, "svc/", 4) || strcmp(sl + 1, svc) ||
				    (size_t)(sl - g - 4) >= 64)
					continue;
				char cand[64];

				snprintf(cand, sizeof(cand), "%.*s",
					 (int)(sl - g - 4), g + 4);
				if (nf > 0 && !strcmp(found[0], cand))
					continue;
				if (nf > 1 && !strcmp(found[1], cand))
					continue;
				if (nf < 2)
					snprintf(found[nf], 64, "%s", cand);
				nf++;
			}
		if (nf == 0)
			fail(1, "no flow to or from a service %s in the window",
			     shown_str(svc));
		if (nf > 1)
			fail(2, "service %s is in several namespaces (%s, %s, ...): "
			     "give --namespace", shown_str(svc), found[0], found[1]);
		snprintf(ns, sizeof(ns), "%s", found[0]);
	}
	buf_puts(&t, "svc/");
	buf_puts(&t, ns);
	buf_putc(&t, '/');
	buf_puts(&t, svc);
	target = buf_take(&t);
	/* the pods of every group involved, for the selectors */
	peer_get(&ps, target);
	for (size_t i = 0; i < m.n; i++) {
		if (!strcmp(m.e[i].server, target))
			peer_get(&ps, m.e[i].client);
		else if (!strcmp(m.e[i].client, target))
			peer_get(&ps, m.e[i].server);
	}
	map_read(a, at, win, false, &ent);
	peers_select(a, &ps, &ent);
	map_free(&ent);

	iso_of_us(m.from_us, from_iso);
	iso_of_us(m.to_us, to_iso);
	snprintf(name, sizeof(name), strlen(svc) + 6 <= 253 ? "%s-vigil" : "%s",
		 svc);
	buf_puts(&b, "# NetworkPolicy written by vigilctl policy: allows exactly "
		     "the dependencies\n# of ");
	buf_puts(&b, target);
	buf_puts(&b, " that vigil observed from ");
	buf_puts(&b, from_iso);
	buf_puts(&b, " to ");
	buf_puts(&b, to_iso);
	buf_puts(&b, ".\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
		     "metadata:\n  name: \"");
	buf_puts(&b, name);
	buf_puts(&b, "\"\n  namespace: \"");
	buf_puts(&b, ns);
	buf_puts(&b, "\"\n  annotations:\n    \"vigil/observed-from\": \"");
	buf_puts(&b, from_iso);
	buf_puts(&b, "\"\n    \"vigil/observed-to\": \"");
	buf_puts(&b, to_iso);
	buf_puts(&b, "\"\nspec:\n");
	{
		struct peer *p = peer_get(&ps, target);

		if (p->sel.fallback)
			buf_puts(&b, "  # its pods share no label: app=<service> "
				     "assumed\n");
		yaml_selector(&b, "", "podSelector", &p->sel, false);
	}
	buf_puts(&b, "  policyTypes:\n  - Ingress\n  - Egress\n");
	/* ingress wants the edges grouped by server, then client */
	qsort(m.e, m.n, sizeof(*m.e), edge_cmp_ingress);
	yaml_rules(&b, "ingress", "from", &m, target, true, &ps);
	qsort(m.e, m.n, sizeof(*m.e), edge_cmp);
	yaml_rules(&b, "egress", "to", &m, target, false, &ps);
	yaml = buf_take(&b);
	fputs(yaml, stdout);
	check_stdout();
	policy_store(a, ns, svc, target, &m, yaml, win);
	free(yaml);
	free(target);
	for (size_t i = 0; i < ps.n; i++) {
		for (size_t j = 0; j < ps.p[i].sel.n; j++) {
			free(ps.p[i].sel.k[j]);
			free(ps.p[i].sel.v[j]);
		}
		free(ps.p[i].group);
	}
	free(ps.p);
	map_free(&m);
	return 0;
}
