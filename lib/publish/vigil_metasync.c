/*
 * vigil metasync: identities from Redis, loaded and followed (see
 * vigil_metasync.h).
 *
 * Two connections: `q` for reads (blocking, with redis.command_timeout_ms,
 * pipelined) and `sub` for the subscription (non-blocking: connect, write
 * and read are polled with poll(2) and a zero timeout, so a silent Redis
 * never holds the control thread). Losing either drops both and starts
 * over at most once per redis.retry_ms; a new subscription always starts a
 * full load, since messages may have been missed.
 *
 * Consistency: an address is always read whole (hash and history in one
 * script call, atomic on the server) and replaces what the store had for
 * it. A message about an address is handled by reading it again, so the
 * order of messages does not matter, only that the read comes after the
 * message, which it does (the message is published in the same
 * transaction as the write, and we read after receiving it).
 */
#include "vigil_metasync.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#define ERR_MAX 512
#define LOG_REFUSED_MAX 10 /* refusals logged with their reason */
#define REPLIES_PER_POLL 4096

/*
 * read: KEYS[1] P:meta:<ip>, KEYS[2] P:meta:<ip>:history; ARGV[1] the
 * newest members to return, ARGV[2] the longest value returned. Returns
 * { type of KEYS[1], its field/value pairs, type of KEYS[2], its size,
 * member/score pairs oldest first }. A hash of more than 6 fields comes
 * back as type "hash:fields", one with a value too long as
 * "hash:long"; a member too long as "". The types are Redis's ("none" when
 * absent).
 */
const char vigil_metasync_read_lua[] =
	"local maxn, maxb = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local th = redis.call('TYPE', KEYS[1]).ok\n"
	"local tz = redis.call('TYPE', KEYS[2]).ok\n"
	"local h, z, nz = {}, {}, 0\n"
	"if th == 'hash' then\n"
	"  if redis.call('HLEN', KEYS[1]) > 6 then\n"
	"    th = 'hash:fields'\n"
	"  else\n"
	"    h = redis.call('HGETALL', KEYS[1])\n"
	"    for i = 1, #h do\n"
	"      if #h[i] > maxb then th = 'hash:long'; h = {}; break end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"if tz == 'zset' then\n"
	"  nz = redis.call('ZCARD', KEYS[2])\n"
	"  local r = redis.call('ZRANGE', KEYS[2], -maxn, -1, 'WITHSCORES')\n"
	"  for i = 1, #r, 2 do\n"
	"    if #r[i] <= maxb then z[#z + 1] = r[i] else z[#z + 1] = '' end\n"
	"    z[#z + 1] = r[i + 1]\n"
	"  end\n"
	"end\n"
	"return {th, h, tz, nz, z}\n";

enum sub_state {
	SUB_NONE,	/* not connected */
	SUB_CONNECTING, /* non-blocking connect under way */
	SUB_SENT,	/* SUBSCRIBE sent, not yet confirmed */
	SUB_ON,		/* confirmed: following */
};

