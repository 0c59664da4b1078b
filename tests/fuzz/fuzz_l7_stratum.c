/*
 * libFuzzer target for lib/l7's Stratum JSON-RPC parser
 * (vigil_stratum.h). Input: one direction's bytes, from an exact-size heap
 * copy. Checked: DONE within the input and ending on a line feed, strings
 * within their arrays, at most two parameters kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_l7.h"
#include "vigil_stratum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "fuzz_l7_stratum: invariant %s\n",    \
				#c);                                          \
			abort();                                              \
		}                                                             \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_stratum_msg s;
	struct vigil_l7_ret r;
	uint8_t *p;
	uint32_t n = (uint32_t)size;

	if (size > 70000)
		return 0;
	p = malloc(n ? n : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, n);
	r = vigil_stratum_parse(p, n, &s);
	if (r.rc == VIGIL_L7_DONE)
		CHECK(r.len <= n && r.len > 0 && p[r.len - 1] == '\n');
	CHECK(s.n_params <= 2);
	CHECK(s.method.len <= sizeof(s.method.s) && s.id.len <= sizeof(s.id.s));
	vigil_stratum_looks_like(p, n);
	free(p);
	return 0;
}
