/*
 * vigil decode: the link, network and transport headers of one frame into
 * a flow key.
 *
 * Input is the bytes of a frame as captured, with the pcap link type of the
 * port or capture it came from: Ethernet (up to six VLAN, E-Tag and
 * VN-Tag headers, PPPoE session, FabricPath, NSH, MPLS label stacks, ARP
 * counted apart), Linux cooked v1 and v2, raw IP and
 * BSD loopback (NULL, LOOP). IPv4 with options and fragments, IPv6 with
 * extension headers and fragments, TCP (with options), UDP, SCTP, ICMP,
 * ICMPv6; other IP protocols are keyed by addresses and protocol.
 *
 * Tunnels are decapsulated to the inner flow: VXLAN on the configured UDP
 * ports, Geneve (with options), GRE (with or without key, Ethernet or IP
 * inside), ERSPAN types I/II and III, IPv4/IPv6-in-IPv4/IPv6. Nested
 * tunnels are followed up to VIGIL_MAX_TUNNEL_DEPTH levels. The innermost
 * IP packet keys the flow; the VNI, GRE key or ERSPAN session id of the
 * innermost tunnel that has one is part of the key (`vni`), with the type
 * of the outermost tunnel (`tun_type`); `tun` in the meta keeps the
 * outermost tunnel's outer addresses for the record.
 *
 * Output is a `struct vigil_pkt_meta`: the canonical, direction-free flow
 * key, which side sent the packet, and the lengths, flags and TCP fields
 * the flow table counts.
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
 * Fragments: a first fragment is keyed like any packet. A later fragment
 * carries no ports: with a fragment table (vigil_frag.h) it is keyed like
 * the first fragment of its datagram when that one was seen; without one,
 * or when it was not seen, it is counted in drop_fragment_unmatched.
 *
 * Threading: the decoder is a pure function of its inputs, any lcore, with
 * one exception: the fragment table passed to vigil_decode_pkt_ft(), which
 * belongs to one lcore.
 */
#ifndef VIGIL_DECODE_H
#define VIGIL_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "vigil_stats.h"

#define VIGIL_AF_INET 4
#define VIGIL_AF_INET6 6

/* 48 bytes: a multiple of 16 so rte_hash uses its vector key compare. The
 * key is written as six 8-byte words (see canonicalize() in the .c file):
 * word 4 = port[0] | port[1] << 16 | vni << 32,
 * word 5 = vlan | proto << 16 | family << 24 | tun_type << 32. */
struct vigil_flow_key {
	uint8_t addr[2][16]; /* IPv4 in the first 4 bytes, rest zero */
	uint16_t port[2];    /* host order; ICMP: type / counterpart or code */
	uint32_t vni;	     /* VNI, GRE key or ERSPAN session id of the
			      * innermost tunnel that has one; 0 = none */
	uint16_t vlan;	     /* first VLAN id of the Ethernet header that
			      * carries the keyed IP packet; 0 = untagged */
	uint8_t proto;	     /* IP protocol */
	uint8_t family;	     /* VIGIL_AF_INET or VIGIL_AF_INET6 */
	uint8_t tun_type;    /* VIGIL_TUN_* of the outermost tunnel, 0 = none */
	uint8_t pad[3];	     /* always zero */
} __rte_aligned(8); /* hashed and compared 8 bytes at a time */

/* Tunnel types (key.tun_type, tun.type). Macros, so users can test for
 * them with #if defined(). */
#define VIGIL_TUN_NONE 0
#define VIGIL_TUN_VXLAN 1
#define VIGIL_TUN_GENEVE 2
#define VIGIL_TUN_GRE 3
#define VIGIL_TUN_ERSPAN2 4 /* ERSPAN type II (and type I: no header) */
#define VIGIL_TUN_ERSPAN3 5
#define VIGIL_TUN_IPIP 6   /* IPv4 or IPv6 in IPv4 or IPv6 */
#define VIGIL_TUN_MAX 6

