/*
 * vigil_meta.c — validation of workload identities, and the parsers and
 * formatters of the forms they take in Redis and in a push document (the
 * rules are in vigil_meta.h; the history store is in vigil_meta_store.c).
 *
 * Everything parsed here is untrusted: the push document comes from a CI/CD
 * pipeline, the hashes and history members from a Redis anyone may write.
 * So every length is checked before a copy, every loop advances over a
 * bounded input, the JSON reader is iterative over a fixed shape (an object
 * of objects, with one more level for labels) instead of a general
 * recursive one, and no message carries a raw byte of the input: values are
 * shown escaped and cut (show()).
 *
 * A valid field is plain ASCII without quotes or backslashes, so the
 * formatters write them as they are.
 */
#include "vigil_meta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Bytes of a value shown in a message before "...". */
#define SHOW_MAX 64

#define EXP_SUBDOMAIN                                                       \
	"expected a DNS-1123 subdomain: a-z, 0-9, '-' and '.', at most 253 " \
	"bytes, dot-separated parts of at most 63 starting and ending with " \
	"a-z or 0-9"
#define EXP_DNSLABEL                                                        \
	"expected a DNS-1123 label: a-z, 0-9 and '-', at most 63 bytes, "    \
	"starting and ending with a-z or 0-9"
#define EXP_IMAGE                                                           \
	"expected an OCI image reference [host[:port]/]path[:tag][@digest], " \
	"at most 512 bytes"
#define EXP_LKEY                                                            \
	"expected a label key [prefix/]name: the name A-Z, a-z, 0-9, '-', "  \
	"'_' and '.', at most 63 bytes, starting and ending with a letter "  \
	"or digit; the prefix a DNS-1123 subdomain"
#define EXP_LVALUE                                                          \
	"expected a label value: A-Z, a-z, 0-9, '-', '_' and '.', at most "  \
	"63 bytes, starting and ending with a letter or digit, or empty"
#define EXP_LABELS                                                          \
	"expected labels as key=value pairs separated by ',' (a JSON object " \
	"of strings in JSON)"
#define EXP_SINCE                                                           \
	"expected epoch seconds (digits, a fraction of at most 9 digits) or " \
	"an RFC 3339 time such as 2026-01-02T03:04:05Z, from 1970 to 9999"
#define EXP_IP "expected an IPv4 or IPv6 address"
#define EXP_FIELDS "expected pod, namespace, image, service, labels or since"

/* ---- messages ----------------------------------------------------------- */

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A value as it may appear in a message: printable ASCII but for '"' and
 * '\\' as is, those two backslashed, every other byte \xNN; cut after
 * SHOW_MAX bytes with "...". */
struct shown {
	char s[SHOW_MAX * 4 + 8];
};

static const char *show(struct shown *b, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			b->s[o++] = '\\';
			b->s[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			b->s[o++] = (char)c;
		} else {
			o += (size_t)snprintf(b->s + o, sizeof(b->s) - o,
					      "\\x%02x", c);
		}
	}
	if (n > SHOW_MAX) {
		memcpy(b->s + o, "...", 3);
		o += 3;
	}
	b->s[o] = '\0';
	return b->s;
}

/* One byte quoted: 'x', or '\xNN' for what is not printable or is a quote
 * or a backslash. */
struct shown_char {
	char s[8];
};

static const char *show_char(struct shown_char *b, unsigned char c)
{
	if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
		snprintf(b->s, sizeof(b->s), "'%c'", c);
	else
		snprintf(b->s, sizeof(b->s), "'\\x%02x'", c);
	return b->s;
}

/* "WHAT "VALUE": PROBLEM; EXPECT" with the value shown safely. */
static int bad(char *err, size_t errlen, const char *what, const char *s,
	       size_t n, const char *problem, const char *expect)
{
	struct shown v;

	return errf(err, errlen, "%s \"%s\": %s; %s", what, show(&v, s, n),
		    problem, expect);
}

static int bad_char(char *err, size_t errlen, const char *what,
		    const char *s, size_t n, size_t pos, const char *expect)
{
	struct shown_char c;
	char problem[64];

	snprintf(problem, sizeof(problem), "%s at position %zu is not allowed",
		 show_char(&c, (unsigned char)s[pos]), pos + 1);
	return bad(err, errlen, what, s, n, problem, expect);
}

static int bad_length(char *err, size_t errlen, const char *what,
		      const char *s, size_t n, const char *expect)
{
	char problem[64];

	if (n == 0)
		return errf(err, errlen, "%s: empty; %s", what, expect);
	snprintf(problem, sizeof(problem), "%zu bytes is too long", n);
	return bad(err, errlen, what, s, n, problem, expect);
}

/* ---- character classes ---------------------------------------------------- */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_alnum(int c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_lower_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* ---- DNS-1123 names --------------------------------------------------------- */

/*
 * s[from..to) as a DNS-1123 subdomain (dots allowed) or label, within the
 * whole value s (n bytes) that messages show; positions count in s.
 */
static int check_dns_range(const char *what, const char *s, size_t n,
			   size_t from, size_t to, size_t max, bool dots,
			   const char *expect, char *err, size_t errlen)
{
	size_t part = from;

	if (to == from || to - from > max)
		return bad_length(err, errlen, what, s + from, to - from,
				  expect);
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_lower_alnum(c) && c != '-' && !(dots && c == '.'))
			return bad_char(err, errlen, what, s, n, i, expect);
	}
	if (!is_lower_alnum(s[from]))
		return bad(err, errlen, what, s, n,
			   "must start with a-z or 0-9", expect);
	if (!is_lower_alnum(s[to - 1]))
		return bad(err, errlen, what, s, n,
			   "must end with a-z or 0-9", expect);
	for (size_t i = from; i <= to; i++) {
		char problem[96];

		if (i < to && s[i] != '.')
			continue;
		if (i < to && (!is_lower_alnum(s[i - 1]) ||
			       !is_lower_alnum(s[i + 1]))) {
			snprintf(problem, sizeof(problem),
				 "'.' at position %zu must be between a-z or "
				 "0-9", i + 1);
			return bad(err, errlen, what, s, n, problem, expect);
		}
		if (i - part > 63) {
			snprintf(problem, sizeof(problem),
				 "the part at position %zu is longer than 63 "
				 "bytes", part + 1);
			return bad(err, errlen, what, s, n, problem, expect);
		}
		part = i + 1;
	}
	return 0;
}

