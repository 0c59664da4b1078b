/*
 * vigil_meta — workload identities pushed by a CI/CD pipeline or an
 * orchestrator: validation, the JSON push document, and the per-IP history
 * the appliance looks identities up in.
 *
 * An identity names what an IP address is: pod, namespace, image, service,
 * labels, and since when (`since`). Pod IPs are reused, so an address has a
 * history of identities; a packet is named by the identity that was valid at
 * its time. Identities reach vigil through Redis (P:meta:<ip>, its history
 * P:meta:<ip>:history and the channel P:meta:updates; README.md "Redis
 * schema"), where anyone with write access may have put anything: both
 * vigilctl (which writes them) and the appliance (which reads them) validate
 * every field with the functions below, and treat what fails as absent.
 *
 * Rules (README.md "vigilctl meta" has the user's version):
 *   pod, service  DNS-1123 subdomain: 1..253 bytes of a-z 0-9 '-' '.', in
 *                 dot-separated parts of 1..63 bytes that start and end with
 *                 a-z or 0-9 (Kubernetes' rule for pod names).
 *   namespace     DNS-1123 label: 1..63 bytes of a-z 0-9 '-', starting and
 *                 ending with a-z or 0-9 (Kubernetes' rule for namespaces).
 *   image         OCI image reference, 1..512 bytes:
 *                 [host[:port]/]path[:tag][@algorithm:hex]; path components
 *                 of a-z 0-9 joined by '.', '_', '__' or '-'s; tag
 *                 [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digest sha256 (64
 *                 lower-case hex), sha512 (128) or another algorithm with at
 *                 least 32 hex digits (the grammar of distribution/reference).
 *   labels        at most 32 Kubernetes labels: key [prefix/]name, the
 *                 prefix a DNS-1123 subdomain, the name 1..63 bytes of
 *                 A-Z a-z 0-9 '-' '_' '.' starting and ending with a letter
 *                 or digit; value 0..63 bytes of the same, starting and
 *                 ending with a letter or digit when not empty. No key
 *                 twice. Kept sorted by key.
 *   since         when the identity became valid: epoch seconds with an
 *                 optional fraction (up to 9 digits, kept to the
 *                 microsecond) or an RFC 3339 time (2026-01-02T03:04:05Z,
 *                 2026-01-02T05:04:05.5+02:00), from 1970 to 9999. Without
 *                 since an identity is valid from time 0 (the beginning):
 *                 `since` absent and `since` 0 are the same history slot.
 *   IP            an IPv4 or IPv6 literal (inet_pton), normalised with
 *                 inet_ntop ("2001:DB8:0::1" is "2001:db8::1"); no zone.
 * pod, namespace, image and service are required; labels and since are
 * optional. Every field is plain ASCII once valid, so identities can be
 * printed and put in JSON without escaping.
 *
 * Errors: each function that validates writes one line into err (at most
 * errlen bytes, always terminated) naming the bad field and what was
 * expected, e.g.
 *   pod "Web-1": 'W' at position 1 is not allowed; expected a DNS-1123
 *   subdomain (...)
 * Values are quoted with control characters, quotes, backslashes and
 * non-ASCII bytes escaped as \xNN (\" and \\), cut after 64 bytes ("...").
 *
 * API summary:
 *   vigil_meta_parse_ip()            text to address, normalised text
 *   vigil_meta_format_ip()           address to text
 *   vigil_meta_parse_since()         epoch seconds or RFC 3339 to microseconds
 *   vigil_meta_format_since()        microseconds to "S.UUUUUU"
 *   vigil_identity_init()            an empty identity
 *   vigil_identity_set_field()       one field (pod, ..., labels, since)
 *   vigil_identity_set_label()       one label (added or replaced)
 *   vigil_identity_check()           the required fields are there
 *   vigil_meta_parse_hash()          the fields of a P:meta:<ip> hash
 *   vigil_meta_parse_json_identity() one JSON identity (history member)
 *   vigil_meta_parse_json_doc()      the push document {ip: identity, ...}
 *   vigil_meta_parse_update()        a P:meta:updates message
 *   vigil_meta_format_labels()       labels as the hash's "k=v,k=v"
 *   vigil_meta_format_json()         an identity as one line of JSON
 *   vigil_meta_store_create/free()   the per-IP identity history
 *   vigil_meta_store_set/rm()        add or replace, remove
 *   vigil_meta_lookup()              the identity valid at a time
 *   vigil_meta_store_history()       an IP's history, oldest first
 *
 * No DPDK: the library is shared by vigilctl and the appliance's control
 * thread. Nothing here is for the packet path: the store allocates with
 * malloc (jemalloc in the appliance).
 *
 * Threading: the parsers and formatters are pure functions (reentrant). A
 * store is not thread-safe: one thread (the control thread) owns it.
 */
