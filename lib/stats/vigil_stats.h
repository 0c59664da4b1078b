/*
 * vigil counters: defined once, here.
 *
 * Every packet the appliance receives ends in exactly one of: a flow update,
 * or a drop counted under a named reason. The X-macro list below generates
 * the enum, the names written to Redis (`vigil:stats`), the summary printed
 * at exit and `vigil --list-counters`, so a counter cannot exist in one place
 * and be missing in another.
 *
 * Threading: one `struct vigil_counters` per lcore (and one for the control
 * thread). Only the owning thread writes it, with plain increments; readers
 * (the publisher) load each 64-bit word with a relaxed atomic load and sum.
 * A snapshot is therefore not a consistent cut across counters, which is fine
 * for monitoring and exact once the data path has drained.
 */
#ifndef VIGIL_STATS_H
#define VIGIL_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

/* X(name, is_drop, help) */
#define VIGIL_COUNTERS(X)                                                      \
	X(rx_packets, 0, "packets received from the ports")                   \
	X(rx_bytes, 0, "bytes received from the ports (as captured)")          \
	X(dispatched, 0, "packets handed to a worker ring")                   \
	X(rx_cycles, 0,                                                        \
	  "TSC cycles RX lcores spent on bursts of packets (PMD included)")  \
	X(worker_packets, 0, "packets taken by workers and counted in a flow") \
	X(flows_created, 0, "flows added to a worker's table")                \
	X(flows_expired, 0, "flows removed (idle, shutdown) and emitted")     \
	X(flow_events, 0, "flow records handed to the publisher")             \
	X(backpressure, 0,                                                     \
	  "loops in which a stage waited for room downstream (replay only)")  \
	X(records_published, 0, "flow records written to Redis")              \
	X(ipv4_len_zero, 0,                                                    \
	  "IPv4 packets with total length 0 (captured before TSO); "          \
	  "length taken from the frame")                                      \
	/* decode counters: begin (lib/decode, lib/dispatch) */               \
	X(tunnel_vxlan, 0,                                                    \
	  "packets decapsulated from VXLAN (outermost tunnel)")               \
	X(tunnel_geneve, 0,                                                   \
	  "packets decapsulated from Geneve (outermost tunnel)")              \
	X(tunnel_gre, 0, "packets decapsulated from GRE (outermost tunnel)")  \
	X(tunnel_erspan, 0,                                                   \
	  "packets decapsulated from ERSPAN type I, II or III "               \
	  "(outermost tunnel)")                                               \
	X(tunnel_ipip, 0,                                                     \
	  "packets decapsulated from IPv4/IPv6-in-IP "                        \
	  "(outermost tunnel)")                                               \
	X(fragments_matched, 0,                                               \
	  "later IP fragments keyed like the first fragment "                 \
	  "of their datagram")                                                \
	X(frag_table_full, 0,                                                 \
	  "first IP fragments that replaced a live entry of "                 \
	  "the full fragment table")                                          \
	X(tcp_bad_options, 0,                                                 \
	  "TCP packets whose option list is malformed "                       \
	  "(counted in their flow all the same)")                             \
	X(ipv4_bad_options, 0,                                                \
	  "IPv4 packets whose option list is malformed "                      \
	  "(counted in their flow all the same)")                             \
	X(drop_ring_full, 1, "packets dropped: worker ring full")             \
	X(drop_non_ip, 1,                                                     \
	  "frames dropped: not IP, ARP or MPLS (LLDP, STP, ...)")             \
	X(drop_arp, 1, "frames dropped: ARP and RARP (not tracked as flows)") \
	X(drop_truncated, 1,                                                  \
	  "packets dropped: captured shorter than their headers")             \
	X(drop_bad_linktype, 1,                                               \
	  "frames dropped: cooked (SLL/SLL2) or loopback (NULL/LOOP) "        \
	  "header too short, SLL protocol below 0x0600, unknown "             \
	  "address family, or raw IP of a version other than 4 and 6")        \
	X(drop_bad_l2, 1,                                                     \
	  "frames dropped: more than six VLAN, E-Tag and VN-Tag "             \
	  "headers in one Ethernet header")                                   \
	X(drop_bad_pppoe, 1,                                                  \
	  "frames dropped: bad PPPoE session header (version, type, "         \
	  "code, a length shorter than the PPP protocol field)")              \
	X(drop_bad_nsh, 1,                                                    \
	  "packets dropped: bad NSH header (version, length, MD type)")       \
	X(drop_mpls, 1,                                                       \
	  "frames dropped: MPLS label stack longer than 8 labels "            \
	  "or ending in neither IPv4, IPv6 nor a pseudowire")                 \
	X(drop_bad_ipv4, 1,                                                   \
	  "packets dropped: bad IPv4 header (version, IHL, "                  \
	  "total length)")                                                    \
	X(drop_bad_ipv6, 1,                                                   \
	  "packets dropped: bad IPv6 header or extension "                    \
	  "header chain")                                                     \
	X(drop_bad_l4, 1, "packets dropped: bad TCP/UDP/ICMP/SCTP header")    \
	X(drop_bad_gre, 1,                                                    \
	  "packets dropped: bad GRE header (version, routing "                \
	  "present, or longer than the packet)")                              \
	X(drop_bad_tunnel, 1,                                                 \
	  "packets dropped: bad VXLAN (I flag), Geneve "                      \
	  "(version, options) or ERSPAN (version, frame type) "               \
	  "header")                                                           \
	X(drop_tunnel_depth, 1,                                               \
	  "packets dropped: tunnels (or MPLS pseudowires) "                   \
	  "nested more than 3 deep")                                          \
	X(drop_fragment_unmatched, 1,                                         \
	  "packets dropped: later IP fragment whose first "                   \
	  "fragment was not seen (or came after it)")                         \
	/* decode counters: end; flow counters: begin (lib/flow) */          \
	X(worker_cycles, 0,                                                    \
	  "TSC cycles workers spent on bursts of packets")                    \
	X(flows_evicted, 0,                                                    \
	  "flows pushed out of a full table (their records are emitted)")     \
	X(tunnel_table_full, 0,                                                \
	  "new flows whose tunnel endpoints found no room (not recorded)")    \
	X(drop_flow_table_full, 1,                                             \
	  "packets dropped: flow table full and nothing to evict")            \
	X(drop_event_ring_full, 1,                                             \
	  "flow records dropped: publisher ring full")                        \
	/* flow counters: end; inspection counters: begin (lib/flow) */      \
	X(l7_inspected, 0, "flows whose payload was inspected (a context)")   \
	X(l7_no_context, 0,                                                    \
	  "flows not inspected: every inspection context (or L7 record) "     \
	  "was in use")                                                       \
	X(l7_unknown, 0, "inspected flows whose protocol was not recognised") \
	X(l7_dns, 0, "inspected flows recognised as DNS")                     \
	X(l7_http, 0, "inspected flows recognised as HTTP")                   \
	X(l7_tls, 0, "inspected flows recognised as TLS")                     \
	X(l7_ssh, 0, "inspected flows recognised as SSH")                     \
	X(l7_quic, 0, "inspected flows recognised as QUIC")                   \
	X(l7_stratum, 0, "inspected flows recognised as Stratum")             \
	X(l7_starttls, 0,                                                      \
	  "TLS handshakes found after a preamble (STARTTLS, SOCKS, CONNECT)") \
	X(l7_malformed, 0,                                                     \
	  "inspections stopped by a malformed message (reason in l7_error)")  \
	X(l7_gap, 0, "inspections of a TCP direction stopped by a gap")       \
	X(l7_buffer_full, 0,                                                   \
	  "inspections of a direction stopped: message over l7.buffer_bytes") \
	X(l7_records, 0, "L7 records handed to the publisher")                \
	X(drop_l7_ring_full, 1, "L7 records dropped: publisher ring full")     \
	X(dns_names_learned, 0,                                                \
	  "addresses a worker learned a name for from DNS answers")           \
	X(dns_named_flows, 0,                                                  \
	  "flow records whose responder was named from a DNS answer")         \
	X(dns_feed_full, 0,                                                    \
	  "DNS answers not forwarded to another worker: its feed ring full")  \
	/* inspection counters: end; publish counters: begin */             \
	X(drop_records_undelivered, 1,                                         \
	  "flow records dropped: Redis unreachable or refused them")          \
	X(l7_merged, 0, "L7 records written with their flow record")          \
	X(drop_l7_pending_full, 1,                                             \
	  "L7 records dropped: l7.pending_max awaiting their flow record")    \
	X(l7_pending_expired, 0,                                               \
	  "L7 records whose flow record never came (aged out or at exit)")    \
	X(drop_shutdown, 1,                                                    \
	  "packets dropped: still queued when the drain time ran out")        \
	/* control counters: identities (lib/publish/vigil_metasync.c) and  \
	 * entities (lib/entity) */                                         \
	X(meta_loads, 0, "full reads of <prefix>:meta:* completed")           \
	X(meta_ips_read, 0,                                                    \
	  "addresses whose identities were read from Redis (loads, updates)") \
	X(meta_refused, 0,                                                     \
	  "identities or <prefix>:meta:* keys refused: invalid, or the store full")  \
	X(meta_updates, 0, "messages received on <prefix>:meta:updates")       \
	X(meta_updates_refused, 0,                                             \
	  "<prefix>:meta:updates messages that are not set/rm <ip>")          \
	X(meta_reconnects, 0,                                                  \
	  "metadata connections to Redis re-established after a loss")        \
	X(entity_flows, 0, "flow records counted in entities")               \
	X(entity_identified, 0,                                                \
	  "flow endpoints named by an identity valid at the flow's time")     \
	X(entity_discovered, 0, "flow endpoints without an identity")          \
	X(entity_flush_full, 0,                                                \
	  "entity batches published early: a table was full")                \
	X(entity_ports_full, 0,                                                \
	  "served ports not listed: an entity served more in one batch")      \
	X(entity_writes, 0, "entity, service, edge and map merges queued")     \
	X(drop_entity_undelivered, 1,                                          \
	  "entity, service, edge and map merges lost: Redis unreachable or "  \
	  "refused them")

