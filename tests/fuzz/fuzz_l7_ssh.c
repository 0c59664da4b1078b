/*
 * libFuzzer target for lib/l7's SSH identification-string parser
 * (vigil_ssh.h). Input: byte 0 bit 0 set: the client's side; the rest is
 * the direction's first bytes, from an exact-size heap copy. Checked: DONE
 * within the input, strings within their arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_l7.h"
#include "vigil_ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "fuzz_l7_ssh: invariant %s\n", #c);   \
			abort();                                              \
		}                                                             \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_ssh_banner b;
	struct vigil_l7_ret r;
	uint8_t *p;
	uint32_t n;
	char esc[VIGIL_SSH_BANNER_MAX * 4 + 1];

	if (size < 1 || size > 70000)
		return 0;
	n = (uint32_t)(size - 1);
	p = malloc(n ? n : 1);
	if (p == NULL)
		return 0;
	memcpy(p, data + 1, n);
	r = vigil_ssh_parse_banner(p, n, data[0] & 1, &b);
	CHECK(r.rc != VIGIL_L7_DONE || (r.len <= n && b.banner.len > 0));
	CHECK(b.banner.len <= sizeof(b.banner.s) &&
	      b.proto.len <= sizeof(b.proto.s) &&
	      b.software.len <= sizeof(b.software.s));
	CHECK(vigil_l7_escape(esc, sizeof(esc), b.banner.s, b.banner.len) <
	      sizeof(esc));
	free(p);
	return 0;
}