static int check_subdomain(const char *what, const char *s, size_t n,
			   size_t max, char *err, size_t errlen)
{
	return check_dns_range(what, s, n, 0, n, max, true, EXP_SUBDOMAIN,
			       err, errlen);
}

static int check_dns_label(const char *what, const char *s, size_t n,
			   char *err, size_t errlen)
{
	return check_dns_range(what, s, n, 0, n, VIGIL_META_NAMESPACE_MAX,
			       false, EXP_DNSLABEL, err, errlen);
}

/* ---- image references --------------------------------------------------------- */

/* A path component: [a-z0-9]+ joined by '.', '_', '__' or '-'+. */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		size_t sep = 0;

		while (i < n && is_lower_alnum(s[i]))
			i++;
		if (i == n)
			break;
		if (s[i] == '.') {
			sep = 1;
		} else if (s[i] == '_') {
			sep = i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		} else if (s[i] == '-') {
			while (i + sep < n && s[i + sep] == '-')
				sep++;
		} else {
			return false;
		}
		i += sep;
		if (i >= n || !is_lower_alnum(s[i]))
			return false;
	}
	return true;
}

/* host[:port]: a DNS name (letters of either case) or [IPv6]. */
static bool registry_ok(const char *s, size_t n)
{
	size_t hend = n, i;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		char v6[64];
		struct in6_addr a;
		size_t vn;

		if (!close)
			return false;
		vn = (size_t)(close - s) - 1;
		if (vn == 0 || vn >= sizeof(v6))
			return false;
		memcpy(v6, s + 1, vn);
		v6[vn] = '\0';
		if (inet_pton(AF_INET6, v6, &a) != 1)
			return false;
		hend = (size_t)(close - s) + 1;
		if (hend != n && s[hend] != ':')
			return false;
	} else {
		const char *colon = memchr(s, ':', n);

		if (colon)
			hend = (size_t)(colon - s);
		if (hend == 0)
			return false;
		for (i = 0; i < hend; i++) {
			bool edge = i == 0 || i + 1 == hend || s[i - 1] == '.' ||
				    s[i + 1] == '.';

			if (is_alnum(s[i]))
				continue;
			if (s[i] == '-' && !edge)
				continue;
			if (s[i] == '.' && i > 0 && i + 1 < hend &&
			    s[i - 1] != '.' && s[i + 1] != '.')
				continue;
			return false;
		}
	}
	if (hend < n) { /* :port */
		size_t pn = n - hend - 1;

		if (pn == 0 || pn > 5)
			return false;
		for (i = hend + 1; i < n; i++)
			if (!is_digit(s[i]))
				return false;
	}
	return true;
}

/* algorithm:hex, the algorithm [A-Za-z][A-Za-z0-9]* joined by [+._-]. */
static const char *digest_problem(const char *d, size_t n)
{
	const char *colon = memchr(d, ':', n);
	size_t an, hn;

	if (!colon)
		return "the digest after '@' has no ':' (algorithm:hex)";
	an = (size_t)(colon - d);
	hn = n - an - 1;
	if (an == 0 || !((d[0] >= 'a' && d[0] <= 'z') ||
			 (d[0] >= 'A' && d[0] <= 'Z')))
		return "the digest algorithm must start with a letter";
	for (size_t i = 1; i < an; i++) {
		bool sep = d[i] == '+' || d[i] == '.' || d[i] == '_' ||
			   d[i] == '-';

		if (is_alnum(d[i]))
			continue;
		if (sep && i + 1 < an && ((d[i + 1] >= 'a' && d[i + 1] <= 'z') ||
					  (d[i + 1] >= 'A' && d[i + 1] <= 'Z')))
			continue;
		return "the digest algorithm is not letters and digits joined "
		       "by '+', '.', '_' or '-'";
	}
	if (an == 6 && !memcmp(d, "sha256", 6)) {
		if (hn != 64)
			return "a sha256 digest has 64 hex digits";
	} else if (an == 6 && !memcmp(d, "sha512", 6)) {
		if (hn != 128)
			return "a sha512 digest has 128 hex digits";
	} else if (hn < 32) {
		return "a digest has at least 32 hex digits";
	}
	for (size_t i = an + 1; i < n; i++) {
		if (!is_hex(d[i]))
			return "the digest has a character that is not a hex "
			       "digit";
		if (an == 6 && (!memcmp(d, "sha256", 6) ||
				!memcmp(d, "sha512", 6)) && !is_lower_hex(d[i]))
			return "sha256 and sha512 digests are lower-case hex";
	}
	return NULL;
}