/* Outermost tunnel a packet came through. */
struct vigil_tunnel {
	uint8_t type;	/* VIGIL_TUN_NONE, _VXLAN, _GENEVE, _GRE, _ERSPAN2,
			 * _ERSPAN3, _IPIP */
	uint8_t family; /* VIGIL_AF_INET/INET6 of the outer addresses */
	uint16_t pad;
	uint32_t id;		  /* VNI, GRE key, ERSPAN session id; 0 if
				   * none (key.vni may then come from an
				   * inner tunnel) */
	uint8_t src[16], dst[16]; /* outer IP source and destination as on
				   * the wire (IPv4: first 4 bytes) */
};

/* The decoder fills tcp_seq, tcp_ack and tcp_win (users may test this). */
#define VIGIL_DECODE_TCP_SEQ 1

/* Lives in the mbuf private area: at most 128 bytes (checked below). */
struct vigil_pkt_meta {
	struct vigil_flow_key key;
	uint64_t ts_us;	      /* packet time, epoch microseconds */
	uint32_t l2_len;      /* frame length on the wire, all headers */
	uint32_t ip_len;      /* length of the keyed (inner) IP packet from
			       * its header(s) */
	uint32_t payload_len; /* its transport payload length; a later
			       * fragment: its IP payload */
	uint32_t rx_hash;     /* vigil_key_hash(&key): picks the worker and is
			       * the worker's rte_hash signature */
	uint8_t dir;	      /* 0: the sender is key side 0; 1: side 1 */
	uint8_t tcp_flags;    /* TCP flags byte, 0 otherwise */
	union {
		struct {
			uint8_t icmp_type; /* ICMP, ICMPv6 */
			uint8_t icmp_code;
		};
		/* TCP, UDP: offset of the transport payload in the frame
		 * (0 for a later fragment), for application inspection. */
		uint16_t payload_off;
	};
	uint8_t notes;	      /* VIGIL_NOTE_* seen while decoding */
	uint8_t pad;
	uint16_t tcp_win;     /* TCP window field (unscaled), 0 otherwise */
	uint32_t tcp_seq;     /* TCP sequence number, 0 otherwise */
	uint32_t tcp_ack;     /* TCP acknowledgement number, 0 otherwise */
	struct vigil_tunnel tun; /* outermost tunnel decapsulated; type 0 =
				  * none (then the rest is zero too) */
};

#define VIGIL_PKT_META_MAX 128
_Static_assert(sizeof(struct vigil_flow_key) == 48, "flow key: 48 bytes");
_Static_assert(sizeof(struct vigil_pkt_meta) <= VIGIL_PKT_META_MAX,
	      "vigil_pkt_meta must fit the 128-byte mbuf private area");

/* Oddities that do not stop a packet from being counted (each has a
 * non-drop counter the RX stage adds). */
#define VIGIL_NOTE_IP_LEN_ZERO 0x01  /* IPv4 total length 0 (TSO capture) */
#define VIGIL_NOTE_TCP_OPTS_BAD 0x02 /* TCP option list overruns or has a
				      * bad length: tcp_bad_options */
#define VIGIL_NOTE_IPV4_OPTS_BAD 0x04 /* IPv4 options likewise:
				       * ipv4_bad_options */
#define VIGIL_NOTE_FRAGMENT 0x08      /* a later fragment keyed through the
				       * fragment table: fragments_matched */
#define VIGIL_NOTE_FRAG_EVICT 0x10    /* a first fragment pushed a live
				       * entry out of the fragment table:
				       * frag_table_full */

#define VIGIL_IPPROTO_ICMP 1
#define VIGIL_IPPROTO_TCP 6
#define VIGIL_IPPROTO_UDP 17
#define VIGIL_IPPROTO_GRE 47
#define VIGIL_IPPROTO_ICMPV6 58
#define VIGIL_IPPROTO_SCTP 132

#define VIGIL_TCP_FIN 0x01
#define VIGIL_TCP_SYN 0x02
#define VIGIL_TCP_RST 0x04
#define VIGIL_TCP_PSH 0x08
#define VIGIL_TCP_ACK 0x10

/* pcap link types (DLT_* / LINKTYPE_* values as in pcap files; the few
 * that differ between systems are all accepted). */
