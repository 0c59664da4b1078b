/*
 * vigil decode: L2..L4 headers of one frame into a flow key.
 *
 * Input is the bytes of a frame as captured (Ethernet, up to two 802.1Q /
 * 802.1ad tags, IPv4 or IPv6 with extension headers, TCP, UDP, SCTP, ICMP,
 * ICMPv6; other IP protocols are keyed by addresses and protocol). Output is
 * a `struct vigil_pkt_meta`: the canonical, direction-free flow key, which
 * side sent the packet, and the lengths and flags the flow table counts.
 *
 * Every length is checked before it is read; a frame that cannot be keyed
 * returns the counter that names why (drop_truncated, drop_bad_ipv4, ...).
 * A capture cut short by a snap length still decodes as long as the
 * transport header is present: byte counts then come from the IP header.
 *
 * The key is canonical: the (address, port) pair that compares lower is side
 * 0, so both directions of a flow give the same key, the same symmetric hash
 * and so the same worker. ICMP "ports" follow Zeek and the Community ID: the
 * type and, for request/reply types, the counterpart type (echo 8 <-> 0), so
 * a request and its reply share a flow.
 *
 * Threading: pure functions, any lcore.
 */
#ifndef VIGIL_DECODE_H
#define VIGIL_DECODE_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "vigil_stats.h"

#define VIGIL_AF_INET 4
#define VIGIL_AF_INET6 6

/* 48 bytes: a multiple of 16 so rte_hash uses its vector key compare. */
struct vigil_flow_key {
	uint8_t addr[2][16]; /* IPv4 in the first 4 bytes, rest zero */
	uint16_t port[2];    /* host order; ICMP: type / counterpart or code */
	uint32_t vni;	     /* overlay network id, 0 = none (later issue) */
	uint16_t vlan;	     /* outer 802.1Q/802.1ad VLAN id, 0 = untagged */
	uint8_t proto;	     /* IP protocol */
	uint8_t family;	     /* VIGIL_AF_INET or VIGIL_AF_INET6 */
	uint32_t pad;	     /* always zero */
};

struct vigil_pkt_meta {
	struct vigil_flow_key key;
	uint64_t ts_us;	      /* packet time, epoch microseconds */
	uint32_t l2_len;      /* frame length as captured */
	uint32_t ip_len;      /* IP length from the header(s) */
	uint32_t payload_len; /* transport payload length */
	uint32_t rx_hash;     /* vigil_key_hash(&key): picks the worker and is
			       * the worker's rte_hash signature */
	uint8_t dir;	      /* 0: the sender is key side 0; 1: side 1 */
	uint8_t tcp_flags;    /* TCP flags byte, 0 otherwise */
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t notes;	      /* VIGIL_NOTE_* seen while decoding */
};

/* Oddities that do not stop a packet from being counted. */
#define VIGIL_NOTE_IP_LEN_ZERO 0x01 /* IPv4 total length 0 (TSO capture) */

#define VIGIL_IPPROTO_ICMP 1
#define VIGIL_IPPROTO_TCP 6
#define VIGIL_IPPROTO_UDP 17
#define VIGIL_IPPROTO_ICMPV6 58

#define VIGIL_TCP_FIN 0x01
#define VIGIL_TCP_SYN 0x02
#define VIGIL_TCP_RST 0x04
#define VIGIL_TCP_PSH 0x08
#define VIGIL_TCP_ACK 0x10

/* Result of a decode: 0 for a keyed packet, else the drop counter. */
#define VIGIL_DECODE_OK 0

/*
 * Decode `caplen` bytes of one frame. Fills everything in `m` but ts_us
 * (rx_hash is vigil_key_hash(&m->key)). Returns VIGIL_DECODE_OK or the
 * drop counter naming the reason.
 */
int vigil_decode(const uint8_t *frame, uint32_t caplen,
		 struct vigil_pkt_meta *m);

/* Same, for a frame of which only the first `caplen` of `framelen` bytes
 * are contiguous at `frame` (a chained mbuf). */
int vigil_decode_len(const uint8_t *frame, uint32_t caplen, uint32_t framelen,
		     struct vigil_pkt_meta *m);

/* Same for an mbuf (headers read across segments if they must be). */
int vigil_decode_mbuf(const struct rte_mbuf *mb, struct vigil_pkt_meta *m);

/* Packet meta of an mbuf: it lives in the mbuf's private area, written by
 * the RX lcore and read by the worker, so the worker never decodes again. */
static inline struct vigil_pkt_meta *
vigil_pkt_meta(struct rte_mbuf *m)
{
	return (struct vigil_pkt_meta *)rte_mbuf_to_priv(m);
}

/* Symmetric hash of the key (same for both directions by construction):
 * rte_hash_crc with this seed, so that a worker's rte_hash, created with
 * the same function and seed, can take it as the precomputed signature. */
#define VIGIL_KEY_HASH_SEED 0x9e3779b9u
uint32_t vigil_key_hash(const struct vigil_flow_key *k);

/* The counterpart of an ICMP/ICMPv6 request/reply type, or -1. */
int vigil_icmp_counterpart(uint8_t family, uint8_t type);

/* Format side `side` of the key: "10.0.0.1" or "fd00::1". */
void vigil_key_addr_str(const struct vigil_flow_key *k, int side, char *buf,
			unsigned len);

#endif /* VIGIL_DECODE_H */