static int check_image(const char *s, size_t n, char *err, size_t errlen)
{
	const char *what = "image", *at, *slash, *colon;
	size_t name_end, ref_end, comp;
	char problem[128];

	if (n == 0 || n > VIGIL_META_IMAGE_MAX)
		return bad_length(err, errlen, what, s, n, EXP_IMAGE);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || (!is_alnum(c) && !strchr("._-/:@+[]", c)))
			return bad_char(err, errlen, what, s, n, i, EXP_IMAGE);
	}
	/* name[:tag] @ digest */
	at = memchr(s, '@', n);
	ref_end = at ? (size_t)(at - s) : n;
	if (at) {
		const char *p = digest_problem(at + 1, n - ref_end - 1);

		if (p)
			return bad(err, errlen, what, s, n, p, EXP_IMAGE);
	}
	/* The tag: after the last ':' that follows the last '/'. */
	name_end = ref_end;
	slash = NULL;
	for (size_t i = ref_end; i-- > 0;)
		if (s[i] == '/') {
			slash = s + i;
			break;
		}
	colon = NULL;
	for (size_t i = ref_end; i-- > (slash ? (size_t)(slash - s) + 1 : 0);)
		if (s[i] == ':') {
			colon = s + i;
			break;
		}
	if (colon) {
		const char *t = colon + 1;
		size_t tn = ref_end - (size_t)(t - s);
		bool ok = tn >= 1 && tn <= 128 && (is_alnum(t[0]) || t[0] == '_');

		for (size_t i = 1; ok && i < tn; i++)
			ok = is_alnum(t[i]) || t[i] == '_' || t[i] == '.' ||
			     t[i] == '-';
		if (!ok)
			return bad(err, errlen, what, s, n,
				   "the tag must be 1 to 128 of A-Z, a-z, 0-9, "
				   "'_', '.' and '-', not starting with '.' "
				   "or '-'", EXP_IMAGE);
		name_end = (size_t)(colon - s);
	}
	if (name_end == 0)
		return bad(err, errlen, what, s, n, "the repository is empty",
			   EXP_IMAGE);
	if (name_end > 255)
		return bad(err, errlen, what, s, n,
			   "the repository is longer than 255 bytes", EXP_IMAGE);
	/* Components: a first one with '.', ':' or upper case, or
	 * "localhost", followed by more, is the registry. */
	comp = 0;
	for (size_t i = 0; i <= name_end; i++) {
		const char *c = s + comp;
		size_t cn = i - comp;
		bool registry;

		if (i < name_end && s[i] != '/')
			continue;
		registry = comp == 0 && i < name_end &&
			   (memchr(c, '.', cn) || memchr(c, ':', cn) ||
			    memchr(c, '[', cn) ||
			    (cn == 9 && !memcmp(c, "localhost", 9)));
		for (size_t k = 0; comp == 0 && i < name_end && k < cn; k++)
			if (c[k] >= 'A' && c[k] <= 'Z')
				registry = true;
		if (registry && !registry_ok(c, cn)) {
			snprintf(problem, sizeof(problem),
				 "the registry at position 1 is not host[:port] "
				 "or [IPv6][:port]");
			return bad(err, errlen, what, s, n, problem, EXP_IMAGE);
		}
		if (!registry && !path_component_ok(c, cn)) {
			snprintf(problem, sizeof(problem),
				 "the path component at position %zu is not "
				 "a-z and 0-9 joined by '.', '_', '__' or '-'",
				 comp + 1);
			return bad(err, errlen, what, s, n, problem, EXP_IMAGE);
		}
		comp = i + 1;
	}
	return 0;
}

/* ---- labels ------------------------------------------------------------------- */

/* s[from..to) as a label name or value: [A-Za-z0-9._-], alnum at both
 * ends; empty only if allowed. */
static int check_label_part(const char *what, const char *s, size_t n,
			    size_t from, size_t to, bool empty_ok,
			    const char *expect, char *err, size_t errlen)
{
	if ((to == from && !empty_ok) || to - from > VIGIL_META_LABEL_NAME_MAX)
		return bad_length(err, errlen, what, s + from, to - from,
				  expect);
	if (to == from)
		return 0;
	for (size_t i = from; i < to; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
			return bad_char(err, errlen, what, s, n, i, expect);
	}
	if (!is_alnum(s[from]) || !is_alnum(s[to - 1]))
		return bad(err, errlen, what, s, n,
			   "must start and end with a letter or digit", expect);
	return 0;
}

static int check_label_key(const char *k, size_t kn, char *err,
			   size_t errlen)
{
	const char *what = "label key";
	const char *slash = memchr(k, '/', kn);
	size_t name = 0;

	if (kn == 0 || kn > VIGIL_META_LABEL_KEY_MAX)
		return bad_length(err, errlen, what, k, kn, EXP_LKEY);
	if (slash) {
		size_t pn = (size_t)(slash - k);

		if (memchr(slash + 1, '/', kn - pn - 1))
			return bad_char(err, errlen, what, k, kn,
					(size_t)((const char *)memchr(
							 slash + 1, '/',
							 kn - pn - 1) - k),
					EXP_LKEY);
		if (check_dns_range("label key prefix", k, kn, 0, pn,
				    VIGIL_META_LABEL_PREFIX_MAX, true, EXP_LKEY,
				    err, errlen))
			return -1;
		name = pn + 1;
	}
	return check_label_part(what, k, kn, name, kn, false, EXP_LKEY, err,
				errlen);
}

static int check_label_value(const char *k, const char *v, size_t vn,
			     char *err, size_t errlen)
{
	struct shown key;
	char what[SHOW_MAX * 4 + 32];

	snprintf(what, sizeof(what), "label \"%s\" value",
		 show(&key, k, strlen(k)));
	if (vn == 0)
		return 0;
	return check_label_part(what, v, vn, 0, vn, true, EXP_LVALUE, err,
				errlen);
}

