/*
 * vigilctl — the analyst's command-line view of what vigil wrote to Redis,
 * and the way a CI/CD pipeline gives vigil the identities of workloads.
 *
 * vigil (the DPDK sensor) publishes each finished flow to the stream
 * P:flows (with its application metadata under Zeek's field names), its
 * counters to the hashes P:stats and P:stats:<sensor>, and one JSON
 * descriptor per sensor to the hash P:sensors (README.md, "Redis schema";
 * P is the key prefix, "vigil" by default). vigilctl reads those
 * keys and prints them as aligned tables for people, or as one JSON object
 * per line for scripts:
 *
 *   vigilctl [--redis HOST:PORT] [--prefix P] [--json] COMMAND [ARGS]
 *     stats   [--sensor ID]
 *     flows   [--limit N] [--sensor ID]
 *     sensors
 *     meta push FILE | set IP FIELD=VALUE... | rm IP | show [IP]
 *     entities [--limit N] | services [--limit N] | entity IP|NAME|ID
 *     map [--at TIME] [--window D] [--format table|json|dot] [--by service|entity]
 *     policy --service NAME [--namespace NS] [--window D] [--at TIME]
 *     help
 *
 * Assumptions:
 *  - Read-only but for `meta` (meta.c) and `policy` (map.c): stats, flows
 *    and sensors send only HLEN, HGETALL, XRANGE and XREVRANGE, entities,
 *    services and entity (entities.c) also ZREVRANGE and ZSCAN, map also
 *    ZRANGEBYSCORE and HGET; `meta` writes the P:meta:* keys and publishes
 *    on P:meta:updates, `policy` replaces P:policy:<ns>/<service>.
 *  - Redis >= 5.0 (streams), reachable without AUTH, TLS or SELECT; a
 *    NOAUTH reply is reported like any other Redis error (exit 1).
 *  - Every value read from Redis is untrusted: tables never show control
 *    bytes, escape sequences or invalid UTF-8 (they become \xNN / \uNNNN)
 *    and cap cells at 64 columns; JSON output is always valid JSON.
 *  - Work is bounded: hashes above MAX_HASH_FIELDS are refused, streams are
 *    read in chunks of CHUNK entries, each walk stops at the stream's end as
 *    seen when it started and after at most MAX_CHUNKS chunks.
 *  - Exit status: 0 ok, 1 no data or Redis error, 2 usage error or Redis
 *    unreachable.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "json.h"
#include "table.h"
#include "text.h"
#include "vigilctl.h"

#define DEFAULT_REDIS_HOST "127.0.0.1"
#define DEFAULT_REDIS_PORT 6379
#define DEFAULT_PREFIX "vigil"
#define DEFAULT_LIMIT 20
#define CONNECT_TIMEOUT_S 2
#define CHUNK 1000                /* stream entries per XRANGE/XREVRANGE */
#define MAX_CHUNKS 10000000ULL    /* bound of any stream walk */
#define MAX_HASH_FIELDS 100000    /* larger "stats"/"sensors" are refused */
#define RAW_PART_MAX 256          /* bytes of a value kept for a composite cell */

/* One stream entry: its id and its field/value pairs (all strings). */
struct rec {
	const redisReply *id;
	const redisReply *kv;
};

/* ----------------------------------------------------------------------
 * Errors and usage
 */

static const char usage_short[] =
	"usage: vigilctl [--redis HOST:PORT] [--prefix P] [--json] COMMAND [ARGS]\n"
	"Try 'vigilctl help'.\n";

