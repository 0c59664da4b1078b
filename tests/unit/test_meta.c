/*
 * Unit tests of lib/meta: the validation of identity fields (accepted
 * values, and the exact message of each refusal), the P:meta:<ip> hash,
 * the JSON identity and push document, the update messages, and the
 * identity history store (an IP reused by a second pod at a later time).
 * No DPDK needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil_meta.h"

static char err[1024];
static struct vigil_identity id;

#define SHA64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define X_SUBDOMAIN                                                         \
	"expected a DNS-1123 subdomain: a-z, 0-9, '-' and '.', at most 253 " \
	"bytes, dot-separated parts of at most 63 starting and ending with " \
	"a-z or 0-9"
#define X_DNSLABEL                                                          \
	"expected a DNS-1123 label: a-z, 0-9 and '-', at most 63 bytes, "    \
	"starting and ending with a-z or 0-9"
#define X_IMAGE                                                             \
	"expected an OCI image reference [host[:port]/]path[:tag][@digest], " \
	"at most 512 bytes"
#define X_LKEY                                                              \
	"expected a label key [prefix/]name: the name A-Z, a-z, 0-9, '-', "  \
	"'_' and '.', at most 63 bytes, starting and ending with a letter "  \
	"or digit; the prefix a DNS-1123 subdomain"
#define X_LVALUE                                                            \
	"expected a label value: A-Z, a-z, 0-9, '-', '_' and '.', at most "  \
	"63 bytes, starting and ending with a letter or digit, or empty"
#define X_LABELS                                                            \
	"expected labels as key=value pairs separated by ',' (a JSON object " \
	"of strings in JSON)"
#define X_SINCE                                                             \
	"expected epoch seconds (digits, a fraction of at most 9 digits) or " \
	"an RFC 3339 time such as 2026-01-02T03:04:05Z, from 1970 to 9999"
#define X_IP "expected an IPv4 or IPv6 address"
#define X_FIELDS "expected pod, namespace, image, service, labels or since"

static int
reset(void **state)
{
	(void)state;
	vigil_identity_init(&id);
	memset(err, 0, sizeof(err));
	return 0;
}

static int
set(const char *field, const char *value)
{
	return vigil_identity_set_field(&id, field, strlen(field), value,
					strlen(value), err, sizeof(err));
}

static void
accept_field(const char *field, const char *value)
{
	if (set(field, value) != 0)
		fail_msg("%s \"%s\" refused: %s", field, value, err);
}

static void
refuse_field(const char *field, const char *value, const char *want)
{
	assert_int_equal(set(field, value), -1);
	assert_string_equal(err, want);
}

/* A complete identity in id. */
static void
fill(const char *pod, const char *service)
{
	vigil_identity_init(&id);
	accept_field("pod", pod);
	accept_field("namespace", "shop");
	accept_field("image", "registry.example.com/shop/web:1.4");
	accept_field("service", service);
}

/* ---- addresses ------------------------------------------------------------ */

static void
test_ip(void **state)
{
	struct vigil_meta_ip ip;
	char norm[VIGIL_META_IP_MAX + 1];
	char big[100];

	(void)state;
	assert_int_equal(vigil_meta_parse_ip("10.1.2.3", 8, &ip, norm, err,
					     sizeof(err)), 0);
	assert_int_equal(ip.family, VIGIL_META_AF_INET);
	assert_memory_equal(ip.addr, "\x0a\x01\x02\x03\0\0\0\0\0\0\0\0\0\0\0\0",
			    16);
	assert_string_equal(norm, "10.1.2.3");
	assert_int_equal(vigil_meta_parse_ip("2001:DB8:0:0::01", 16, &ip, norm,
					     err, sizeof(err)), 0);
	assert_int_equal(ip.family, VIGIL_META_AF_INET6);
	assert_string_equal(norm, "2001:db8::1");
	assert_int_equal(vigil_meta_parse_ip("::ffff:10.0.0.1", 15, NULL, norm,
					     err, sizeof(err)), 0);
	assert_string_equal(norm, "::ffff:10.0.0.1");

	assert_int_equal(vigil_meta_parse_ip("10.0.0.300", 10, &ip, norm, err,
					     sizeof(err)), -1);
	assert_string_equal(err, "IP \"10.0.0.300\": not an address; " X_IP);
	assert_int_equal(vigil_meta_parse_ip("010.0.0.1", 9, &ip, norm, err,
					     sizeof(err)), -1);
	assert_int_equal(vigil_meta_parse_ip("fe80::1%eth0", 12, &ip, norm,
					     err, sizeof(err)), -1);
	assert_string_equal(err, "IP \"fe80::1%eth0\": '%' at position 8 is not "
			    "allowed; " X_IP);
	assert_int_equal(vigil_meta_parse_ip("1.2.3.4\n", 8, &ip, norm, err,
					     sizeof(err)), -1);
	assert_string_equal(err, "IP \"1.2.3.4\\x0a\": '\\x0a' at position 8 is "
			    "not allowed; " X_IP);
	assert_int_equal(vigil_meta_parse_ip("", 0, &ip, norm, err,
					     sizeof(err)), -1);
	assert_string_equal(err, "IP: empty; " X_IP);
	memset(big, '1', sizeof(big));
	assert_int_equal(vigil_meta_parse_ip(big, sizeof(big), &ip, norm, err,
					     sizeof(err)), -1);
	assert_string_equal(err, "IP \"" "1111111111111111111111111111111111111111"
			    "111111111111111111111111...\": 100 bytes is too "
			    "long; " X_IP);
}