static int find_label(const struct vigil_identity *id, const char *k,
		      size_t kn, uint32_t *pos)
{
	uint32_t lo = 0, hi = id->n_labels;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const char *mk = id->labels[mid].key;
		size_t mn = strlen(mk);
		int c = memcmp(mk, k, mn < kn ? mn : kn);

		if (c == 0)
			c = mn < kn ? -1 : mn > kn ? 1 : 0;
		if (c == 0) {
			*pos = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

/* Validates and adds a label; replace: an existing key gets the value,
 * else it is an error ("given twice"). */
static int add_label(struct vigil_identity *id, const char *k, size_t kn,
		     const char *v, size_t vn, bool replace, char *err,
		     size_t errlen)
{
	struct vigil_meta_label *l;
	uint32_t pos;
	struct shown ks;

	if (check_label_key(k, kn, err, errlen))
		return -1;
	if (find_label(id, k, kn, &pos)) {
		if (!replace)
			return errf(err, errlen,
				    "label \"%s\": given twice; expected each "
				    "label key once", show(&ks, k, kn));
	} else {
		if (id->n_labels >= VIGIL_META_LABELS_MAX)
			return errf(err, errlen,
				    "labels: more than %d; expected at most %d "
				    "labels", VIGIL_META_LABELS_MAX,
				    VIGIL_META_LABELS_MAX);
	}
	{
		char key[VIGIL_META_LABEL_KEY_MAX + 1];

		memcpy(key, k, kn);
		key[kn] = '\0';
		if (check_label_value(key, v, vn, err, errlen))
			return -1;
	}
	if (!find_label(id, k, kn, &pos)) {
		memmove(&id->labels[pos + 1], &id->labels[pos],
			(id->n_labels - pos) * sizeof(id->labels[0]));
		id->n_labels++;
		l = &id->labels[pos];
		memcpy(l->key, k, kn);
		l->key[kn] = '\0';
	}
	l = &id->labels[pos];
	memcpy(l->value, v, vn);
	l->value[vn] = '\0';
	return 0;
}

int vigil_identity_set_label(struct vigil_identity *id, const char *key,
			     size_t kn, const char *value, size_t vn,
			     char *err, size_t errlen)
{
	return add_label(id, key, kn, value, vn, true, err, errlen);
}

/* "k=v,k=v" into a fresh label set of tmp; "" is none. */
static int parse_labels_text(const char *s, size_t n,
			     struct vigil_identity *tmp, char *err,
			     size_t errlen)
{
	size_t i = 0;

	tmp->n_labels = 0;
	if (n == 0)
		return 0;
	if (n > VIGIL_META_LABELS_TEXT_MAX)
		return bad_length(err, errlen, "labels", s, n, EXP_LABELS);
	while (i <= n) {
		const char *item = s + i, *comma = memchr(item, ',', n - i);
		size_t in = comma ? (size_t)(comma - item) : n - i;
		const char *eq = memchr(item, '=', in);

		if (in == 0)
			return bad(err, errlen, "labels", s, n,
				   "an empty item", EXP_LABELS);
		if (!eq) {
			char problem[64];

			snprintf(problem, sizeof(problem),
				 "the item at position %zu has no '='", i + 1);
			return bad(err, errlen, "labels", s, n, problem,
				   EXP_LABELS);
		}
		if (add_label(tmp, item, (size_t)(eq - item), eq + 1,
			      in - (size_t)(eq - item) - 1, false, err, errlen))
			return -1;
		i += in + 1;
		if (!comma)
			break;
	}
	return 0;
}

/* ---- addresses -------------------------------------------------------------------- */

int vigil_meta_parse_ip(const char *s, size_t n, struct vigil_meta_ip *ip,
			char *norm, char *err, size_t errlen)
{
	char buf[VIGIL_META_IP_MAX + 1];
	struct vigil_meta_ip a;
	uint8_t bin[16];

	if (n == 0 || n > VIGIL_META_IP_MAX)
		return bad_length(err, errlen, "IP", s, n, EXP_IP);
	for (size_t i = 0; i < n; i++)
		if (!is_hex(s[i]) && s[i] != '.' && s[i] != ':')
			return bad_char(err, errlen, "IP", s, n, i, EXP_IP);
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, buf, bin) == 1) {
		a.family = VIGIL_META_AF_INET;
		memcpy(a.addr, bin, 4);
	} else if (inet_pton(AF_INET6, buf, bin) == 1) {
		a.family = VIGIL_META_AF_INET6;
		memcpy(a.addr, bin, 16);
	} else {
		return bad(err, errlen, "IP", s, n,
			   "not an address", EXP_IP);
	}
	if (ip)
		*ip = a;
	if (norm)
		vigil_meta_format_ip(&a, norm);
	return 0;
}

void vigil_meta_format_ip(const struct vigil_meta_ip *ip, char *buf)
{
	char tmp[INET6_ADDRSTRLEN];
	int af = ip->family == VIGIL_META_AF_INET ? AF_INET :
		 ip->family == VIGIL_META_AF_INET6 ? AF_INET6 : -1;

	buf[0] = '\0';
	if (af < 0 || !inet_ntop(af, ip->addr, tmp, sizeof(tmp)) ||
	    strlen(tmp) > VIGIL_META_IP_MAX)
		return;
	memcpy(buf, tmp, strlen(tmp) + 1);
}

/* ---- times -------------------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char dm[12] = { 31, 28, 31, 30, 31, 30,
					      31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* n digits at s as a number; false if one is not a digit. */
static bool digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/* ".ddddddddd" at s[*i] (optional): microseconds, nanoseconds dropped. */
static bool fraction(const char *s, size_t n, size_t *i, uint64_t *us)
{
	size_t k = 0;

	*us = 0;
	if (*i >= n || s[*i] != '.')
		return true;
	for ((*i)++; *i < n && is_digit(s[*i]); (*i)++, k++) {
		if (k >= 9)
			return false;
		if (k < 6)
			*us = *us * 10 + (uint64_t)(s[*i] - '0');
	}
	if (k == 0)
		return false;
	for (; k < 6; k++)
		*us *= 10;
	return true;
}

static int since_rfc3339(const char *s, size_t n, uint64_t *us, char *err,
			 size_t errlen)
{
	unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
	size_t i = 19;
	uint64_t frac;
	int64_t t;
	int sign = 0;

	if (n < 20 || !digits(s, 4, &y) || s[4] != '-' ||
	    !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
	    s[16] != ':' || !digits(s + 17, 2, &sec) ||
	    !fraction(s, n, &i, &frac))
		return bad(err, errlen, "since", s, n,
			   "not an RFC 3339 time", EXP_SINCE);
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
		sign = 0;
	} else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
		   digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
		   digits(s + i + 4, 2, &om)) {
		sign = s[i] == '+' ? 1 : -1;
	} else {
		return bad(err, errlen, "since", s, n,
			   "an RFC 3339 time ends in Z or +HH:MM", EXP_SINCE);
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return bad(err, errlen, "since", s, n, "not a valid date and "
			   "time", EXP_SINCE);
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (int64_t)(oh * 3600 + om * 60);
	if (t < 0 || (uint64_t)t * 1000000 + frac > VIGIL_META_SINCE_MAX_US)
		return bad(err, errlen, "since", s, n, "out of range",
			   EXP_SINCE);
	*us = (uint64_t)t * 1000000 + frac;
	return 0;
}

int vigil_meta_parse_since(const char *s, size_t n, uint64_t *us, char *err,
			   size_t errlen)
{
	uint64_t sec = 0, frac;
	size_t i = 0;

	if (n == 0)
		return errf(err, errlen, "since: empty; %s", EXP_SINCE);
	if (n > 40)
		return bad_length(err, errlen, "since", s, n, EXP_SINCE);
	if (n >= 5 && is_digit(s[0]) && s[4] == '-')
		return since_rfc3339(s, n, us, err, errlen);
	for (; i < n && is_digit(s[i]); i++) {
		if (i >= 12)
			return bad(err, errlen, "since", s, n, "out of range",
				   EXP_SINCE);
		sec = sec * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || !fraction(s, n, &i, &frac) || i != n)
		return bad(err, errlen, "since", s, n,
			   "not epoch seconds or an RFC 3339 time", EXP_SINCE);
	if (sec * 1000000 + frac > VIGIL_META_SINCE_MAX_US)
		return bad(err, errlen, "since", s, n, "out of range",
			   EXP_SINCE);
	*us = sec * 1000000 + frac;
	return 0;
}

