/*
 * vigil configuration: one struct, filled from defaults and then from a
 * libconfig file, every value validated.
 *
 * The scalar settings are a declarative table in vigil_conf.c (path, type,
 * bounds, default, field); the two structured ones (`ports`, `lcores`) have
 * their own validators. Unknown settings are refused too, so a typo never
 * silently falls back to a default. Errors name the file, the line and the
 * setting, e.g. "vigil.conf:12: flow.tcp_idle_s = 0 is out of range
 * 1..86400".
 *
 * This library does not depend on DPDK: it is used before the EAL starts
 * (a bad file must be refused before a port is touched).
 *
 * Threading: filled once by the main thread before any lcore starts, then
 * read-only.
 */
#ifndef VIGIL_CONF_H
#define VIGIL_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VIGIL_MAX_PORTS 16
#define VIGIL_MAX_STAGE_LCORES 32
#define VIGIL_MAX_LCORE_ID 127
#define VIGIL_MAX_QUEUES 16
#define VIGIL_DEVICE_MAX 512

struct vigil_port_conf {
	char device[VIGIL_DEVICE_MAX]; /* PCI address or "net_xxx0,args" */
	uint32_t queues;	       /* RX queues polled on this port */
	uint32_t rx_desc;	       /* RX descriptors per queue */
};

struct vigil_conf {
	char source[512]; /* file the settings came from, "" = defaults */

	char sensor_id[64];

	uint32_t nports;
	struct vigil_port_conf ports[VIGIL_MAX_PORTS];

	/* Lcore layout: the same lcore may appear in both lists (one-lcore
	 * layout); the control thread (publisher) is never one of them. */
	uint32_t nrx;
	uint32_t rx_lcores[VIGIL_MAX_STAGE_LCORES];
	uint32_t nworkers;
	uint32_t worker_lcores[VIGIL_MAX_STAGE_LCORES];

	uint32_t mbufs;
	uint32_t mbuf_cache;
	uint32_t burst;
	uint32_t worker_ring_size;
	char decode_on[8]; /* "auto", "rx" or "worker" */
	uint32_t event_ring_size;

	uint32_t max_flows; /* per worker */
	uint32_t expiry_step;
	uint32_t scan_period_ms;
	uint32_t tcp_idle_s;
	uint32_t tcp_attempt_s;
	uint32_t tcp_closed_s;
	uint32_t active_timeout_s;
	uint32_t max_tunnels;
	uint32_t l7_enabled;	   /* 0 or 1 */
	uint32_t l7_contexts;	   /* inspection contexts per worker */
	uint32_t l7_inspect_bytes; /* payload inspected a direction */
	uint32_t l7_buffer_bytes;  /* reassembly buffer a direction */
	uint32_t l7_ring_size;	   /* L7 records ring per worker */
	uint32_t l7_pending_max;   /* L7 records awaiting their flow record */
	uint32_t l7_dns_cache;	   /* DNS answers kept per worker, 0 = none */
	uint32_t l7_dns_ttl_min_s; /* shortest time an answer is kept */
	uint32_t udp_idle_s;
	uint32_t icmp_idle_s;
	uint32_t other_idle_s;

	char redis_host[256];
	uint32_t redis_port;
	char redis_prefix[64];
	uint32_t redis_flows_maxlen;
	uint32_t redis_retry_ms;
	uint32_t redis_connect_timeout_ms;
	uint32_t redis_command_timeout_ms;
	uint32_t redis_pipeline;

#define VIGIL_CONF_MAX_VXLAN_PORTS 8
	uint32_t n_vxlan_ports;
	uint32_t vxlan_ports[VIGIL_CONF_MAX_VXLAN_PORTS];
	uint32_t geneve_port; /* 0 = no Geneve */
	uint32_t decap;	      /* 0 or 1 */

	uint32_t stats_interval_ms;
	uint32_t drain_timeout_ms;

	/* Identities from CI/CD metadata (P:meta:*, lib/meta). */
	uint32_t meta_enabled;	   /* 0 or 1: read and follow P:meta:* */
	uint32_t meta_max_ips;	   /* addresses with an identity kept */
	uint32_t meta_max_history; /* identities kept per address */

	/* Entities, services, edges and the map (lib/entity). */
	uint32_t entity_enabled;      /* 0 or 1 */
	uint32_t entity_max_entities; /* held per publish batch */
	uint32_t entity_max_services;
	uint32_t entity_max_edges; /* and group edges; map cells of each level */
	uint32_t entity_bucket_s;  /* map bucket, seconds of packet time */
	uint32_t entity_retention_s; /* map and indexes kept, packet time */
	uint32_t entity_publish_s;   /* batch written this often */
};

/* Fill with the documented defaults (one-lcore layout on lcore 0, no port,
 * Redis on 127.0.0.1:6379, sensor id = host name). */
void vigil_conf_defaults(struct vigil_conf *c);

/*
 * Read and validate a libconfig file over the current contents of `c`.
 * Returns 0, or -1 with a one-line message in err ("FILE:LINE: ...").
 * On error `c` may be partly updated.
 */
int vigil_conf_load(struct vigil_conf *c, const char *path, char *err,
		    size_t errlen);

/* Same from a string (tests); `name` stands for the file in messages. */
int vigil_conf_load_string(struct vigil_conf *c, const char *text,
			   const char *name, char *err, size_t errlen);

/*
 * Cross-setting checks that do not depend on the machine (ring sizes are
 * powers of two, enough mbufs for the rings, ...). Returns 0 or -1 + err.
 */
int vigil_conf_check(const struct vigil_conf *c, char *err, size_t errlen);

/* Parse "HOST:PORT" or "[V6]:PORT" into the Redis settings. 0 or -1 + err. */
int vigil_conf_set_redis(struct vigil_conf *c, const char *hostport,
			 char *err, size_t errlen);

/* Idle timeout in microseconds for an IP protocol number. */
uint64_t vigil_conf_idle_us(const struct vigil_conf *c, uint8_t ipproto);

/* Print every setting with its value and help text (vigil --print-config). */
void vigil_conf_print(const struct vigil_conf *c, FILE *out);

#endif /* VIGIL_CONF_H */
