/*
 * vigil Stratum parser: one JSON-RPC line of the Stratum mining protocol
 * (mining.subscribe, mining.authorize, mining.submit from the miner;
 * responses and mining.notify / mining.set_difficulty from the pool), on
 * any port. Kept: the method, the id token, the first two parameters when
 * they are strings (subscribe: the miner's user agent; authorize and
 * submit: the worker name; submit: the job id), and whether a response
 * carries a result or an error.
 *
 * The JSON is scanned without recursion: nested values the record does not
 * need are skipped with a depth counter (at most VIGIL_STRATUM_DEPTH
 * levels). Strings are kept as on the wire (escapes not decoded).
 *
 * Returns (see vigil_l7.h): DONE with the bytes through the line's LF;
 * NEED_MORE (len 0) before the LF; NOT_MINE when the line is not a JSON
 * object with a "method", "result" or "error" member; MALFORMED
 * stratum_bad_json, stratum_line_too_long (no LF in
 * VIGIL_STRATUM_LINE_MAX bytes).
 */
#ifndef VIGIL_STRATUM_H
#define VIGIL_STRATUM_H

#include "vigil_l7.h"

#define VIGIL_STRATUM_LINE_MAX 8192
#define VIGIL_STRATUM_DEPTH 16

struct vigil_stratum_msg {
	VIGIL_L7_STR(48) method; /* "" in a response */
	VIGIL_L7_STR(24) id;	 /* the JSON token: 1, "abc", null */
	uint8_t n_params;	 /* string parameters kept (0..2) */
	VIGIL_L7_STR(128) params[2];
	bool is_response; /* a result or error member */
	bool has_error;	  /* error is not null */
	bool result_true; /* result is true (authorize accepted) */
};

struct vigil_l7_ret vigil_stratum_parse(const uint8_t *p, uint32_t len,
					struct vigil_stratum_msg *out);

/* A JSON object that names a "mining." method or value in its first
 * bytes. For vigil_l7_guess. */
bool vigil_stratum_looks_like(const uint8_t *p, uint32_t len);

#endif /* VIGIL_STRATUM_H */