enum vigil_ctr {
#define X(name, drop, help) VIGIL_CTR_##name,
	VIGIL_COUNTERS(X)
#undef X
	VIGIL_CTR_MAX
};

struct vigil_counters {
	uint64_t c[VIGIL_CTR_MAX];
} __rte_cache_aligned;

/* Name of a counter as written to Redis and printed ("drop_ring_full"). */
const char *vigil_ctr_name(enum vigil_ctr id);
/* One-line description of a counter. */
const char *vigil_ctr_help(enum vigil_ctr id);
/* Non-zero when the counter counts packets or records that were lost. */
int vigil_ctr_is_drop(enum vigil_ctr id);

/* Owner-only increment (the packet path). */
static inline void
vigil_ctr_add(struct vigil_counters *s, enum vigil_ctr id, uint64_t n)
{
	s->c[id] += n;
}

/* Any-thread read of one counter. */
static inline uint64_t
vigil_ctr_read(const struct vigil_counters *s, enum vigil_ctr id)
{
	return __atomic_load_n(&s->c[id], __ATOMIC_RELAXED);
}

/* Any-thread: out[i] += s->c[i] for every counter. */
void vigil_counters_accumulate(uint64_t out[VIGIL_CTR_MAX],
			       const struct vigil_counters *s);

/* Sum of all drop counters in a snapshot. */
uint64_t vigil_counters_drops(const uint64_t snap[VIGIL_CTR_MAX]);

/* Print "name help" for every counter, one per line. */
void vigil_counters_list(FILE *out);

#endif /* VIGIL_STATS_H */
