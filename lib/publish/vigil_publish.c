/*
 * vigil publish: Redis writer (see vigil_publish.h).
 *
 * The pipeline keeps, for each command sent and not yet answered, whether
 * it carried a flow record, so that a connection lost mid-pipeline is
 * accounted exactly: every record whose reply never came is counted as
 * undelivered (it may in fact have reached Redis; exactly-once delivery with
 * idempotent ids is a later issue).
 */
#include "vigil_publish.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

/* What a pipelined command carried, for the accounting of a loss. */
enum {
	K_OTHER = 0,
	K_RECORD = 1, /* a flow record (drop_records_undelivered) */
	K_ENTITY = 2, /* an entity merge (drop_entity_undelivered) */
};

struct vigil_pub {
	const struct vigil_conf *conf;
	struct vigil_counters *ctr;
	redisContext *rc;
	uint64_t next_try_ms;
	bool down_logged; /* an outage was reported and not yet its end */
	uint64_t undelivered_at_outage;
	uint64_t reconnects;
	uint64_t errors;
	bool error_logged;
	unsigned npending;
	uint8_t *pending_kind;	 /* [redis.pipeline] K_* */
	struct vigil_l7pub *l7;	 /* NULL when l7.enabled is 0 */
	struct vigil_entity *ent; /* NULL when entity.enabled is 0 */
	struct vigil_metasync *meta;
	unsigned nscripts;
	const char *script[VIGIL_PUB_SCRIPTS];
	bool scripts_loaded; /* on this connection */
	char flows_key[128];
	char maxlen[24];
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct vigil_pub *
vigil_pub_create(const struct vigil_conf *c, struct vigil_counters *ctr)
{
	struct vigil_pub *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->conf = c;
	p->ctr = ctr;
	p->pending_kind = calloc(c->redis_pipeline, 1);
	if (p->pending_kind == NULL) {
		free(p);
		return NULL;
	}
	if (c->l7_enabled) {
		p->l7 = vigil_l7pub_create(c, ctr);
		if (p->l7 == NULL) {
			vigil_pub_free(p);
			return NULL;
		}
	}
	if (c->entity_enabled) {
		char merge[41], trim[41];

		p->ent = vigil_entity_create(c, ctr);
		if (p->ent == NULL ||
		    vigil_pub_script(p, vigil_entity_merge_lua, merge) != 0 ||
		    vigil_pub_script(p, vigil_entity_trim_lua, trim) != 0) {
			vigil_pub_free(p);
			return NULL;
		}
		vigil_entity_set_scripts(p->ent, merge, trim);
	}
	snprintf(p->flows_key, sizeof(p->flows_key), "%s:flows",
		 c->redis_prefix);
	snprintf(p->maxlen, sizeof(p->maxlen), "%u", c->redis_flows_maxlen);
	return p;
}

static void
count_undelivered(struct vigil_pub *p, uint64_t n)
{
	vigil_ctr_add(p->ctr, VIGIL_CTR_drop_records_undelivered, n);
}

static void
count_lost(struct vigil_pub *p, uint8_t kind)
{
	if (kind == K_RECORD)
		count_undelivered(p, 1);
	else if (kind == K_ENTITY)
		vigil_ctr_add(p->ctr, VIGIL_CTR_drop_entity_undelivered, 1);
}

/* The connection failed: drop it, account what was in flight, log once. */
static void
lost(struct vigil_pub *p, const char *why)
{
	uint64_t recs = 0;

	for (unsigned i = 0; i < p->npending; i++) {
		recs += p->pending_kind[i] == K_RECORD;
		if (p->pending_kind[i] == K_ENTITY)
			count_lost(p, K_ENTITY);
	}
	p->npending = 0;
	count_undelivered(p, recs);
	if (!p->down_logged) {
		fprintf(stderr,
			"vigil: redis %s:%u unreachable (%s); retrying every "
			"%u ms, flow records are counted in "
			"drop_records_undelivered until it answers\n",
			p->conf->redis_host, p->conf->redis_port, why,
			p->conf->redis_retry_ms);
		p->down_logged = true;
		p->undelivered_at_outage =
			vigil_ctr_read(p->ctr, VIGIL_CTR_drop_records_undelivered) -
			recs;
	}
	if (p->rc != NULL) {
		redisFree(p->rc);
		p->rc = NULL;
	}
	p->next_try_ms = mono_ms() + p->conf->redis_retry_ms;
}

bool
vigil_pub_connect(struct vigil_pub *p)
{
	struct timeval tv;
	redisContext *rc;
	uint64_t now;

	if (p->rc != NULL)
		return true;
	now = mono_ms();
	if (now < p->next_try_ms)
		return false;
	tv.tv_sec = p->conf->redis_connect_timeout_ms / 1000;
	tv.tv_usec = (p->conf->redis_connect_timeout_ms % 1000) * 1000;
	rc = redisConnectWithTimeout(p->conf->redis_host,
				     (int)p->conf->redis_port, tv);
	if (rc == NULL || rc->err) {
		char why[160];

		snprintf(why, sizeof(why), "%s",
			 rc ? rc->errstr : "out of memory");
		if (rc)
			redisFree(rc);
		lost(p, why);
		return false;
	}
	tv.tv_sec = p->conf->redis_command_timeout_ms / 1000;
	tv.tv_usec = (p->conf->redis_command_timeout_ms % 1000) * 1000;
	redisSetTimeout(rc, tv);
	p->rc = rc;
	p->scripts_loaded = false;
	if (p->down_logged) {
		uint64_t lost_recs =
			vigil_ctr_read(p->ctr,
				       VIGIL_CTR_drop_records_undelivered) -
			p->undelivered_at_outage;

		fprintf(stderr,
			"vigil: redis %s:%u reachable again; %" PRIu64
			" flow records were not delivered during the outage\n",
			p->conf->redis_host, p->conf->redis_port, lost_recs);
		p->down_logged = false;
		p->reconnects++;
	}
	return true;
}

bool
vigil_pub_connected(const struct vigil_pub *p)
{
	return p->rc != NULL;
}

void
vigil_pub_flush(struct vigil_pub *p)
{
	uint64_t ok = 0;

	if (p->npending == 0)
		return;
	if (p->rc == NULL) {
		lost(p, "not connected");
		return;
	}
	for (unsigned i = 0; i < p->npending; i++) {
		redisReply *reply = NULL;

		if (redisGetReply(p->rc, (void **)&reply) != REDIS_OK ||
		    reply == NULL) {
			char why[160];

			snprintf(why, sizeof(why), "%s",
				 p->rc->errstr[0] ? p->rc->errstr : "no reply");
			/* Commands before i were answered. */
			memmove(p->pending_kind, p->pending_kind + i,
				p->npending - i);
			p->npending -= i;
			vigil_ctr_add(p->ctr, VIGIL_CTR_records_published, ok);
			lost(p, why);
			return;
		}
		if (reply->type == REDIS_REPLY_ERROR) {
			/* Scripts flushed under us: load them again before
			 * the next command. */
			if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
				p->scripts_loaded = false;
			p->errors++;
			if (!p->error_logged) {
				fprintf(stderr,
					"vigil: redis refused a write: %.*s "
					"(further refusals are counted in "
					"redis.errors)\n",
					(int)reply->len, reply->str);
				p->error_logged = true;
			}
			count_lost(p, p->pending_kind[i]);
		} else if (p->pending_kind[i] == K_RECORD) {
			ok++;
		}
		freeReplyObject(reply);
	}
	p->npending = 0;
	vigil_ctr_add(p->ctr, VIGIL_CTR_records_published, ok);
}

static void append_len(struct vigil_pub *p, int argc, const char **argv,
		       const size_t *argvlen, uint8_t kind);

/* The registered scripts, before anything else on a new connection. */
static void
load_scripts(struct vigil_pub *p)
{
	p->scripts_loaded = true;
	for (unsigned i = 0; i < p->nscripts && p->rc != NULL; i++) {
		const char *argv[3] = { "SCRIPT", "LOAD", p->script[i] };

		append_len(p, 3, argv, NULL, K_OTHER);
	}
}

static void
append_len(struct vigil_pub *p, int argc, const char **argv,
	   const size_t *argvlen, uint8_t kind)
{
	if (p->rc == NULL && !vigil_pub_connect(p)) {
		count_lost(p, kind);
		return;
	}
	if (!p->scripts_loaded)
		load_scripts(p);
	if (p->rc == NULL) { /* lost while loading them */
		count_lost(p, kind);
		return;
	}
	if (redisAppendCommandArgv(p->rc, argc, argv, argvlen) != REDIS_OK) {
		count_lost(p, kind);
		lost(p, p->rc->errstr);
		return;
	}
	p->pending_kind[p->npending++] = kind;
	if (p->npending == p->conf->redis_pipeline)
		vigil_pub_flush(p);
}

static void
append(struct vigil_pub *p, int argc, const char **argv, bool is_rec)
{
	append_len(p, argc, argv, NULL, is_rec ? K_RECORD : K_OTHER);
}

void
vigil_pub_command(struct vigil_pub *p, int argc, const char **argv,
		  const size_t *argvlen, bool is_entity)
{
	append_len(p, argc, argv, argvlen, is_entity ? K_ENTITY : K_OTHER);
}

int
vigil_pub_script(struct vigil_pub *p, const char *text, char sha[41])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (p->nscripts == VIGIL_PUB_SCRIPTS ||
	    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) != 1)
		return -1;
	for (unsigned i = 0; i < 20 && i < mdlen; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	p->script[p->nscripts++] = text;
	p->scripts_loaded = false;
	return 0;
}

