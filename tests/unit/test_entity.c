/*
 * Unit tests of lib/entity: the entity id of an address at a flow's time
 * (an address reused by a second pod is a second entity from then on), the
 * aggregation of replicas into one group edge, what counts as a service,
 * the bounds of the batch and their counters, the assignment of a flow to
 * map buckets (bytes spread, summing to the whole), retention, and that
 * the order of the flows does not change what is written.
 *
 * The stage is Redis-agnostic: its commands are captured here and read
 * back (EVALSHA merge/trim with their keys and operations; the scripts
 * themselves run against a real redis-server in test_metasync.c). No EAL:
 * nothing here touches a ring or an lcore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "vigil_conf.h"
#include "vigil_entity.h"
#include "vigil_flow.h"
#include "vigil_meta.h"
#include "vigil_stats.h"

#define T0 1767225600000000ull /* 2026-01-01T00:00:00Z, microseconds */
#define SEC 1000000ull

/* ---- captured commands ------------------------------------------------- */

struct cap_cmd {
	int argc;
	char **argv;
};

struct capture {
	unsigned n, cap;
	struct cap_cmd *c;
};

static void
capture_emit(void *arg, int argc, const char **argv, const size_t *len)
{
	struct capture *k = arg;
	struct cap_cmd *c;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->c = realloc(k->c, k->cap * sizeof(*k->c));
		assert_non_null(k->c);
	}
	c = &k->c[k->n++];
	c->argc = argc;
	c->argv = calloc((size_t)argc, sizeof(char *));
	assert_non_null(c->argv);
	for (int i = 0; i < argc; i++) {
		c->argv[i] = malloc(len[i] + 1);
		assert_non_null(c->argv[i]);
		memcpy(c->argv[i], argv[i], len[i]);
		c->argv[i][len[i]] = '\0';
		assert_int_equal(strlen(c->argv[i]), len[i]);
	}
}

static void
capture_free(struct capture *k)
{
	for (unsigned i = 0; i < k->n; i++) {
		for (int j = 0; j < k->c[i].argc; j++)
			free(k->c[i].argv[j]);
		free(k->c[i].argv);
	}
	free(k->c);
	memset(k, 0, sizeof(*k));
}

/* The merge command whose first key is key, or NULL. */
static const struct cap_cmd *
find_cmd(const struct capture *k, const char *key)
{
	for (unsigned i = 0; i < k->n; i++)
		if (k->c[i].argc > 3 && strcmp(k->c[i].argv[3], key) == 0)
			return &k->c[i];
	return NULL;
}