#ifndef VIGIL_META_H
#define VIGIL_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_META_POD_MAX 253
#define VIGIL_META_NAMESPACE_MAX 63
#define VIGIL_META_SERVICE_MAX 253
#define VIGIL_META_IMAGE_MAX 512
#define VIGIL_META_LABELS_MAX 32
#define VIGIL_META_LABEL_NAME_MAX 63
#define VIGIL_META_LABEL_PREFIX_MAX 253
#define VIGIL_META_LABEL_KEY_MAX \
	(VIGIL_META_LABEL_PREFIX_MAX + 1 + VIGIL_META_LABEL_NAME_MAX)
#define VIGIL_META_LABEL_VALUE_MAX 63
/* Longest normalised address text ("ffff:...:255.255.255.255"). */
#define VIGIL_META_IP_MAX 45
/* Latest since: 9999-12-31T23:59:59.999999Z, in microseconds. */
#define VIGIL_META_SINCE_MAX_US 253402300799999999ULL
/* Longest since text from vigil_meta_format_since ("253402300799.999999"). */
#define VIGIL_META_SINCE_TEXT_MAX 24
/* Longest labels text of vigil_meta_format_labels ("k=v,k=v"). */
#define VIGIL_META_LABELS_TEXT_MAX \
	(VIGIL_META_LABELS_MAX * \
	 (VIGIL_META_LABEL_KEY_MAX + VIGIL_META_LABEL_VALUE_MAX + 2))
/* Longest JSON of vigil_meta_format_json: fields, quotes and punctuation. */
#define VIGIL_META_JSON_MAX \
	(128 + VIGIL_META_SINCE_TEXT_MAX + VIGIL_META_POD_MAX + \
	 VIGIL_META_NAMESPACE_MAX + VIGIL_META_IMAGE_MAX + \
	 VIGIL_META_SERVICE_MAX + \
	 VIGIL_META_LABELS_MAX * \
	 (VIGIL_META_LABEL_KEY_MAX + VIGIL_META_LABEL_VALUE_MAX + 6))
/* Limits of a push document (vigil_meta_parse_json_doc). */
#define VIGIL_META_DOC_MAX_BYTES (16u << 20)
#define VIGIL_META_DOC_MAX_ENTRIES 200000u
/* Fields of a P:meta:<ip> hash: pod namespace image service labels since. */
#define VIGIL_META_HASH_FIELDS 6

/* Address families, the values of lib/decode's VIGIL_AF_INET/INET6. */
#define VIGIL_META_AF_INET 4
#define VIGIL_META_AF_INET6 6

/* An address as lib/decode keys it: IPv4 in the first 4 bytes, rest zero. */
struct vigil_meta_ip {
	uint8_t family; /* VIGIL_META_AF_INET or VIGIL_META_AF_INET6 */
	uint8_t addr[16];
};

struct vigil_meta_label {
	char key[VIGIL_META_LABEL_KEY_MAX + 1];
	char value[VIGIL_META_LABEL_VALUE_MAX + 1];
};

/*
 * A parsed identity (caller-owned, about 13 KiB: fixed buffers). A field
 * not given is "" (an empty value is never valid for the four names).
 */
struct vigil_identity {
	uint64_t since_us; /* valid from (epoch microseconds); 0 without since */
	bool has_since;    /* since was given (since_us may still be 0) */
	char pod[VIGIL_META_POD_MAX + 1];
	char namespace[VIGIL_META_NAMESPACE_MAX + 1];
	char image[VIGIL_META_IMAGE_MAX + 1];
	char service[VIGIL_META_SERVICE_MAX + 1];
	uint32_t n_labels; /* sorted by key, keys unique */
	struct vigil_meta_label labels[VIGIL_META_LABELS_MAX];
};

/*
 * An identity as the store keeps it: one compact, immutable allocation.
 * Owned by the store; valid until the next vigil_meta_store_set or _rm of
 * its IP, or vigil_meta_store_free.
 */
struct vigil_meta_entry {
	uint64_t since_us;
	bool has_since;
	uint32_t n_labels;
	const char *pod;
	const char *namespace;
	const char *image;
	const char *service;
	const char *const *label_key;   /* n_labels, sorted */
	const char *const *label_value; /* n_labels */
};