static const char usage_long[] =
	"usage: vigilctl [--redis HOST:PORT] [--prefix P] [--json] COMMAND [ARGS]\n"
	"\n"
	"Shows what vigil wrote to Redis (read-only), and gives vigil the\n"
	"identities of workloads (meta: writes P:meta:*).\n"
	"\n"
	"commands:\n"
	"  stats   [--sensor ID]              counters of the sensor (hash P:stats,\n"
	"                                     or P:stats:ID with --sensor)\n"
	"  flows   [--limit N] [--sensor ID]  the last N flow records of stream\n"
	"                                     P:flows, oldest first (default 20,\n"
	"                                     0 = all); --sensor filters. A flow\n"
	"                                     with application metadata has a\n"
	"                                     second line: the service, then\n"
	"                                     dns: query qtype rcode -> answers\n"
	"                                     http: method host uri status\n"
	"                                     ssl, quic: server_name version ja3\n"
	"                                     (ja4 without one); ssh: both\n"
	"                                     banners; stratum: method worker;\n"
	"                                     error=why inspection stopped.\n"
	"                                     --json has every field\n"
	"  sensors                            the sensors in hash P:sensors\n"
	"  meta push FILE                     identities from a JSON document\n"
	"                                     (FILE, or - for standard input):\n"
	"                                     {\"IP\": {\"pod\": .., \"namespace\": ..,\n"
	"                                     \"image\": .., \"service\": ..,\n"
	"                                     \"labels\": {..}, \"since\": ..}, ..};\n"
	"                                     all checked before one is written\n"
	"  meta set IP FIELD=VALUE...         fields of IP's identity: pod=,\n"
	"                                     namespace=, image=, service=,\n"
	"                                     since=, labels=K=V,K=V,\n"
	"                                     label.KEY=VALUE; the others are\n"
	"                                     kept from its current identity\n"
	"  meta rm IP                         forgets IP's identities\n"
	"  meta show [IP]                     the identity of every IP, or the\n"
	"                                     history of one (P:meta:IP,\n"
	"                                     P:meta:IP:history)\n"
	"  entities [--limit N]               the N entities seen last (P:entities,\n"
	"                                     newest first; default 20, 0 = all):\n"
	"                                     id (pod/NAMESPACE/POD from metadata,\n"
	"                                     else ip/ADDRESS), name, source, times,\n"
	"                                     flows (as client/as server), bytes\n"
	"                                     (out/in), the ports it serves\n"
	"  services [--limit N]               the N services seen last\n"
	"                                     (P:services): ENTITY:PORT/TRANSPORT,\n"
	"                                     application protocols, group, times\n"
	"  entity IP|NAME|ID                  an entity with its services and its\n"
	"                                     edges both ways; an address or a name\n"
	"                                     (pod, service, DNS name) shows every\n"
	"                                     entity that had it\n"
	"  map [--at TIME] [--window D] [--format table|json|dot]\n"
	"      [--by service|entity]          the map of edges as it was at TIME\n"
	"                                     (epoch seconds, RFC 3339 or now;\n"
	"                                     default now) over the buckets of\n"
	"                                     P:map:buckets overlapping\n"
	"                                     [TIME-D, TIME] (D: 300, 5m, 1h, 1d;\n"
	"                                     default: the bucket holding TIME);\n"
	"                                     flows and bytes summed per edge;\n"
	"                                     --by service (default: replicas as\n"
	"                                     one node) or entity (pods); dot:\n"
	"                                     graphviz, for dot -Tsvg\n"
	"  policy --service NAME [--namespace NS] [--window D] [--at TIME]\n"
	"                                     a Kubernetes NetworkPolicy (YAML)\n"
	"                                     allowing exactly the dependencies of\n"
	"                                     the service observed in the window\n"
	"                                     (default: everything kept); also\n"
	"                                     stored in P:policy:NS/NAME\n"
	"  help                               this text\n"
	"\n"
	"options (before or after the command):\n"
	"  --redis HOST:PORT  Redis address; default $VIGIL_REDIS or 127.0.0.1:6379;\n"
	"                     IPv6 as [::1]:6379\n"
	"  --prefix P         key prefix; default $VIGIL_PREFIX or vigil\n"
	"  --json             one JSON object per line instead of a table\n"
	"\n"
	"exit status: 0 ok, 1 no data or Redis error, 2 usage error or Redis\n"
	"unreachable\n";

static void vfail(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static void vfail(const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("vigilctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	exit(code);
}

void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	fputs(usage_short, stderr);
	exit(2);
}

/* Longest value quoted in a message, in columns. */
#define MSG_MAX 200

const char *shown(const char *s, size_t n)
{
	static char slots[4][MSG_MAX * 6 + 8];
	static int next;
	char *cell = text_cell_max(s, n, MSG_MAX);
	char *out = slots[next++ % 4];

	snprintf(out, sizeof(slots[0]), "%s", cell);
	free(cell);
	return out;
}

const char *shown_str(const char *s)
{
	return shown(s, strlen(s));
}

void check_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	if (errno == EPIPE)
		exit(1);
	fail(1, "cannot write to standard output: %s", strerror(errno));
}

/* ----------------------------------------------------------------------
 * Command line
 */

static bool parse_port(const char *s, int *port)
{
	long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

/* Copies n bytes of s as the host; false if empty or too long. */
static bool set_host(struct app *a, const char *s, size_t n)
{
	if (n == 0 || n > MAX_HOST || memchr(s, '\0', n))
		return false;
	memcpy(a->host, s, n);
	a->host[n] = '\0';
	return true;
}

/* "HOST:PORT", "HOST", "[V6]:PORT" or "[V6]"; the port defaults to 6379. */
static bool parse_addr(struct app *a, const char *s)
{
	const char *colon, *port = NULL;

	a->port = DEFAULT_REDIS_PORT;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || !set_host(a, s + 1, (size_t)(close - s - 1)))
			return false;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return false;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			return false; /* bare IPv6: needs brackets */
		if (!set_host(a, s, colon ? (size_t)(colon - s) : strlen(s)))
			return false;
		if (colon)
			port = colon + 1;
	}
	if (port && !parse_port(port, &a->port))
		return false;
	snprintf(a->addr, sizeof(a->addr), strchr(a->host, ':') ?
		 "[%s]:%d" : "%s:%d", a->host, a->port);
	return true;
}

static long long parse_limit(const char *s)
{
	size_t n = strlen(s);
	long long v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The value of option name: inline ("--x=v") or the next argument. */
static const char *opt_value(const char *name, const char *inl, int argc,
			     char **argv, int *i)
{
	if (inl)
		return inl;
	if (*i + 1 >= argc)
		usage_error("option %s needs a value", name);
	return argv[++*i];
}

static void parse_option(struct opts *o, int argc, char **argv, int *i)
{
	char name[32];
	const char *arg = argv[*i], *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *inl = eq ? eq + 1 : NULL;

	if (n >= sizeof(name))
		usage_error("unknown option '%s'", shown_str(arg));
	memcpy(name, arg, n);
	name[n] = '\0';
	if (!strcmp(name, "--json") || !strcmp(name, "--help")) {
		if (inl)
			usage_error("option %s takes no value", name);
		if (name[2] == 'j')
			o->json = true;
		else
			o->cmd = "help";
	} else if (!strcmp(name, "--redis")) {
		o->redis = opt_value(name, inl, argc, argv, i);
		o->redis_from = "--redis";
	} else if (!strcmp(name, "--prefix")) {
		o->prefix = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--sensor")) {
		o->sensor = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--limit")) {
		o->limit_arg = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--at")) {
		o->at = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--window")) {
		o->window = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--format")) {
		o->format = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--by")) {
		o->by = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--service")) {
		o->service = opt_value(name, inl, argc, argv, i);
	} else if (!strcmp(name, "--namespace")) {
		o->namespace = opt_value(name, inl, argc, argv, i);
	} else {
		usage_error("unknown option '%s'", shown_str(arg));
	}
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	bool only_args = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!only_args && !strcmp(arg, "--")) {
			only_args = true;
		} else if (!only_args && !strcmp(arg, "-h")) {
			o->cmd = "help";
		} else if (!only_args && arg[0] == '-' && arg[1] == '-') {
			parse_option(o, argc, argv, &i);
		} else if (!only_args && arg[0] == '-' && arg[1] != '\0') {
			usage_error("unknown option '%s'", shown_str(arg));
		} else if (o->cmd && (!strcmp(o->cmd, "meta") ||
				      !strcmp(o->cmd, "entity"))) {
			if (o->nargs >= MAX_ARGS)
				usage_error("more than %d arguments", MAX_ARGS);
			o->args[o->nargs++] = arg;
		} else if (o->cmd && strcmp(o->cmd, "help") != 0) {
			usage_error("unexpected argument '%s'", shown_str(arg));
		} else if (!o->cmd) {
			o->cmd = arg;
		}
	}
}