/* ---- the entity stage ---------------------------------------------------- */

static void
emit_entity(void *arg, int argc, const char **argv, const size_t *argvlen)
{
	vigil_pub_command(arg, argc, argv, argvlen, true);
}

void
vigil_pub_entities(struct vigil_pub *p)
{
	if (p->ent != NULL)
		vigil_entity_publish(p->ent, emit_entity, p);
}

void
vigil_pub_entities_tick(struct vigil_pub *p, uint64_t now_us)
{
	if (p->ent != NULL && vigil_entity_due(p->ent, now_us))
		vigil_pub_entities(p);
}

void
vigil_pub_set_meta(struct vigil_pub *p, struct vigil_metasync *m)
{
	p->meta = m;
}

const struct vigil_entity *
vigil_pub_entity_stage(const struct vigil_pub *p)
{
	return p->ent;
}

/* The "service" field of an L7 record, if any. */
static const char *
l7_service(const struct vigil_l7_fields *l7)
{
	for (unsigned i = 0; l7 != NULL && i < l7->n; i++)
		if (strcmp(l7->field[i], "service") == 0)
			return l7->value[i];
	return NULL;
}

void
vigil_pub_flow(struct vigil_pub *p, const struct vigil_flow_rec *r)
{
	struct vigil_flow_fmt fmt;
	const char *argv[6 + 2 * VIGIL_FLOW_FIELDS + 4];
	const struct vigil_l7_fields *l7 = NULL;
	struct vigil_entity_ids ids;
	unsigned n;
	int argc = 0;

	if (p->l7 != NULL) {
		vigil_l7pub_saw(p->l7, vigil_flow_last_us(&r->s));
		l7 = vigil_l7pub_take(p->l7, &r->key, r->s.first_us);
		if (l7 != NULL)
			vigil_ctr_add(p->ctr, VIGIL_CTR_l7_merged, 1);
	}
	n = vigil_flow_format(p->conf->sensor_id, r, l7, &fmt);

	argv[argc++] = "XADD";
	argv[argc++] = p->flows_key;
	argv[argc++] = "MAXLEN";
	argv[argc++] = "~";
	argv[argc++] = p->maxlen;
	argv[argc++] = "*";
	for (unsigned i = 0; i < n; i++) {
		argv[argc++] = fmt.field[i];
		argv[argc++] = fmt.value[i];
	}
	if (p->ent != NULL) {
		const struct vigil_meta_store *st =
			p->meta != NULL ? vigil_metasync_store(p->meta) : NULL;
		const char *app = l7_service(l7);

		if (vigil_entity_flow(p->ent, st, r, app, &ids) ==
		    VIGIL_ENTITY_FULL) {
			vigil_pub_entities(p);
			vigil_entity_flow(p->ent, st, r, app, &ids);
		}
		argv[argc++] = "orig_entity";
		argv[argc++] = ids.orig;
		argv[argc++] = "resp_entity";
		argv[argc++] = ids.resp;
	}
	/* hiredis copies the command into its buffer: l7 may go now. */
	append(p, argc, argv, true);
	vigil_l7pub_release(l7);
}