void vigil_meta_format_since(uint64_t us, char *buf)
{
	snprintf(buf, VIGIL_META_SINCE_TEXT_MAX + 1, "%llu.%06llu",
		 (unsigned long long)(us / 1000000),
		 (unsigned long long)(us % 1000000));
}

/* ---- identities --------------------------------------------------------------------- */

void vigil_identity_init(struct vigil_identity *id)
{
	id->since_us = 0;
	id->has_since = false;
	id->pod[0] = id->namespace[0] = id->image[0] = id->service[0] = '\0';
	id->n_labels = 0;
}

enum field {
	F_POD, F_NAMESPACE, F_IMAGE, F_SERVICE, F_LABELS, F_SINCE, F_NONE
};

static const char *const field_names[F_NONE] = {
	"pod", "namespace", "image", "service", "labels", "since",
};

static enum field field_of(const char *name, size_t nn)
{
	for (int f = 0; f < F_NONE; f++)
		if (strlen(field_names[f]) == nn &&
		    !memcmp(field_names[f], name, nn))
			return (enum field)f;
	return F_NONE;
}

static int unknown_field(const char *name, size_t nn, char *err,
			 size_t errlen)
{
	struct shown v;

	return errf(err, errlen, "unknown field \"%s\"; %s",
		    show(&v, name, nn), EXP_FIELDS);
}

static void copy_field(char *dst, const char *s, size_t n)
{
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int set_field(struct vigil_identity *id, enum field f,
		     const char *v, size_t vn, char *err, size_t errlen)
{
	/* labels are parsed aside so that id is unchanged on an error;
	 * static would not be reentrant, and 13 KiB on the stack is fine
	 * for the control thread and vigilctl. */
	struct vigil_identity tmp;
	uint64_t us;

	switch (f) {
	case F_POD:
		if (check_subdomain("pod", v, vn, VIGIL_META_POD_MAX, err,
				    errlen))
			return -1;
		copy_field(id->pod, v, vn);
		return 0;
	case F_NAMESPACE:
		if (check_dns_label("namespace", v, vn, err, errlen))
			return -1;
		copy_field(id->namespace, v, vn);
		return 0;
	case F_IMAGE:
		if (check_image(v, vn, err, errlen))
			return -1;
		copy_field(id->image, v, vn);
		return 0;
	case F_SERVICE:
		if (check_subdomain("service", v, vn, VIGIL_META_SERVICE_MAX,
				    err, errlen))
			return -1;
		copy_field(id->service, v, vn);
		return 0;
	case F_LABELS:
		if (parse_labels_text(v, vn, &tmp, err, errlen))
			return -1;
		memcpy(id->labels, tmp.labels,
		       tmp.n_labels * sizeof(tmp.labels[0]));
		id->n_labels = tmp.n_labels;
		return 0;
	case F_SINCE:
		if (vigil_meta_parse_since(v, vn, &us, err, errlen))
			return -1;
		id->since_us = us;
		id->has_since = true;
		return 0;
	case F_NONE:
		break;
	}
	return -1;
}

int vigil_identity_set_field(struct vigil_identity *id, const char *name,
			     size_t nn, const char *value, size_t vn,
			     char *err, size_t errlen)
{
	enum field f = field_of(name, nn);

	if (f == F_NONE)
		return unknown_field(name, nn, err, errlen);
	return set_field(id, f, value, vn, err, errlen);
}

int vigil_identity_check(const struct vigil_identity *id, char *err,
			 size_t errlen)
{
	const char *missing = !id->pod[0] ? "pod" :
			      !id->namespace[0] ? "namespace" :
			      !id->image[0] ? "image" :
			      !id->service[0] ? "service" : NULL;

	if (!missing)
		return 0;
	return errf(err, errlen,
		    "%s: missing; expected pod, namespace, image and service",
		    missing);
}

int vigil_meta_parse_hash(const char *const fields[], const size_t flen[],
			  const char *const values[], const size_t vlen[],
			  size_t n, struct vigil_identity *out, char *err,
			  size_t errlen)
{
	unsigned seen = 0;

	vigil_identity_init(out);
	if (n > VIGIL_META_HASH_FIELDS)
		return errf(err, errlen, "%zu fields; %s, each once", n,
			    EXP_FIELDS);
	for (size_t i = 0; i < n; i++) {
		enum field f = field_of(fields[i], flen[i]);

		if (f == F_NONE)
			return unknown_field(fields[i], flen[i], err, errlen);
		if (seen & (1u << f))
			return errf(err, errlen, "field %s: given twice; %s, "
				    "each once", field_names[f], EXP_FIELDS);
		seen |= 1u << f;
		if (set_field(out, f, values[i], vlen[i], err, errlen))
			return -1;
	}
	return vigil_identity_check(out, err, errlen);
}

int vigil_meta_parse_update(const char *s, size_t n, struct vigil_meta_ip *ip,
			    char *norm, char *err, size_t errlen)
{
	int op;
	size_t k;

	if (n > 4 && !memcmp(s, "set ", 4)) {
		op = VIGIL_META_UPDATE_SET;
		k = 4;
	} else if (n > 3 && !memcmp(s, "rm ", 3)) {
		op = VIGIL_META_UPDATE_RM;
		k = 3;
	} else {
		struct shown v;

		return errf(err, errlen,
			    "update \"%s\": expected \"set IP\" or \"rm IP\"",
			    show(&v, s, n));
	}
	if (vigil_meta_parse_ip(s + k, n - k, ip, norm, err, errlen))
		return -1;
	return op;
}

/* ---- formatting ----------------------------------------------------------------------- */

/* An appender that counts what it could not write (snprintf's rule). */
struct out {
	char *p;
	size_t size;
	size_t len;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;

		memcpy(o->p + o->len, s, n < room ? n : room);
	}
	o->len += n;
	if (o->size)
		o->p[o->len < o->size ? o->len : o->size - 1] = '\0';
}