struct vigil_metasync {
	const struct vigil_conf *conf;
	struct vigil_counters *ctr;
	struct vigil_meta_store *cur;  /* what lookups use */
	struct vigil_meta_store *next; /* a reload being built, or NULL */
	redisContext *q, *sub;
	enum sub_state sub_state;
	uint64_t next_try_ms;
	bool ever_connected;
	bool down_logged;
	bool loading;
	bool load_pending; /* start one when subscribed */
	char cursor[32];
	char read_sha[41];
	unsigned refused_logged;
	/* addresses to read again: a ring */
	struct vigil_meta_ip *queue;
	uint32_t qhead, qn;
	char pattern[160];   /* SCAN MATCH of P:meta:* */
	char channel[96];    /* P:meta:updates */
	size_t key_prefix;   /* strlen("P:meta:") */
	/* what the load in progress read */
	uint64_t load_ips, load_refused_at;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct vigil_meta_store *
new_store(const struct vigil_conf *c)
{
	return vigil_meta_store_create(c->meta_max_ips, c->meta_max_history);
}

static void
sha1_hex(const char *text, char out[41])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) != 1)
		return;
	for (unsigned i = 0; i < mdlen && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

struct vigil_metasync *
vigil_metasync_create(const struct vigil_conf *c, struct vigil_counters *ctr)
{
	struct vigil_metasync *m = calloc(1, sizeof(*m));
	size_t n = 0;

	if (m == NULL)
		return NULL;
	m->conf = c;
	m->ctr = ctr;
	m->cur = new_store(c);
	m->queue = calloc(VIGIL_METASYNC_QUEUE, sizeof(*m->queue));
	if (m->cur == NULL || m->queue == NULL) {
		vigil_metasync_free(m);
		return NULL;
	}
	/* The prefix is [A-Za-z0-9._:-] (lib/conf): only nothing to escape
	 * in a glob pattern. */
	for (const char *p = c->redis_prefix; *p && n + 2 < sizeof(m->pattern);
	     p++)
		m->pattern[n++] = *p;
	snprintf(m->pattern + n, sizeof(m->pattern) - n, ":meta:*");
	snprintf(m->channel, sizeof(m->channel), "%s:meta:updates",
		 c->redis_prefix);
	m->key_prefix = strlen(c->redis_prefix) + 6;
	sha1_hex(vigil_metasync_read_lua, m->read_sha);
	return m;
}

void
vigil_metasync_free(struct vigil_metasync *m)
{
	if (m == NULL)
		return;
	if (m->q != NULL)
		redisFree(m->q);
	if (m->sub != NULL)
		redisFree(m->sub);
	vigil_meta_store_free(m->cur);
	vigil_meta_store_free(m->next);
	free(m->queue);
	free(m);
}

const struct vigil_meta_store *
vigil_metasync_store(const struct vigil_metasync *m)
{
	return m->cur;
}

void
vigil_metasync_info(const struct vigil_metasync *m,
		    struct vigil_metasync_info *out)
{
	out->connected = m->q != NULL && m->sub != NULL;
	out->subscribed = m->sub_state == SUB_ON;
	out->loading = m->loading;
	out->ips = vigil_meta_store_ips(m->cur);
	out->entries = vigil_meta_store_entries(m->cur);
	out->queued = m->qn;
}

/* ---- refusals ----------------------------------------------------------- */

static void
refuse(struct vigil_metasync *m, const char *what, const char *why)
{
	vigil_ctr_add(m->ctr, VIGIL_CTR_meta_refused, 1);
	if (m->refused_logged < LOG_REFUSED_MAX)
		fprintf(stderr, "vigil: metadata: %s refused: %s%s\n", what, why,
			++m->refused_logged == LOG_REFUSED_MAX
				? " (further refusals are counted in "
				  "meta_refused)"
				: "");
}

/* A name from Redis, safe for a log line: printable ASCII, cut. */
static void
safe_text(const char *s, size_t n, char *out, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (k >= 80) {
			memcpy(out + k, "...", 3);
			k += 3;
			break;
		}
		if (c < 0x20 || c > 0x7e || c == '\\')
			k += (size_t)snprintf(out + k, len - k, "\\x%02x", c);
		else
			out[k++] = (char)c;
	}
	out[k] = '\0';
}

/* ---- connections ---------------------------------------------------------- */

static void
lost(struct vigil_metasync *m, const char *why)
{
	if (!m->down_logged && m->ever_connected)
		fprintf(stderr,
			"vigil: metadata: redis %s:%u lost (%s); the identities "
			"known so far stay in use; retrying every %u ms\n",
			m->conf->redis_host, m->conf->redis_port, why,
			m->conf->redis_retry_ms);
	else if (!m->down_logged)
		fprintf(stderr,
			"vigil: metadata: cannot read identities from redis "
			"%s:%u (%s); flows are named without them until it "
			"answers; retrying every %u ms\n",
			m->conf->redis_host, m->conf->redis_port, why,
			m->conf->redis_retry_ms);
	m->down_logged = true;
	if (m->q != NULL)
		redisFree(m->q);
	if (m->sub != NULL)
		redisFree(m->sub);
	m->q = m->sub = NULL;
	m->sub_state = SUB_NONE;
	m->loading = false;
	vigil_meta_store_free(m->next);
	m->next = NULL;
	m->next_try_ms = mono_ms() + m->conf->redis_retry_ms;
}