void
vigil_pub_l7(struct vigil_pub *p, const struct vigil_l7_rec *rec)
{
	if (p->l7 != NULL)
		vigil_l7pub_add(p->l7, rec);
}

unsigned
vigil_pub_l7_expire(struct vigil_pub *p, uint64_t now_us)
{
	return p->l7 != NULL ? vigil_l7pub_expire(p->l7, now_us) : 0;
}

uint32_t
vigil_pub_l7_pending(const struct vigil_pub *p)
{
	return p->l7 != NULL ? vigil_l7pub_count(p->l7) : 0;
}

uint64_t
vigil_pub_l7_pending_bytes(const struct vigil_pub *p)
{
	return p->l7 != NULL ? vigil_l7pub_bytes(p->l7) : 0;
}

void
vigil_pub_hset(struct vigil_pub *p, const char *key, unsigned n,
	       const char *const *fields, const char *const *values)
{
	const char **argv = malloc(sizeof(*argv) * (2 + 2 * (size_t)n));
	int argc = 0;

	if (argv == NULL)
		return;
	argv[argc++] = "HSET";
	argv[argc++] = key;
	for (unsigned i = 0; i < n; i++) {
		argv[argc++] = fields[i];
		argv[argc++] = values[i];
	}
	append(p, argc, argv, false);
	free(argv);
}