/* ---- addresses and times ---------------------------------------------- */

/*
 * Parses n bytes of text as an IPv4 or IPv6 literal. On success fills *ip
 * (if not NULL) and the normalised text (if norm is not NULL: at least
 * VIGIL_META_IP_MAX + 1 bytes) and returns 0; else -1 and err.
 */
int vigil_meta_parse_ip(const char *s, size_t n, struct vigil_meta_ip *ip,
			char *norm, char *err, size_t errlen);

/* The text of ip into buf (VIGIL_META_IP_MAX + 1 bytes); "" if invalid. */
void vigil_meta_format_ip(const struct vigil_meta_ip *ip, char *buf);

/*
 * Parses n bytes as a since (epoch seconds or RFC 3339, see above) into
 * *us; 0 or -1 and err (the message names the field "since").
 */
int vigil_meta_parse_since(const char *s, size_t n, uint64_t *us, char *err,
			   size_t errlen);

/* us as "SECONDS.UUUUUU" into buf (VIGIL_META_SINCE_TEXT_MAX + 1 bytes). */
void vigil_meta_format_since(uint64_t us, char *buf);

/* ---- identities -------------------------------------------------------- */

void vigil_identity_init(struct vigil_identity *id);

/*
 * Validates value (vn bytes) as the field named name (nn bytes): pod,
 * namespace, image, service, since, or labels in the hash's form
 * "k=v,k=v" ("" = no labels; replaces the labels id had). Sets it in id
 * and returns 0; else -1 and err (id unchanged). An unknown field name is
 * an error too.
 */
int vigil_identity_set_field(struct vigil_identity *id, const char *name,
			     size_t nn, const char *value, size_t vn,
			     char *err, size_t errlen);

/*
 * Validates and sets one label (kn and vn bytes); an existing key gets the
 * new value. -1 and err on a bad key or value, or a 33rd key.
 */
int vigil_identity_set_label(struct vigil_identity *id, const char *key,
			     size_t kn, const char *value, size_t vn,
			     char *err, size_t errlen);

/* 0 if pod, namespace, image and service are set; else -1 and err. */
int vigil_identity_check(const struct vigil_identity *id, char *err,
			 size_t errlen);

/* ---- parsers of what Redis holds --------------------------------------- */

/*
 * The fields of a P:meta:<ip> hash (n field/value pairs, binary, with
 * their lengths as hiredis gives them): pod, namespace, image, service,
 * optional labels ("k=v,k=v") and since. Unknown fields, a field twice,
 * and more than VIGIL_META_HASH_FIELDS pairs are refused. On success *out
 * is a complete identity (vigil_identity_check passes) and 0 is returned;
 * else -1 and err.
 */
int vigil_meta_parse_hash(const char *const fields[], const size_t flen[],
			  const char *const values[], const size_t vlen[],
			  size_t n, struct vigil_identity *out, char *err,
			  size_t errlen);

/*
 * One identity as a JSON object (a member of P:meta:<ip>:history, or an
 * entry of the push document): {"pod": "...", "namespace": "...", "image":
 * "...", "service": "...", "labels": {"k": "v"}, "since": 1767225600.5}.
 * labels and since are optional (null is taken as absent); since is a
 * number or a string (epoch seconds or RFC 3339). Strict JSON (RFC 8259,
 * UTF-8): no other member, no member twice, nothing after the object.
 * 0 and *out complete, or -1 and err.
 */
int vigil_meta_parse_json_identity(const char *s, size_t n,
				   struct vigil_identity *out, char *err,
				   size_t errlen);

/*
 * Called for each entry of a push document, in document order, with the
 * entry's address, its normalised text and its identity (complete). A
 * non-zero return stops the parse, which then returns that value (err is
 * left as the callback wrote it, if it did).
 */
typedef int (*vigil_meta_doc_cb)(void *arg, const struct vigil_meta_ip *ip,
				 const char *ip_text,
				 const struct vigil_identity *id);

/*
 * The push document: one JSON object whose members are keyed by IP and
 * whose values are identities (vigil_meta_parse_json_identity), at most
 * max_entries of them (0: VIGIL_META_DOC_MAX_ENTRIES) in at most
 * VIGIL_META_DOC_MAX_BYTES. The same address twice, even written
 * differently, is refused. Returns the number of entries, or -1 and err:
 * "line L, column C: ..." for bad JSON, 'entry "KEY": ...' for a bad entry.
 * The document is checked as a whole: a caller that must not act on part
 * of a bad document collects what cb gets and uses it only when the
 * return is not -1 (vigilctl parses twice: once to check, once to write).
 * The callback may be NULL.
 */
