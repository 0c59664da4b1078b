/*
 * vigil SSH parser: the identification string each side sends first
 * (RFC 4253 4.2: "SSH-protoversion-softwareversion SP comments CR LF", at
 * most 255 bytes), for Zeek's ssh.log ssh_client and ssh_server (the whole
 * string without CR LF) and version (1 or 2).
 *
 * A server may send other lines before its identification string (RFC
 * 4253 4.2); up to VIGIL_SSH_PRE_LINES of them are skipped on the server
 * side. A bare LF ends the line too (old clients).
 *
 * Returns (see vigil_l7.h): DONE with the bytes through the line end;
 * NEED_MORE (len 0) before the line end; NOT_MINE when the bytes do not
 * start with "SSH-" (server: nor a line that may precede it);
 * MALFORMED ssh_bad_banner ("SSH-" without "x.y-"), ssh_banner_too_long.
 */
#ifndef VIGIL_SSH_H
#define VIGIL_SSH_H

#include "vigil_l7.h"

#define VIGIL_SSH_BANNER_MAX 255
#define VIGIL_SSH_PRE_LINES 8

struct vigil_ssh_banner {
	VIGIL_L7_STR(VIGIL_SSH_BANNER_MAX) banner; /* "SSH-2.0-OpenSSH_9.2" */
	VIGIL_L7_STR(16) proto;			   /* "2.0", "1.99" */
	VIGIL_L7_STR(VIGIL_SSH_BANNER_MAX) software; /* to the first space */
	uint8_t version; /* Zeek's ssh.log version: 2 (also for 1.99), 1 */
};

struct vigil_l7_ret vigil_ssh_parse_banner(const uint8_t *p, uint32_t len,
					   bool from_client,
					   struct vigil_ssh_banner *out);

/* Does p start with an identification string ("SSH-", all four bytes)? */
bool vigil_ssh_is_banner_start(const uint8_t *p, uint32_t len,
			       bool from_client);

#endif /* VIGIL_SSH_H */
