/*
 * meta.c — vigilctl meta: the identities of workloads (pod, namespace,
 * image, service, labels, since), from a CI/CD pipeline into Redis, where
 * vigil follows them, and back out for people.
 *
 *   meta push FILE           a JSON document {"IP": identity, ...}
 *   meta set IP F=V...       some fields of IP's identity
 *   meta rm IP               all of IP's identities
 *   meta show [IP]           every IP's identity, or one IP's history
 *
 * Redis (README.md "Redis schema"; P is the key prefix):
 *   P:meta:<ip>          hash: the current identity of <ip>, the one with
 *                        the latest since: pod, namespace, image, service,
 *                        labels ("k=v,k=v", absent without labels), since
 *                        (epoch seconds "S.UUUUUU", absent without since)
 *   P:meta:<ip>:history  sorted set: every identity of <ip>, scored by
 *                        since (0 without), member the identity as one line
 *                        of canonical JSON (vigil_meta_format_json); one
 *                        member per since, at most HISTORY_MAX (the oldest
 *                        go first, counted in the output)
 *   P:meta:updates       channel: "set <ip>" after a push or set of <ip>,
 *                        "rm <ip>" after an rm
 * <ip> is the address as inet_ntop writes it.
 *
 * Writing: every input is checked with lib/meta before Redis is reached
 * (a push document as a whole: one bad entry and nothing is written; exit
 * 2). The writes of a command are one MULTI/EXEC transaction, pipelined,
 * guarded by WATCH on the keys it reads first (their types, the newest
 * since in each history, and for set the current identity): a concurrent
 * writer makes EXEC fail and the command start over, at most TXN_ATTEMPTS
 * times. The PUBLISHes are inside the transaction, so a subscriber is told
 * only of what was written.
 *
 * Reading: whatever is under P:meta:* is checked again with lib/meta
 * before it is shown; what fails is shown as invalid, with the reason, and
 * never printed raw.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "table.h"
#include "text.h"
#include "vigil_meta.h"
#include "vigilctl.h"

#define HISTORY_MAX 64           /* members kept per P:meta:<ip>:history */
#define SHOW_HISTORY_MAX 1000    /* history members read back by show IP */
#define SHOW_KEYS_MAX 1000000    /* P:meta:* keys listed by show */
#define SCAN_CALLS_MAX 10000000  /* bound of the SCAN walk */
#define HASH_FIELDS_MAX 64       /* a bigger P:meta:<ip> is not read */
#define PIPE_CHUNK 256           /* entries whose commands are in flight */
#define TXN_ATTEMPTS 10          /* set and rm: WATCH conflicts retried */
#define ERR_MAX 1024

/* One identity to write. */
struct mput {
	char ip[VIGIL_META_IP_MAX + 1];
	char score[VIGIL_META_SINCE_TEXT_MAX + 1]; /* since; "0" without */
	char *member;                              /* history member (JSON) */
	bool has_since;
	char *hstr[5];       /* the hash's values: pod .. service, labels */
	char *key, *hkey;    /* P:meta:<ip>, P:meta:<ip>:history */
	bool current;        /* newest since: the hash gets it */
};

static struct {
	const char *sub;
	struct mput *e;
	size_t n, cap;
	/* set: the address and the arguments, checked */
	struct vigil_meta_ip ip;
	char ip_text[VIGIL_META_IP_MAX + 1];
} M;

/* ---- keys ------------------------------------------------------------------ */

static char *key_of(const struct app *a, const char *ip, const char *suffix)
{
	struct buf b = { 0 };

	buf_puts(&b, a->o.prefix);
	buf_puts(&b, ":meta:");
	buf_puts(&b, ip);
	buf_puts(&b, suffix);
	return buf_take(&b);
}

static char *channel(const struct app *a)
{
	return key_of(a, "updates", "");
}

/* ---- entries to write ----------------------------------------------------------- */