/* Fills the defaults from the environment and checks what was given. */
static void check_opts(struct app *a)
{
	struct opts *o = &a->o;
	const char *env;

	if (!o->cmd)
		usage_error("no command given");
	if (strcmp(o->cmd, "stats") && strcmp(o->cmd, "flows") &&
	    strcmp(o->cmd, "sensors") && strcmp(o->cmd, "meta") &&
	    strcmp(o->cmd, "entities") && strcmp(o->cmd, "services") &&
	    strcmp(o->cmd, "entity") && strcmp(o->cmd, "map") &&
	    strcmp(o->cmd, "policy") && strcmp(o->cmd, "help"))
		usage_error("unknown command '%s'", shown_str(o->cmd));
	if ((o->at || o->window) && strcmp(o->cmd, "map") &&
	    strcmp(o->cmd, "policy"))
		usage_error("options --at and --window apply to map and policy "
			    "only");
	if ((o->format || o->by) && strcmp(o->cmd, "map"))
		usage_error("options --format and --by apply to map only");
	if ((o->service || o->namespace) && strcmp(o->cmd, "policy"))
		usage_error("options --service and --namespace apply to policy "
			    "only");
	if (!strcmp(o->cmd, "policy") && !o->service)
		usage_error("policy needs --service NAME");
	if (!strcmp(o->cmd, "policy") && o->json)
		usage_error("policy writes YAML: --json does not apply");
	if (o->limit_arg && strcmp(o->cmd, "flows") &&
	    strcmp(o->cmd, "entities") && strcmp(o->cmd, "services"))
		usage_error("option --limit applies to flows, entities and "
			    "services only");
	if (!strcmp(o->cmd, "entity") && o->nargs != 1)
		usage_error("entity takes one IP, NAME or ID");
	if (o->sensor && strcmp(o->cmd, "flows") && strcmp(o->cmd, "stats"))
		usage_error("option --sensor applies to stats and flows only");
	if (o->sensor && !*o->sensor)
		usage_error("invalid --sensor '': expected a sensor id");
	o->limit = DEFAULT_LIMIT;
	if (o->limit_arg && (o->limit = parse_limit(o->limit_arg)) < 0)
		usage_error("invalid --limit '%s': expected a non-negative integer",
			    shown_str(o->limit_arg));
	env = getenv("VIGIL_PREFIX");
	if (!o->prefix)
		o->prefix = env && *env ? env : DEFAULT_PREFIX;
	if (!*o->prefix)
		usage_error("invalid --prefix '': expected a key prefix");
	env = getenv("VIGIL_REDIS");
	if (!o->redis && env && *env) {
		o->redis = env;
		o->redis_from = "VIGIL_REDIS";
	}
	if (!o->redis) {
		o->redis = DEFAULT_REDIS_HOST ":6379";
		o->redis_from = "default";
	}
	if (!parse_addr(a, o->redis))
		usage_error("invalid Redis address '%s' (%s): expected HOST:PORT, "
			    "IPv6 as [::1]:6379", shown_str(o->redis),
			    o->redis_from);
}

/* ----------------------------------------------------------------------
 * Redis access (read-only)
 */

static void redis_connect(struct app *a)
{
	struct timeval ct = { CONNECT_TIMEOUT_S, 0 };
	struct timeval cmd = { COMMAND_TIMEOUT_S, 0 };

	a->rc = redisConnectWithTimeout(a->host, a->port, ct);
	if (!a->rc)
		fail(2, "cannot connect to Redis at %s: out of memory",
		     shown_str(a->addr));
	if (a->rc->err)
		fail(2, "cannot connect to Redis at %s: %s",
		     shown_str(a->addr), shown_str(a->rc->errstr));
	if (redisSetTimeout(a->rc, cmd) != REDIS_OK)
		fail(2, "cannot connect to Redis at %s: cannot set timeout",
		     shown_str(a->addr));
}

redisReply *redis_cmd(struct app *a, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(a->rc, argc, argv, NULL);

	if (!r && !strcmp(a->rc->errstr, strerror(EAGAIN)))
		fail(1, "Redis %s %s at %s failed: no reply within %d s",
		     argv[0], shown_str(argv[1]), shown_str(a->addr),
		     COMMAND_TIMEOUT_S);
	if (!r)
		fail(1, "Redis %s %s at %s failed: %s", argv[0],
		     shown_str(argv[1]), shown_str(a->addr),
		     shown_str(a->rc->errstr));
	if (r->type == REDIS_REPLY_ERROR)
		fail(1, "Redis %s %s: %s", argv[0], shown_str(argv[1]),
		     shown(r->str, r->len));
	return r;
}

