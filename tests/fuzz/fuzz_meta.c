/*
 * libFuzzer target for lib/meta (no DPDK): the parsers of what a CI/CD
 * pipeline or anyone with write access to Redis hands vigil, and the
 * identity history store.
 *
 * The first byte selects what the rest is (any other byte: byte % 5):
 *   'd'  a push document  -> vigil_meta_parse_json_doc
 *   'i'  a JSON identity   -> vigil_meta_parse_json_identity
 *   'h'  a P:meta:<ip> hash: field, value, field, ... separated by NUL
 *        bytes (at most 8 pairs) -> vigil_meta_parse_hash
 *   't'  one text given to vigil_meta_parse_ip, _since and _update
 *   's'  operations on a small store, 4 bytes each (operation, address,
 *        since, pod), checked against a model of its documented rules
 *
 * Besides the sanitizers' reports it aborts when a documented property
 * fails: an error comes with a one-line message of printable ASCII (the
 * input's bytes are escaped); what parses is canonical (formatting it and
 * parsing the text again gives the same identity, through JSON and
 * through the hash's fields); a normalised address parses to itself; the
 * store answers lookups as its rules say.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (1 << 20)

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr,                                      \
				"fuzz_meta: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                  \
			abort();                                             \
		}                                                            \
	} while (0)

static char err[1024];

/* A refusal: a message, one line, printable ASCII, terminated. */
static void check_err(void)
{
	size_t n = strnlen(err, sizeof(err));

	CHECK(n > 0 && n < sizeof(err));
	for (size_t i = 0; i < n; i++)
		CHECK(err[i] >= 0x20 && err[i] < 0x7f);
}

static void check_text(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	CHECK(n <= max);
	for (size_t i = 0; i < n; i++)
		CHECK(s[i] > 0x20 && s[i] < 0x7f && s[i] != '"' &&
		      s[i] != '\\');
}

/*
 * A valid identity: fields within limits, plain ASCII, labels sorted and
 * unique; its JSON reads back to the same JSON, and its fields as a hash
 * read back to the same JSON too.
 */
static void check_identity(const struct vigil_identity *id)
{
	static char json[VIGIL_META_JSON_MAX + 1], again[VIGIL_META_JSON_MAX + 1];
	static char labels[VIGIL_META_LABELS_TEXT_MAX + 1];
	static struct vigil_identity back;
	char since[VIGIL_META_SINCE_TEXT_MAX + 1];
	const char *f[6], *v[6];
	size_t fl[6], vl[6], n, k = 0;

	CHECK(vigil_identity_check(id, err, sizeof(err)) == 0);
	check_text(id->pod, VIGIL_META_POD_MAX);
	check_text(id->namespace, VIGIL_META_NAMESPACE_MAX);
	check_text(id->image, VIGIL_META_IMAGE_MAX);
	check_text(id->service, VIGIL_META_SERVICE_MAX);
	CHECK(id->n_labels <= VIGIL_META_LABELS_MAX);
	CHECK(id->since_us <= VIGIL_META_SINCE_MAX_US);
	CHECK(id->has_since || id->since_us == 0);
	for (uint32_t i = 0; i < id->n_labels; i++) {
		check_text(id->labels[i].key, VIGIL_META_LABEL_KEY_MAX);
		check_text(id->labels[i].value, VIGIL_META_LABEL_VALUE_MAX);
		CHECK(id->labels[i].key[0] != '\0');
		if (i)
			CHECK(strcmp(id->labels[i - 1].key,
				     id->labels[i].key) < 0);
	}
	n = vigil_meta_format_json(id, json, sizeof(json));
	CHECK(n == strlen(json) && n <= VIGIL_META_JSON_MAX);
	CHECK(vigil_meta_parse_json_identity(json, n, &back, err,
					     sizeof(err)) == 0);
	vigil_meta_format_json(&back, again, sizeof(again));
	CHECK(strcmp(json, again) == 0);

	/* The hash vigilctl writes for it. */
	f[k] = "pod", v[k++] = id->pod;
	f[k] = "namespace", v[k++] = id->namespace;
	f[k] = "image", v[k++] = id->image;
	f[k] = "service", v[k++] = id->service;
	if (id->n_labels) {
		n = vigil_meta_format_labels(id, labels, sizeof(labels));
		CHECK(n == strlen(labels));
		f[k] = "labels", v[k++] = labels;
	}
	if (id->has_since) {
		vigil_meta_format_since(id->since_us, since);
		f[k] = "since", v[k++] = since;
	}
	for (size_t i = 0; i < k; i++) {
		fl[i] = strlen(f[i]);
		vl[i] = strlen(v[i]);
	}
	CHECK(vigil_meta_parse_hash(f, fl, v, vl, k, &back, err,
				    sizeof(err)) == 0);
	vigil_meta_format_json(&back, again, sizeof(again));
	CHECK(strcmp(json, again) == 0);
}

