/*
 * vigil fragment table: lets the decoder key the later fragments of an IP
 * datagram (which carry no transport header) like its first fragment.
 *
 * A first fragment, once decoded, leaves its result here under the
 * datagram's identity (source, destination, protocol, IP id, and the VLAN
 * and tunnel it came through); a later fragment looks it up and takes the
 * same key. An entry is freed when every byte of the datagram has been
 * seen, when it is older than the timeout (packet time: 30 s by default,
 * from the first fragment), or when a new datagram needs its place and
 * the table is full around it (that replacement is noted so the RX stage
 * can count it, frag_table_full). Nothing is reassembled.
 *
 * The table is one block of memory sized once at start (no allocation on
 * the packet path): open addressing, VIGIL_FRAG_PROBE slots probed from the
 * hash, the oldest of them replaced when none is free.
 *
 * Threading: one table per RX lcore, used by that lcore only.
 */
#ifndef VIGIL_FRAG_H
#define VIGIL_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

#include "vigil_decode.h"

#define VIGIL_FRAG_ENTRIES 4096		      /* per RX lcore by default */
#define VIGIL_FRAG_TIMEOUT_US (30ull * 1000000u) /* packet time */
#define VIGIL_FRAG_PROBE 8

/* What identifies one datagram. */
struct vigil_frag_id {
	uint8_t src[16], dst[16]; /* as in the IP header; IPv4: 4 + zeros */
	uint32_t id;		  /* IPv4: 16 bits; IPv6: 32 bits */
	uint32_t vni;		  /* tunnel context of the fragmented packet */
	uint16_t vlan;
	uint8_t proto;	/* IPv4 protocol / IPv6 fragment header's next */
	uint8_t family; /* VIGIL_AF_INET or VIGIL_AF_INET6 */
	uint8_t tun_type;
	uint8_t pad[3];
} __rte_aligned(8); /* hashed 8 bytes at a time */

struct vigil_frag_entry {
	struct vigil_frag_id fid; /* 48 bytes */
	struct vigil_flow_key key; /* the first fragment's result */
	uint64_t ts_us;		   /* first fragment's time */
	uint32_t rx_hash;
	uint32_t seen;	/* IP payload bytes of the fragments seen */
	uint32_t total; /* datagram payload size, 0 until the last fragment */
	uint8_t used;
	uint8_t dir;
	uint8_t icmp_type, icmp_code;
	uint8_t deep; /* a tunnel inside: the key is the inner flow's, whose
		       * lengths the first fragment already counted */
	uint8_t pad[7];
};

struct vigil_frag_table {
	uint32_t mask; /* entries - 1 */
	uint32_t live; /* entries in use (expired ones included) */
	uint64_t timeout_us;
	struct vigil_frag_entry e[];
};

/* Bytes for a table of `entries` slots (a power of two >= VIGIL_FRAG_PROBE). */
size_t vigil_frag_table_size(uint32_t entries);

/* Initialise a table in `mem` (vigil_frag_table_size(entries) bytes, any
 * allocator). Returns it, or NULL if `entries` is not a power of two of at
 * least VIGIL_FRAG_PROBE. */
struct vigil_frag_table *vigil_frag_table_init(void *mem, uint32_t entries,
					       uint64_t timeout_us);

/* Empty the table. */
void vigil_frag_table_clear(struct vigil_frag_table *t);

/* The live entry for `fid`, or NULL (missing or expired at `now_us`). */
struct vigil_frag_entry *vigil_frag_find(struct vigil_frag_table *t,
					 const struct vigil_frag_id *fid,
					 uint64_t now_us);

/* A slot for `fid` (the existing one, a free or expired one, or the oldest
 * of the probed slots, *evicted then set), marked used and stamped with
 * `now_us`; the caller fills the result. */
struct vigil_frag_entry *vigil_frag_insert(struct vigil_frag_table *t,
					   const struct vigil_frag_id *fid,
					   uint64_t now_us, bool *evicted);

/* Count `len` payload bytes at byte offset `off` of the datagram (`last`:
 * the fragment without "more fragments"); frees the entry once every byte
 * was seen. */
void vigil_frag_account(struct vigil_frag_table *t, struct vigil_frag_entry *e,
			uint32_t off, uint32_t len, bool last);

#endif /* VIGIL_FRAG_H */
