/*
 * vigil l7pub: formatting of L7 records and the pending store (see
 * vigil_l7pub.h).
 *
 * The store is a chained hash table (power-of-two buckets, doubled when
 * the entries outnumber them, never beyond what l7.pending_max needs) plus
 * a doubly linked list in arrival order for ageing. Arrival order is also
 * the order of the store's clock, which never goes back, so the oldest
 * entries are always at the head and ageing stops at the first young one.
 */
#include "vigil_l7pub.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "vigil_dns.h"
#include "vigil_http.h"
#include "vigil_l7.h"
#include "vigil_quic.h"
#include "vigil_ssh.h"
#include "vigil_stratum.h"
#include "vigil_tls.h"

/* ---- formatting ------------------------------------------------------- */

struct fmt_ctx {
	struct vigil_l7_fmt *out;
	size_t used;
};

/* Start a value in the buffer: where it goes and the room left (0 when
 * the buffer is full or the field table is). */
static char *
val_begin(struct fmt_ctx *c, size_t *room)
{
	if (c->out->f.n >= VIGIL_L7_FIELDS || c->used >= sizeof(c->out->buf)) {
		*room = 0;
		return NULL;
	}
	*room = sizeof(c->out->buf) - c->used;
	return c->out->buf + c->used;
}

/* Finish a value of len characters (NUL already written) as field name;
 * an empty value is left out. */
static void
val_end(struct fmt_ctx *c, const char *name, char *v, size_t len)
{
	if (v == NULL || len == 0)
		return;
	c->out->f.field[c->out->f.n] = name;
	c->out->f.value[c->out->f.n] = v;
	c->out->f.n++;
	c->used += len + 1;
}