static int on_entry(void *arg, const struct vigil_meta_ip *ip,
		    const char *text, const struct vigil_identity *id)
{
	struct vigil_meta_ip again;
	char norm[VIGIL_META_IP_MAX + 1];

	(*(long *)arg)++;
	CHECK(vigil_meta_parse_ip(text, strlen(text), &again, norm, err,
				  sizeof(err)) == 0);
	CHECK(memcmp(&again, ip, sizeof(again)) == 0);
	CHECK(strcmp(norm, text) == 0);
	check_identity(id);
	return 0;
}

static void fuzz_doc(const char *s, size_t n)
{
	long seen = 0, rc;

	rc = vigil_meta_parse_json_doc(s, n, 64, on_entry, &seen, err,
				       sizeof(err));
	if (rc < 0)
		check_err();
	else
		CHECK(rc == seen && rc <= 64);
}

static void fuzz_identity(const char *s, size_t n)
{
	static struct vigil_identity id;

	if (vigil_meta_parse_json_identity(s, n, &id, err, sizeof(err)))
		check_err();
	else
		check_identity(&id);
}

static void fuzz_hash(const char *s, size_t n)
{
	static struct vigil_identity id;
	const char *part[16];
	size_t len[16], k = 0, at = 0;

	while (k < 16 && at <= n) {
		const char *z = memchr(s + at, '\0', n - at);
		size_t pn = z ? (size_t)(z - (s + at)) : n - at;

		part[k] = s + at;
		len[k++] = pn;
		at += pn + 1;
		if (!z)
			break;
	}
	{
		const char *f[8], *v[8];
		size_t fl[8], vl[8], pairs = k / 2;

		for (size_t i = 0; i < pairs; i++) {
			f[i] = part[2 * i];
			fl[i] = len[2 * i];
			v[i] = part[2 * i + 1];
			vl[i] = len[2 * i + 1];
		}
		if (vigil_meta_parse_hash(f, fl, v, vl, pairs, &id, err,
					  sizeof(err)))
			check_err();
		else
			check_identity(&id);
	}
}

static void fuzz_text(const char *s, size_t n)
{
	static struct vigil_identity id;
	struct vigil_meta_ip ip, again;
	char norm[VIGIL_META_IP_MAX + 1], text[VIGIL_META_IP_MAX + 1];
	char since[VIGIL_META_SINCE_TEXT_MAX + 1];
	uint64_t us, us2;
	int op;

	if (vigil_meta_parse_ip(s, n, &ip, norm, err, sizeof(err))) {
		check_err();
	} else {
		vigil_meta_format_ip(&ip, text);
		CHECK(strcmp(text, norm) == 0);
		CHECK(vigil_meta_parse_ip(norm, strlen(norm), &again, NULL,
					  err, sizeof(err)) == 0);
		CHECK(memcmp(&again, &ip, sizeof(ip)) == 0);
	}
	if (vigil_meta_parse_since(s, n, &us, err, sizeof(err))) {
		check_err();
	} else {
		CHECK(us <= VIGIL_META_SINCE_MAX_US);
		vigil_meta_format_since(us, since);
		CHECK(vigil_meta_parse_since(since, strlen(since), &us2, err,
					     sizeof(err)) == 0);
		CHECK(us == us2);
	}
	op = vigil_meta_parse_update(s, n, &ip, norm, err, sizeof(err));
	if (op < 0)
		check_err();
	else
		CHECK(op == VIGIL_META_UPDATE_SET || op == VIGIL_META_UPDATE_RM);
	/* Every field and a label from the same bytes. */
	vigil_identity_init(&id);
	for (const char *const *f = (const char *const[]){
		     "pod", "namespace", "image", "service", "labels", "since",
		     NULL };
	     *f; f++)
		if (vigil_identity_set_field(&id, *f, strlen(*f), s, n, err,
					     sizeof(err)))
			check_err();
	if (vigil_identity_set_label(&id, s, n, s, n, err, sizeof(err)))
		check_err();
}

/*
 * The store against a model: MODEL_IPS addresses (the store holds
 * STORE_IPS of them), histories of at most STORE_HISTORY entries sorted by
 * since, pods named by a byte.
 */
#define MODEL_IPS 6
#define STORE_IPS 4
#define STORE_HISTORY 3

struct model {
	int n;
	uint64_t since[STORE_HISTORY];
	int pod[STORE_HISTORY];
};

static void model_pod(int pod, char *buf)
{
	snprintf(buf, 16, "p%d", pod);
}