static unsigned
count_prefix(const struct capture *k, const char *prefix)
{
	unsigned n = 0;

	for (unsigned i = 0; i < k->n; i++)
		if (k->c[i].argc > 3 &&
		    strncmp(k->c[i].argv[3], prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

/* The operations of a merge, as (op, field, value) triples: each pair of
 * a group (ini, set, add, pair) is one triple, a lat gives ("lat", TF, T)
 * and ("latv", F, V) for each pair. */
struct triple {
	const char *op, *f, *v;
};

static unsigned
triples(const struct cap_cmd *c, struct triple *t, unsigned max)
{
	int i = 3 + atoi(c->argv[2]) + 3;
	unsigned n = 0;

	while (i < c->argc && n < max) {
		const char *op = c->argv[i];

		if (!strcmp(op, "ini") || !strcmp(op, "set") ||
		    !strcmp(op, "add") || !strcmp(op, "pair")) {
			int k = atoi(c->argv[i + 1]);

			for (int j = 0; j < k && n < max; j++)
				t[n++] = (struct triple){ op, c->argv[i + 2 + 2 * j],
							  c->argv[i + 3 + 2 * j] };
			i += 2 + 2 * k;
		} else if (!strcmp(op, "min") || !strcmp(op, "max")) {
			t[n++] = (struct triple){ op, c->argv[i + 1], c->argv[i + 2] };
			i += 3;
		} else if (!strcmp(op, "uni")) {
			t[n++] = (struct triple){ op, c->argv[i + 1], c->argv[i + 2] };
			i += 4;
		} else if (!strcmp(op, "lat")) {
			int k = atoi(c->argv[i + 3]);

			t[n++] = (struct triple){ op, c->argv[i + 1], c->argv[i + 2] };
			for (int j = 0; j < k && n < max; j++)
				t[n++] = (struct triple){ "latv",
							  c->argv[i + 4 + 2 * j],
							  c->argv[i + 5 + 2 * j] };
			i += 4 + 2 * k;
		} else {
			fail_msg("unknown operation %s", op);
		}
	}
	assert_int_equal(i, c->argc);
	return n;
}

/* The value an operation op on field f carries ("add flows 3" -> "3"). */
static const char *
op_value(const struct cap_cmd *c, const char *op, const char *f)
{
	static struct triple t[2048];
	unsigned n = triples(c, t, 2048);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(t[i].op, op) && !strcmp(t[i].f, f))
			return t[i].v;
	return NULL;
}

/* The value "lat" sets for field f. */
static const char *
lat_value(const struct cap_cmd *c, const char *f)
{
	return op_value(c, "latv", f);
}

static bool
has_key(const struct cap_cmd *c, const char *key)
{
	int n = atoi(c->argv[2]);

	for (int i = 0; i < n; i++)
		if (strcmp(c->argv[3 + i], key) == 0)
			return true;
	return false;
}

/* ---- flows and identities ---------------------------------------------- */

static struct vigil_conf conf;
static struct vigil_counters ctr;

static void
conf_reset(void)
{
	vigil_conf_defaults(&conf);
	snprintf(conf.sensor_id, sizeof(conf.sensor_id), "s1");
	memset(&ctr, 0, sizeof(ctr));
}

static int
setup(void **state)
{
	(void)state;
	conf_reset();
	return 0;
}

enum kind { K_SERVED, K_REJECTED, K_UDP, K_UDP_ONEWAY, K_ICMP, K_MIDSTREAM };

/* A flow src:sport -> dst:dport (IPv4 or IPv6 text), first packet at t0,
 * last at t1, 4 packets and 400 IP bytes from the client, 3 and 3000 back
 * (none back when it is one-way or rejected: 1 RST of 40 bytes). */
static struct vigil_flow_rec
flow(enum kind k, const char *src, uint16_t sport, const char *dst,
     uint16_t dport, uint64_t t0, uint64_t t1)
{
	struct vigil_flow_rec r;
	uint8_t a[16] = { 0 }, b[16] = { 0 };
	bool v6 = strchr(src, ':') != NULL;
	int af = v6 ? AF_INET6 : AF_INET;
	unsigned alen = v6 ? 16 : 4, os;
	int c;

	memset(&r, 0, sizeof(r));
	assert_int_equal(inet_pton(af, src, a), 1);
	assert_int_equal(inet_pton(af, dst, b), 1);
	r.key.family = v6 ? VIGIL_AF_INET6 : VIGIL_AF_INET;
	r.key.proto = k == K_UDP || k == K_UDP_ONEWAY ? VIGIL_IPPROTO_UDP :
		      k == K_ICMP ? VIGIL_IPPROTO_ICMP : VIGIL_IPPROTO_TCP;
	c = memcmp(a, b, alen);
	r.s.flags = VIGIL_FF_IN_USE;
	if (c < 0 || (c == 0 && sport <= dport)) {
		memcpy(r.key.addr[0], a, 16);
		memcpy(r.key.addr[1], b, 16);
		r.key.port[0] = sport;
		r.key.port[1] = dport;
		os = 0;
	} else {
		memcpy(r.key.addr[0], b, 16);
		memcpy(r.key.addr[1], a, 16);
		r.key.port[0] = dport;
		r.key.port[1] = sport;
		r.s.flags |= VIGIL_FF_ORIG;
		os = 1;
	}
	(void)os;
	r.s.first_us = t0;
	r.s.last_delta_us = (uint32_t)(t1 - t0);
	r.s.pkts[0] = 4;
	r.s.ip_lo[0] = 400;
	switch (k) {
	case K_SERVED: /* S, then H from the responder */
		r.s.hist = (uint64_t)VIGIL_H_SYN | (uint64_t)(VIGIL_H_SYNACK + 8) << 4;
		r.s.nhist = 2;
		r.s.pkts[1] = 3;
		r.s.ip_lo[1] = 3000;
		break;
	case K_MIDSTREAM: /* D both ways, no handshake */
		r.s.hist = (uint64_t)VIGIL_H_DATA | (uint64_t)(VIGIL_H_DATA + 8) << 4;
		r.s.nhist = 2;
		r.s.pkts[1] = 3;
		r.s.ip_lo[1] = 3000;
		break;
	case K_REJECTED: /* S, then r */
		r.s.hist = (uint64_t)VIGIL_H_SYN | (uint64_t)(VIGIL_H_RST + 8) << 4;
		r.s.nhist = 2;
		r.s.pkts[1] = 1;
		r.s.ip_lo[1] = 40;
		break;
	case K_UDP:
	case K_ICMP:
		r.s.pkts[1] = 3;
		r.s.ip_lo[1] = 3000;
		break;
	case K_UDP_ONEWAY:
		break;
	}
	r.reason = VIGIL_END_IDLE;
	return r;
}

static void
put_identity(struct vigil_meta_store *st, const char *ip, const char *pod,
	     const char *ns, const char *service, const char *since)
{
	struct vigil_identity id;
	struct vigil_meta_ip a;
	char err[256];

	vigil_identity_init(&id);
	assert_int_equal(vigil_meta_parse_ip(ip, strlen(ip), &a, NULL, err,
					     sizeof(err)), 0);
	assert_int_equal(vigil_identity_set_field(&id, "pod", 3, pod,
						  strlen(pod), err, sizeof(err)),
			 0);
	assert_int_equal(vigil_identity_set_field(&id, "namespace", 9, ns,
						  strlen(ns), err, sizeof(err)),
			 0);
	assert_int_equal(vigil_identity_set_field(&id, "image", 5,
						  "reg.example.com/x:1", 19, err,
						  sizeof(err)),
			 0);
	assert_int_equal(vigil_identity_set_field(&id, "service", 7, service,
						  strlen(service), err,
						  sizeof(err)),
			 0);
	if (since != NULL)
		assert_int_equal(vigil_identity_set_field(&id, "since", 5, since,
							  strlen(since), err,
							  sizeof(err)),
				 0);
	assert_true(vigil_meta_store_set(st, &a, &id) >= 0);
}

static struct vigil_entity *
stage(void)
{
	struct vigil_entity *e = vigil_entity_create(&conf, &ctr);

	assert_non_null(e);
	vigil_entity_set_scripts(e, "merge-sha", "trim-sha");
	return e;
}

static void
add(struct vigil_entity *e, const struct vigil_meta_store *st,
    const struct vigil_flow_rec *r, const char *app,
    struct vigil_entity_ids *ids)
{
	assert_int_equal(vigil_entity_flow(e, st, r, app, ids), VIGIL_ENTITY_OK);
}

/* ---- tests --------------------------------------------------------------- */

/* An address reused by a second pod: a flow is named by the identity valid
 * at its first packet; before any identity, by its address. */
static void
test_identity_at_time(void **state)
{
	struct vigil_meta_store *st = vigil_meta_store_create(16, 8);
	struct vigil_entity *e;
	struct vigil_entity_ids ids;
	struct vigil_flow_rec r;
	struct capture k = { 0 };
	const struct cap_cmd *c;
	char id[VIGIL_ENTITY_ID_MAX + 1];
	struct vigil_meta_ip a = { .family = VIGIL_META_AF_INET,
				   .addr = { 10, 244, 1, 17 } };

	(void)state;
	assert_non_null(st);
	put_identity(st, "10.244.1.17", "checkout-7d4b9-x2x9z", "shop",
		     "checkout", "1767225660"); /* from T0 + 60 s */
	put_identity(st, "10.244.1.17", "report-28391-xk2p", "jobs", "report",
		     "1767225720"); /* from T0 + 120 s */
	put_identity(st, "10.96.0.10", "coredns-0", "kube-system", "kube-dns",
		     NULL);
	assert_null(vigil_entity_id_of(st, &a, T0 + 59 * SEC, id));
	assert_string_equal(id, "ip/10.244.1.17");
	assert_non_null(vigil_entity_id_of(st, &a, T0 + 60 * SEC, id));
	assert_string_equal(id, "pod/shop/checkout-7d4b9-x2x9z");
	assert_non_null(vigil_entity_id_of(st, &a, T0 + 120 * SEC, id));
	assert_string_equal(id, "pod/jobs/report-28391-xk2p");
	assert_null(vigil_entity_id_of(NULL, &a, T0 + 60 * SEC, id));
	assert_string_equal(id, "ip/10.244.1.17");

	e = stage();
	r = flow(K_UDP, "10.244.1.17", 40000, "10.96.0.10", 53, T0 + 30 * SEC,
		 T0 + 30 * SEC + 5000);
	add(e, st, &r, "dns", &ids);
	assert_string_equal(ids.orig, "ip/10.244.1.17");
	assert_string_equal(ids.resp, "pod/kube-system/coredns-0");
	r = flow(K_UDP, "10.244.1.17", 40001, "10.96.0.10", 53, T0 + 90 * SEC,
		 T0 + 90 * SEC + 5000);
	add(e, st, &r, "dns", &ids);
	assert_string_equal(ids.orig, "pod/shop/checkout-7d4b9-x2x9z");
	/* A flow that began under the first pod and ended under the second
	 * keeps the first. */
	r = flow(K_UDP, "10.244.1.17", 40002, "10.96.0.10", 53,
		 T0 + 119 * SEC, T0 + 121 * SEC);
	add(e, st, &r, "dns", &ids);
	assert_string_equal(ids.orig, "pod/shop/checkout-7d4b9-x2x9z");
	r = flow(K_UDP, "10.244.1.17", 40003, "10.96.0.10", 53,
		 T0 + 150 * SEC, T0 + 150 * SEC + 5000);
	add(e, st, &r, "dns", &ids);
	assert_string_equal(ids.orig, "pod/jobs/report-28391-xk2p");
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_flows), 4);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_identified), 7);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_discovered), 1);

	vigil_entity_publish(e, capture_emit, &k);
	c = find_cmd(&k, "vigil:entity:pod/shop/checkout-7d4b9-x2x9z");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "2");
	assert_string_equal(op_value(c, "add", "flows_client"), "2");
	assert_string_equal(op_value(c, "min", "first_seen"),
			    "1767225690.000000");
	assert_string_equal(op_value(c, "max", "last_seen"),
			    "1767225721.000000");
	assert_string_equal(op_value(c, "ini", "source"), "cicd");
	assert_string_equal(lat_value(c, "pod"), "checkout-7d4b9-x2x9z");
	assert_string_equal(lat_value(c, "service"), "checkout");
	assert_string_equal(lat_value(c, "group"), "svc/shop/checkout");
	assert_string_equal(lat_value(c, "since"), "1767225660.000000");
	assert_true(has_key(c, "vigil:entities"));
	assert_true(has_key(c, "vigil:entities:ip:10.244.1.17"));
	assert_true(has_key(c, "vigil:entities:name:checkout-7d4b9-x2x9z"));
	assert_true(has_key(c, "vigil:entities:name:checkout"));
	c = find_cmd(&k, "vigil:entity:pod/jobs/report-28391-xk2p");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "1");
	c = find_cmd(&k, "vigil:entity:ip/10.244.1.17");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "1");
	assert_string_equal(op_value(c, "ini", "source"), "discovered");
	assert_string_equal(op_value(c, "ini", "group"), "ip/10.244.1.17");
	c = find_cmd(&k, "vigil:entity:pod/kube-system/coredns-0");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "4");
	assert_string_equal(op_value(c, "add", "flows_server"), "4");
	assert_string_equal(op_value(c, "add", "pkts_out"), "12");
	assert_string_equal(op_value(c, "add", "bytes_in"), "1600");
	assert_string_equal(op_value(c, "uni", "ports"), "53/udp");
	/* Three client entities, one service, three edges. */
	assert_int_equal(count_prefix(&k, "vigil:entity:"), 4);
	assert_int_equal(count_prefix(&k, "vigil:service:"), 1);
	assert_int_equal(count_prefix(&k, "vigil:edge:"), 3);
	c = find_cmd(&k, "vigil:service:pod/kube-system/coredns-0:53/udp");
	assert_non_null(c);
	assert_string_equal(op_value(c, "ini", "group"),
			    "svc/kube-system/kube-dns:53/udp");
	assert_string_equal(op_value(c, "uni", "app"), "dns");
	assert_string_equal(op_value(c, "add", "flows"), "4");
	capture_free(&k);
	vigil_entity_free(e);
	vigil_meta_store_free(st);
}