/* ---- names ------------------------------------------------------------------ */

static void
test_pod_service_namespace(void **state)
{
	char big[300];

	(void)state;
	accept_field("pod", "web-7d4b9c6f5-x2x9z");
	accept_field("pod", "a");
	accept_field("pod", "db-0.db.shop.svc");
	accept_field("service", "payments");
	accept_field("namespace", "kube-system");
	assert_string_equal(id.pod, "db-0.db.shop.svc");

	refuse_field("pod", "Web-1", "pod \"Web-1\": 'W' at position 1 is not "
		     "allowed; " X_SUBDOMAIN);
	refuse_field("pod", "-web", "pod \"-web\": must start with a-z or 0-9; "
		     X_SUBDOMAIN);
	refuse_field("pod", "web-", "pod \"web-\": must end with a-z or 0-9; "
		     X_SUBDOMAIN);
	refuse_field("pod", "a..b", "pod \"a..b\": '.' at position 2 must be "
		     "between a-z or 0-9; " X_SUBDOMAIN);
	refuse_field("pod", "a-.b", "pod \"a-.b\": '.' at position 3 must be "
		     "between a-z or 0-9; " X_SUBDOMAIN);
	refuse_field("pod", "", "pod: empty; " X_SUBDOMAIN);
	refuse_field("pod", "a\x1b[31mb", "pod \"a\\x1b[31mb\": '\\x1b' at "
		     "position 2 is not allowed; " X_SUBDOMAIN);
	refuse_field("pod", "it's", "pod \"it's\": '\\x27' at position 3 is "
		     "not allowed; " X_SUBDOMAIN);
	refuse_field("pod", "a\"b", "pod \"a\\\"b\": '\"' at position 2 is "
		     "not allowed; " X_SUBDOMAIN);
	refuse_field("pod", "caf\xc3\xa9", "pod \"caf\\xc3\\xa9\": '\\xc3' at "
		     "position 4 is not allowed; " X_SUBDOMAIN);
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	refuse_field("pod", big, "pod \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaa...\": 299 bytes is too long; "
		     X_SUBDOMAIN);
	/* 64 bytes in a part */
	memset(big, 'a', 64);
	strcpy(big + 64, ".b");
	refuse_field("pod", big, "pod \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaa...\": the part at position 1 is "
		     "longer than 63 bytes; " X_SUBDOMAIN);
	refuse_field("namespace", "kube.system", "namespace \"kube.system\": "
		     "'.' at position 5 is not allowed; " X_DNSLABEL);
	memset(big, 'a', 64);
	big[64] = '\0';
	refuse_field("namespace", big, "namespace \"aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 64 bytes is too "
		     "long; " X_DNSLABEL);
	refuse_field("service", "Pay ments", "service \"Pay ments\": 'P' at "
		     "position 1 is not allowed; " X_SUBDOMAIN);
	refuse_field("podx", "a", "unknown field \"podx\"; " X_FIELDS);
	/* A refused value leaves the identity as it was. */
	assert_string_equal(id.pod, "db-0.db.shop.svc");
	assert_string_equal(id.namespace, "kube-system");
}

static void
test_image(void **state)
{
	char big[600];

	(void)state;
	accept_field("image", "nginx");
	accept_field("image", "nginx:1.25");
	accept_field("image", "library/nginx:1.25-alpine");
	accept_field("image", "docker.io/library/nginx:1.25@sha256:" SHA64);
	accept_field("image", "nginx@sha256:" SHA64);
	accept_field("image", "localhost:5000/team/app_x__y:v1");
	accept_field("image", "registry.example.com:443/a/b-c.d---e:Tag_1.0");
	accept_field("image", "[::1]:5000/app");
	accept_field("image", "Registry.Example.com/org/app:v1"); /* a host */
	accept_field("image", "quay.io/a/b@sha512:" SHA64 SHA64);
	accept_field("image", "a/b@multihash+base58:" SHA64);
	assert_string_equal(id.image, "a/b@multihash+base58:" SHA64);

	refuse_field("image", "Nginx", "image \"Nginx\": the path component at "
		     "position 1 is not a-z and 0-9 joined by '.', '_', '__' "
		     "or '-'; " X_IMAGE);
	refuse_field("image", "ghcr.io/Org/app", "image \"ghcr.io/Org/app\": the "
		     "path component at position 9 is not a-z and 0-9 joined "
		     "by '.', '_', '__' or '-'; " X_IMAGE);
	refuse_field("image", "a//b", "image \"a//b\": the path component at "
		     "position 3 is not a-z and 0-9 joined by '.', '_', '__' "
		     "or '-'; " X_IMAGE);
	refuse_field("image", "nginx:", "image \"nginx:\": the tag must be 1 to "
		     "128 of A-Z, a-z, 0-9, '_', '.' and '-', not starting with "
		     "'.' or '-'; " X_IMAGE);
	refuse_field("image", "nginx:-x", "image \"nginx:-x\": the tag must be "
		     "1 to 128 of A-Z, a-z, 0-9, '_', '.' and '-', not starting "
		     "with '.' or '-'; " X_IMAGE);
	refuse_field("image", "nginx@sha256:abc", "image \"nginx@sha256:abc\": "
		     "a sha256 digest has 64 hex digits; " X_IMAGE);
	refuse_field("image", "nginx@sha256:" "0123456789ABCDEF0123456789abcdef"
		     "0123456789abcdef0123456789abcdef", "image \"nginx@sha256:"
		     "0123456789ABCDEF0123456789abcdef0123456789abcdef012...\": "
		     "sha256 and sha512 digests are lower-case hex; " X_IMAGE);
	refuse_field("image", "nginx@" SHA64, "image \"nginx@0123456789abcdef"
		     "0123456789abcdef0123456789abcdef0123456789...\": the "
		     "digest after '@' has no ':' (algorithm:hex); " X_IMAGE);
	refuse_field("image", "my image", "image \"my image\": ' ' at position "
		     "3 is not allowed; " X_IMAGE);
	refuse_field("image", "a\tb", "image \"a\\x09b\": '\\x09' at position 2 "
		     "is not allowed; " X_IMAGE);
	refuse_field("image", "bad_host!:5000/app", "image \"bad_host!:5000/app"
		     "\": '!' at position 9 is not allowed; " X_IMAGE);
	refuse_field("image", "re-.io:5000/app", "image \"re-.io:5000/app\": "
		     "the registry at position 1 is not host[:port] or "
		     "[IPv6][:port]; " X_IMAGE);
	refuse_field("image", ":tag", "image \":tag\": the repository is empty; "
		     X_IMAGE);
	refuse_field("image", "", "image: empty; " X_IMAGE);
	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	refuse_field("image", big, "image \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": 599 bytes is too long; "
		     X_IMAGE);
	big[300] = '\0';
	refuse_field("image", big, "image \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": the repository is "
		     "longer than 255 bytes; " X_IMAGE);
}