static void fuzz_store(const uint8_t *d, size_t n)
{
	static struct vigil_identity id;
	struct vigil_meta_store *st =
		vigil_meta_store_create(STORE_IPS, STORE_HISTORY);
	struct model m[MODEL_IPS];
	struct vigil_meta_ip ips[MODEL_IPS];
	int held = 0;

	CHECK(st != NULL);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < MODEL_IPS; i++) {
		char text[32];

		snprintf(text, sizeof(text), i % 2 ? "2001:db8::%d" : "10.0.0.%d",
			 i);
		CHECK(vigil_meta_parse_ip(text, strlen(text), &ips[i], NULL, err,
					  sizeof(err)) == 0);
	}
	vigil_identity_init(&id);
	strcpy(id.namespace, "ns");
	strcpy(id.image, "img");
	strcpy(id.service, "svc");
	for (size_t at = 0; at + 4 <= n; at += 4) {
		int op = d[at] % 4, a = d[at + 1] % MODEL_IPS, pod = d[at + 3];
		uint64_t since = (uint64_t)d[at + 2] * 1000000;
		struct model *mm = &m[a];
		int pos = 0, rc, want;

		while (pos < mm->n && mm->since[pos] < since)
			pos++;
		if (op <= 1) { /* set */
			model_pod(pod, id.pod);
			id.since_us = since;
			id.has_since = since != 0;
			rc = vigil_meta_store_set(st, &ips[a], &id);
			if (pos < mm->n && mm->since[pos] == since) {
				want = VIGIL_META_REPLACED;
				mm->pod[pos] = pod;
			} else if (mm->n == 0 && held == STORE_IPS) {
				want = VIGIL_META_ERR_IPS_FULL;
			} else if (mm->n == STORE_HISTORY && pos == 0) {
				want = VIGIL_META_ERR_HISTORY_FULL;
			} else if (mm->n == STORE_HISTORY) {
				want = VIGIL_META_TRIMMED;
				memmove(&mm->since[0], &mm->since[1],
					(size_t)(pos - 1) * sizeof(uint64_t));
				memmove(&mm->pod[0], &mm->pod[1],
					(size_t)(pos - 1) * sizeof(int));
				mm->since[pos - 1] = since;
				mm->pod[pos - 1] = pod;
			} else {
				want = VIGIL_META_ADDED;
				held += mm->n == 0;
				memmove(&mm->since[pos + 1], &mm->since[pos],
					(size_t)(mm->n - pos) * sizeof(uint64_t));
				memmove(&mm->pod[pos + 1], &mm->pod[pos],
					(size_t)(mm->n - pos) * sizeof(int));
				mm->since[pos] = since;
				mm->pod[pos] = pod;
				mm->n++;
			}
			CHECK(rc == want);
		} else if (op == 2) { /* rm all */
			CHECK(vigil_meta_store_rm(st, &ips[a], true, 0) ==
			      (uint32_t)mm->n);
			held -= mm->n > 0;
			mm->n = 0;
		} else { /* rm one */
			bool there = pos < mm->n && mm->since[pos] == since;

			CHECK(vigil_meta_store_rm(st, &ips[a], false, since) ==
			      (uint32_t)there);
			if (there) {
				memmove(&mm->since[pos], &mm->since[pos + 1],
					(size_t)(mm->n - pos - 1) *
						sizeof(uint64_t));
				memmove(&mm->pod[pos], &mm->pod[pos + 1],
					(size_t)(mm->n - pos - 1) * sizeof(int));
				mm->n--;
				held -= mm->n == 0;
			}
		}
		/* Lookups around every since of every address. */
		CHECK(vigil_meta_store_ips(st) == (uint32_t)held);
		for (int i = 0; i < MODEL_IPS; i++) {
			for (int t = -1; t <= 256; t += 37) {
				uint64_t tu = t < 0 ? UINT64_MAX :
					      (uint64_t)t * 1000000 + 500000;
				const struct vigil_meta_entry *e =
					vigil_meta_lookup(st, &ips[i], tu);
				int k = m[i].n - 1;
				char want_pod[16];

				while (k >= 0 && m[i].since[k] > tu)
					k--;
				if (k < 0) {
					CHECK(e == NULL);
					continue;
				}
				CHECK(e != NULL);
				model_pod(m[i].pod[k], want_pod);
				CHECK(strcmp(e->pod, want_pod) == 0);
				CHECK(e->since_us == m[i].since[k]);
			}
		}
	}
	vigil_meta_store_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;
	int mode;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	switch (data[0]) {
	case 'd': mode = 0; break;
	case 'i': mode = 1; break;
	case 'h': mode = 2; break;
	case 't': mode = 3; break;
	case 's': mode = 4; break;
	default: mode = data[0] % 5; break;
	}
	/* An exact-size heap copy: ASan sees a read past the end. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	memset(err, 0, sizeof(err));
	switch (mode) {
	case 0: fuzz_doc(copy, size - 1); break;
	case 1: fuzz_identity(copy, size - 1); break;
	case 2: fuzz_hash(copy, size - 1); break;
	case 3: fuzz_text(copy, size - 1); break;
	default: fuzz_store((const uint8_t *)copy, size - 1); break;
	}
	free(copy);
	return 0;
}