/* Replicas of a service and of its clients fold into one group edge; the
 * entity-level edges stay apart. */
static void
test_replicas_aggregate(void **state)
{
	struct vigil_meta_store *st = vigil_meta_store_create(16, 8);
	struct vigil_entity *e = stage();
	struct capture k = { 0 };
	struct vigil_flow_rec r;
	const struct cap_cmd *c;

	(void)state;
	put_identity(st, "10.244.0.1", "web-a", "shop", "web", NULL);
	put_identity(st, "10.244.0.2", "web-b", "shop", "web", NULL);
	put_identity(st, "10.244.5.1", "api-0", "shop", "api", NULL);
	put_identity(st, "fd00:10:244:5::2", "api-1", "shop", "api", NULL);
	r = flow(K_SERVED, "10.244.0.1", 40000, "10.244.5.1", 8080, T0, T0 + 1000);
	add(e, st, &r, "http", NULL);
	r = flow(K_SERVED, "10.244.0.2", 40000, "10.244.5.1", 8080, T0, T0 + 1000);
	add(e, st, &r, "http", NULL);
	r = flow(K_SERVED, "10.244.0.2", 40001, "10.244.5.1", 8080, T0 + SEC,
		 T0 + SEC + 1000);
	add(e, st, &r, "http", NULL);
	r = flow(K_SERVED, "fd00:10:244::9", 40002, "fd00:10:244:5::2", 8080,
		 T0, T0 + 1000);
	add(e, st, &r, "ssl", NULL);
	vigil_entity_publish(e, capture_emit, &k);
	assert_int_equal(count_prefix(&k, "vigil:edge:"), 3);
	assert_int_equal(count_prefix(&k, "vigil:svcedge:"), 2);
	c = find_cmd(&k, "vigil:edge:pod/shop/web-b>pod/shop/api-0:8080/tcp");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "2");
	assert_string_equal(op_value(c, "ini", "client_group"), "svc/shop/web");
	assert_string_equal(op_value(c, "ini", "server_group"), "svc/shop/api");
	assert_string_equal(op_value(c, "ini", "svcedge"),
			    "svc/shop/web>svc/shop/api:8080/tcp");
	c = find_cmd(&k, "vigil:svcedge:svc/shop/web>svc/shop/api:8080/tcp");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "3");
	assert_string_equal(op_value(c, "add", "bytes"), "10200");
	assert_string_equal(op_value(c, "add", "pkts"), "21");
	assert_string_equal(op_value(c, "ini", "client"), "svc/shop/web");
	assert_string_equal(op_value(c, "ini", "server"), "svc/shop/api");
	assert_string_equal(op_value(c, "uni", "app"), "http");
	/* A client without an identity is its own group. */
	c = find_cmd(&k, "vigil:svcedge:ip/fd00:10:244::9>svc/shop/api:8080/tcp");
	assert_non_null(c);
	assert_string_equal(op_value(c, "uni", "app"), "ssl");
	/* The map: both levels, one bucket. */
	c = find_cmd(&k, "vigil:map:1767225600:svc");
	assert_non_null(c);
	assert_string_equal(op_value(c, "pair",
				     "svc/shop/web>svc/shop/api:8080/tcp"),
			    "3 10200");
	assert_true(has_key(c, "vigil:map:buckets"));
	c = find_cmd(&k, "vigil:map:1767225600");
	assert_non_null(c);
	assert_string_equal(op_value(c, "pair",
				     "pod/shop/web-a>pod/shop/api-0:8080/tcp"),
			    "1 3400");
	assert_string_equal(op_value(c, "set", "bucket_s"), "60");
	capture_free(&k);
	vigil_entity_free(e);
	vigil_meta_store_free(st);
}

