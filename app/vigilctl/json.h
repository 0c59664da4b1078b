/*
 * json.h — a minimal, strict JSON reader for the sensor descriptors that
 * vigil stores in P:sensors (untrusted: anyone with Redis access can write).
 */
#ifndef VIGILCTL_JSON_H
#define VIGILCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "text.h"

/*
 * Validates s (n bytes) as exactly one JSON value (RFC 8259, strict UTF-8,
 * nesting at most 64 deep) and appends a compact copy (no insignificant
 * whitespace) to out. False if s is not valid JSON; out then holds garbage.
 */
bool json_compact(const char *s, size_t n, struct buf *out);

/*
 * In a compact JSON object made by json_compact, finds the first top-level
 * member named key and returns its raw value token in *v, *vn.
 */
bool json_member(const char *obj, size_t n, const char *key,
		 const char **v, size_t *vn);

/* Decodes a JSON string token (quotes included) into UTF-8 bytes in out. */
void json_decode_string(const char *tok, size_t n, struct buf *out);

#endif /* VIGILCTL_JSON_H */