uint64_t
vigil_pub_reconnects(const struct vigil_pub *p)
{
	return p->reconnects;
}

uint64_t
vigil_pub_errors(const struct vigil_pub *p)
{
	return p->errors;
}

void
vigil_pub_free(struct vigil_pub *p)
{
	if (p == NULL)
		return;
	if (p->rc != NULL)
		redisFree(p->rc);
	vigil_l7pub_free(p->l7);
	vigil_entity_free(p->ent);
	free(p->pending_kind);
	free(p);
}

/* ---- record formatting ------------------------------------------------ */

const char *
vigil_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case VIGIL_IPPROTO_TCP:
		return "tcp";
	case VIGIL_IPPROTO_UDP:
		return "udp";
	case VIGIL_IPPROTO_ICMP:
	case VIGIL_IPPROTO_ICMPV6:
		return "icmp";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

void
vigil_fmt_ts(uint64_t us, char *out, size_t len)
{
	snprintf(out, len, "%" PRIu64 ".%06" PRIu64, us / 1000000u,
		 us % 1000000u);
}

static bool
icmp_proto(uint8_t proto)
{
	return proto == VIGIL_IPPROTO_ICMP || proto == VIGIL_IPPROTO_ICMPV6;
}

void
vigil_community_id(const struct vigil_flow_rec *r, char *out, size_t len)
{
	const struct vigil_flow_key *k = &r->key;
	unsigned alen = k->family == VIGIL_AF_INET ? 4 : 16;
	unsigned o = vigil_flow_orig_side(&r->s), s = o, d = o ^ 1;
	uint16_t sport = k->port[s], dport = k->port[d];
	uint8_t in[2 + 16 + 16 + 2 + 4], md[EVP_MAX_MD_SIZE];
	unsigned char b64[64];
	unsigned mdlen = 0, n = 0;
	bool ports = k->proto == VIGIL_IPPROTO_TCP ||
		     k->proto == VIGIL_IPPROTO_UDP || k->proto == 132 ||
		     icmp_proto(k->proto);
	/* ICMP: the key's "ports" are the type and its counterpart type, or
	 * the code for types without one, which are not reordered. */
	bool one_way = icmp_proto(k->proto) &&
		       vigil_icmp_counterpart(k->family, (uint8_t)sport) < 0;

	if (!one_way) {
		/* Smaller (address, port) first. */
		int c = memcmp(k->addr[s], k->addr[d], alen);

		if (c > 0 || (c == 0 && sport > dport)) {
			unsigned t = s;
			uint16_t tp = sport;

			s = d;
			d = t;
			sport = dport;
			dport = tp;
		}
	}
	in[n++] = 0; /* seed 0, big endian */
	in[n++] = 0;
	memcpy(in + n, k->addr[s], alen);
	n += alen;
	memcpy(in + n, k->addr[d], alen);
	n += alen;
	in[n++] = k->proto;
	in[n++] = 0;
	if (ports) {
		in[n++] = (uint8_t)(sport >> 8);
		in[n++] = (uint8_t)sport;
		in[n++] = (uint8_t)(dport >> 8);
		in[n++] = (uint8_t)dport;
	}
	if (EVP_Digest(in, n, md, &mdlen, EVP_sha1(), NULL) != 1) {
		snprintf(out, len, "-");
		return;
	}
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(out, len, "1:%s", b64);
}