/* What makes a service: a port that answered. */
static void
test_services(void **state)
{
	struct vigil_entity *e = stage();
	struct capture k = { 0 };
	struct vigil_flow_rec r;
	const struct cap_cmd *c;

	(void)state;
	r = flow(K_REJECTED, "10.0.0.1", 40000, "10.0.0.2", 22, T0, T0 + 10);
	add(e, NULL, &r, NULL, NULL);
	r = flow(K_UDP_ONEWAY, "10.0.0.1", 40000, "10.0.0.2", 514, T0, T0 + 10);
	add(e, NULL, &r, NULL, NULL);
	r = flow(K_ICMP, "10.0.0.1", 8, "10.0.0.2", 0, T0, T0 + 10);
	add(e, NULL, &r, NULL, NULL);
	r = flow(K_MIDSTREAM, "10.0.0.1", 40001, "10.0.0.2", 5432, T0, T0 + 10);
	add(e, NULL, &r, "Bad App!", NULL); /* not a protocol name: ignored */
	r = flow(K_SERVED, "10.0.0.1", 40002, "10.0.0.2", 443, T0, T0 + 10);
	add(e, NULL, &r, "ssl", NULL);
	/* TLS in an HTTP CONNECT tunnel: both; a bad name in a list: out */
	r = flow(K_SERVED, "10.0.0.1", 40003, "10.0.0.2", 443, T0, T0 + 10);
	add(e, NULL, &r, "http,ssl,B@d,", NULL);
	vigil_entity_publish(e, capture_emit, &k);
	assert_int_equal(count_prefix(&k, "vigil:service:"), 2);
	assert_non_null(find_cmd(&k, "vigil:service:ip/10.0.0.2:5432/tcp"));
	assert_null(op_value(find_cmd(&k, "vigil:service:ip/10.0.0.2:5432/tcp"),
			     "uni", "app"));
	c = find_cmd(&k, "vigil:service:ip/10.0.0.2:443/tcp");
	assert_non_null(c);
	assert_string_equal(op_value(c, "uni", "app"), "http,ssl");
	c = find_cmd(&k, "vigil:entity:ip/10.0.0.2");
	assert_non_null(c);
	assert_string_equal(op_value(c, "add", "flows"), "6");
	assert_string_equal(op_value(c, "add", "flows_server"), "6");
	assert_string_equal(op_value(c, "uni", "ports"), "443/tcp,5432/tcp");
	c = find_cmd(&k, "vigil:entity:ip/10.0.0.1");
	assert_string_equal(op_value(c, "add", "flows_client"), "6");
	assert_string_equal(op_value(c, "add", "pkts_out"), "24");
	assert_string_equal(op_value(c, "add", "bytes_out"), "2400");
	/* rejected: 1 packet back; one-way: none; others: 3 */
	assert_string_equal(op_value(c, "add", "pkts_in"), "13");
	capture_free(&k);
	vigil_entity_free(e);
}