static bool
load_script(struct vigil_metasync *m)
{
	redisReply *r = redisCommand(m->q, "SCRIPT LOAD %s",
				     vigil_metasync_read_lua);
	bool ok = r != NULL && r->type == REDIS_REPLY_STRING && r->len == 40 &&
		  memcmp(r->str, m->read_sha, 40) == 0;

	if (r == NULL)
		lost(m, m->q->errstr[0] ? m->q->errstr : "no reply");
	else if (!ok)
		lost(m, r->type == REDIS_REPLY_ERROR ? r->str
						     : "SCRIPT LOAD refused");
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

static bool
connect_both(struct vigil_metasync *m)
{
	struct timeval tv;
	const char *why = NULL;

	if (m->q != NULL)
		return true;
	if (mono_ms() < m->next_try_ms)
		return false;
	tv.tv_sec = m->conf->redis_connect_timeout_ms / 1000;
	tv.tv_usec = (m->conf->redis_connect_timeout_ms % 1000) * 1000;
	m->q = redisConnectWithTimeout(m->conf->redis_host,
				       (int)m->conf->redis_port, tv);
	if (m->q == NULL || m->q->err) {
		why = m->q ? m->q->errstr : "out of memory";
	} else {
		tv.tv_sec = m->conf->redis_command_timeout_ms / 1000;
		tv.tv_usec = (m->conf->redis_command_timeout_ms % 1000) * 1000;
		redisSetTimeout(m->q, tv);
		m->sub = redisConnectNonBlock(m->conf->redis_host,
					      (int)m->conf->redis_port);
		if (m->sub == NULL || m->sub->err)
			why = m->sub ? m->sub->errstr : "out of memory";
	}
	if (why != NULL) {
		char w[160];

		snprintf(w, sizeof(w), "%s", why);
		lost(m, w);
		return false;
	}
	if (!load_script(m))
		return false;
	m->sub_state = SUB_CONNECTING;
	if (m->down_logged)
		fprintf(stderr,
			"vigil: metadata: redis %s:%u answers again; "
			"following %s and reading every identity again\n",
			m->conf->redis_host, m->conf->redis_port, m->channel);
	if (m->ever_connected)
		vigil_ctr_add(m->ctr, VIGIL_CTR_meta_reconnects, 1);
	m->down_logged = false;
	m->ever_connected = true;
	return true;
}

/* poll(2) the subscription socket, without waiting. */
static short
ready(const redisContext *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return p.revents;
}

/* ---- reading an address ---------------------------------------------------- */

/* The address of key name s (n bytes, "P:meta:<ip>" or ":history" after),
 * normalised text in norm; false (and refused) if it names none. */
static bool
key_ip(struct vigil_metasync *m, const char *s, size_t n,
       struct vigil_meta_ip *ip)
{
	char norm[VIGIL_META_IP_MAX + 1], err[ERR_MAX], what[160];
	const char *a = s + m->key_prefix;
	size_t an = n - m->key_prefix;

	if (an > 8 && memcmp(a + an - 8, ":history", 8) == 0)
		an -= 8;
	if (vigil_meta_parse_ip(a, an, ip, norm, err, sizeof(err)) != 0) {
		safe_text(s, n, what, sizeof(what));
		refuse(m, what, "the key does not end in an IPv4 or IPv6 address");
		return false;
	}
	if (strlen(norm) != an || memcmp(norm, a, an) != 0) {
		safe_text(s, n, what, sizeof(what));
		refuse(m, what, "the address is not written as inet_ntop "
				"writes it");
		return false;
	}
	return true;
}

static void
send_read(struct vigil_metasync *m, const struct vigil_meta_ip *ip)
{
	char text[VIGIL_META_IP_MAX + 1], k1[160], k2[176], n1[16], n2[24];
	const char *argv[7] = { "EVALSHA", m->read_sha, "2", k1, k2, n1, n2 };

	vigil_meta_format_ip(ip, text);
	snprintf(k1, sizeof(k1), "%s:meta:%s", m->conf->redis_prefix, text);
	snprintf(k2, sizeof(k2), "%s:history", k1);
	snprintf(n1, sizeof(n1), "%u", m->conf->meta_max_history);
	snprintf(n2, sizeof(n2), "%u", (unsigned)VIGIL_META_JSON_MAX);
	redisAppendCommandArgv(m->q, 7, argv, NULL);
}

static bool
is_str(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING ||
			     r->type == REDIS_REPLY_STATUS);
}