long vigil_meta_parse_json_doc(const char *s, size_t n, size_t max_entries,
			       vigil_meta_doc_cb cb, void *arg, char *err,
			       size_t errlen);

/* What a P:meta:updates message asks for. */
enum vigil_meta_update_op {
	VIGIL_META_UPDATE_SET = 1, /* "set <ip>": P:meta:<ip> changed */
	VIGIL_META_UPDATE_RM = 2,  /* "rm <ip>": the IP's identities are gone */
};

/*
 * Parses a P:meta:updates message ("set <ip>" or "rm <ip>", the address
 * normalised). Returns the operation and fills *ip and norm (as
 * vigil_meta_parse_ip), or -1 and err.
 */
int vigil_meta_parse_update(const char *s, size_t n, struct vigil_meta_ip *ip,
			    char *norm, char *err, size_t errlen);

/* ---- formatting -------------------------------------------------------- */

/*
 * The labels as "k=v,k=v" (sorted; "" without labels) into buf of size
 * bytes; returns the length, or the length it needed (snprintf's rule).
 */
size_t vigil_meta_format_labels(const struct vigil_identity *id, char *buf,
				size_t size);

/*
 * The identity as one line of compact JSON in canonical order:
 * {"since":S,"pod":..,"namespace":..,"image":..,"service":..,"labels":{..}}
 * (since only when given). Same return rule as vigil_meta_format_labels;
 * VIGIL_META_JSON_MAX + 1 bytes always suffice. vigil_meta_parse_json_identity
 * reads it back to the same identity.
 */
size_t vigil_meta_format_json(const struct vigil_identity *id, char *buf,
			      size_t size);

/* ---- the identity history store ---------------------------------------- */

struct vigil_meta_store;

/*
 * A store of at most max_ips addresses (1..16777216), each with a history
 * of at most max_history identities (1..4096). NULL on bad arguments or
 * out of memory.
 */
struct vigil_meta_store *vigil_meta_store_create(uint32_t max_ips,
						 uint32_t max_history);
void vigil_meta_store_free(struct vigil_meta_store *st);

/* Return codes of vigil_meta_store_set: >= 0 stored, < 0 not stored. The
 * caller counts the ones that are not VIGIL_META_ADDED/REPLACED. */
enum vigil_meta_set_result {
	VIGIL_META_ADDED = 0,	      /* a new history entry */
	VIGIL_META_REPLACED = 1,      /* the entry with the same since replaced */
	VIGIL_META_TRIMMED = 2,	      /* added; the IP's history was full, its
				       * oldest entry was dropped */
	VIGIL_META_ERR_IPS_FULL = -1, /* a new address, max_ips reached */
	VIGIL_META_ERR_HISTORY_FULL = -2, /* history full and the entry
					   * older than all of it */
	VIGIL_META_ERR_INVALID = -3,  /* bad address or incomplete identity */
	VIGIL_META_ERR_NOMEM = -4,
};

/*
 * Adds id (copied, compact) to ip's history at id->since_us, replacing the
 * entry with the same since. Returns an enum vigil_meta_set_result.
 */
int vigil_meta_store_set(struct vigil_meta_store *st,
			 const struct vigil_meta_ip *ip,
			 const struct vigil_identity *id);

/*
 * Removes ip's whole history (all: true) or only its entry at since_us.
 * Returns the number of entries removed (0: none there).
 */
uint32_t vigil_meta_store_rm(struct vigil_meta_store *st,
			     const struct vigil_meta_ip *ip, bool all,
			     uint64_t since_us);

/*
 * The identity of ip at time t_us (epoch microseconds, packet time): the
 * entry with the latest since <= t_us; NULL if ip has none that early.
 */
const struct vigil_meta_entry *
vigil_meta_lookup(const struct vigil_meta_store *st,
		  const struct vigil_meta_ip *ip, uint64_t t_us);

/*
 * Up to max entries of ip's history, oldest first, into out; returns how
 * many ip has (which may be more than max).
 */
uint32_t vigil_meta_store_history(const struct vigil_meta_store *st,
				  const struct vigil_meta_ip *ip,
				  const struct vigil_meta_entry **out,
				  uint32_t max);

/* Addresses and entries held. */
uint32_t vigil_meta_store_ips(const struct vigil_meta_store *st);
uint64_t vigil_meta_store_entries(const struct vigil_meta_store *st);

#endif /* VIGIL_META_H */