/* ---- labels ----------------------------------------------------------------- */

static int
label(const char *k, const char *v)
{
	return vigil_identity_set_label(&id, k, strlen(k), v, strlen(v), err,
					sizeof(err));
}

static void
test_labels(void **state)
{
	char key[80], buf[VIGIL_META_LABELS_TEXT_MAX + 1];

	(void)state;
	assert_int_equal(label("tier", "frontend"), 0);
	assert_int_equal(label("app.kubernetes.io/name", "web"), 0);
	assert_int_equal(label("app", ""), 0);
	assert_int_equal(label("app", "v1.2_3-X"), 0); /* replaced */
	assert_int_equal(id.n_labels, 3);
	vigil_meta_format_labels(&id, buf, sizeof(buf));
	assert_string_equal(buf, "app=v1.2_3-X,app.kubernetes.io/name=web,"
			    "tier=frontend");

	assert_int_equal(label("-x", "1"), -1);
	assert_string_equal(err, "label key \"-x\": must start and end with a "
			    "letter or digit; " X_LKEY);
	assert_int_equal(label("a/b/c", "1"), -1);
	assert_string_equal(err, "label key \"a/b/c\": '/' at position 4 is not "
			    "allowed; " X_LKEY);
	assert_int_equal(label("Example.com/app", "1"), -1);
	assert_string_equal(err, "label key prefix \"Example.com/app\": 'E' at "
			    "position 1 is not allowed; " X_LKEY);
	assert_int_equal(label("app", "-x"), -1);
	assert_string_equal(err, "label \"app\" value \"-x\": must start and end "
			    "with a letter or digit; " X_LVALUE);
	assert_int_equal(label("app", "a=b"), -1);
	assert_string_equal(err, "label \"app\" value \"a=b\": '=' at position 2 "
			    "is not allowed; " X_LVALUE);
	assert_int_equal(label("app", "0123456789012345678901234567890123456789"
			       "012345678901234567890123"), -1);
	assert_string_equal(err, "label \"app\" value \"012345678901234567890123"
			    "4567890123456789012345678901234567890123\": 64 bytes "
			    "is too long; " X_LVALUE);
	for (int i = 0; i < 29; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		assert_int_equal(label(key, "v"), 0);
	}
	assert_int_equal(id.n_labels, 32);
	assert_int_equal(label("one-more", "v"), -1);
	assert_string_equal(err, "labels: more than 32; expected at most 32 "
			    "labels");
	assert_int_equal(label("k00", "replaced"), 0); /* replacing is fine */

	/* The hash's form. */
	accept_field("labels", "b=2,a=1,c=");
	assert_int_equal(id.n_labels, 3);
	assert_string_equal(id.labels[0].key, "a");
	assert_string_equal(id.labels[2].value, "");
	accept_field("labels", "");
	assert_int_equal(id.n_labels, 0);
	accept_field("labels", "a=1");
	refuse_field("labels", "a=1,a=2", "label \"a\": given twice; expected "
		     "each label key once");
	refuse_field("labels", "a=1,b", "labels \"a=1,b\": the item at position "
		     "5 has no '='; " X_LABELS);
	refuse_field("labels", "a=1,", "labels \"a=1,\": an empty item; "
		     X_LABELS);
	refuse_field("labels", "a=1,,b=2", "labels \"a=1,,b=2\": an empty item; "
		     X_LABELS);
	/* unchanged by the refusals */
	assert_int_equal(id.n_labels, 1);
	assert_string_equal(id.labels[0].key, "a");
}