/* Scratch for one address: up to the history bound plus the hash. */
struct idset {
	uint32_t n;
	struct vigil_identity *id; /* [max_history + 1] */
};

/* The identities of one read script reply, validated, into set. */
static void
parse_read(struct vigil_metasync *m, const char *ipt, const redisReply *r,
	   struct idset *set)
{
	char err[ERR_MAX], what[96];
	const redisReply *th, *h, *tz, *z;

	set->n = 0;
	snprintf(what, sizeof(what), "%s:meta:%s", m->conf->redis_prefix, ipt);
	if (r->type == REDIS_REPLY_ERROR) {
		refuse(m, what, r->str);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 ||
	    !is_str(r->element[0]) || r->element[1]->type != REDIS_REPLY_ARRAY ||
	    !is_str(r->element[2]) || r->element[4]->type != REDIS_REPLY_ARRAY) {
		refuse(m, what, "unexpected reply to the read script");
		return;
	}
	th = r->element[0];
	h = r->element[1];
	tz = r->element[2];
	z = r->element[4];
	/* The history, oldest first. */
	if (strcmp(tz->str, "zset") == 0) {
		for (size_t i = 0; i + 1 < z->elements; i += 2) {
			const redisReply *mem = z->element[i], *sc = z->element[i + 1];
			struct vigil_identity *id = &set->id[set->n];
			char since[VIGIL_META_SINCE_TEXT_MAX + 1];
			char hw[112];

			snprintf(hw, sizeof(hw), "%s:history member", what);
			if (!is_str(mem) || !is_str(sc)) {
				refuse(m, hw, "unexpected reply");
				continue;
			}
			if (mem->len == 0) {
				refuse(m, hw, "longer than an identity can be");
				continue;
			}
			if (vigil_meta_parse_json_identity(mem->str, mem->len, id,
							   err, sizeof(err))) {
				refuse(m, hw, err);
				continue;
			}
			vigil_meta_format_since(id->since_us, since);
			if (strtod(since, NULL) != strtod(sc->str, NULL)) {
				refuse(m, hw, "the score differs from the "
					      "identity's since");
				continue;
			}
			if (set->n < m->conf->meta_max_history)
				set->n++;
		}
	} else if (strcmp(tz->str, "none") != 0) {
		char hw[112];

		snprintf(hw, sizeof(hw), "%s:history", what);
		refuse(m, hw, "not a sorted set");
	}
	/* The hash: the current identity. */
	if (strcmp(th->str, "hash") == 0) {
		const char *f[VIGIL_META_HASH_FIELDS], *v[VIGIL_META_HASH_FIELDS];
		size_t fl[VIGIL_META_HASH_FIELDS], vl[VIGIL_META_HASH_FIELDS];
		size_t n = h->elements / 2;
		bool ok = h->elements % 2 == 0 && n <= VIGIL_META_HASH_FIELDS;

		for (size_t i = 0; ok && i < h->elements; i++)
			ok = is_str(h->element[i]);
		if (!ok) {
			refuse(m, what, "unexpected reply");
			return;
		}
		for (size_t i = 0; i < n; i++) {
			f[i] = h->element[2 * i]->str;
			fl[i] = h->element[2 * i]->len;
			v[i] = h->element[2 * i + 1]->str;
			vl[i] = h->element[2 * i + 1]->len;
		}
		if (vigil_meta_parse_hash(f, fl, v, vl, n, &set->id[set->n], err,
					  sizeof(err)) != 0)
			refuse(m, what, err);
		else
			set->n++;
	} else if (strcmp(th->str, "hash:fields") == 0) {
		refuse(m, what, "more than 6 fields");
	} else if (strcmp(th->str, "hash:long") == 0) {
		refuse(m, what, "a value longer than an identity can be");
	} else if (strcmp(th->str, "none") != 0) {
		refuse(m, what, "not a hash");
	}
}