#define VIGIL_DLT_NULL 0	 /* 4-byte AF, host order of the capturer */
#define VIGIL_DLT_EN10MB 1	 /* Ethernet */
#define VIGIL_DLT_RAW_12 12	 /* raw IP (DLT_RAW on most systems) */
#define VIGIL_DLT_RAW_14 14	 /* raw IP (DLT_RAW on OpenBSD) */
#define VIGIL_DLT_RAW 101	 /* LINKTYPE_RAW */
#define VIGIL_DLT_LOOP 108	 /* 4-byte AF, network order (OpenBSD) */
#define VIGIL_DLT_LINUX_SLL 113	 /* Linux cooked capture v1 */
#define VIGIL_DLT_IPV4 228	 /* raw IPv4 */
#define VIGIL_DLT_IPV6 229	 /* raw IPv6 */
#define VIGIL_DLT_LINUX_SLL2 276 /* Linux cooked capture v2 */

/* Can the decoder read frames of this link type? */
bool vigil_linktype_supported(int linktype);

/* Decoder settings, filled before the RX lcores start, then read-only. */
#define VIGIL_MAX_VXLAN_PORTS 8
#define VIGIL_MAX_TUNNEL_DEPTH 3 /* tunnels inside tunnels: drop beyond */
struct vigil_decoder {
	uint16_t vxlan_ports[VIGIL_MAX_VXLAN_PORTS]; /* UDP destination ports */
	uint8_t n_vxlan;     /* default 2: {4789, 8472} (IANA; Linux
			      * default used by flannel and Cilium) */
	uint16_t geneve_port; /* default 6081; 0 = no Geneve */
	bool decap;	      /* default true; false: key the outer flow */
};

/* Default settings (above). */
void vigil_decoder_defaults(struct vigil_decoder *d);

/* "vxlan", "geneve", "gre", "erspan2", "erspan3", "ipip"; "" for none,
 * "unknown" otherwise. */
const char *vigil_tunnel_name(uint8_t type);

/* Result of a decode: 0 for a keyed packet, else the drop counter. */
#define VIGIL_DECODE_OK 0

struct vigil_frag_table; /* vigil_frag.h */

/*
 * Decode one frame of link type `linktype` (VIGIL_DLT_*): `caplen` bytes
 * captured at `frame` of a frame of `framelen` bytes on the wire (a snap
 * length or a chained mbuf make caplen smaller). Fills everything in `m`
 * but ts_us (rx_hash is vigil_key_hash(&m->key)). Returns VIGIL_DECODE_OK
 * or the drop counter naming the reason. Never reads outside
 * frame[0 .. caplen).
 */
int vigil_decode_pkt(const struct vigil_decoder *d, int linktype,
		     const uint8_t *frame, uint32_t caplen, uint32_t framelen,
		     struct vigil_pkt_meta *m);

/*
 * Same, with a fragment table (NULL: as vigil_decode_pkt) and the packet
 * time that ages its entries: first fragments are remembered, later ones
 * looked up (VIGIL_NOTE_FRAGMENT when found, drop_fragment_unmatched when
 * not). The table is written: call from the lcore that owns it.
 */
int vigil_decode_pkt_ft(const struct vigil_decoder *d,
			struct vigil_frag_table *ft, uint64_t now_us,
			int linktype, const uint8_t *frame, uint32_t caplen,
			uint32_t framelen, struct vigil_pkt_meta *m);

/* Ethernet with the default decoder, no fragment table. */
int vigil_decode(const uint8_t *frame, uint32_t caplen,
		 struct vigil_pkt_meta *m);

/* Same, for a frame of which only the first `caplen` of `framelen` bytes
 * are contiguous at `frame` (a chained mbuf). */
int vigil_decode_len(const uint8_t *frame, uint32_t caplen, uint32_t framelen,
		     struct vigil_pkt_meta *m);

/* An mbuf of any link type (headers read across segments if they must
 * be), with an optional fragment table (see vigil_decode_pkt_ft). */
int vigil_decode_mbuf_lt(const struct vigil_decoder *d,
			 struct vigil_frag_table *ft, uint64_t now_us,
			 int linktype, const struct rte_mbuf *mb,
			 struct vigil_pkt_meta *m);

/* An Ethernet mbuf with the default decoder, no fragment table. */
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
