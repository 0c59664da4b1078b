/*
 * vigil SSH parser (see vigil_ssh.h): one line, bounded, checked.
 */
#include <string.h>

#include "vigil_ssh.h"

bool
vigil_ssh_is_banner_start(const uint8_t *p, uint32_t len, bool from_client)
{
	/* All four bytes: a lone "S" (PostgreSQL's yes to an SSLRequest)
	 * is not a banner. Fewer bytes leave the guess to later ones. */
	(void)from_client;
	return len >= 4 && memcmp(p, "SSH-", 4) == 0;
}

struct vigil_l7_ret
vigil_ssh_parse_banner(const uint8_t *p, uint32_t len, bool from_client,
		       struct vigil_ssh_banner *out)
{
	uint32_t off = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned line = 0;; line++) {
		const uint8_t *nl;
		uint32_t end, d1, d2;
		uint32_t left = len - off;
		size_t k = left < 4 ? left : 4;

		if (left == 0)
			return VIGIL_L7_RET_MORE(0);
		if (memcmp(p + off, "SSH-", k) != 0) {
			/* Lines before the identification: server only, and
			 * they must look like text. */
			if (from_client || line >= VIGIL_SSH_PRE_LINES)
				return VIGIL_L7_RET_NOT_MINE();
			nl = memchr(p + off, '\n', left);
			for (const uint8_t *q = p + off;
			     q < (nl ? nl : p + len); q++)
				if ((*q < 0x20 && *q != '\r' && *q != '\t') ||
				    *q == 0x7f)
					return VIGIL_L7_RET_NOT_MINE();
			if (nl == NULL) {
				if (left > 1024)
					return VIGIL_L7_RET_NOT_MINE();
				return VIGIL_L7_RET_MORE(0);
			}
			off = (uint32_t)(nl - p) + 1;
			continue;
		}
		if (left < 4)
			return VIGIL_L7_RET_MORE(0);
		nl = memchr(p + off, '\n',
			    left < VIGIL_SSH_BANNER_MAX ? left
							: VIGIL_SSH_BANNER_MAX);
		if (nl == NULL)
			return left >= VIGIL_SSH_BANNER_MAX
				       ? VIGIL_L7_RET_BAD(SSH_BANNER_TOO_LONG)
				       : VIGIL_L7_RET_MORE(0);
		end = (uint32_t)(nl - p);
		if (end > off && p[end - 1] == '\r')
			end--;
		/* SSH-protoversion-softwareversion[ SP comments] */
		for (d1 = off + 4; d1 < end && p[d1] != '-'; d1++)
			if (!((p[d1] >= '0' && p[d1] <= '9') || p[d1] == '.'))
				return VIGIL_L7_RET_BAD(SSH_BAD_BANNER);
		if (d1 == off + 4 || d1 >= end)
			return VIGIL_L7_RET_BAD(SSH_BAD_BANNER);
		for (d2 = d1 + 1; d2 < end && p[d2] != ' '; d2++)
			;
		VIGIL_L7_SET(out->banner, p + off, end - off);
		VIGIL_L7_SET(out->proto, p + off + 4, d1 - off - 4);
		VIGIL_L7_SET(out->software, p + d1 + 1, d2 - d1 - 1);
		out->version = (d1 - off - 4 >= 2 && p[off + 4] == '1' &&
				!(d1 - off - 4 == 4 &&
				  memcmp(p + off + 4, "1.99", 4) == 0))
				       ? 1
				       : 2;
		return VIGIL_L7_RET_DONE((uint32_t)(nl - p) + 1);
	}
}