/* A flow in every bucket it overlaps; its bytes spread by overlap and
 * adding up to the whole. */
static void
test_buckets(void **state)
{
	struct vigil_entity *e = stage();
	struct capture k = { 0 };
	struct vigil_flow_rec r;
	const char *edge = "ip/10.0.0.1>ip/10.0.0.2:443/tcp";
	unsigned long long f[3], b[3], sum = 0;

	(void)state;
	/* 59.5 s .. 120.5 s: 0.5 s in [0, 60), 60 s in [60, 120), 0.5 s in
	 * [120, 180); 3400 bytes: 27, 3345, 28 (cumulative floors). */
	r = flow(K_SERVED, "10.0.0.1", 40000, "10.0.0.2", 443,
		 T0 + 59 * SEC + 500000, T0 + 120 * SEC + 500000);
	add(e, NULL, &r, NULL, NULL);
	vigil_entity_publish(e, capture_emit, &k);
	for (int i = 0; i < 3; i++) {
		char key[64];
		const struct cap_cmd *c;

		snprintf(key, sizeof(key), "vigil:map:%llu",
			 (unsigned long long)(T0 / SEC) + 60ull * (unsigned)i);
		c = find_cmd(&k, key);
		assert_non_null(c);
		assert_int_equal(sscanf(op_value(c, "pair", edge), "%llu %llu",
					&f[i], &b[i]), 2);
		assert_int_equal(f[i], 1);
		sum += b[i];
		/* member and score: the bucket start */
		assert_int_equal(strtoull(c->argv[3 + 2], NULL, 10),
				 T0 / SEC + 60ull * (unsigned)i);
	}
	assert_int_equal(b[0], 27);
	assert_int_equal(b[1], 3345);
	assert_int_equal(b[2], 28);
	assert_int_equal(sum, 3400);
	assert_null(find_cmd(&k, "vigil:map:1767225780"));
	capture_free(&k);

	/* entity.bucket_s = 10: the same flow in 8 buckets. */
	vigil_entity_free(e);
	conf.entity_bucket_s = 10;
	e = stage();
	add(e, NULL, &r, NULL, NULL);
	vigil_entity_publish(e, capture_emit, &k);
	assert_int_equal(count_prefix(&k, "vigil:map:1767"), 16);
	capture_free(&k);
	vigil_entity_free(e);
}