static void bad_reply(const char *cmd, const char *key) __attribute__((noreturn));
static void bad_reply(const char *cmd, const char *key)
{
	fail(1, "unexpected reply from Redis to %s %s", cmd, shown_str(key));
}

/* HGETALL key, or NULL if the hash is missing or empty. */
static redisReply *hash_getall(struct app *a, const char *key)
{
	const char *hlen[] = { "HLEN", key };
	const char *getall[] = { "HGETALL", key };
	redisReply *r = redis_cmd(a, 2, hlen);
	long long n = r->integer;

	if (r->type != REDIS_REPLY_INTEGER)
		bad_reply("HLEN", key);
	freeReplyObject(r);
	if (n == 0)
		return NULL;
	if (n > MAX_HASH_FIELDS)
		fail(1, "hash %s has %lld fields (more than %d): not written by vigil",
		     shown_str(key), n, MAX_HASH_FIELDS);
	r = redis_cmd(a, 2, getall);
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 2)
		bad_reply("HGETALL", key);
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			bad_reply("HGETALL", key);
	if (r->elements == 0) {
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static char *make_key(const char *prefix, const char *suffix, const char *id)
{
	struct buf k = { 0 };

	buf_puts(&k, prefix);
	buf_puts(&k, suffix);
	if (id) {
		buf_putc(&k, ':');
		buf_puts(&k, id);
	}
	return buf_take(&k);
}

/* A hash field and its value, pointing into a reply. */
struct kv {
	const redisReply *k;
	const redisReply *v;
};

static struct kv *hash_pairs(const redisReply *r, size_t *n)
{
	struct kv *p = xmalloc((r->elements / 2) * sizeof(*p));

	for (size_t i = 0; i < r->elements / 2; i++) {
		p[i].k = r->element[2 * i];
		p[i].v = r->element[2 * i + 1];
	}
	*n = r->elements / 2;
	return p;
}

static bool str_eq(const redisReply *s, const char *lit)
{
	return s->len == strlen(lit) && memcmp(s->str, lit, s->len) == 0;
}

static bool str_prefix(const redisReply *s, const char *lit)
{
	return s->len >= strlen(lit) && memcmp(s->str, lit, strlen(lit)) == 0;
}

/* ----------------------------------------------------------------------
 * Sorting: "natural" order, so lcore.2 comes before lcore.10
 */

static int cmp_digits(const unsigned char **pa, const unsigned char **pb,
		      const unsigned char *ea, const unsigned char *eb)
{
	const unsigned char *a = *pa, *b = *pb, *da, *db;

	while (a < ea && *a == '0')
		a++;
	while (b < eb && *b == '0')
		b++;
	for (da = a; da < ea && *da >= '0' && *da <= '9'; da++)
		;
	for (db = b; db < eb && *db >= '0' && *db <= '9'; db++)
		;
	*pa = da;
	*pb = db;
	if (da - a != db - b)
		return da - a < db - b ? -1 : 1;
	return memcmp(a, b, (size_t)(da - a));
}

static int cmp_bytes(const redisReply *x, const redisReply *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->str, y->str, n) : 0;

	if (c || x->len == y->len)
		return c;
	return x->len < y->len ? -1 : 1;
}

static int cmp_natural(const redisReply *x, const redisReply *y)
{
	const unsigned char *a = (const unsigned char *)x->str;
	const unsigned char *b = (const unsigned char *)y->str;
	const unsigned char *ea = a + x->len, *eb = b + y->len;

	while (a < ea && b < eb) {
		int c;

		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			c = cmp_digits(&a, &b, ea, eb);
			if (c)
				return c;
			continue;
		}
		if (*a != *b)
			return *a < *b ? -1 : 1;
		a++, b++;
	}
	if ((a < ea) != (b < eb))
		return a < ea ? 1 : -1;
	return cmp_bytes(x, y); /* equal but for leading zeros */
}

/* Stats groups: plain counters, port., mempool., jemalloc., redis., others
 * with a dot, lcore. */
static int stats_group(const redisReply *k)
{
	static const char *const groups[] = {
		"port.", "mempool.", "jemalloc.", "redis.",
	};

	if (!memchr(k->str, '.', k->len))
		return 0;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		if (str_prefix(k, groups[g]))
			return (int)g + 1;
	return str_prefix(k, "lcore.") ? 6 : 5;
}

static int cmp_stats(const void *pa, const void *pb)
{
	const struct kv *a = pa, *b = pb;
	int ga = stats_group(a->k), gb = stats_group(b->k);

	if (ga != gb)
		return ga < gb ? -1 : 1;
	return cmp_natural(a->k, b->k);
}

static int cmp_keys(const void *pa, const void *pb)
{
	const struct kv *a = pa, *b = pb;

	return cmp_natural(a->k, b->k);
}

/* ----------------------------------------------------------------------
 * stats
 */

static bool is_nonzero_drop(const struct kv *p)
{
	if (!str_prefix(p->k, "drop_") || memchr(p->k->str, '.', p->k->len))
		return false;
	for (size_t i = 0; i < p->v->len; i++)
		if (p->v->str[i] != '0')
			return true;
	return p->v->len == 0;
}

static void stats_json(const struct kv *p, size_t n)
{
	putchar('{');
	for (size_t i = 0; i < n; i++) {
		const redisReply *v = p[i].v;

		if (i)
			putchar(',');
		json_put_string(stdout, p[i].k->str, p[i].k->len);
		putchar(':');
		if (!str_eq(p[i].k, "sensor") && json_is_number(v->str, v->len))
			fwrite(v->str, 1, v->len, stdout);
		else
			json_put_string(stdout, v->str, v->len);
	}
	puts("}");
}