void
vigil_flow_uid(const char *sensor, const struct vigil_flow_rec *r, char *out,
	       size_t len)
{
	static const char b62[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char uid[19];
	uint64_t hi = 0, lo = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, sensor, strlen(sensor) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, &r->key, sizeof(r->key)) != 1 ||
	    EVP_DigestUpdate(ctx, &r->s.first_us, sizeof(r->s.first_us)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		EVP_MD_CTX_free(ctx);
		snprintf(out, len, "-");
		return;
	}
	EVP_MD_CTX_free(ctx);
	memcpy(&hi, md, 8);
	memcpy(&lo, md + 8, 8);
	uid[0] = 'C';
	/* 17 digits: 11 from one word (62^11 < 2^66, fine modulo), 6 from
	 * the other; the bias is irrelevant for an identifier. */
	for (int i = 1; i <= 11; i++) {
		uid[i] = b62[hi % 62];
		hi /= 62;
	}
	for (int i = 12; i <= 17; i++) {
		uid[i] = b62[lo % 62];
		lo /= 62;
	}
	uid[18] = '\0';
	snprintf(out, len, "%s", uid);
}

/* Append a formatted value to fmt->buf and return it. */
static const char *
put(struct vigil_flow_fmt *f, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const char *
put(struct vigil_flow_fmt *f, size_t *used, const char *fmt, ...)
{
	char *dst = f->buf + *used;
	size_t room = sizeof(f->buf) - *used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return "";
	*used += (size_t)n + 1;
	return dst;
}

unsigned
vigil_flow_format(const char *sensor, const struct vigil_flow_rec *r,
		  const struct vigil_l7_fields *l7, struct vigil_flow_fmt *out)
{
	const struct vigil_flow_state *f = &r->s;
	unsigned o = vigil_flow_orig_side(f), n = 0;
	uint8_t proto = r->key.proto;
	size_t used = 0;
	char tmp[64], pbuf[8];

#define FIELD(name, val)                                                       \
	do {                                                                   \
		out->field[n] = name;                                          \
		out->value[n] = (val);                                         \
		n++;                                                           \
	} while (0)

	FIELD("sensor", sensor);
	vigil_fmt_ts(f->first_us, tmp, sizeof(tmp));
	FIELD("ts", put(out, &used, "%s", tmp));
	vigil_flow_uid(sensor, r, tmp, sizeof(tmp));
	FIELD("uid", put(out, &used, "%s", tmp));
	vigil_community_id(r, tmp, sizeof(tmp));
	FIELD("community_id", put(out, &used, "%s", tmp));
	/* ICMP "ports" are Zeek's: the type, and the counterpart type (echo
	 * 8 <-> 0) or the code. They are the key's. */
	vigil_key_addr_str(&r->key, (int)o, tmp, sizeof(tmp));
	FIELD("orig_h", put(out, &used, "%s", tmp));
	FIELD("orig_p", put(out, &used, "%u", r->key.port[o]));
	vigil_key_addr_str(&r->key, (int)(o ^ 1), tmp, sizeof(tmp));
	FIELD("resp_h", put(out, &used, "%s", tmp));
	FIELD("resp_p", put(out, &used, "%u", r->key.port[o ^ 1]));
	FIELD("proto", put(out, &used, "%s",
			   vigil_proto_name(proto, pbuf, sizeof(pbuf))));
	vigil_fmt_ts(f->last_delta_us, tmp, sizeof(tmp));
	FIELD("duration", put(out, &used, "%s", tmp));
	FIELD("orig_pkts", put(out, &used, "%u", f->pkts[0]));
	FIELD("orig_bytes", put(out, &used, "%" PRIu64,
				vigil_flow_payload(f, proto, 0)));
	FIELD("orig_ip_bytes", put(out, &used, "%" PRIu64,
				   vigil_flow_ip_bytes(f, 0)));
	FIELD("orig_l2_bytes", put(out, &used, "%" PRIu64,
				   vigil_flow_l2_bytes(f, 0)));
	FIELD("resp_pkts", put(out, &used, "%u", f->pkts[1]));
	FIELD("resp_bytes", put(out, &used, "%" PRIu64,
				vigil_flow_payload(f, proto, 1)));
	FIELD("resp_ip_bytes", put(out, &used, "%" PRIu64,
				   vigil_flow_ip_bytes(f, 1)));
	FIELD("resp_l2_bytes", put(out, &used, "%" PRIu64,
				   vigil_flow_l2_bytes(f, 1)));
	FIELD("conn_state", vigil_conn_state(f, proto));
	if (vigil_flow_history(f, tmp, sizeof(tmp)) > 0)
		FIELD("history", put(out, &used, "%s", tmp));
	if (r->key.vlan != 0)
		FIELD("vlan", put(out, &used, "%u", r->key.vlan));
	if (r->tun.type != VIGIL_TUN_NONE) {
		int af = r->tun.family == VIGIL_AF_INET ? AF_INET : AF_INET6;

		FIELD("tunnel", vigil_tunnel_name(r->tun.type));
		FIELD("tunnel_id", put(out, &used, "%u", r->tun.id));
		if (inet_ntop(af, r->tun.src, tmp, sizeof(tmp)) != NULL)
			FIELD("outer_orig_h", put(out, &used, "%s", tmp));
		if (inet_ntop(af, r->tun.dst, tmp, sizeof(tmp)) != NULL)
			FIELD("outer_resp_h", put(out, &used, "%s", tmp));
	}
	if (r->resp_name_len > 0) {
		/* From the wire: escaped the way the L7 fields are. */
		char esc[4 * VIGIL_DNSC_NAME + 1];

		vigil_l7_escape(esc, sizeof(esc), r->resp_name,
				r->resp_name_len);
		FIELD("resp_name", put(out, &used, "%s", esc));
	}
	FIELD("end_reason", vigil_end_reason_name(r->reason));
	for (unsigned i = 0; l7 != NULL && i < l7->n && i < VIGIL_L7_FIELDS;
	     i++)
		FIELD(l7->field[i], l7->value[i]);
#undef FIELD
	return n;
}