/* Trims: every index, to entity.retention_s of the newest packet time;
 * map buckets wholly older than that. */
static void
test_retention(void **state)
{
	struct vigil_entity *e;
	struct capture k = { 0 };
	struct vigil_flow_rec r;
	unsigned trims = 0;

	(void)state;
	conf.entity_retention_s = 3600;
	e = stage();
	r = flow(K_SERVED, "10.0.0.1", 40000, "10.0.0.2", 443, T0,
		 T0 + 7200 * SEC + 250000);
	r.s.last_delta_us = 4000u * 1000000u; /* at most active_timeout_s */
	add(e, NULL, &r, NULL, NULL);
	assert_int_equal(vigil_entity_packet_us(e), T0 + 4000 * SEC);
	vigil_entity_publish(e, capture_emit, &k);
	for (unsigned i = 0; i < k.n; i++) {
		const struct cap_cmd *c = &k.c[i];

		if (strcmp(c->argv[1], "trim-sha") != 0)
			continue;
		trims++;
		assert_string_equal(c->argv[2], "1");
		assert_string_equal(c->argv[6], "1000");
		if (strcmp(c->argv[3], "vigil:map:buckets") == 0) {
			/* newest 1767229600 - 3600 s - one bucket */
			assert_string_equal(c->argv[4], "vigil:map:");
			assert_string_equal(c->argv[5], "1767225940");
			assert_string_equal(c->argv[7], ":svc");
		} else {
			assert_string_equal(c->argv[5], "1767226000.000000");
		}
	}
	assert_int_equal(trims, 5);
	assert_non_null(find_cmd(&k, "vigil:map:1767229560"));
	capture_free(&k);
	vigil_entity_free(e);
}