static void table_pair(struct table *t, const struct kv *p)
{
	char *cells[2] = {
		text_cell(p->k->str, p->k->len),
		text_cell(p->v->str, p->v->len),
	};

	table_add(t, cells);
}

static void stats_table(const struct kv *p, size_t n)
{
	static const char *const head[] = { "counter", "value" };
	static const char *const drop_head[] = { "drops (non-zero)", "value" };
	static const bool right[] = { false, true };
	struct table *t = table_new(2, head, right);
	struct table *d = table_new(2, drop_head, right);

	for (size_t i = 0; i < n; i++) {
		table_pair(t, &p[i]);
		if (is_nonzero_drop(&p[i]))
			table_pair(d, &p[i]);
	}
	table_flush(t, stdout);
	if (table_pending(d)) {
		putchar('\n');
		table_flush(d, stdout);
	}
	table_free(t);
	table_free(d);
}

static int cmd_stats(struct app *a)
{
	char *key = make_key(a->o.prefix, ":stats", a->o.sensor);
	redisReply *r = hash_getall(a, key);
	struct kv *p;
	size_t n;

	if (!r) {
		if (a->o.sensor)
			fail(1, "no stats for sensor %s under prefix %s "
			     "(is vigil running?)", shown_str(a->o.sensor),
			     shown_str(a->o.prefix));
		fail(1, "no stats for any sensor under prefix %s "
		     "(is vigil running?)", shown_str(a->o.prefix));
	}
	p = hash_pairs(r, &n);
	qsort(p, n, sizeof(*p), cmp_stats);
	if (a->o.json)
		stats_json(p, n);
	else
		stats_table(p, n);
	free(p);
	freeReplyObject(r);
	free(key);
	return 0;
}

/* ----------------------------------------------------------------------
 * flows: stream entries
 */

static bool rec_from(const redisReply *e, struct rec *r)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[1]->type != REDIS_REPLY_ARRAY ||
	    e->element[1]->elements % 2)
		return false;
	for (size_t i = 0; i < e->element[1]->elements; i++)
		if (e->element[1]->element[i]->type != REDIS_REPLY_STRING)
			return false;
	r->id = e->element[0];
	r->kv = e->element[1];
	return true;
}

/* The first value of field name, or NULL. */
static const redisReply *rec_get(const struct rec *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->kv->elements; i += 2)
		if (str_eq(r->kv->element[i], name))
			return r->kv->element[i + 1];
	return NULL;
}

static bool rec_matches(const struct rec *r, const char *sensor)
{
	const redisReply *s;

	if (!sensor)
		return true;
	s = rec_get(r, "sensor");
	return s && str_eq(s, sensor);
}

/* Fields written as JSON numbers (when they are valid numbers). */
static bool flow_field_numeric(const redisReply *k)
{
	static const char *const suffixes[] = { "_pkts", "_bytes", "_p" };

	if (str_eq(k, "ts") || str_eq(k, "duration") || str_eq(k, "vlan") ||
	    str_eq(k, "status_code"))
		return true;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t n = strlen(suffixes[i]);

		if (k->len > n &&
		    !memcmp(k->str + k->len - n, suffixes[i], n))
			return true;
	}
	return false;
}

/* One JSON line: "id" (the entry id) then every field; a field named "id"
 * is left out so that it cannot pass for the entry id. */
static void flow_json(const struct rec *r)
{
	fputs("{\"id\":", stdout);
	json_put_string(stdout, r->id->str, r->id->len);
	for (size_t i = 0; i + 1 < r->kv->elements; i += 2) {
		const redisReply *k = r->kv->element[i];
		const redisReply *v = r->kv->element[i + 1];

		if (str_eq(k, "id"))
			continue;
		putchar(',');
		json_put_string(stdout, k->str, k->len);
		putchar(':');
		if (flow_field_numeric(k) && json_is_number(v->str, v->len))
			fwrite(v->str, 1, v->len, stdout);
		else
			json_put_string(stdout, v->str, v->len);
	}
	puts("}");
}

/* Appends (at most RAW_PART_MAX bytes of) field name, or "-". */
static void put_part(struct buf *b, const struct rec *r, const char *name)
{
	const redisReply *v = rec_get(r, name);

	if (!v)
		buf_putc(b, '-');
	else
		buf_put(b, v->str, v->len < RAW_PART_MAX ? v->len : RAW_PART_MAX);
}

static char *cell_field(const struct rec *r, const char *name)
{
	const redisReply *v = rec_get(r, name);

	return v ? text_cell(v->str, v->len) : xstrdup("-");
}

static char *cell_ts(const struct rec *r)
{
	const redisReply *v = rec_get(r, "ts");
	char iso[32];

	if (v && text_epoch_iso(v->str, v->len, iso))
		return xstrdup(iso);
	return cell_field(r, "ts");
}

static char *cell_duration(const struct rec *r)
{
	const redisReply *v = rec_get(r, "duration");
	char s[32];

	if (v && text_seconds3(v->str, v->len, s))
		return xstrdup(s);
	return cell_field(r, "duration");
}

/* "h:p", "[h]:p" for IPv6, "h" without a port, "-" without a host. */
static char *cell_endpoint(const struct rec *r, const char *h, const char *p)
{
	const redisReply *hv = rec_get(r, h), *pv = rec_get(r, p);
	bool v6 = hv && memchr(hv->str, ':', hv->len);
	struct buf b = { 0 };
	char *cell;

	if (!hv)
		return xstrdup("-");
	buf_puts(&b, v6 ? "[" : "");
	put_part(&b, r, h);
	buf_puts(&b, v6 ? "]" : "");
	if (pv) {
		buf_putc(&b, ':');
		put_part(&b, r, p);
	}
	cell = text_cell(b.p, b.len);
	buf_free(&b);
	return cell;
}