static char *dup_n(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void mput_fill(const struct app *a, struct mput *m, const char *ip,
		      const struct vigil_identity *id)
{
	char buf[VIGIL_META_JSON_MAX + 1];
	size_t n;

	memset(m, 0, sizeof(*m));
	snprintf(m->ip, sizeof(m->ip), "%s", ip);
	if (id->has_since)
		vigil_meta_format_since(id->since_us, m->score);
	else
		snprintf(m->score, sizeof(m->score), "0");
	n = vigil_meta_format_json(id, buf, sizeof(buf));
	m->member = dup_n(buf, n);
	m->key = key_of(a, ip, "");
	m->hkey = key_of(a, ip, ":history");
	m->hstr[0] = xstrdup(id->pod);
	m->hstr[1] = xstrdup(id->namespace);
	m->hstr[2] = xstrdup(id->image);
	m->hstr[3] = xstrdup(id->service);
	if (id->n_labels) {
		n = vigil_meta_format_labels(id, buf, sizeof(buf));
		m->hstr[4] = dup_n(buf, n);
	}
	m->has_since = id->has_since;
}

static void mput_free(struct mput *m)
{
	free(m->member);
	free(m->key);
	free(m->hkey);
	for (int i = 0; i < 5; i++)
		free(m->hstr[i]);
}

static struct mput *mput_add(void)
{
	if (M.n == M.cap) {
		M.cap = M.cap ? M.cap * 2 : 64;
		M.e = xrealloc(M.e, M.cap * sizeof(*M.e));
	}
	return &M.e[M.n++];
}

/* ---- pipelined Redis ---------------------------------------------------------------- */

static void io_fail(struct app *a, const char *what) __attribute__((noreturn));
static void io_fail(struct app *a, const char *what)
{
	if (!strcmp(a->rc->errstr, strerror(EAGAIN)))
		fail(1, "Redis %s at %s failed: no reply within %d s", what,
		     shown_str(a->addr), COMMAND_TIMEOUT_S);
	fail(1, "Redis %s at %s failed: %s", what, shown_str(a->addr),
	     shown_str(a->rc->errstr));
}

static void send_argv(struct app *a, int argc, const char **argv)
{
	if (redisAppendCommandArgv(a->rc, argc, argv, NULL) != REDIS_OK)
		io_fail(a, argv[0]);
}

/* Sends the command of the NULL-terminated arguments. */
static void sendv(struct app *a, const char *cmd, ...)
{
	const char *argv[16];
	int argc = 0;
	va_list ap;

	argv[argc++] = cmd;
	va_start(ap, cmd);
	while (argc < 16 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	send_argv(a, argc, argv);
}

/* The next reply; any reply type, errors included. */
static redisReply *reply(struct app *a, const char *what)
{
	void *r = NULL;

	if (redisGetReply(a->rc, &r) != REDIS_OK || !r)
		io_fail(a, what);
	return r;
}

/* The next reply, which must not be an error. */
static redisReply *reply_ok(struct app *a, const char *what, const char *key)
{
	redisReply *r = reply(a, what);

	if (r->type == REDIS_REPLY_ERROR)
		fail(1, "Redis %s %s: %s", what, shown_str(key),
		     shown(r->str, r->len));
	return r;
}

static void discard(struct app *a, const char *what, const char *key)
{
	freeReplyObject(reply_ok(a, what, key));
}

/* Before another attempt of a transaction whose WATCH failed: a short,
 * growing, jittered pause, so that writers racing on one key part. */
static void backoff(int attempt)
{
	struct timespec ts = { 0, (long)(1 + attempt) * 1000000L *
				   (1 + rand() % 4) };

	nanosleep(&ts, NULL);
}

static void unwatch(struct app *a)
{
	sendv(a, "UNWATCH", NULL);
	discard(a, "UNWATCH", "");
}

/* ---- writing -------------------------------------------------------------------------- */

/*
 * One entry, written atomically by Redis (EVALSHA of this script, loaded
 * once): KEYS P:meta:<ip> and its history; ARGV score, member, HISTORY_MAX,
 * channel, message, then the hash's field/value pairs. The hash gets the
 * entry when its since is the newest of the history (an equal since is the
 * same slot, replaced). The types are checked again first: if another
 * client made a key something else since vigilctl looked, nothing of this
 * entry is written ({-1, type, type}). Returns {current 0/1, trimmed}.
 * (The scores compare as doubles made from the same text, so an equal
 * since compares equal.)
 */
static const char write_lua[] =
	"local th = redis.call('TYPE', KEYS[1])['ok']\n"
	"local tz = redis.call('TYPE', KEYS[2])['ok']\n"
	"if (th ~= 'none' and th ~= 'hash') or "
	"(tz ~= 'none' and tz ~= 'zset') then\n"
	"  return {-1, th, tz}\n"
	"end\n"
	"local current = 1\n"
	"local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')\n"
	"if top[2] and tonumber(ARGV[1]) < tonumber(top[2]) then\n"
	"  current = 0\n"
	"end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[2], ARGV[1], ARGV[1])\n"
	"redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])\n"
	"local trimmed = redis.call('ZREMRANGEBYRANK', KEYS[2], 0, "
	"-(tonumber(ARGV[3]) + 1))\n"
	"if current == 1 then\n"
	"  redis.call('DEL', KEYS[1])\n"
	"  redis.call('HSET', KEYS[1], unpack(ARGV, 6))\n"
	"end\n"
	"redis.call('PUBLISH', ARGV[4], ARGV[5])\n"
	"return {current, trimmed}\n";

/* SCRIPT LOAD: the script's SHA-1 into sha. */
static void load_script(struct app *a, char sha[48])
{
	redisReply *r;

	sendv(a, "SCRIPT", "LOAD", write_lua, NULL);
	r = reply_ok(a, "SCRIPT LOAD", "");
	if (r->type != REDIS_REPLY_STRING || r->len >= 48)
		fail(1, "unexpected reply from Redis to SCRIPT LOAD");
	memcpy(sha, r->str, r->len + 1);
	freeReplyObject(r);
}

/* EVALSHA of the script for m. */
static void send_write(struct app *a, const char *sha, const char *chan,
		       const struct mput *m)
{
	static const char *const names[5] = {
		"pod", "namespace", "image", "service", "labels",
	};
	const char *argv[10 + 2 * VIGIL_META_HASH_FIELDS];
	char rank[16], msg[VIGIL_META_IP_MAX + 8];
	int argc = 0;

	snprintf(rank, sizeof(rank), "%d", HISTORY_MAX);
	snprintf(msg, sizeof(msg), "set %s", m->ip);
	argv[argc++] = "EVALSHA";
	argv[argc++] = sha;
	argv[argc++] = "2";
	argv[argc++] = m->key;
	argv[argc++] = m->hkey;
	argv[argc++] = m->score;
	argv[argc++] = m->member;
	argv[argc++] = rank;
	argv[argc++] = chan;
	argv[argc++] = msg;
	for (int i = 0; i < 5; i++)
		if (m->hstr[i]) {
			argv[argc++] = names[i];
			argv[argc++] = m->hstr[i];
		}
	if (m->has_since) {
		argv[argc++] = "since";
		argv[argc++] = m->score;
	}
	send_argv(a, argc, argv);
}

/* TYPE reply r of key is want or "none"; else a refusal (exit 1). */
static void check_type(redisReply *r, const char *key, const char *want)
{
	if (r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_STRING)
		fail(1, "unexpected reply from Redis to TYPE %s", shown_str(key));
	if (strcmp(r->str, "none") && strcmp(r->str, want))
		fail(1, "%s is a %s, not a %s (not written by vigilctl); nothing "
		     "was written", shown_str(key), shown(r->str, r->len), want);
	freeReplyObject(r);
}

/* The keys of every entry are a hash, a sorted set or absent: anything
 * else refuses the whole command before a write. */
static void check_types(struct app *a, struct mput *e, size_t n)
{
	for (size_t i = 0; i < n; i += PIPE_CHUNK) {
		size_t k = n - i < PIPE_CHUNK ? n - i : PIPE_CHUNK;

		for (size_t j = i; j < i + k; j++) {
			sendv(a, "TYPE", e[j].key, NULL);
			sendv(a, "TYPE", e[j].hkey, NULL);
		}
		for (size_t j = i; j < i + k; j++) {
			check_type(reply_ok(a, "TYPE", e[j].key), e[j].key,
				   "hash");
			check_type(reply_ok(a, "TYPE", e[j].hkey), e[j].hkey,
				   "zset");
		}
	}
}

/* What a transaction did. */
struct done {
	size_t current;    /* entries that became the current identity */
	long long trimmed; /* old history members dropped (HISTORY_MAX) */
};

/*
 * Writes e[0..n) in one MULTI/EXEC (pipelined, PIPE_CHUNK entries in
 * flight); false if EXEC was aborted because a WATCHed key changed
 * (nothing was written).
 */
static bool exec_all(struct app *a, struct mput *e, size_t n, struct done *d)
{
	char *chan = channel(a), sha[48];
	size_t lost = 0;
	redisReply *r;

	memset(d, 0, sizeof(*d));
	load_script(a, sha);
	sendv(a, "MULTI", NULL);
	discard(a, "MULTI", "");
	for (size_t i = 0; i < n; i += PIPE_CHUNK) {
		size_t k = n - i < PIPE_CHUNK ? n - i : PIPE_CHUNK;

		for (size_t j = i; j < i + k; j++)
			send_write(a, sha, chan, &e[j]);
		for (size_t j = i; j < i + k; j++) {
			r = reply(a, "EVALSHA");
			if (r->type == REDIS_REPLY_ERROR) {
				/* Refused when queued: EXEC will fail. */
				fail(1, "Redis refused the write of %s: %s; "
				     "nothing was written", e[j].ip,
				     shown(r->str, r->len));
			}
			freeReplyObject(r);
		}
	}
	sendv(a, "EXEC", NULL);
	r = reply(a, "EXEC");
	free(chan);
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return false;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
		fail(1, "Redis EXEC: %s",
		     r->type == REDIS_REPLY_ERROR ? shown(r->str, r->len) :
		     "unexpected reply");
	for (size_t i = 0; i < n; i++) {
		redisReply *x = r->element[i];

		if (x->type == REDIS_REPLY_ERROR)
			fail(1, "Redis failed the write of %s: %s", e[i].ip,
			     shown(x->str, x->len));
		if (x->type != REDIS_REPLY_ARRAY || x->elements < 2 ||
		    x->element[0]->type != REDIS_REPLY_INTEGER ||
		    x->element[1]->type != REDIS_REPLY_INTEGER) {
			lost++;
			continue;
		}
		if (x->element[0]->integer < 0) {
			lost++;
			fprintf(stderr, "vigilctl: %s changed type during the "
				"write: not written\n", e[i].ip);
			continue;
		}
		d->current += x->element[0]->integer == 1;
		d->trimmed += x->element[1]->integer;
	}
	freeReplyObject(r);
	if (lost)
		fail(1, "%zu of %zu identities were not written (keys of "
		     "another type)", lost, n);
	return true;
}

/* ---- push ------------------------------------------------------------------------------- */

/* FILE or standard input ("-"), at most VIGIL_META_DOC_MAX_BYTES. */
static char *read_doc(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	const char *name = strcmp(file, "-") ? file : "standard input";
	size_t cap = 1 << 16, n = 0;
	char *p;

	if (!f)
		fail(2, "cannot read %s: %s", shown_str(name), strerror(errno));
	p = xmalloc(cap);
	for (;;) {
		size_t got;

		if (n == cap) {
			if (cap > VIGIL_META_DOC_MAX_BYTES)
				fail(2, "%s: more than %u bytes; expected a "
				     "document of at most 16 MiB",
				     shown_str(name), VIGIL_META_DOC_MAX_BYTES);
			cap *= 2;
			p = xrealloc(p, cap);
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		fail(2, "cannot read %s: %s", shown_str(name), strerror(errno));
	if (n > VIGIL_META_DOC_MAX_BYTES)
		fail(2, "%s: more than %u bytes; expected a document of at "
		     "most 16 MiB", shown_str(name), VIGIL_META_DOC_MAX_BYTES);
	if (f != stdin)
		fclose(f);
	*len = n;
	return p;
}

static int collect(void *arg, const struct vigil_meta_ip *ip,
		   const char *text, const struct vigil_identity *id)
{
	const struct app *a = arg;

	(void)ip;
	mput_fill(a, mput_add(), text, id);
	return 0;
}

static void prepare_push(struct app *a)
{
	const char *file = a->o.args[1];
	char err[ERR_MAX];
	size_t n;
	char *doc;

	if (a->o.nargs != 2)
		usage_error("meta push takes one FILE (- for standard input)");
	doc = read_doc(file, &n);
	/* Collected as it goes, used only if the whole document is valid. */
	if (vigil_meta_parse_json_doc(doc, n, 0, collect, a, err,
				      sizeof(err)) < 0)
		fail(2, "%s: %s; nothing was written",
		     strcmp(file, "-") ? shown_str(file) : "standard input",
		     err);
	free(doc);
}

static void report(struct app *a, const char *what, const char *ip,
		   size_t n, const struct done *d)
{
	if (a->o.json) {
		printf("{\"%s\":", what);
		if (ip)
			json_put_string(stdout, ip, strlen(ip));
		else
			printf("%zu", n);
		printf(",\"current\":%zu,\"trimmed\":%lld}\n", d->current,
		       d->trimmed);
		return;
	}
	if (ip)
		printf("%s %s", what, ip);
	else
		printf("%s %zu identit%s", what, n, n == 1 ? "y" : "ies");
	printf(" (%zu current", d->current);
	if (d->trimmed)
		printf("; %lld oldest history entr%s dropped beyond %d per IP",
		       d->trimmed, d->trimmed == 1 ? "y" : "ies", HISTORY_MAX);
	printf(")\n");
}

/* No WATCH: each entry is decided and written atomically by the script,
 * and the whole push is one transaction. */
static int cmd_push(struct app *a)
{
	struct done d;

	check_types(a, M.e, M.n);
	if (!exec_all(a, M.e, M.n, &d))
		fail(1, "Redis aborted the transaction; nothing was written");
	report(a, "pushed", NULL, M.n, &d);
	return 0;
}

/* ---- set ----------------------------------------------------------------------------------- */

static void parse_ip_arg(const char *s)
{
	char err[ERR_MAX];

	if (vigil_meta_parse_ip(s, strlen(s), &M.ip, M.ip_text, err,
				sizeof(err)))
		fail(2, "%s", err);
}

/* Applies the FIELD=VALUE arguments to id; false and err on a bad one. */
static bool apply_args(const struct app *a, struct vigil_identity *id,
		       char *err, size_t errlen)
{
	for (int i = 2; i < a->o.nargs; i++) {
		const char *arg = a->o.args[i], *eq = strchr(arg, '=');
		size_t kn = (size_t)(eq - arg);

		if (kn > 6 && !strncmp(arg, "label.", 6)) {
			if (vigil_identity_set_label(id, arg + 6, kn - 6, eq + 1,
						     strlen(eq + 1), err,
						     errlen))
				return false;
		} else if (vigil_identity_set_field(id, arg, kn, eq + 1,
						    strlen(eq + 1), err,
						    errlen)) {
			return false;
		}
	}
	return true;
}

static void prepare_set(struct app *a)
{
	struct vigil_identity *scratch = xmalloc(sizeof(*scratch));
	char err[ERR_MAX];

	if (a->o.nargs < 3)
		usage_error("meta set takes an IP and FIELD=VALUE arguments");
	parse_ip_arg(a->o.args[1]);
	for (int i = 2; i < a->o.nargs; i++) {
		const char *arg = a->o.args[i], *eq = strchr(arg, '=');

		if (!eq || eq == arg)
			usage_error("meta set: '%s' is not FIELD=VALUE",
				    shown_str(arg));
		for (int j = 2; j < i; j++) {
			const char *o = a->o.args[j];

			if (strchr(o, '=') - o == eq - arg &&
			    !strncmp(o, arg, (size_t)(eq - arg)))
				usage_error("meta set: %s given twice",
					    shown(arg, (size_t)(eq - arg)));
		}
	}
	/* Each value checked now, before Redis: exit 2 on a bad one. */
	vigil_identity_init(scratch);
	if (!apply_args(a, scratch, err, sizeof(err)))
		fail(2, "%s; nothing was written", err);
	free(scratch);
}

/* The current identity of the address (P:meta:<ip>) into id; false if
 * there is none or it is invalid (why in err). */
static bool read_current(struct app *a, const char *key,
			 struct vigil_identity *id, char *err, size_t errlen)
{
	const char *f[HASH_FIELDS_MAX], *v[HASH_FIELDS_MAX];
	size_t fl[HASH_FIELDS_MAX], vl[HASH_FIELDS_MAX];
	redisReply *r;
	bool ok;

	sendv(a, "HLEN", key, NULL);
	r = reply(a, "HLEN");
	if (r->type == REDIS_REPLY_ERROR)
		snprintf(err, errlen, "not a hash (%s)", shown(r->str, r->len));
	else if (r->type != REDIS_REPLY_INTEGER)
		snprintf(err, errlen, "unexpected reply");
	else if (r->integer == 0)
		snprintf(err, errlen, "none");
	else if (r->integer > HASH_FIELDS_MAX)
		snprintf(err, errlen, "%lld fields; expected at most %d",
			 r->integer, VIGIL_META_HASH_FIELDS);
	if (r->type != REDIS_REPLY_INTEGER || r->integer == 0 ||
	    r->integer > HASH_FIELDS_MAX) {
		freeReplyObject(r);
		return false;
	}
	freeReplyObject(r);
	sendv(a, "HGETALL", key, NULL);
	r = reply(a, "HGETALL");
	ok = r->type == REDIS_REPLY_ARRAY && r->elements % 2 == 0 &&
	     r->elements / 2 <= HASH_FIELDS_MAX;
	for (size_t i = 0; ok && i < r->elements; i++)
		ok = r->element[i]->type == REDIS_REPLY_STRING;
	if (!ok) {
		snprintf(err, errlen, "unexpected reply");
	} else {
		for (size_t i = 0; i < r->elements / 2; i++) {
			f[i] = r->element[2 * i]->str;
			fl[i] = r->element[2 * i]->len;
			v[i] = r->element[2 * i + 1]->str;
			vl[i] = r->element[2 * i + 1]->len;
		}
		ok = vigil_meta_parse_hash(f, fl, v, vl, r->elements / 2, id,
					   err, errlen) == 0;
	}
	freeReplyObject(r);
	return ok;
}

static int cmd_set(struct app *a)
{
	struct vigil_identity *id = xmalloc(sizeof(*id));
	char *key = key_of(a, M.ip_text, ""), err[ERR_MAX], why[ERR_MAX] = "";
	struct done d;

	for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
		struct mput m;

		sendv(a, "WATCH", key, NULL);
		discard(a, "WATCH", key);
		if (!read_current(a, key, id, why, sizeof(why)))
			vigil_identity_init(id);
		if (!apply_args(a, id, err, sizeof(err)) ||
		    vigil_identity_check(id, err, sizeof(err))) {
			unwatch(a);
			if (!strcmp(why, "none"))
				fail(2, "%s has no identity yet: %s; nothing "
				     "was written", M.ip_text, err);
			fail(2, "the identity of %s in Redis is invalid (%s): "
			     "%s; nothing was written", M.ip_text, why, err);
		}
		mput_fill(a, &m, M.ip_text, id);
		check_types(a, &m, 1);
		if (exec_all(a, &m, 1, &d)) {
			report(a, "set", M.ip_text, 1, &d);
			mput_free(&m);
			free(key);
			free(id);
			return 0;
		}
		mput_free(&m);
		backoff(attempt);
	}
	fail(1, "%s kept changing under another client (%d attempts); "
	     "nothing was written", shown_str(key), TXN_ATTEMPTS);
}

/* ---- rm ---------------------------------------------------------------------------------------- */

static int cmd_rm(struct app *a)
{
	char *key = key_of(a, M.ip_text, ""), *hkey = key_of(a, M.ip_text,
							      ":history");
	char *chan = channel(a), msg[VIGIL_META_IP_MAX + 8];
	redisReply *r;

	snprintf(msg, sizeof(msg), "rm %s", M.ip_text);
	for (int attempt = 0; attempt < TXN_ATTEMPTS; attempt++) {
		long long n;

		sendv(a, "WATCH", key, hkey, NULL);
		discard(a, "WATCH", key);
		sendv(a, "EXISTS", key, hkey, NULL);
		r = reply_ok(a, "EXISTS", key);
		n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
		freeReplyObject(r);
		if (n == 0) {
			unwatch(a);
			fail(1, "no identity for %s under prefix %s",
			     M.ip_text, shown_str(a->o.prefix));
		}
		sendv(a, "MULTI", NULL);
		sendv(a, "DEL", key, hkey, NULL);
		sendv(a, "PUBLISH", chan, msg, NULL);
		sendv(a, "EXEC", NULL);
		discard(a, "MULTI", "");
		discard(a, "DEL", key);
		discard(a, "PUBLISH", chan);
		r = reply_ok(a, "EXEC", key);
		if (r->type == REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			if (a->o.json) {
				fputs("{\"removed\":", stdout);
				json_put_string(stdout, M.ip_text,
						strlen(M.ip_text));
				puts("}");
			} else {
				printf("removed %s\n", M.ip_text);
			}
			free(key);
			free(hkey);
			free(chan);
			return 0;
		}
		freeReplyObject(r);
		backoff(attempt);
	}
	fail(1, "%s kept changing under another client (%d attempts); "
	     "nothing was removed", shown_str(key), TXN_ATTEMPTS);
}

/* ---- show ----------------------------------------------------------------------------------------- */

enum { META_COLS = 8 };

static struct table *meta_table(void)
{
	static const char *const head[META_COLS] = {
		"ip", "since", "pod", "namespace", "image", "service",
		"labels", "note",
	};
	static const bool right[META_COLS] = { false };

	return table_new(META_COLS, head, right);
}

/* A row of a valid identity: a table row, or a JSON line with extra
 * members (e.g. ,"current":true) before the closing brace. */
static void show_identity(struct table *t, const char *ip,
			  const struct vigil_identity *id, const char *note,
			  const char *extra_json)
{
	char since[VIGIL_META_SINCE_TEXT_MAX + 1], iso[32];
	char buf[VIGIL_META_JSON_MAX + 1];
	size_t n;

	if (!t) {
		n = vigil_meta_format_json(id, buf, sizeof(buf));
		fputs("{\"ip\":", stdout);
		json_put_string(stdout, ip, strlen(ip));
		putchar(',');
		fwrite(buf + 1, 1, n - 2, stdout); /* without { and } */
		fputs(extra_json, stdout);
		puts("}");
		return;
	}
	vigil_meta_format_since(id->since_us, since);
	n = vigil_meta_format_labels(id, buf, sizeof(buf));
	{
		char *cells[META_COLS] = {
			text_cell(ip, strlen(ip)),
			xstrdup(id->has_since &&
				text_epoch_iso(since, strlen(since), iso) ?
				iso : "-"),
			text_cell(id->pod, strlen(id->pod)),
			text_cell(id->namespace, strlen(id->namespace)),
			text_cell(id->image, strlen(id->image)),
			text_cell(id->service, strlen(id->service)),
			n ? text_cell(buf, n) : xstrdup("-"),
			xstrdup(note),
		};

		table_add(t, cells);
	}
}

/* A row of what did not pass: the raw name shown safely, the reason. */
static void show_invalid(struct table *t, const char *ip, size_t ipn,
			 const char *source, const char *why)
{
	struct buf line = { 0 };
	char *msg;

	if (!t) {
		fputs("{\"ip\":", stdout);
		json_put_string(stdout, ip, ipn);
		fputs(",\"source\":", stdout);
		json_put_string(stdout, source, strlen(source));
		fputs(",\"invalid\":", stdout);
		json_put_string(stdout, why, strlen(why));
		puts("}");
		return;
	}
	{
		char *cells[META_COLS] = {
			text_cell(ip, ipn), xstrdup("-"), xstrdup("-"),
			xstrdup("-"), xstrdup("-"), xstrdup("-"), xstrdup("-"),
			xstrdup("invalid"),
		};

		table_add(t, cells);
	}
	msg = text_cell_max(why, strlen(why), 400);
	buf_puts(&line, "   invalid ");
	buf_puts(&line, source);
	buf_puts(&line, ": ");
	buf_puts(&line, msg);
	free(msg);
	table_note(t, buf_take(&line));
}

/* A P:meta:* key found by SCAN: the address it names, if any. */
struct mkey {
	char *key;
	size_t len;
	const char *suffix; /* after "P:meta:" */
	bool history;       /* ends in ":history" */
	bool ip_ok;
	struct vigil_meta_ip ip;
};

static int cmp_mkey(const void *pa, const void *pb)
{
	const struct mkey *x = pa, *y = pb;
	int c;

	if (x->ip_ok != y->ip_ok)
		return x->ip_ok ? -1 : 1;
	if (x->ip_ok) {
		c = memcmp(&x->ip, &y->ip, sizeof(x->ip));
		if (c)
			return c;
	}
	c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The SCAN pattern of P:meta:* with P's glob characters escaped. */
static char *scan_pattern(const struct app *a)
{
	struct buf b = { 0 };

	for (const char *p = a->o.prefix; *p; p++) {
		if (strchr("*?[]\\", *p))
			buf_putc(&b, '\\');
		buf_putc(&b, *p);
	}
	buf_puts(&b, ":meta:*");
	return buf_take(&b);
}

static struct mkey *scan_keys(struct app *a, size_t *nkeys)
{
	char *pat = scan_pattern(a), cursor[32] = "0";
	size_t plen = strlen(a->o.prefix) + 6, n = 0, cap = 0;
	struct mkey *k = NULL;

	for (unsigned long calls = 0; calls < SCAN_CALLS_MAX; calls++) {
		redisReply *r;

		sendv(a, "SCAN", cursor, "MATCH", pat, "COUNT", "1000", NULL);
		r = reply_ok(a, "SCAN", pat);
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[0]->len >= sizeof(cursor) ||
		    r->element[1]->type != REDIS_REPLY_ARRAY)
			fail(1, "unexpected reply from Redis to SCAN");
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			redisReply *e = r->element[1]->element[i];
			struct mkey *m;
			size_t sl;

			if (e->type != REDIS_REPLY_STRING || e->len < plen)
				continue;
			if (n >= SHOW_KEYS_MAX)
				fail(1, "more than %d keys match %s", SHOW_KEYS_MAX,
				     shown_str(pat));
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				k = xrealloc(k, cap * sizeof(*k));
			}
			m = &k[n++];
			m->key = dup_n(e->str, e->len);
			m->len = e->len;
			m->suffix = m->key + plen;
			sl = e->len - plen;
			m->history = sl > 8 &&
				     !memcmp(m->suffix + sl - 8, ":history", 8);
			if (m->history)
				sl -= 8;
			m->ip_ok = vigil_meta_parse_ip(m->suffix, sl, &m->ip,
						       NULL, NULL, 0) == 0;
		}
		memcpy(cursor, r->element[0]->str, r->element[0]->len);
		cursor[r->element[0]->len] = '\0';
		freeReplyObject(r);
		if (!strcmp(cursor, "0"))
			break;
	}
	free(pat);
	qsort(k, n, sizeof(*k), cmp_mkey);
	*nkeys = n;
	return k;
}

/* Every P:meta:<ip> hash, by address; keys that name no address too. */
static int show_all(struct app *a)
{
	struct table *t = a->o.json ? NULL : meta_table();
	struct vigil_identity *id = xmalloc(sizeof(*id));
	size_t n, shown_rows = 0;
	struct mkey *k = scan_keys(a, &n);

	for (size_t i = 0; i < n; i++) {
		char err[ERR_MAX], text[VIGIL_META_IP_MAX + 1];

		if (i && k[i].len == k[i - 1].len &&
		    !memcmp(k[i].key, k[i - 1].key, k[i].len))
			continue; /* SCAN may return a key twice */
		if (k[i].ip_ok && k[i].history)
			continue; /* shown by show IP */
		if (!k[i].ip_ok) {
			show_invalid(t, k[i].suffix, strlen(k[i].suffix), "key",
				     "the key does not end in an IPv4 or IPv6 "
				     "address");
		} else if (read_current(a, k[i].key, id, err, sizeof(err))) {
			vigil_meta_format_ip(&k[i].ip, text);
			show_identity(t, text, id, strcmp(text, k[i].suffix) ?
				      "key not normalised" : "", "");
		} else {
			show_invalid(t, k[i].suffix, strlen(k[i].suffix), "hash",
				     err);
		}
		if (++shown_rows % 1000 == 0) {
			if (t)
				table_flush(t, stdout);
			check_stdout();
		}
	}
	if (t)
		table_flush(t, stdout);
	table_free(t);
	for (size_t i = 0; i < n; i++)
		free(k[i].key);
	free(k);
	free(id);
	return 0;
}

/* One address: its history, oldest first, the current one marked; the
 * hash alone when it is not in the history. */
static int show_one(struct app *a)
{
	char *key = key_of(a, M.ip_text, ""), *hkey = key_of(a, M.ip_text,
							      ":history");
	struct vigil_identity *cur = xmalloc(sizeof(*cur));
	struct vigil_identity *id = xmalloc(sizeof(*id));
	struct table *t = a->o.json ? NULL : meta_table();
	char cur_json[VIGIL_META_JSON_MAX + 1], json[VIGIL_META_JSON_MAX + 1];
	char err[ERR_MAX], from[24];
	bool have_cur, cur_shown = false, any;
	redisReply *r;
	long long count;

	have_cur = read_current(a, key, cur, err, sizeof(err));
	if (have_cur)
		vigil_meta_format_json(cur, cur_json, sizeof(cur_json));
	any = have_cur || strcmp(err, "none");
	sendv(a, "ZCARD", hkey, NULL);
	r = reply(a, "ZCARD");
	count = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	if (r->type == REDIS_REPLY_ERROR) {
		show_invalid(t, M.ip_text, strlen(M.ip_text), "history",
			     "not a sorted set");
		any = true;
	}
	freeReplyObject(r);
	if (count > SHOW_HISTORY_MAX)
		fprintf(stderr, "vigilctl: %s has %lld entries; the newest %d "
			"are shown\n", shown_str(hkey), count,
			SHOW_HISTORY_MAX);
	snprintf(from, sizeof(from), "%d", -SHOW_HISTORY_MAX);
	if (count > 0) {
		sendv(a, "ZRANGE", hkey, from, "-1", "WITHSCORES", NULL);
		r = reply_ok(a, "ZRANGE", hkey);
		for (size_t i = 0; r->type == REDIS_REPLY_ARRAY &&
				   i + 1 < r->elements; i += 2) {
			const redisReply *mem = r->element[i];
			const redisReply *sc = r->element[i + 1];
			char since[VIGIL_META_SINCE_TEXT_MAX + 1];
			bool is_cur;

			any = true;
			if (mem->type != REDIS_REPLY_STRING ||
			    sc->type != REDIS_REPLY_STRING) {
				show_invalid(t, M.ip_text, strlen(M.ip_text),
					     "history", "unexpected reply");
				continue;
			}
			if (vigil_meta_parse_json_identity(mem->str, mem->len, id,
							   err, sizeof(err))) {
				show_invalid(t, M.ip_text, strlen(M.ip_text),
					     "history", err);
				continue;
			}
			vigil_meta_format_since(id->since_us, since);
			vigil_meta_format_json(id, json, sizeof(json));
			is_cur = have_cur && !strcmp(json, cur_json);
			cur_shown |= is_cur;
			if (strtod(since, NULL) != strtod(sc->str, NULL)) {
				show_invalid(t, M.ip_text, strlen(M.ip_text),
					     "history", "the score differs from "
					     "the identity's since");
				continue;
			}
			show_identity(t, M.ip_text, id, is_cur ? "current" : "",
				      is_cur ? ",\"current\":true" :
				      ",\"current\":false");
		}
		freeReplyObject(r);
	}
	if (have_cur && !cur_shown)
		show_identity(t, M.ip_text, cur, "current, not in history",
			      ",\"current\":true");
	else if (!have_cur && strcmp(err, "none"))
		show_invalid(t, M.ip_text, strlen(M.ip_text), "hash", err);
	if (!any)
		fail(1, "no identity for %s under prefix %s", M.ip_text,
		     shown_str(a->o.prefix));
	if (t)
		table_flush(t, stdout);
	table_free(t);
	free(cur);
	free(id);
	free(key);
	free(hkey);
	return 0;
}

/* ---- entry points -------------------------------------------------------------------------------------- */

void meta_prepare(struct app *a)
{
	const char *sub = a->o.nargs ? a->o.args[0] : NULL;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	srand((unsigned)ts.tv_nsec ^ (unsigned)getpid());
	M.sub = sub;
	if (!sub)
		usage_error("meta needs a command: push, set, rm or show");
	if (!strcmp(sub, "push")) {
		prepare_push(a);
	} else if (!strcmp(sub, "set")) {
		prepare_set(a);
	} else if (!strcmp(sub, "rm")) {
		if (a->o.nargs != 2)
			usage_error("meta rm takes one IP");
		parse_ip_arg(a->o.args[1]);
	} else if (!strcmp(sub, "show")) {
		if (a->o.nargs > 2)
			usage_error("meta show takes at most one IP");
		if (a->o.nargs == 2)
			parse_ip_arg(a->o.args[1]);
	} else {
		usage_error("unknown meta command '%s': expected push, set, rm "
			    "or show", shown_str(sub));
	}
}

int cmd_meta(struct app *a)
{
	int rc;

	if (!strcmp(M.sub, "push"))
		rc = cmd_push(a);
	else if (!strcmp(M.sub, "set"))
		rc = cmd_set(a);
	else if (!strcmp(M.sub, "rm"))
		rc = cmd_rm(a);
	else if (a->o.nargs == 2)
		rc = show_one(a);
	else
		rc = show_all(a);
	for (size_t i = 0; i < M.n; i++)
		mput_free(&M.e[i]);
	free(M.e);
	return rc;
}