/* The address's identities in st replaced by set's. */
static void
apply(struct vigil_metasync *m, struct vigil_meta_store *st,
      const struct vigil_meta_ip *ip, const char *ipt, const struct idset *set)
{
	char what[96];

	vigil_meta_store_rm(st, ip, true, 0);
	snprintf(what, sizeof(what), "%s:meta:%s", m->conf->redis_prefix, ipt);
	for (uint32_t i = 0; i < set->n; i++) {
		int rc = vigil_meta_store_set(st, ip, &set->id[i]);

		if (rc == VIGIL_META_ERR_IPS_FULL)
			refuse(m, what, "meta.max_ips addresses are known");
		else if (rc == VIGIL_META_ERR_HISTORY_FULL)
			refuse(m, what, "older than meta.max_history "
					"identities kept");
		else if (rc < 0)
			refuse(m, what, "out of memory");
	}
}

/*
 * Reads n addresses (pipelined) and replaces them in the stores: the one in
 * use, and the one a reload builds. False when the connection was lost.
 */
static bool
read_ips(struct vigil_metasync *m, const struct vigil_meta_ip *ips, uint32_t n)
{
	struct idset set;

	if (n == 0)
		return true;
	set.id = malloc(sizeof(*set.id) * ((size_t)m->conf->meta_max_history + 1));
	if (set.id == NULL)
		return true;
	for (uint32_t i = 0; i < n; i++)
		send_read(m, &ips[i]);
	for (uint32_t i = 0; i < n; i++) {
		redisReply *r = NULL;
		char ipt[VIGIL_META_IP_MAX + 1];

		if (redisGetReply(m->q, (void **)&r) != REDIS_OK || r == NULL) {
			free(set.id);
			lost(m, m->q->errstr[0] ? m->q->errstr : "no reply");
			return false;
		}
		vigil_meta_format_ip(&ips[i], ipt);
		if (r->type == REDIS_REPLY_ERROR &&
		    strncmp(r->str, "NOSCRIPT", 8) == 0) {
			/* Someone flushed the scripts: load it again and
			 * read everything again. */
			freeReplyObject(r);
			for (uint32_t k = i + 1; k < n; k++) {
				if (redisGetReply(m->q, (void **)&r) != REDIS_OK) {
					free(set.id);
					lost(m, "no reply");
					return false;
				}
				freeReplyObject(r);
			}
			free(set.id);
			if (!load_script(m))
				return false;
			return read_ips(m, ips, n);
		}
		parse_read(m, ipt, r, &set);
		freeReplyObject(r);
		apply(m, m->cur, &ips[i], ipt, &set);
		if (m->next != NULL)
			apply(m, m->next, &ips[i], ipt, &set);
		vigil_ctr_add(m->ctr, VIGIL_CTR_meta_ips_read, 1);
		if (m->loading)
			m->load_ips++;
	}
	free(set.id);
	return true;
}

/* ---- the load -------------------------------------------------------------- */

static void
start_load(struct vigil_metasync *m)
{
	vigil_meta_store_free(m->next);
	m->next = NULL;
	/* The first load fills the empty store directly; later ones build
	 * a second store, swapped in when complete. */
	if (vigil_meta_store_ips(m->cur) > 0) {
		m->next = new_store(m->conf);
		if (m->next == NULL)
			return;
	}
	snprintf(m->cursor, sizeof(m->cursor), "0");
	m->loading = true;
	m->load_ips = 0;
	m->load_refused_at = vigil_ctr_read(m->ctr, VIGIL_CTR_meta_refused);
}