/* "a/b" with "-" for a missing side; "-" when both are missing. */
static char *cell_pair(const struct rec *r, const char *x, const char *y)
{
	struct buf b = { 0 };
	char *cell;

	if (!rec_get(r, x) && !rec_get(r, y))
		return xstrdup("-");
	put_part(&b, r, x);
	buf_putc(&b, '/');
	put_part(&b, r, y);
	cell = text_cell(b.p, b.len);
	buf_free(&b);
	return cell;
}

static char *cell_bytes(const struct rec *r)
{
	if (rec_get(r, "orig_l2_bytes") || rec_get(r, "resp_l2_bytes"))
		return cell_pair(r, "orig_l2_bytes", "resp_l2_bytes");
	return cell_pair(r, "orig_bytes", "resp_bytes");
}

static char *cell_vlan(const struct rec *r)
{
	return rec_get(r, "vlan") ? cell_field(r, "vlan") : xstrdup("");
}

/* Part of an L7 line: " " then prefix and the (safe, capped) value of
 * field name; nothing when the record has no such field. */
static void l7_part(struct buf *b, const struct rec *r, const char *prefix,
		    const char *name, size_t max)
{
	const redisReply *v = rec_get(r, name);
	char *cell;

	if (!v || v->len == 0)
		return;
	cell = text_cell_max(v->str, v->len, max);
	if (b->len)
		buf_putc(b, ' ');
	buf_puts(b, prefix);
	buf_puts(b, cell);
	free(cell);
}

/* The application metadata of a flow on a line under its row, when it has
 * some: the service and its main fields (README "vigilctl"), every value
 * made safe and capped like a cell. Flows without L7 fields print as
 * before. */
static void l7_note(struct table *t, const struct rec *r)
{
	const redisReply *svc = rec_get(r, "service");
	struct buf b = { 0 };

	if (!svc && !rec_get(r, "l7_error"))
		return;
	buf_puts(&b, "   ");
	l7_part(&b, r, "", "service", 16);
	if (!svc) {
		/* only the reason inspection stopped */
	} else if (str_eq(svc, "dns")) {
		l7_part(&b, r, "", "query", CELL_MAX);
		l7_part(&b, r, "", "qtype_name", 16);
		l7_part(&b, r, "", "rcode_name", 16);
		l7_part(&b, r, "-> ", "answers", CELL_MAX);
	} else if (str_eq(svc, "http")) {
		l7_part(&b, r, "", "method", 16);
		l7_part(&b, r, "", "host", CELL_MAX);
		l7_part(&b, r, "", "uri", CELL_MAX);
		l7_part(&b, r, "", "status_code", 8);
	} else if (str_eq(svc, "ssl") || str_eq(svc, "quic")) {
		l7_part(&b, r, "", "server_name", CELL_MAX);
		l7_part(&b, r, "", "version", 16);
		l7_part(&b, r, "ja3=", "ja3", 40);
		if (!rec_get(r, "ja3"))
			l7_part(&b, r, "ja4=", "ja4", 48);
	} else if (str_eq(svc, "ssh")) {
		l7_part(&b, r, "client=", "ssh_client", CELL_MAX);
		l7_part(&b, r, "server=", "ssh_server", CELL_MAX);
	} else if (str_eq(svc, "stratum")) {
		l7_part(&b, r, "", "stratum_method", 32);
		l7_part(&b, r, "", "stratum_worker", CELL_MAX);
	}
	l7_part(&b, r, "error=", "l7_error", 32);
	table_note(t, buf_take(&b));
}

enum { FLOW_COLS = 11 };

static struct table *flow_table(void)
{
	static const char *const head[FLOW_COLS] = {
		"ts", "uid", "proto", "orig", "resp", "duration", "pkts",
		"bytes", "state", "history", "vlan",
	};
	static const bool right[FLOW_COLS] = {
		false, false, false, false, false, true, true, true, false,
		false, true,
	};

	return table_new(FLOW_COLS, head, right);
}

static void flow_row(struct table *t, const struct rec *r)
{
	char *cells[FLOW_COLS] = {
		cell_ts(r),
		cell_field(r, "uid"),
		cell_field(r, "proto"),
		cell_endpoint(r, "orig_h", "orig_p"),
		cell_endpoint(r, "resp_h", "resp_p"),
		cell_duration(r),
		cell_pair(r, "orig_pkts", "resp_pkts"),
		cell_bytes(r),
		cell_field(r, "conn_state"),
		cell_field(r, "history"),
		cell_vlan(r),
	};

	table_add(t, cells);
	l7_note(t, r);
}

/* Where flow records go: a JSON line each, or rows of a table. */
struct flow_out {
	struct app *a;
	struct table *t;          /* NULL with --json */
	unsigned long long bad;   /* malformed entries skipped */
};

/* Emits entry e if it is well-formed and passes the --sensor filter. */
static void flow_emit(struct flow_out *fo, const redisReply *e)
{
	struct rec r;

	if (!rec_from(e, &r)) {
		fo->bad++;
		return;
	}
	if (!rec_matches(&r, fo->a->o.sensor))
		return;
	if (fo->t)
		flow_row(fo->t, &r);
	else
		flow_json(&r);
}

/* Emits what is pending: a page of the table, or the JSON lines so far. */
static void flow_page(struct flow_out *fo)
{
	if (fo->t)
		table_flush(fo->t, stdout);
	check_stdout();
}