/* The bounds: a full table refuses the flow (nothing counted), the caller
 * publishes and hands it again; served ports beyond the batch's list are
 * counted. */
static void
test_bounds(void **state)
{
	struct vigil_entity *e;
	struct vigil_entity_held h;
	struct vigil_flow_rec r;
	struct capture k = { 0 };
	unsigned accepted = 0, published = 0;
	char src[32], dst[32];
	int rc;

	(void)state;
	conf.entity_max_entities = 1024;
	conf.entity_max_services = 1024;
	conf.entity_max_edges = 1024;
	e = stage();
	for (unsigned i = 0; i < 600; i++) {
		snprintf(src, sizeof(src), "10.1.%u.%u", i / 250, i % 250 + 1);
		snprintf(dst, sizeof(dst), "10.2.%u.%u", i / 250, i % 250 + 1);
		r = flow(K_SERVED, src, 40000, dst, 80, T0 + i, T0 + i + 10);
		rc = vigil_entity_flow(e, NULL, &r, "http", NULL);
		if (rc == VIGIL_ENTITY_FULL) {
			vigil_entity_held(e, &h);
			assert_int_equal(h.entities, 1024);
			assert_int_equal(h.services, 512);
			published += vigil_entity_publish(e, capture_emit, &k);
			vigil_entity_held(e, &h);
			assert_int_equal(h.entities, 0);
			rc = vigil_entity_flow(e, NULL, &r, "http", NULL);
		}
		assert_int_equal(rc, VIGIL_ENTITY_OK);
		accepted++;
	}
	assert_int_equal(accepted, 600);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_flush_full), 1);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_flows), 600);
	vigil_entity_held(e, &h);
	assert_int_equal(h.entities, 176);
	assert_int_equal(h.edges, 88);
	assert_int_equal(h.cells, 176);
	assert_true(h.bytes > 176 * 100);
	capture_free(&k);
	published += vigil_entity_publish(e, capture_emit, &k);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_writes), published);
	capture_free(&k);

	/* One server answering on 17 ports in a batch: 16 listed. */
	for (unsigned p = 0; p < 17; p++) {
		r = flow(K_SERVED, "10.0.0.1", 40000, "10.0.0.2",
			 (uint16_t)(1000 + p), T0, T0 + 10);
		add(e, NULL, &r, NULL, NULL);
	}
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_entity_ports_full), 1);
	vigil_entity_publish(e, capture_emit, &k);
	assert_int_equal(count_prefix(&k, "vigil:service:"), 17);
	capture_free(&k);
	vigil_entity_free(e);
}