static int
cmp_ip(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct vigil_meta_ip));
}

/* One SCAN step and the addresses it found. False when the connection
 * was lost. */
static bool
load_step(struct vigil_metasync *m)
{
	struct vigil_meta_ip *ips;
	const char *argv[6] = { "SCAN", m->cursor, "MATCH", m->pattern, "COUNT",
				NULL };
	char count[16];
	redisReply *r;
	uint32_t n = 0, k = 0;
	bool done;

	snprintf(count, sizeof(count), "%u", VIGIL_METASYNC_SCAN_COUNT);
	argv[5] = count;
	r = redisCommandArgv(m->q, 6, argv, NULL);
	if (r == NULL) {
		lost(m, m->q->errstr[0] ? m->q->errstr : "no reply");
		return false;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[0]->len >= sizeof(m->cursor) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		lost(m, "unexpected reply to SCAN");
		return false;
	}
	/* COUNT is a hint: a step may return more keys. */
	ips = malloc(sizeof(*ips) * (r->element[1]->elements + 1));
	if (ips == NULL) {
		freeReplyObject(r);
		return true; /* the same step again at the next poll */
	}
	for (size_t i = 0; i < r->element[1]->elements; i++) {
		const redisReply *e = r->element[1]->element[i];

		if (e->type != REDIS_REPLY_STRING || e->len <= m->key_prefix)
			continue;
		if (key_ip(m, e->str, e->len, &ips[n]))
			n++;
	}
	memcpy(m->cursor, r->element[0]->str, r->element[0]->len);
	m->cursor[r->element[0]->len] = '\0';
	done = strcmp(m->cursor, "0") == 0;
	freeReplyObject(r);
	/* An address has two keys: read it once per step. */
	qsort(ips, n, sizeof(ips[0]), cmp_ip);
	for (uint32_t i = 0; i < n; i++)
		if (k == 0 || memcmp(&ips[i], &ips[k - 1], sizeof(ips[0])) != 0)
			ips[k++] = ips[i];
	if (!read_ips(m, ips, k)) {
		free(ips);
		return false;
	}
	free(ips);
	if (done) {
		uint64_t refused = vigil_ctr_read(m->ctr, VIGIL_CTR_meta_refused) -
				   m->load_refused_at;

		if (m->next != NULL) {
			vigil_meta_store_free(m->cur);
			m->cur = m->next;
			m->next = NULL;
		}
		m->loading = false;
		vigil_ctr_add(m->ctr, VIGIL_CTR_meta_loads, 1);
		fprintf(stderr,
			"vigil: metadata: %" PRIu64 " identities of %u "
			"addresses read from %s (%" PRIu64 " refused); "
			"following %s\n",
			vigil_meta_store_entries(m->cur),
			vigil_meta_store_ips(m->cur), m->pattern, refused,
			m->channel);
	}
	return true;
}

/* ---- the subscription ---------------------------------------------------------- */

static void
enqueue(struct vigil_metasync *m, const struct vigil_meta_ip *ip)
{
	if (m->qn == VIGIL_METASYNC_QUEUE) {
		/* Too many at once: read everything instead. */
		m->qn = 0;
		m->qhead = 0;
		m->load_pending = true;
		return;
	}
	m->queue[(m->qhead + m->qn) % VIGIL_METASYNC_QUEUE] = *ip;
	m->qn++;
}

static void
on_message(struct vigil_metasync *m, const redisReply *r)
{
	const redisReply *kind, *payload;
	struct vigil_meta_ip ip;
	char err[ERR_MAX];

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    !is_str(r->element[0]))
		return;
	kind = r->element[0];
	if (strcmp(kind->str, "subscribe") == 0) {
		m->sub_state = SUB_ON;
		m->load_pending = true;
		return;
	}
	if (strcmp(kind->str, "message") != 0 || !is_str(r->element[2]))
		return;
	payload = r->element[2];
	vigil_ctr_add(m->ctr, VIGIL_CTR_meta_updates, 1);
	if (vigil_meta_parse_update(payload->str, payload->len, &ip, NULL, err,
				    sizeof(err)) < 0) {
		char what[160];

		vigil_ctr_add(m->ctr, VIGIL_CTR_meta_updates_refused, 1);
		if (m->refused_logged < LOG_REFUSED_MAX) {
			m->refused_logged++;
			safe_text(payload->str, payload->len, what, sizeof(what));
			fprintf(stderr,
				"vigil: metadata: message \"%s\" on %s "
				"refused: %s\n",
				what, m->channel, err);
		}
		return;
	}
	enqueue(m, &ip);
}