static void
put_fmt(struct fmt_ctx *c, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
put_fmt(struct fmt_ctx *c, const char *name, const char *fmt, ...)
{
	size_t room;
	char *v = val_begin(c, &room);
	va_list ap;
	int n;

	if (v == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(v, room, fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= room)
		return;
	val_end(c, name, v, (size_t)n);
}

/* Bytes from the wire, escaped (vigil_l7_escape). */
static void
put_wire(struct fmt_ctx *c, const char *name, const char *s, size_t len)
{
	size_t room;
	char *v = val_begin(c, &room);

	if (v == NULL || len == 0)
		return;
	val_end(c, name, v, vigil_l7_escape(v, room, s, len));
}
#define PUT_STR(c, name, str) put_wire((c), (name), (str).s, (str).len)

/* Append src (NUL-terminated, printable) to a list being built at dst
 * (len characters so far, room in all): a ',' separates elements, and a
 * ',' inside one is written "\x2c" (Zeek's set and vector separator). */
static size_t
list_add(char *dst, size_t len, size_t room, const char *src)
{
	size_t need = len > 0 ? 1 : 0;

	for (const char *p = src; *p; p++)
		need += *p == ',' ? 4 : 1;
	if (len + need + 1 > room)
		return len; /* left out whole rather than cut */
	if (len > 0)
		dst[len++] = ',';
	for (const char *p = src; *p; p++) {
		if (*p == ',') {
			memcpy(dst + len, "\\x2c", 4);
			len += 4;
		} else {
			dst[len++] = *p;
		}
	}
	dst[len] = '\0';
	return len;
}

static void
fmt_dns(struct fmt_ctx *c, const struct vigil_l7_rec *r)
{
	const struct vigil_dns_msg *d = &r->u.dns;
	bool response = (r->have & VIGIL_L7R_SERVER) && d->qr;
	char nbuf[16], text[VIGIL_DNS_NAME_MAX * 4 + 1];
	size_t room, len;
	char *v;

	if (d->has_query) {
		PUT_STR(c, "query", d->query);
		put_fmt(c, "qtype_name", "%s",
			vigil_dns_qtype_name(d->qtype, nbuf));
	}
	if (!response)
		return;
	put_fmt(c, "rcode_name", "%s", vigil_dns_rcode_name(d->rcode, nbuf));
	if (d->n_answers == 0)
		return;
	v = val_begin(c, &room);
	len = 0;
	for (unsigned i = 0; v && i < d->n_answers && i < VIGIL_DNS_ANSWERS_MAX;
	     i++) {
		vigil_dns_answer_text(&d->answers[i], text, sizeof(text));
		len = list_add(v, len, room, text);
	}
	val_end(c, "answers", v, len);
	v = val_begin(c, &room);
	len = 0;
	for (unsigned i = 0; v && i < d->n_answers && i < VIGIL_DNS_ANSWERS_MAX;
	     i++) {
		snprintf(text, sizeof(text), "%" PRIu32, d->answers[i].ttl);
		len = list_add(v, len, room, text);
	}
	val_end(c, "TTLs", v, len);
}

/*
 * HTTP, TLS, SSH, Stratum: a parser that stops before the end of its
 * message (a header block or a certificate chain longer than the buffer,
 * the flow ending) has already set what it read, and the record starts
 * zeroed, so what is there is written whether or not `have` says the side
 * was parsed to the end. DNS is copied whole, or (a message cut after its
 * question) with its query only; the response's fields need `have`.
 */
static void
fmt_http(struct fmt_ctx *c, const struct vigil_l7_rec *r)
{
	const struct vigil_http_req *q = &r->u.http.req;
	const struct vigil_http_resp *s = &r->u.http.resp;

	PUT_STR(c, "method", q->method);
	PUT_STR(c, "host", q->host);
	PUT_STR(c, "uri", q->uri);
	PUT_STR(c, "user_agent", q->user_agent);
	if (s->status_code != 0)
		put_fmt(c, "status_code", "%u", s->status_code);
}

/* Zeek writes unknown versions and ciphers as "unknown-N" (decimal). */
static void
fmt_tls(struct fmt_ctx *c, const struct vigil_l7_rec *r)
{
	const struct vigil_tls_client_hello *ch = &r->u.tls.ch;
	const struct vigil_tls_server_hello *sh = &r->u.tls.sh;
	bool server = sh->has_server_hello;
	const char *name;

	if (server) {
		name = vigil_tls_version_name(sh->version);
		if (name != NULL)
			put_fmt(c, "version", "%s", name);
		else
			put_fmt(c, "version", "unknown-%u", sh->version);
	}
	PUT_STR(c, "server_name", ch->server_name);
	if (server) {
		PUT_STR(c, "next_protocol", sh->alpn);
		name = vigil_tls_cipher_name(sh->cipher);
		if (name != NULL)
			put_fmt(c, "cipher", "%s", name);
		else
			put_fmt(c, "cipher", "unknown-%u", sh->cipher);
	}
	/* The fingerprints are hex digits the parser computed; escaped all
	 * the same, as every string of the record is. */
	put_wire(c, "ja3", ch->ja3, strnlen(ch->ja3, sizeof(ch->ja3)));
	if (server)
		put_wire(c, "ja3s", sh->ja3s,
			 strnlen(sh->ja3s, sizeof(sh->ja3s)));
	put_wire(c, "ja4", ch->ja4, strnlen(ch->ja4, sizeof(ch->ja4)));
	if (server && sh->has_cert) {
		PUT_STR(c, "subject", sh->subject);
		PUT_STR(c, "issuer", sh->issuer);
	}
}

/* Zeek's quic.log version: "1", "quicv2", "draft-29", else the number in
 * hex. */
static void
fmt_quic(struct fmt_ctx *c, const struct vigil_l7_rec *r)
{
	const struct vigil_tls_client_hello *ch = &r->u.tls.ch;
	uint32_t ver = r->u.tls.quic_version;

	if (ver != 0) {
		const char *name = vigil_quic_version_name(ver);

		if (name != NULL)
			put_fmt(c, "version", "%s", name);
		else
			put_fmt(c, "version", "unknown-0x%08" PRIx32, ver);
	}
	PUT_STR(c, "server_name", ch->server_name);
	put_wire(c, "ja4", ch->ja4, strnlen(ch->ja4, sizeof(ch->ja4)));
}

static void
fmt_ssh(struct fmt_ctx *c, const struct vigil_l7_rec *r)
{
	PUT_STR(c, "ssh_client", r->u.ssh.client.banner);
	PUT_STR(c, "ssh_server", r->u.ssh.server.banner);
}

static bool
str_is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* The miner's first method, and the first parameter of its subscribe (the
 * miner software) or authorize (the worker name). The pool's side has no
 * field: what it says is in its response to these. */
static void
fmt_stratum(struct fmt_ctx *c, const struct vigil_l7_rec *r)
{
	const struct vigil_stratum_msg *m = &r->u.stratum.client;

	PUT_STR(c, "stratum_method", m->method);
	if (m->n_params > 0 &&
	    (str_is(m->method.s, m->method.len, "mining.authorize") ||
	     str_is(m->method.s, m->method.len, "mining.subscribe")))
		PUT_STR(c, "stratum_worker", m->params[0]);
}

unsigned
vigil_l7_format(const struct vigil_l7_rec *rec, struct vigil_l7_fmt *out)
{
	struct fmt_ctx c = { out, 0 };

	out->f.n = 0;
	if (rec->connect_host.len > 0) {
		/* TLS through an HTTP proxy: Zeek's conn.log lists both
		 * services; the CONNECT request's fields come first. */
		put_fmt(&c, "service", "http,%s",
			vigil_l7_service_name(
				(enum vigil_l7_service)rec->service));
		put_fmt(&c, "method", "%s", "CONNECT");
		PUT_STR(&c, "host", rec->connect_host);
	} else {
		put_fmt(&c, "service", "%s",
			vigil_l7_service_name(
				(enum vigil_l7_service)rec->service));
	}
	switch (rec->service) {
	case VIGIL_L7_DNS:
		fmt_dns(&c, rec);
		break;
	case VIGIL_L7_HTTP:
		fmt_http(&c, rec);
		break;
	case VIGIL_L7_TLS:
		fmt_tls(&c, rec);
		break;
	case VIGIL_L7_QUIC:
		fmt_quic(&c, rec);
		break;
	case VIGIL_L7_SSH:
		fmt_ssh(&c, rec);
		break;
	case VIGIL_L7_STRATUM:
		fmt_stratum(&c, rec);
		break;
	default:
		break;
	}
	if (rec->why != VIGIL_L7_WHY_NONE)
		put_fmt(&c, "l7_error", "%s",
			vigil_l7_why_name((enum vigil_l7_why)rec->why));
	return out->f.n;
}

/* ---- the pending store ------------------------------------------------ */

struct entry {
	struct entry *hnext;	   /* bucket chain */
	struct entry *prev, *next; /* arrival order */
	struct vigil_flow_key key;
	uint64_t first_us;
	uint64_t added_us; /* the store's clock when it came */
	uint64_t hash;
	size_t bytes;
	struct vigil_l7_fields f; /* values point after the struct */
};

struct vigil_l7pub {
	struct vigil_counters *ctr;
	uint32_t max, count;
	uint64_t bytes;
	uint64_t max_age_us;
	uint64_t clock_us;
	uint64_t mask;		  /* buckets - 1 */
	uint64_t max_buckets;
	struct entry **buckets;
	struct entry *head, *tail; /* oldest, newest */
};

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint64_t
key_hash(const struct vigil_flow_key *k, uint64_t first_us)
{
	uint64_t h = mix64(first_us), w;

	for (size_t i = 0; i + 8 <= sizeof(*k); i += 8) {
		memcpy(&w, (const uint8_t *)k + i, 8);
		h = mix64(h ^ w);
	}
	return h;
}

struct vigil_l7pub *
vigil_l7pub_create(const struct vigil_conf *conf, struct vigil_counters *ctr)
{
	struct vigil_l7pub *s = calloc(1, sizeof(*s));
	uint32_t idle = conf->tcp_idle_s;

	if (s == NULL)
		return NULL;
	s->ctr = ctr;
	s->max = conf->l7_pending_max;
	idle = RTE_MAX(idle, conf->tcp_attempt_s);
	idle = RTE_MAX(idle, conf->tcp_closed_s);
	idle = RTE_MAX(idle, conf->udp_idle_s);
	idle = RTE_MAX(idle, conf->icmp_idle_s);
	idle = RTE_MAX(idle, conf->other_idle_s);
	s->max_age_us = ((uint64_t)conf->active_timeout_s + idle) * 1000000u;
	/* Load factor at most 1 when full; start small and double. */
	s->max_buckets = 1024;
	while (s->max_buckets < s->max)
		s->max_buckets <<= 1;
	s->mask = 1023;
	s->buckets = calloc(s->mask + 1, sizeof(*s->buckets));
	if (s->buckets == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void
unlink_entry(struct vigil_l7pub *s, struct entry *e)
{
	struct entry **pp = &s->buckets[e->hash & s->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->count--;
	s->bytes -= e->bytes;
}

void
vigil_l7pub_free(struct vigil_l7pub *s)
{
	if (s == NULL)
		return;
	for (struct entry *e = s->head, *n; e != NULL; e = n) {
		n = e->next;
		free(e);
	}
	free(s->buckets);
	free(s);
}

/* Double the buckets when the entries outnumber them; a failed allocation
 * leaves the table as it was (longer chains, still correct). */
static void
maybe_grow(struct vigil_l7pub *s)
{
	uint64_t nb = (s->mask + 1) * 2;
	struct entry **b;

	if (s->count <= s->mask + 1 || nb > s->max_buckets)
		return;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return;
	for (struct entry *e = s->head; e != NULL; e = e->next) {
		e->hnext = b[e->hash & (nb - 1)];
		b[e->hash & (nb - 1)] = e;
	}
	free(s->buckets);
	s->buckets = b;
	s->mask = nb - 1;
}

static struct entry *
find(const struct vigil_l7pub *s, const struct vigil_flow_key *key,
     uint64_t first_us, uint64_t h)
{
	for (struct entry *e = s->buckets[h & s->mask]; e; e = e->hnext)
		if (e->hash == h && e->first_us == first_us &&
		    memcmp(&e->key, key, sizeof(*key)) == 0)
			return e;
	return NULL;
}

bool
vigil_l7pub_add(struct vigil_l7pub *s, const struct vigil_l7_rec *rec)
{
	/* The formatting scratch is large (24 KiB): not on the stack. */
	static __thread struct vigil_l7_fmt fmt;
	uint64_t h = key_hash(&rec->key, rec->first_us);
	struct entry *old = find(s, &rec->key, rec->first_us, h), *e;
	size_t bytes = sizeof(*e);
	char *p;

	if (rec->first_us > s->clock_us)
		s->clock_us = rec->first_us;
	if (old != NULL) {
		unlink_entry(s, old);
		free(old);
	}
	if (s->count >= s->max) {
		vigil_ctr_add(s->ctr, VIGIL_CTR_drop_l7_pending_full, 1);
		return false;
	}
	vigil_l7_format(rec, &fmt);
	for (unsigned i = 0; i < fmt.f.n; i++)
		bytes += strlen(fmt.f.value[i]) + 1;
	e = malloc(bytes);
	if (e == NULL) {
		vigil_ctr_add(s->ctr, VIGIL_CTR_drop_l7_pending_full, 1);
		return false;
	}
	memset(e, 0, sizeof(*e));
	e->key = rec->key;
	e->first_us = rec->first_us;
	e->added_us = s->clock_us;
	e->hash = h;
	e->bytes = bytes;
	e->f.n = fmt.f.n;
	p = (char *)(e + 1);
	for (unsigned i = 0; i < fmt.f.n; i++) {
		size_t n = strlen(fmt.f.value[i]) + 1;

		memcpy(p, fmt.f.value[i], n);
		e->f.field[i] = fmt.f.field[i];
		e->f.value[i] = p;
		p += n;
	}
	e->hnext = s->buckets[h & s->mask];
	s->buckets[h & s->mask] = e;
	e->prev = s->tail;
	if (s->tail)
		s->tail->next = e;
	else
		s->head = e;
	s->tail = e;
	s->count++;
	s->bytes += bytes;
	maybe_grow(s);
	return true;
}

void
vigil_l7pub_saw(struct vigil_l7pub *s, uint64_t packet_us)
{
	if (packet_us > s->clock_us)
		s->clock_us = packet_us;
}

const struct vigil_l7_fields *
vigil_l7pub_take(struct vigil_l7pub *s, const struct vigil_flow_key *key,
		 uint64_t first_us)
{
	struct entry *e;

	if (s->count == 0)
		return NULL;
	e = find(s, key, first_us, key_hash(key, first_us));
	if (e == NULL)
		return NULL;
	unlink_entry(s, e);
	return &e->f;
}

void
vigil_l7pub_release(const struct vigil_l7_fields *f)
{
	if (f != NULL)
		free((char *)f - offsetof(struct entry, f));
}

unsigned
vigil_l7pub_expire(struct vigil_l7pub *s, uint64_t now_us)
{
	uint64_t now = RTE_MAX(now_us, s->clock_us);
	bool all = now_us == UINT64_MAX;
	unsigned n = 0;

	while (s->head != NULL && (all || n < VIGIL_L7PUB_EXPIRE_STEP)) {
		struct entry *e = s->head;

		if (!all && now - e->added_us <= s->max_age_us)
			break;
		unlink_entry(s, e);
		free(e);
		n++;
	}
	vigil_ctr_add(s->ctr, VIGIL_CTR_l7_pending_expired, n);
	return n;
}

uint32_t
vigil_l7pub_count(const struct vigil_l7pub *s)
{
	return s->count;
}

uint64_t
vigil_l7pub_bytes(const struct vigil_l7pub *s)
{
	return s->bytes + (s->mask + 1) * sizeof(*s->buckets);
}