size_t vigil_meta_format_labels(const struct vigil_identity *id, char *buf,
				size_t size)
{
	struct out o = { buf, size, 0 };

	put(&o, "");
	for (uint32_t i = 0; i < id->n_labels; i++) {
		if (i)
			put(&o, ",");
		put(&o, id->labels[i].key);
		put(&o, "=");
		put(&o, id->labels[i].value);
	}
	return o.len;
}

static void put_member(struct out *o, const char *name, const char *value)
{
	put(o, "\"");
	put(o, name);
	put(o, "\":\"");
	put(o, value);
	put(o, "\"");
}

size_t vigil_meta_format_json(const struct vigil_identity *id, char *buf,
			      size_t size)
{
	struct out o = { buf, size, 0 };
	char since[VIGIL_META_SINCE_TEXT_MAX + 1];

	put(&o, "{");
	if (id->has_since) {
		vigil_meta_format_since(id->since_us, since);
		put(&o, "\"since\":");
		put(&o, since);
		put(&o, ",");
	}
	put_member(&o, "pod", id->pod);
	put(&o, ",");
	put_member(&o, "namespace", id->namespace);
	put(&o, ",");
	put_member(&o, "image", id->image);
	put(&o, ",");
	put_member(&o, "service", id->service);
	put(&o, ",\"labels\":{");
	for (uint32_t i = 0; i < id->n_labels; i++) {
		if (i)
			put(&o, ",");
		put(&o, "\"");
		put(&o, id->labels[i].key);
		put(&o, "\":\"");
		put(&o, id->labels[i].value);
		put(&o, "\"");
	}
	put(&o, "}}");
	return o.len;
}

/* ---- JSON ------------------------------------------------------------------------------- */

/*
 * A strict reader (RFC 8259, strict UTF-8) of the two shapes above: the
 * document {ip: identity, ...} and an identity {field: value, ...,
 * "labels": {k: v, ...}}. Nesting is fixed by the shape, so there is no
 * recursion; every step consumes input.
 */

/* Longest decoded string kept: longer ones are too long for any field. */
#define JSTR_MAX 1024

struct jr {
	const unsigned char *s;
	size_t n;
	size_t i;
	char *err;
	size_t errlen;
};

/* "line L, column C: PROBLEM" at the current position. */
static int jr_fail(struct jr *p, const char *problem)
{
	size_t line = 1, col = 1;

	for (size_t k = 0; k < p->i && k < p->n; k++) {
		if (p->s[k] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return errf(p->err, p->errlen, "line %zu, column %zu: %s", line, col,
		    problem);
}

static void jr_ws(struct jr *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
			       p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static bool jr_peek(struct jr *p, char c)
{
	return p->i < p->n && p->s[p->i] == (unsigned char)c;
}

/* What the value at the current position is, for messages. */
static const char *jr_kind(struct jr *p)
{
	if (p->i >= p->n)
		return "the end of the input";
	switch (p->s[p->i]) {
	case '{': return "an object";
	case '[': return "an array";
	case '"': return "a string";
	case 't': case 'f': return "a boolean";
	case 'n': return "null";
	case '}': return "'}'";
	case ']': return "']'";
	case ',': return "','";
	case ':': return "':'";
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return "a number";
	default: return "something that is not JSON";
	}
}

static int jr_expected(struct jr *p, const char *what)
{
	char problem[128];

	snprintf(problem, sizeof(problem), "expected %s, found %s", what,
		 jr_kind(p));
	return jr_fail(p, problem);
}

/* Strict UTF-8: length of the sequence at s (n > 0 bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t k;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t j = 1; j < k; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return k;
}

static int hex4(const unsigned char *s, uint32_t *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned char c = s[k];

		if (!is_hex(c))
			return -1;
		*v = *v * 16 + (uint32_t)(c <= '9' ? c - '0' :
					  (c | 0x20) - 'a' + 10);
	}
	return 0;
}

/* Appends the UTF-8 of cp to buf (cap bytes kept, *len counts all). */
static void put_cp(char *buf, size_t cap, size_t *len, uint32_t cp)
{
	unsigned char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	for (size_t j = 0; j < k; j++, (*len)++)
		if (*len < cap)
			buf[*len] = (char)b[j];
}

/*
 * A string token, decoded into buf (the first cap bytes; NUL-terminated
 * when it fits). *len is the whole decoded length, which may exceed cap.
 */
static int jr_string(struct jr *p, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	if (!jr_peek(p, '"'))
		return jr_expected(p, "a string");
	p->i++;
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];
		uint32_t cp, lo;
		size_t k;

		if (c == '"') {
			p->i++;
			if (*len < cap)
				buf[*len] = '\0';
			return 0;
		}
		if (c < 0x20)
			return jr_fail(p, "control character in a string "
				       "(escape it)");
		if (c != '\\') {
			k = utf8_len(p->s + p->i, p->n - p->i);
			if (k == 0)
				return jr_fail(p, "invalid UTF-8 in a string");
			for (size_t j = 0; j < k; j++, (*len)++)
				if (*len < cap)
					buf[*len] = (char)p->s[p->i + j];
			p->i += k;
			continue;
		}
		if (p->i + 1 >= p->n)
			break;
		c = p->s[p->i + 1];
		if (c != 'u') {
			static const char esc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
			const char *m = c ? strchr(esc, c) : NULL;

			if (!m || (m - esc) % 2)
				return jr_fail(p, "invalid escape in a string");
			put_cp(buf, cap, len, (unsigned char)m[1]);
			p->i += 2;
			continue;
		}
		if (p->i + 6 > p->n || hex4(p->s + p->i + 2, &cp))
			return jr_fail(p, "invalid \\u escape in a string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return jr_fail(p, "lone surrogate in a string");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (p->i + 12 > p->n || p->s[p->i + 6] != '\\' ||
			    p->s[p->i + 7] != 'u' ||
			    hex4(p->s + p->i + 8, &lo) || lo < 0xdc00 ||
			    lo > 0xdfff)
				return jr_fail(p, "lone surrogate in a string");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p->i += 6;
		}
		put_cp(buf, cap, len, cp);
		p->i += 6;
	}
	return jr_fail(p, "unterminated string");
}