/* ---- since -------------------------------------------------------------------- */

static uint64_t
since(const char *s)
{
	uint64_t us = 42;

	if (vigil_meta_parse_since(s, strlen(s), &us, err, sizeof(err)))
		fail_msg("since \"%s\" refused: %s", s, err);
	return us;
}

static void
refuse_since(const char *s, const char *want)
{
	uint64_t us;

	assert_int_equal(vigil_meta_parse_since(s, strlen(s), &us, err,
						sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void
test_since(void **state)
{
	char buf[VIGIL_META_SINCE_TEXT_MAX + 1];

	(void)state;
	assert_true(since("0") == 0);
	assert_true(since("1767225600") == 1767225600000000ULL);
	assert_true(since("1767225600.5") == 1767225600500000ULL);
	assert_true(since("1767225600.123456789") == 1767225600123456ULL);
	assert_true(since("2026-01-01T00:00:00Z") == 1767225600000000ULL);
	assert_true(since("2026-01-01t02:00:00.25+02:00") ==
		    1767225600250000ULL);
	assert_true(since("2025-12-31T23:00:00-01:00") == 1767225600000000ULL);
	assert_true(since("2024-02-29T00:00:00Z") == 1709164800000000ULL);
	assert_true(since("1970-01-01T00:00:00Z") == 0);
	assert_true(since("9999-12-31T23:59:59.999999Z") ==
		    VIGIL_META_SINCE_MAX_US);
	vigil_meta_format_since(1767225600250000ULL, buf);
	assert_string_equal(buf, "1767225600.250000");
	vigil_meta_format_since(VIGIL_META_SINCE_MAX_US, buf);
	assert_string_equal(buf, "253402300799.999999");

	refuse_since("1.5e9", "since \"1.5e9\": not epoch seconds or an RFC "
		     "3339 time; " X_SINCE);
	refuse_since("-1", "since \"-1\": not epoch seconds or an RFC 3339 "
		     "time; " X_SINCE);
	refuse_since("1767225600.1234567891", "since \"1767225600.1234567891\": "
		     "not epoch seconds or an RFC 3339 time; " X_SINCE);
	refuse_since("1767225600.", "since \"1767225600.\": not epoch seconds "
		     "or an RFC 3339 time; " X_SINCE);
	refuse_since("253402300800", "since \"253402300800\": out of range; "
		     X_SINCE);
	refuse_since("2026-02-29T00:00:00Z", "since \"2026-02-29T00:00:00Z\": "
		     "not a valid date and time; " X_SINCE);
	refuse_since("2026-01-01T00:00:00", "since \"2026-01-01T00:00:00\": "
		     "not an RFC 3339 time; " X_SINCE);
	refuse_since("2026-01-01T00:00:00+0200", "since \"2026-01-01T00:00:00"
		     "+0200\": an RFC 3339 time ends in Z or +HH:MM; " X_SINCE);
	refuse_since("1970-01-01T00:00:00+00:01", "since \"1970-01-01T00:00:00"
		     "+00:01\": out of range; " X_SINCE);
	refuse_since("", "since: empty; " X_SINCE);
}

/* ---- the hash ------------------------------------------------------------------ */

static int
hash(size_t n, const char *const *f, const char *const *v)
{
	size_t fl[16], vl[16];

	for (size_t i = 0; i < n; i++) {
		fl[i] = strlen(f[i]);
		vl[i] = strlen(v[i]);
	}
	return vigil_meta_parse_hash(f, fl, v, vl, n, &id, err, sizeof(err));
}

static void
test_hash(void **state)
{
	const char *f[] = { "pod", "namespace", "image", "service", "labels",
			    "since", "extra" };
	const char *v[] = { "web-1", "shop", "nginx:1.25", "web",
			    "tier=frontend,app=web", "1767225600.5", "x" };
	const char *fl[] = { "pod" };
	const char *vl[] = { "web\0evil" };
	size_t one = 8, three = 3;

	(void)state;
	assert_int_equal(hash(6, f, v), 0);
	assert_string_equal(id.pod, "web-1");
	assert_string_equal(id.labels[0].key, "app");
	assert_true(id.has_since);
	assert_true(id.since_us == 1767225600500000ULL);
	assert_int_equal(hash(4, f, v), 0);
	assert_false(id.has_since);
	assert_int_equal(id.n_labels, 0);

	assert_int_equal(hash(3, f, v), -1);
	assert_string_equal(err, "service: missing; expected pod, namespace, "
			    "image and service");
	assert_int_equal(hash(7, f, v), -1);
	assert_string_equal(err, "7 fields; " X_FIELDS ", each once");
	{
		const char *f2[] = { "pod", "pod" };
		const char *v2[] = { "a", "b" };

		assert_int_equal(hash(2, f2, v2), -1);
		assert_string_equal(err, "field pod: given twice; " X_FIELDS
				    ", each once");
	}
	{
		const char *f3[] = { "pod", "namespace", "image", "service",
				     "\x1b]0;x\x07" };
		const char *v3[] = { "a", "b", "c", "d", "e" };

		assert_int_equal(hash(5, f3, v3), -1);
		assert_string_equal(err, "unknown field \"\\x1b]0;x\\x07\"; "
				    X_FIELDS);
	}
	/* binary: a NUL inside a value */
	assert_int_equal(vigil_meta_parse_hash(fl, &three, vl, &one, 1, &id,
					       err, sizeof(err)), -1);
	assert_string_equal(err, "pod \"web\\x00evil\": '\\x00' at position 4 "
			    "is not allowed; " X_SUBDOMAIN);
}

/* ---- JSON ----------------------------------------------------------------------- */

static int
json_id(const char *s)
{
	return vigil_meta_parse_json_identity(s, strlen(s), &id, err,
					      sizeof(err));
}

static void
test_json_identity(void **state)
{
	char buf[VIGIL_META_JSON_MAX + 1], again[VIGIL_META_JSON_MAX + 1];
	size_t n;

	(void)state;
	assert_int_equal(json_id(" {\"pod\": \"web-1\", \"namespace\": \"shop\","
				 " \"image\": \"nginx:1.25\", \"service\": "
				 "\"web\", \"labels\": {\"tier\": \"fe\", "
				 "\"app\": \"w\\u0065b\"}, \"since\": "
				 "\"2026-01-01T00:00:00.5Z\"}\n"), 0);
	n = vigil_meta_format_json(&id, buf, sizeof(buf));
	assert_string_equal(buf, "{\"since\":1767225600.500000,\"pod\":"
			    "\"web-1\",\"namespace\":\"shop\",\"image\":"
			    "\"nginx:1.25\",\"service\":\"web\",\"labels\":"
			    "{\"app\":\"web\",\"tier\":\"fe\"}}");
	assert_int_equal(n, strlen(buf));
	/* formatting what was read back gives the same text */
	assert_int_equal(json_id(buf), 0);
	vigil_meta_format_json(&id, again, sizeof(again));
	assert_string_equal(buf, again);
	/* a short buffer: cut, terminated, the length it needed */
	assert_int_equal(vigil_meta_format_json(&id, again, 10), n);
	assert_string_equal(again, "{\"since\":");

	assert_int_equal(json_id("{\"pod\":\"a\",\"namespace\":\"b\",\"image\":"
				 "\"c\",\"service\":\"d\",\"since\":null,"
				 "\"labels\":null}"), 0);
	assert_false(id.has_since);
	vigil_meta_format_json(&id, buf, sizeof(buf));
	assert_string_equal(buf, "{\"pod\":\"a\",\"namespace\":\"b\",\"image\":"
			    "\"c\",\"service\":\"d\",\"labels\":{}}");
	assert_int_equal(json_id("{\"pod\":\"a\",\"namespace\":\"b\",\"image\":"
				 "\"c\",\"service\":\"d\",\"since\":0}"), 0);
	assert_true(id.has_since);
	assert_true(id.since_us == 0);

	assert_int_equal(json_id("{\"pod\":\"a\",\"pod\":\"b\"}"), -1);
	assert_string_equal(err, "field pod: given twice; " X_FIELDS
			    ", each once");
	assert_int_equal(json_id("{\"pod\":1}"), -1);
	assert_string_equal(err, "pod: a number instead of a string; "
			    X_SUBDOMAIN);
	assert_int_equal(json_id("{\"since\":true}"), -1);
	assert_string_equal(err, "since: a boolean instead of a number, a string "
			    "or null; " X_SINCE);
	assert_int_equal(json_id("{\"since\":1.5e9}"), -1);
	assert_string_equal(err, "since \"1.5e9\": not epoch seconds or an RFC "
			    "3339 time; " X_SINCE);
	assert_int_equal(json_id("{\"labels\":{\"a\":\"1\",\"a\":\"2\"}}"), -1);
	assert_string_equal(err, "label \"a\": given twice; expected each label "
			    "key once");
	assert_int_equal(json_id("{\"labels\":{\"a\":1}}"), -1);
	assert_string_equal(err, "label \"a\": a number instead of a string; "
			    X_LVALUE);
	assert_int_equal(json_id("{\"labels\":[]}"), -1);
	assert_string_equal(err, "labels: an array instead of an object or null; "
			    X_LABELS);
	assert_int_equal(json_id("[1]"), -1);
	assert_string_equal(err, "an array instead of an identity object; "
			    "expected {\"pod\": ..., \"namespace\": ..., "
			    "\"image\": ..., \"service\": ...}");
	assert_int_equal(json_id("{\"pod\":\"a\",\"namespace\":\"b\",\"image\":"
				 "\"c\",\"service\":\"d\"} x"), -1);
	assert_string_equal(err, "line 1, column 55: unexpected data after the "
			    "JSON value");
	assert_int_equal(json_id("{\"pod\":\"a\x01\"}"), -1);
	assert_string_equal(err, "line 1, column 10: control character in a "
			    "string (escape it)");
	assert_int_equal(json_id("{\"pod\":\"\\u0000\"}"), -1);
	assert_string_equal(err, "pod \"\\x00\": '\\x00' at position 1 is not "
			    "allowed; " X_SUBDOMAIN);
	assert_int_equal(json_id("{\"pod\":\"\xff\"}"), -1);
	assert_string_equal(err, "line 1, column 9: invalid UTF-8 in a string");
	assert_int_equal(json_id("{\"pod\":\"\\ud800\"}"), -1);
	assert_string_equal(err, "line 1, column 9: lone surrogate in a string");
	assert_int_equal(json_id("{\"x\":1}"), -1);
	assert_string_equal(err, "unknown field \"x\"; " X_FIELDS);
	assert_int_equal(json_id("{\"pod\":\"a\"\n,\n\"namespace\" \"b\"}"), -1);
	assert_string_equal(err, "line 3, column 13: expected ':' after a "
			    "member name");
}

/* What the document callback saw. */
struct seen {
	int n;
	char ip[4][VIGIL_META_IP_MAX + 1];
	char pod[4][VIGIL_META_POD_MAX + 1];
	uint64_t since[4];
};

static int
collect(void *arg, const struct vigil_meta_ip *ip, const char *text,
	const struct vigil_identity *e)
{
	struct seen *s = arg;

	(void)ip;
	if (s->n < 4) {
		strcpy(s->ip[s->n], text);
		strcpy(s->pod[s->n], e->pod);
		s->since[s->n] = e->since_us;
	}
	s->n++;
	return 0;
}

static long
doc(const char *s, struct seen *sn)
{
	memset(sn, 0, sizeof(*sn));
	return vigil_meta_parse_json_doc(s, strlen(s), 0, collect, sn, err,
					 sizeof(err));
}

#define ENTRY(pod) "{\"pod\":\"" pod "\",\"namespace\":\"shop\",\"image\":" \
		   "\"nginx\",\"service\":\"web\"}"

static void
test_json_doc(void **state)
{
	struct seen sn;
	char *big;

	(void)state;
	assert_int_equal(doc("{\n  \"10.0.0.5\": " ENTRY("web-1") ",\n"
			     "  \"2001:DB8::5\": {\"pod\":\"web-2\",\"namespace\":"
			     "\"shop\",\"image\":\"nginx\",\"service\":\"web\","
			     "\"since\":1767225600}\n}\n", &sn), 2);
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.ip[0], "10.0.0.5");
	assert_string_equal(sn.pod[0], "web-1");
	assert_string_equal(sn.ip[1], "2001:db8::5");
	assert_true(sn.since[1] == 1767225600000000ULL);
	assert_int_equal(doc(" {} ", &sn), 0);

	assert_int_equal(doc("[]", &sn), -1);
	assert_string_equal(err, "line 1, column 1: expected a JSON object keyed "
			    "by IP, found an array");
	assert_int_equal(doc("", &sn), -1);
	assert_string_equal(err, "line 1, column 1: expected a JSON object keyed "
			    "by IP, found the end of the input");
	assert_int_equal(doc("{\"10.0.0.5\": " ENTRY("Web-1") "}", &sn), -1);
	assert_string_equal(err, "entry \"10.0.0.5\": pod \"Web-1\": 'W' at "
			    "position 1 is not allowed; " X_SUBDOMAIN);
	assert_int_equal(doc("{\"10.0.0.5\": {\"pod\":\"a\"}}", &sn), -1);
	assert_string_equal(err, "entry \"10.0.0.5\": namespace: missing; "
			    "expected pod, namespace, image and service");
	assert_int_equal(doc("{\"10.0.0.5\": \"web\"}", &sn), -1);
	assert_string_equal(err, "entry \"10.0.0.5\": a string instead of an "
			    "identity object; expected {\"pod\": ..., "
			    "\"namespace\": ..., \"image\": ..., \"service\": "
			    "...}");
	assert_int_equal(doc("{\"10.0.0.300\": " ENTRY("a") "}", &sn), -1);
	assert_string_equal(err, "IP \"10.0.0.300\": not an address; " X_IP);
	assert_int_equal(doc("{\"10.0.0.\\u001b\": " ENTRY("a") "}", &sn), -1);
	assert_string_equal(err, "IP \"10.0.0.\\x1b\": '\\x1b' at position 8 is "
			    "not allowed; " X_IP);
	assert_int_equal(doc("{\"2001:db8::1\": " ENTRY("a") ", \"10.0.0.1\": "
			     ENTRY("b") ", \"2001:DB8:0::1\": " ENTRY("c") "}",
			     &sn), -1);
	assert_string_equal(err, "IP 2001:db8::1: given twice (entries 1 and 3); "
			    "expected each address once");
	assert_int_equal(vigil_meta_parse_json_doc(
				 "{\"10.0.0.1\": " ENTRY("a") ", \"10.0.0.2\": "
				 ENTRY("b") "}", 200, 1, NULL, NULL, err,
				 sizeof(err)), -1);
	assert_string_equal(err, "more than 1 entries; expected at most 1");
	assert_int_equal(doc("{\"10.0.0.1\": " ENTRY("a") ",}", &sn), -1);
	assert_string_equal(err, "line 1, column 77: expected a string, found "
			    "'}'");

	/* A 1 MiB value: its length, never its bytes beyond 64. */
	big = malloc((1 << 20) + 200);
	assert_non_null(big);
	strcpy(big, "{\"10.0.0.1\": {\"pod\": \"");
	memset(big + strlen(big), 'a', 1 << 20);
	strcpy(big + 22 + (1 << 20), "\"}}");
	assert_int_equal(doc(big, &sn), -1);
	assert_string_equal(err, "entry \"10.0.0.1\": pod \"aaaaaaaaaaaaaaaaaaaa"
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\": "
			    "1048576 bytes is too long; " X_SUBDOMAIN);
	free(big);
}

static void
test_update(void **state)
{
	struct vigil_meta_ip ip;
	char norm[VIGIL_META_IP_MAX + 1];

	(void)state;
	assert_int_equal(vigil_meta_parse_update("set 10.0.0.1", 12, &ip, norm,
						 err, sizeof(err)),
			 VIGIL_META_UPDATE_SET);
	assert_string_equal(norm, "10.0.0.1");
	assert_int_equal(vigil_meta_parse_update("rm 2001:db8::1", 14, &ip,
						 norm, err, sizeof(err)),
			 VIGIL_META_UPDATE_RM);
	assert_int_equal(vigil_meta_parse_update("del 10.0.0.1", 12, &ip, norm,
						 err, sizeof(err)), -1);
	assert_string_equal(err, "update \"del 10.0.0.1\": expected \"set IP\" "
			    "or \"rm IP\"");
	assert_int_equal(vigil_meta_parse_update("set x", 5, &ip, norm, err,
						 sizeof(err)), -1);
	assert_string_equal(err, "IP \"x\": 'x' at position 1 is not allowed; "
			    X_IP);
}

/* ---- the store ------------------------------------------------------------------- */

static struct vigil_meta_ip
ip_of(const char *s)
{
	struct vigil_meta_ip ip;

	assert_int_equal(vigil_meta_parse_ip(s, strlen(s), &ip, NULL, err,
					     sizeof(err)), 0);
	return ip;
}

static const char *
pod_at(const struct vigil_meta_store *st, const char *ip, uint64_t t)
{
	struct vigil_meta_ip a = ip_of(ip);
	const struct vigil_meta_entry *e = vigil_meta_lookup(st, &a, t);

	return e ? e->pod : "(none)";
}

static int
put_id(struct vigil_meta_store *st, const char *ip, const char *pod,
       bool has_since, uint64_t since_us)
{
	struct vigil_meta_ip a = ip_of(ip);

	fill(pod, "web");
	id.has_since = has_since;
	id.since_us = since_us;
	return vigil_meta_store_set(st, &a, &id);
}

#define T1 1767225600000000ULL /* 2026-01-01T00:00:00Z */
#define T2 1767229200000000ULL /* an hour later */

static void
test_store_reuse(void **state)
{
	struct vigil_meta_store *st = vigil_meta_store_create(16, 8);
	const struct vigil_meta_entry *h[8];
	struct vigil_meta_ip a = ip_of("10.0.0.7");

	(void)state;
	assert_non_null(st);
	assert_string_equal(pod_at(st, "10.0.0.7", T1), "(none)");
	/* web-1 held 10.0.0.7 from T1; worker-9 got the address at T2. */
	assert_int_equal(put_id(st, "10.0.0.7", "worker-9", true, T2),
			 VIGIL_META_ADDED);
	assert_int_equal(put_id(st, "10.0.0.7", "web-1", true, T1),
			 VIGIL_META_ADDED);
	assert_string_equal(pod_at(st, "10.0.0.7", T1 - 1), "(none)");
	assert_string_equal(pod_at(st, "10.0.0.7", T1), "web-1");
	assert_string_equal(pod_at(st, "10.0.0.7", T1 + 1800000000ULL), "web-1");
	assert_string_equal(pod_at(st, "10.0.0.7", T2 - 1), "web-1");
	assert_string_equal(pod_at(st, "10.0.0.7", T2), "worker-9");
	assert_string_equal(pod_at(st, "10.0.0.7", T2 + 86400000000ULL),
			    "worker-9");
	assert_string_equal(pod_at(st, "10.0.0.7", UINT64_MAX), "worker-9");
	assert_string_equal(pod_at(st, "10.0.0.8", T2), "(none)");

	/* An identity without since is valid from time 0. */
	assert_int_equal(put_id(st, "10.0.0.7", "seed", false, 0),
			 VIGIL_META_ADDED);
	assert_string_equal(pod_at(st, "10.0.0.7", 0), "seed");
	assert_string_equal(pod_at(st, "10.0.0.7", T1 - 1), "seed");
	assert_string_equal(pod_at(st, "10.0.0.7", T1), "web-1");
	/* The same since replaces. */
	assert_int_equal(put_id(st, "10.0.0.7", "web-1b", true, T1),
			 VIGIL_META_REPLACED);
	assert_string_equal(pod_at(st, "10.0.0.7", T1), "web-1b");
	assert_int_equal(vigil_meta_store_history(st, &a, h, 8), 3);
	assert_string_equal(h[0]->pod, "seed");
	assert_false(h[0]->has_since);
	assert_string_equal(h[1]->pod, "web-1b");
	assert_string_equal(h[2]->pod, "worker-9");
	assert_string_equal(h[2]->namespace, "shop");
	assert_string_equal(h[2]->image, "registry.example.com/shop/web:1.4");
	assert_string_equal(h[2]->service, "web");
	assert_int_equal(vigil_meta_store_ips(st), 1);
	assert_int_equal(vigil_meta_store_entries(st), 3);

	/* rm one entry, then the address. */
	assert_int_equal(vigil_meta_store_rm(st, &a, false, T1), 1);
	assert_int_equal(vigil_meta_store_rm(st, &a, false, T1), 0);
	assert_string_equal(pod_at(st, "10.0.0.7", T1), "seed");
	assert_int_equal(vigil_meta_store_rm(st, &a, true, 0), 2);
	assert_string_equal(pod_at(st, "10.0.0.7", T2), "(none)");
	assert_int_equal(vigil_meta_store_ips(st), 0);
	assert_int_equal(vigil_meta_store_entries(st), 0);
	vigil_meta_store_free(st);
}

static void
test_store_labels(void **state)
{
	struct vigil_meta_store *st = vigil_meta_store_create(4, 4);
	struct vigil_meta_ip a = ip_of("2001:db8::7");
	const struct vigil_meta_entry *e;

	(void)state;
	fill("web-1", "web");
	assert_int_equal(label("tier", "frontend"), 0);
	assert_int_equal(label("app", "web"), 0);
	assert_int_equal(vigil_meta_store_set(st, &a, &id), VIGIL_META_ADDED);
	e = vigil_meta_lookup(st, &a, T1);
	assert_non_null(e);
	assert_int_equal(e->n_labels, 2);
	assert_string_equal(e->label_key[0], "app");
	assert_string_equal(e->label_value[0], "web");
	assert_string_equal(e->label_key[1], "tier");
	assert_string_equal(e->label_value[1], "frontend");
	/* incomplete identity, bad address */
	vigil_identity_init(&id);
	assert_int_equal(vigil_meta_store_set(st, &a, &id),
			 VIGIL_META_ERR_INVALID);
	a.family = 5;
	fill("x", "y");
	assert_int_equal(vigil_meta_store_set(st, &a, &id),
			 VIGIL_META_ERR_INVALID);
	vigil_meta_store_free(st);
}

static void
test_store_bounds(void **state)
{
	struct vigil_meta_store *st = vigil_meta_store_create(2, 2);
	struct vigil_meta_ip a = ip_of("10.0.0.1");
	const struct vigil_meta_entry *h[4];

	(void)state;
	assert_null(vigil_meta_store_create(0, 1));
	assert_null(vigil_meta_store_create(1, 0));
	assert_null(vigil_meta_store_create(1, 5000));
	assert_int_equal(put_id(st, "10.0.0.1", "p1", true, T1),
			 VIGIL_META_ADDED);
	assert_int_equal(put_id(st, "10.0.0.1", "p2", true, T2),
			 VIGIL_META_ADDED);
	/* full: older than everything is refused, newer trims the oldest */
	assert_int_equal(put_id(st, "10.0.0.1", "p0", true, T1 - 1),
			 VIGIL_META_ERR_HISTORY_FULL);
	assert_int_equal(put_id(st, "10.0.0.1", "p3", true, T2 + 1),
			 VIGIL_META_TRIMMED);
	assert_int_equal(vigil_meta_store_history(st, &a, h, 4), 2);
	assert_string_equal(h[0]->pod, "p2");
	assert_string_equal(h[1]->pod, "p3");
	assert_int_equal(put_id(st, "10.0.0.1", "p25", true, T2 + 1 - 1),
			 VIGIL_META_REPLACED);
	assert_int_equal(put_id(st, "10.0.0.1", "p2x", true, T2 - 1),
			 VIGIL_META_ERR_HISTORY_FULL);
	assert_int_equal(put_id(st, "10.0.0.2", "q", false, 0),
			 VIGIL_META_ADDED);
	assert_int_equal(put_id(st, "10.0.0.3", "r", false, 0),
			 VIGIL_META_ERR_IPS_FULL);
	assert_int_equal(vigil_meta_store_ips(st), 2);
	/* a known address still takes entries */
	assert_int_equal(put_id(st, "10.0.0.2", "q2", true, T1),
			 VIGIL_META_ADDED);
	vigil_meta_store_free(st);
}

/* Many addresses in and out: table growth and backward-shift deletion. */
static void
test_store_many(void **state)
{
	enum { N = 5000 };
	struct vigil_meta_store *st = vigil_meta_store_create(N, 2);
	char ip[32], pod[32];

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		snprintf(pod, sizeof(pod), "p%d", i);
		assert_int_equal(put_id(st, ip, pod, false, 0),
				 VIGIL_META_ADDED);
	}
	assert_int_equal(put_id(st, "192.0.2.1", "x", false, 0),
			 VIGIL_META_ERR_IPS_FULL);
	for (int i = 0; i < N; i += 3) {
		struct vigil_meta_ip a;

		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		a = ip_of(ip);
		assert_int_equal(vigil_meta_store_rm(st, &a, true, 0), 1);
	}
	for (int i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		snprintf(pod, sizeof(pod), "p%d", i);
		assert_string_equal(pod_at(st, ip, T1),
				    i % 3 ? pod : "(none)");
	}
	assert_int_equal(vigil_meta_store_ips(st), N - (N + 2) / 3);
	vigil_meta_store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ip, reset),
		cmocka_unit_test_setup(test_pod_service_namespace, reset),
		cmocka_unit_test_setup(test_image, reset),
		cmocka_unit_test_setup(test_labels, reset),
		cmocka_unit_test_setup(test_since, reset),
		cmocka_unit_test_setup(test_hash, reset),
		cmocka_unit_test_setup(test_json_identity, reset),
		cmocka_unit_test_setup(test_json_doc, reset),
		cmocka_unit_test_setup(test_update, reset),
		cmocka_unit_test_setup(test_store_reuse, reset),
		cmocka_unit_test_setup(test_store_labels, reset),
		cmocka_unit_test_setup(test_store_bounds, reset),
		cmocka_unit_test_setup(test_store_many, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