/* Drive the subscription connection; returns what it handled. False in
 * *ok when it was lost. */
static unsigned
sub_poll(struct vigil_metasync *m, bool *ok)
{
	unsigned did = 0;
	short ev;

	*ok = true;
	if (m->sub_state == SUB_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		const char *argv[2] = { "SUBSCRIBE", m->channel };

		ev = ready(m->sub, POLLOUT);
		if (ev == 0)
			return 0;
		if ((ev & (POLLERR | POLLHUP)) ||
		    getsockopt(m->sub->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0) {
			lost(m, err ? strerror(err) : "connection refused");
			*ok = false;
			return 0;
		}
		redisAppendCommandArgv(m->sub, 2, argv, NULL);
		m->sub_state = SUB_SENT;
		did++;
	}
	/* Output not written yet (SUBSCRIBE). */
	if (m->sub->obuf != NULL && m->sub->obuf[0] != '\0') {
		int done = 0;

		if (redisBufferWrite(m->sub, &done) != REDIS_OK) {
			lost(m, m->sub->errstr);
			*ok = false;
			return did;
		}
	}
	ev = ready(m->sub, POLLIN);
	if (ev & (POLLIN | POLLERR | POLLHUP)) {
		if (redisBufferRead(m->sub) != REDIS_OK) {
			lost(m, m->sub->errstr[0] ? m->sub->errstr
						  : "connection closed");
			*ok = false;
			return did;
		}
		did++;
	}
	for (unsigned i = 0; i < REPLIES_PER_POLL; i++) {
		redisReply *r = NULL;

		if (redisGetReplyFromReader(m->sub, (void **)&r) != REDIS_OK) {
			lost(m, m->sub->errstr);
			*ok = false;
			return did;
		}
		if (r == NULL)
			break;
		on_message(m, r);
		freeReplyObject(r);
		did++;
	}
	return did;
}

unsigned
vigil_metasync_poll(struct vigil_metasync *m)
{
	unsigned did = 0;
	bool ok;

	if (!connect_both(m))
		return 0;
	did += sub_poll(m, &ok);
	if (!ok)
		return did;
	if (m->load_pending && m->sub_state == SUB_ON) {
		m->load_pending = false;
		start_load(m);
	}
	if (m->qn > 0) {
		struct vigil_meta_ip ips[VIGIL_METASYNC_READS_PER_POLL];
		uint32_t n = 0;

		while (m->qn > 0 && n < VIGIL_METASYNC_READS_PER_POLL) {
			ips[n++] = m->queue[m->qhead];
			m->qhead = (m->qhead + 1) % VIGIL_METASYNC_QUEUE;
			m->qn--;
		}
		if (!read_ips(m, ips, n))
			return did;
		did += n;
	}
	if (m->loading) {
		if (!load_step(m))
			return did;
		did++;
	}
	return did;
}

bool
vigil_metasync_load(struct vigil_metasync *m, uint32_t timeout_ms)
{
	uint64_t end = mono_ms() + timeout_ms;
	uint64_t loads = vigil_ctr_read(m->ctr, VIGIL_CTR_meta_loads);

	while (mono_ms() < end) {
		unsigned did = vigil_metasync_poll(m);

		if (vigil_ctr_read(m->ctr, VIGIL_CTR_meta_loads) > loads &&
		    m->qn == 0)
			return true;
		if (m->q == NULL)
			return false; /* unreachable: do not wait */
		if (did == 0) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	return false;
}