/* A number token (RFC 8259 grammar); its span in *s, *n. */
static int jr_number(struct jr *p, const char **s, size_t *n)
{
	size_t start = p->i, d;

	if (jr_peek(p, '-'))
		p->i++;
	for (d = 0; p->i < p->n && is_digit(p->s[p->i]); d++)
		p->i++;
	if (d == 0 || (d > 1 && p->s[start + (p->s[start] == '-')] == '0'))
		return jr_fail(p, "invalid number");
	if (jr_peek(p, '.')) {
		p->i++;
		for (d = 0; p->i < p->n && is_digit(p->s[p->i]); d++)
			p->i++;
		if (d == 0)
			return jr_fail(p, "invalid number");
	}
	if (jr_peek(p, 'e') || jr_peek(p, 'E')) {
		p->i++;
		if (jr_peek(p, '+') || jr_peek(p, '-'))
			p->i++;
		for (d = 0; p->i < p->n && is_digit(p->s[p->i]); d++)
			p->i++;
		if (d == 0)
			return jr_fail(p, "invalid number");
	}
	*s = (const char *)p->s + start;
	*n = p->i - start;
	return 0;
}

static bool jr_null(struct jr *p)
{
	if (p->n - p->i >= 4 && !memcmp(p->s + p->i, "null", 4)) {
		p->i += 4;
		return true;
	}
	return false;
}

/*
 * After a member value: ',' (returns 1, more members) or the closing
 * brace (returns 0); -1 on anything else.
 */
static int jr_next(struct jr *p)
{
	jr_ws(p);
	if (jr_peek(p, ',')) {
		p->i++;
		jr_ws(p);
		return 1;
	}
	if (jr_peek(p, '}')) {
		p->i++;
		return 0;
	}
	return jr_fail(p, "expected ',' or '}' after a member");
}

/* '{' and, if the object is empty, '}' too (returns 0); 1 if a member
 * follows. */
static int jr_open(struct jr *p, const char *what)
{
	if (!jr_peek(p, '{'))
		return jr_expected(p, what);
	p->i++;
	jr_ws(p);
	if (jr_peek(p, '}')) {
		p->i++;
		return 0;
	}
	return 1;
}

/* A member name and the ':' after it. */
static int jr_name(struct jr *p, char *buf, size_t cap, size_t *len)
{
	if (jr_string(p, buf, cap, len))
		return -1;
	jr_ws(p);
	if (!jr_peek(p, ':'))
		return jr_fail(p, "expected ':' after a member name");
	p->i++;
	jr_ws(p);
	return 0;
}

/* Errors of the reader are "syntax" (a message with line and column) or
 * "field" (the validators' message): the document prefixes the latter
 * with the entry. */
enum jerr { J_OK = 0, J_SYNTAX = -1, J_FIELD = -2 };

static int too_long(const char *what, const char *buf, size_t len,
		    const char *expect, char *err, size_t errlen)
{
	return bad_length(err, errlen, what, buf, len, expect);
}

static const char *field_expect(enum field f)
{
	switch (f) {
	case F_POD: case F_SERVICE: return EXP_SUBDOMAIN;
	case F_NAMESPACE: return EXP_DNSLABEL;
	case F_IMAGE: return EXP_IMAGE;
	case F_LABELS: return EXP_LABELS;
	case F_SINCE: return EXP_SINCE;
	case F_NONE: break;
	}
	return "";
}

static enum jerr jr_labels(struct jr *p, struct vigil_identity *id)
{
	char k[JSTR_MAX], v[JSTR_MAX];
	size_t kn, vn;
	int more;

	if (jr_null(p))
		return J_OK;
	if (!jr_peek(p, '{'))
		return errf(p->err, p->errlen, "labels: %s instead of an "
			    "object or null; %s", jr_kind(p), EXP_LABELS),
		       J_FIELD;
	more = jr_open(p, "an object of labels or null");
	if (more < 0)
		return J_SYNTAX;
	while (more) {
		if (jr_name(p, k, sizeof(k), &kn))
			return J_SYNTAX;
		if (!jr_peek(p, '"')) {
			char problem[64];

			if (kn >= sizeof(k))
				return too_long("label key", k, kn, EXP_LKEY,
						p->err, p->errlen), J_FIELD;
			snprintf(problem, sizeof(problem),
				 "%s instead of a string", jr_kind(p));
			return bad(p->err, p->errlen, "label", k, kn,
				   problem, EXP_LVALUE), J_FIELD;
		}
		if (jr_string(p, v, sizeof(v), &vn))
			return J_SYNTAX;
		if (kn >= sizeof(k))
			return too_long("label key", k, kn, EXP_LKEY, p->err,
					p->errlen), J_FIELD;
		if (vn >= sizeof(v)) {
			char what[SHOW_MAX * 4 + 32];
			struct shown ks;

			snprintf(what, sizeof(what), "label \"%s\" value",
				 show(&ks, k, kn));
			return too_long(what, v, vn, EXP_LVALUE, p->err,
					p->errlen), J_FIELD;
		}
		if (add_label(id, k, kn, v, vn, false, p->err, p->errlen))
			return J_FIELD;
		more = jr_next(p);
		if (more < 0)
			return J_SYNTAX;
	}
	return J_OK;
}

/* One identity object at the current position into *id (complete). */
static enum jerr jr_identity(struct jr *p, struct vigil_identity *id)
{
	char name[32], v[JSTR_MAX];
	size_t nn, vn;
	unsigned seen = 0;
	int more;