/* ----------------------------------------------------------------------
 * flows: walking the stream in chunks
 */

struct sid {
	uint64_t ms;
	uint64_t seq;
};

static bool parse_u64(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || *v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

static bool sid_parse(const redisReply *id, struct sid *s)
{
	const char *dash = memchr(id->str, '-', id->len);

	return dash &&
	       parse_u64(id->str, (size_t)(dash - id->str), &s->ms) &&
	       parse_u64(dash + 1, id->len - (size_t)(dash - id->str) - 1,
			 &s->seq);
}

/* The id just after (dir > 0) or just before (dir < 0) id, as text in out;
 * false at the end of the id space. This makes each XRANGE start exclusive
 * (and works on Redis 5, which has no "(" ranges). */
static bool sid_step(const redisReply *id, int dir, char out[48])
{
	struct sid s;

	if (!sid_parse(id, &s))
		return false;
	if (dir > 0) {
		if (s.seq == UINT64_MAX && s.ms == UINT64_MAX)
			return false;
		if (s.seq++ == UINT64_MAX)
			s.ms++;
	} else {
		if (s.seq == 0 && s.ms == 0)
			return false;
		if (s.seq-- == 0)
			s.ms--;
	}
	snprintf(out, 48, "%" PRIu64 "-%" PRIu64, s.ms, s.seq);
	return true;
}

static redisReply *stream_range(struct app *a, const char *cmd,
				const char *key, const char *from,
				const char *to, long long count)
{
	char cnt[24];
	const char *argv[] = { cmd, key, from, to, "COUNT", cnt };
	redisReply *r;

	snprintf(cnt, sizeof(cnt), "%lld", count);
	r = redis_cmd(a, 6, argv);
	if (r->type != REDIS_REPLY_ARRAY)
		bad_reply(cmd, key);
	return r;
}

/* The id of the newest entry (copied to out), false if the stream is empty. */
static bool stream_last(struct app *a, const char *key, struct buf *out)
{
	redisReply *r = stream_range(a, "XREVRANGE", key, "+", "-", 1);
	struct rec last;
	bool ok = r->elements == 1 && rec_from(r->element[0], &last);

	if (ok)
		buf_put(out, last.id->str, last.id->len);
	freeReplyObject(r);
	return ok;
}

/* Every entry, oldest first, up to the newest one present at the start. */
static void flows_all(struct flow_out *fo, const char *key)
{
	struct buf end = { 0 };
	char from[48] = "-";

	if (!stream_last(fo->a, key, &end))
		return;
	for (unsigned long long c = 0; c < MAX_CHUNKS; c++) {
		redisReply *r = stream_range(fo->a, "XRANGE", key, from,
					     end.p, CHUNK);
		size_t n = r->elements;
		bool more = n == CHUNK && r->element[n - 1]->type ==
			    REDIS_REPLY_ARRAY && r->element[n - 1]->elements &&
			    !str_eq(r->element[n - 1]->element[0], end.p) &&
			    sid_step(r->element[n - 1]->element[0], 1, from);

		for (size_t i = 0; i < n; i++)
			flow_emit(fo, r->element[i]);
		freeReplyObject(r);
		flow_page(fo);
		if (!more)
			break;
	}
	buf_free(&end);
}

/* A chunk read backwards and how many of its entries (newest first) fall
 * within the last N selected records. */
struct back_chunk {
	redisReply *r;
	size_t used;
};

/* Counts the selected entries of r (newest first) up to want of them;
 * *used gets how many entries that spans. */
static long long chunk_select(struct app *a, const redisReply *r,
			      long long want, size_t *used)
{
	long long got = 0;
	size_t i;

	for (i = 0; i < r->elements && got < want; i++) {
		struct rec rec;

		if (rec_from(r->element[i], &rec) &&
		    rec_matches(&rec, a->o.sensor))
			got++;
	}
	*used = i;
	return got;
}

/* Reads backwards from the newest entry until limit records are selected;
 * returns the chunks holding them (newest chunk first). */
static struct back_chunk *flows_back(struct app *a, const char *key,
				     long long limit, size_t *nchunks)
{
	struct back_chunk *ch = NULL;
	char to[48] = "+";
	long long got = 0;

	*nchunks = 0;
	for (unsigned long long c = 0; c < MAX_CHUNKS && got < limit; c++) {
		long long count = a->o.sensor || limit - got > CHUNK ?
				  CHUNK : limit - got;
		redisReply *r = stream_range(a, "XREVRANGE", key, to, "-", count);
		size_t n = r->elements, used;
		long long sel = chunk_select(a, r, limit - got, &used);
		bool more = (long long)n == count && r->element[n - 1]->type ==
			    REDIS_REPLY_ARRAY && r->element[n - 1]->elements &&
			    sid_step(r->element[n - 1]->element[0], -1, to);

		got += sel;
		if (sel > 0 || (used > 0 && !a->o.sensor)) {
			ch = xrealloc(ch, (*nchunks + 1) * sizeof(*ch));
			ch[(*nchunks)++] = (struct back_chunk){ r, used };
		} else {
			freeReplyObject(r);
		}
		if (!more)
			break;
	}
	return ch;
}

/* The last limit records, oldest first. */
static void flows_last(struct flow_out *fo, const char *key, long long limit)
{
	size_t n;
	struct back_chunk *ch = flows_back(fo->a, key, limit, &n);

	for (size_t c = n; c-- > 0;) {
		for (size_t i = ch[c].used; i-- > 0;)
			flow_emit(fo, ch[c].r->element[i]);
		freeReplyObject(ch[c].r);
	}
	free(ch);
	flow_page(fo);
}

static int cmd_flows(struct app *a)
{
	char *key = make_key(a->o.prefix, ":flows", NULL);
	struct flow_out fo = { a, a->o.json ? NULL : flow_table(), 0 };

	if (a->o.limit == 0)
		flows_all(&fo, key);
	else
		flows_last(&fo, key, a->o.limit);
	flow_page(&fo); /* the header alone when there is nothing */
	if (fo.bad)
		fprintf(stderr, "vigilctl: skipped %llu malformed entries of %s\n",
			fo.bad, shown_str(key));
	table_free(fo.t);
	free(key);
	return 0;
}

/* ----------------------------------------------------------------------
 * sensors
 */

/* A cell for the top-level member name of a sensor's compact JSON. */
static char *sensor_cell(const struct buf *obj, const char *name, bool is_time)
{
	const char *v;
	size_t vn;
	struct buf s = { 0 };
	char iso[32], *cell;

	if (!json_member(obj->p, obj->len, name, &v, &vn) ||
	    (vn == 4 && !memcmp(v, "null", 4)))
		return xstrdup("-");
	if (v[0] == '"')
		json_decode_string(v, vn, &s);
	else
		buf_put(&s, v, vn);
	if (is_time && text_epoch_iso(s.p, s.len, iso))
		cell = xstrdup(iso);
	else
		cell = text_cell(s.p, s.len);
	buf_free(&s);
	return cell;
}

enum { SENSOR_COLS = 7 };

static struct table *sensor_table(void)
{
	static const char *const head[SENSOR_COLS] = {
		"id", "hostname", "version", "mode", "started", "last_seen",
		"note",
	};
	static const bool right[SENSOR_COLS] = { false };

	return table_new(SENSOR_COLS, head, right);
}

/* Validates the value as a JSON object (compact copy in obj). */
static bool sensor_parse(const struct kv *p, struct buf *obj)
{
	buf_put(obj, "", 0);
	return json_compact(p->v->str, p->v->len, obj) && obj->p[0] == '{';
}

static void sensor_row(struct table *t, const struct kv *p)
{
	struct buf obj = { 0 };
	bool ok = sensor_parse(p, &obj);
	char *cells[SENSOR_COLS] = {
		text_cell(p->k->str, p->k->len),
		ok ? sensor_cell(&obj, "hostname", false) : xstrdup("-"),
		ok ? sensor_cell(&obj, "version", false) : xstrdup("-"),
		ok ? sensor_cell(&obj, "mode", false) : xstrdup("-"),
		ok ? sensor_cell(&obj, "started", true) : xstrdup("-"),
		ok ? sensor_cell(&obj, "last_seen", true) : xstrdup("-"),
		xstrdup(ok ? "" : "value is not a JSON object"),
	};

	table_add(t, cells);
	buf_free(&obj);
}

/* The stored object, compacted to one line; or {"id":..,"raw":..}. */
static void sensor_json(const struct kv *p)
{
	struct buf obj = { 0 };

	if (sensor_parse(p, &obj)) {
		fwrite(obj.p, 1, obj.len, stdout);
		putchar('\n');
	} else {
		fputs("{\"id\":", stdout);
		json_put_string(stdout, p->k->str, p->k->len);
		fputs(",\"raw\":", stdout);
		json_put_string(stdout, p->v->str, p->v->len);
		puts("}");
	}
	buf_free(&obj);
}

static int cmd_sensors(struct app *a)
{
	char *key = make_key(a->o.prefix, ":sensors", NULL);
	redisReply *r = hash_getall(a, key);
	struct table *t = a->o.json ? NULL : sensor_table();
	struct kv *p = NULL;
	size_t n = 0;

	if (r) {
		p = hash_pairs(r, &n);
		qsort(p, n, sizeof(*p), cmp_keys);
	}
	for (size_t i = 0; i < n; i++) {
		if (t)
			sensor_row(t, &p[i]);
		else
			sensor_json(&p[i]);
	}
	if (t)
		table_flush(t, stdout);
	table_free(t);
	free(p);
	if (r)
		freeReplyObject(r);
	free(key);
	return 0;
}

/* ----------------------------------------------------------------------
 * main
 */

static int cmd_help(void)
{
	fputs(usage_long, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct app a;
	int rc;

	memset(&a, 0, sizeof(a));
	signal(SIGPIPE, SIG_IGN);
	parse_args(&a.o, argc, argv);
	if (a.o.cmd && !strcmp(a.o.cmd, "help"))
		rc = cmd_help();
	else {
		check_opts(&a);
		if (!strcmp(a.o.cmd, "meta"))
			meta_prepare(&a); /* bad input: exit 2 before Redis */
		redis_connect(&a);
		if (!strcmp(a.o.cmd, "stats"))
			rc = cmd_stats(&a);
		else if (!strcmp(a.o.cmd, "flows"))
			rc = cmd_flows(&a);
		else if (!strcmp(a.o.cmd, "meta"))
			rc = cmd_meta(&a);
		else if (!strcmp(a.o.cmd, "entities"))
			rc = cmd_entities(&a);
		else if (!strcmp(a.o.cmd, "services"))
			rc = cmd_services(&a);
		else if (!strcmp(a.o.cmd, "entity"))
			rc = cmd_entity(&a);
		else if (!strcmp(a.o.cmd, "map"))
			rc = cmd_map(&a);
		else if (!strcmp(a.o.cmd, "policy"))
			rc = cmd_policy(&a);
		else
			rc = cmd_sensors(&a);
		redisFree(a.rc);
	}
	check_stdout();
	return rc;
}