/* Batches hold only what changed: the same flows in another order give
 * the same commands (as a set). */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
joined(const struct capture *k)
{
	char **v = calloc(k->n, sizeof(char *));

	for (unsigned i = 0; i < k->n; i++) {
		size_t len = 1;

		for (int j = 0; j < k->c[i].argc; j++)
			len += strlen(k->c[i].argv[j]) + 1;
		v[i] = calloc(1, len);
		for (int j = 0; j < k->c[i].argc; j++) {
			strcat(v[i], k->c[i].argv[j]);
			strcat(v[i], " ");
		}
	}
	qsort(v, k->n, sizeof(char *), cmp_str);
	return v;
}

static void
test_order_independent(void **state)
{
	struct vigil_meta_store *st = vigil_meta_store_create(16, 8);
	struct vigil_flow_rec r[40];
	struct capture k1 = { 0 }, k2 = { 0 };
	struct vigil_entity *e;
	char **a, **b;

	(void)state;
	put_identity(st, "10.244.0.1", "web-a", "shop", "web", NULL);
	put_identity(st, "10.244.0.1", "web-z", "shop", "web", "1767225610");
	for (unsigned i = 0; i < 40; i++) {
		char src[32];

		snprintf(src, sizeof(src), "10.244.0.%u", 1 + i % 5);
		r[i] = flow(i % 3 ? K_SERVED : K_UDP, src, (uint16_t)(40000 + i),
			    i % 2 ? "93.184.216.34" : "10.96.0.10",
			    i % 3 ? 443 : 53, T0 + i * SEC / 2,
			    T0 + i * SEC / 2 + 70 * SEC);
		r[i].resp_name_len = (uint8_t)snprintf(r[i].resp_name,
						       sizeof(r[i].resp_name),
						       "name%u.example", i % 7);
	}
	e = stage();
	for (unsigned i = 0; i < 40; i++)
		add(e, st, &r[i], i % 3 ? "ssl" : "dns", NULL);
	vigil_entity_publish(e, capture_emit, &k1);
	vigil_entity_free(e);
	e = stage();
	for (unsigned i = 40; i-- > 0;)
		add(e, st, &r[i], i % 3 ? "ssl" : "dns", NULL);
	vigil_entity_publish(e, capture_emit, &k2);
	vigil_entity_free(e);
	assert_int_equal(k1.n, k2.n);
	a = joined(&k1);
	b = joined(&k2);
	for (unsigned i = 0; i < k1.n; i++) {
		assert_string_equal(a[i], b[i]);
		free(a[i]);
		free(b[i]);
	}
	free(a);
	free(b);
	/* The newest DNS name of the address won. */
	assert_string_equal(lat_value(find_cmd(&k1, "vigil:entity:ip/93.184.216.34"),
				      "dns_name"),
			    "name4.example");
	capture_free(&k1);
	capture_free(&k2);
	vigil_meta_store_free(st);
}

/* Hostile bytes in a DNS name reach Redis escaped, never raw. */
static void
test_dns_name_escaped(void **state)
{
	struct vigil_entity *e = stage();
	struct capture k = { 0 };
	struct vigil_flow_rec r;
	const struct cap_cmd *c;

	(void)state;
	r = flow(K_SERVED, "10.0.0.1", 40000, "10.0.0.2", 443, T0, T0 + 10);
	memcpy(r.resp_name, "ev\x1b[2J\nil\\.com", 14);
	r.resp_name_len = 14;
	add(e, NULL, &r, NULL, NULL);
	vigil_entity_publish(e, capture_emit, &k);
	c = find_cmd(&k, "vigil:entity:ip/10.0.0.2");
	assert_string_equal(lat_value(c, "name"), "ev\\x1b[2J\\x0ail\\x5c.com");
	assert_true(has_key(c, "vigil:entities:name:ev\\x1b[2J\\x0ail\\x5c.com"));
	capture_free(&k);
	vigil_entity_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_identity_at_time, setup),
		cmocka_unit_test_setup(test_replicas_aggregate, setup),
		cmocka_unit_test_setup(test_services, setup),
		cmocka_unit_test_setup(test_buckets, setup),
		cmocka_unit_test_setup(test_retention, setup),
		cmocka_unit_test_setup(test_bounds, setup),
		cmocka_unit_test_setup(test_order_independent, setup),
		cmocka_unit_test_setup(test_dns_name_escaped, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