	vigil_identity_init(id);
	if (!jr_peek(p, '{'))
		return errf(p->err, p->errlen, "%s instead of an identity "
			    "object; expected {\"pod\": ..., \"namespace\": "
			    "..., \"image\": ..., \"service\": ...}",
			    jr_kind(p)), J_FIELD;
	more = jr_open(p, "an identity object");
	if (more < 0)
		return J_SYNTAX;
	while (more) {
		enum field f;
		const char *num = NULL;

		if (jr_name(p, name, sizeof(name), &nn))
			return J_SYNTAX;
		f = nn < sizeof(name) ? field_of(name, nn) : F_NONE;
		if (f == F_NONE)
			return unknown_field(name, nn < sizeof(name) ? nn :
					     sizeof(name), p->err,
					     p->errlen), J_FIELD;
		if (seen & (1u << f))
			return errf(p->err, p->errlen, "field %s: given "
				    "twice; %s, each once", field_names[f],
				    EXP_FIELDS), J_FIELD;
		seen |= 1u << f;
		if (f == F_LABELS) {
			enum jerr e = jr_labels(p, id);

			if (e != J_OK)
				return e;
		} else if (f == F_SINCE && jr_null(p)) {
			/* absent */
		} else if (f == F_SINCE && !jr_peek(p, '"') &&
			   (jr_peek(p, '-') || (p->i < p->n &&
						is_digit(p->s[p->i])))) {
			if (jr_number(p, &num, &vn))
				return J_SYNTAX;
			if (set_field(id, f, num, vn, p->err, p->errlen))
				return J_FIELD;
		} else if (jr_peek(p, '"')) {
			if (jr_string(p, v, sizeof(v), &vn))
				return J_SYNTAX;
			if (vn >= sizeof(v))
				return too_long(field_names[f], v, vn,
						field_expect(f), p->err,
						p->errlen), J_FIELD;
			if (set_field(id, f, v, vn, p->err, p->errlen))
				return J_FIELD;
		} else {
			return errf(p->err, p->errlen, "%s: %s instead of %s; "
				    "%s", field_names[f], jr_kind(p),
				    f == F_SINCE ? "a number, a string or null"
				    : "a string", field_expect(f)), J_FIELD;
		}
		more = jr_next(p);
		if (more < 0)
			return J_SYNTAX;
	}
	if (vigil_identity_check(id, p->err, p->errlen))
		return J_FIELD;
	return J_OK;
}

static int jr_end(struct jr *p)
{
	jr_ws(p);
	if (p->i != p->n)
		return jr_fail(p, "unexpected data after the JSON value");
	return 0;
}

int vigil_meta_parse_json_identity(const char *s, size_t n,
				   struct vigil_identity *out, char *err,
				   size_t errlen)
{
	struct jr p = { (const unsigned char *)s, n, 0, err, errlen };

	vigil_identity_init(out);
	if (n > VIGIL_META_JSON_MAX * 8)
		return errf(err, errlen, "identity: %zu bytes is too long; "
			    "expected at most %d", n, VIGIL_META_JSON_MAX * 8);
	jr_ws(&p);
	if (jr_identity(&p, out) != J_OK || jr_end(&p))
		return -1;
	return 0;
}

/* An address and the order it came in, to find one given twice. */
struct seen_ip {
	struct vigil_meta_ip ip;
	size_t order;
};

static int cmp_seen(const void *a, const void *b)
{
	const struct seen_ip *x = a, *y = b;
	int c = memcmp(&x->ip, &y->ip, sizeof(x->ip));

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The first address given twice (in the order of its second mention). */
static int check_duplicates(struct seen_ip *v, size_t n, char *err,
			    size_t errlen)
{
	size_t dup = SIZE_MAX, dup_order = SIZE_MAX;
	char text[VIGIL_META_IP_MAX + 1];

	if (n < 2)
		return 0;
	qsort(v, n, sizeof(*v), cmp_seen);
	for (size_t i = 1; i < n; i++)
		if (!memcmp(&v[i].ip, &v[i - 1].ip, sizeof(v[i].ip)) &&
		    v[i].order < dup_order) {
			dup = i;
			dup_order = v[i].order;
		}
	if (dup == SIZE_MAX)
		return 0;
	vigil_meta_format_ip(&v[dup].ip, text);
	return errf(err, errlen, "IP %s: given twice (entries %zu and %zu); "
		    "expected each address once", text, v[dup - 1].order + 1,
		    v[dup].order + 1);
}

long vigil_meta_parse_json_doc(const char *s, size_t n, size_t max_entries,
			       vigil_meta_doc_cb cb, void *arg, char *err,
			       size_t errlen)
{
	struct jr p = { (const unsigned char *)s, n, 0, err, errlen };
	struct seen_ip *seen = NULL;
	size_t count = 0, cap = 0;
	struct vigil_identity *id;
	long rc = -1;
	int more;

	if (max_entries == 0 || max_entries > VIGIL_META_DOC_MAX_ENTRIES)
		max_entries = VIGIL_META_DOC_MAX_ENTRIES;
	if (n > VIGIL_META_DOC_MAX_BYTES)
		return errf(err, errlen, "the document has %zu bytes; expected "
			    "at most %u", n, VIGIL_META_DOC_MAX_BYTES);
	id = malloc(sizeof(*id));
	if (!id)
		return errf(err, errlen, "out of memory");
	jr_ws(&p);
	more = jr_open(&p, "a JSON object keyed by IP");
	if (more < 0)
		goto out;
	while (more) {
		char key[JSTR_MAX], norm[VIGIL_META_IP_MAX + 1];
		struct vigil_meta_ip ip;
		size_t kn;
		enum jerr e;

		if (jr_name(&p, key, sizeof(key), &kn))
			goto out;
		if (count >= max_entries) {
			errf(err, errlen, "more than %zu entries; expected at "
			     "most %zu", max_entries, max_entries);
			goto out;
		}
		if (vigil_meta_parse_ip(key, kn, &ip,
					norm, err, errlen))
			goto out;
		e = jr_identity(&p, id);
		if (e == J_SYNTAX)
			goto out;
		if (e == J_FIELD) {
			char inner[1024];
			struct shown k;

			snprintf(inner, sizeof(inner), "%s", err);
			errf(err, errlen, "entry \"%s\": %s",
			     show(&k, key, kn), inner);
			goto out;
		}
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct seen_ip *ns = realloc(seen, ncap * sizeof(*ns));

			if (!ns) {
				errf(err, errlen, "out of memory");
				goto out;
			}
			seen = ns;
			cap = ncap;
		}
		seen[count].ip = ip;
		seen[count].order = count;
		count++;
		if (cb) {
			int r = cb(arg, &ip, norm, id);

			if (r) {
				rc = r;
				goto out;
			}
		}
		more = jr_next(&p);
		if (more < 0)
			goto out;
	}
	if (jr_end(&p) || check_duplicates(seen, count, err, errlen))
		goto out;
	rc = (long)count;
out:
	free(seen);
	free(id);
	return rc;
}
