/*
 * vigil ports: the capture check before a replay, the packet pool, port
 * configuration and start, and the replay's end-of-input test.
 *
 * The capture check refuses, before the EAL starts, a capture of a link
 * type the decoder does not read (vigil_linktype_supported).
 *
 * A replay knows how many packets its capture holds (counted here with
 * libpcap before the EAL starts), so the end of the input is exact: the
 * port has delivered, or failed to deliver (no mbuf, read error), that many
 * packets. A stall guard covers PMDs that stop early without saying so.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "vigil.h"

int
vigil_capture_inspect(const char *path, struct vigil_capture *cap, char *err,
		      size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *data;
	FILE *f;
	pcap_t *p;
	int rc, dlt;

	/* fopen first: its errno is clearer than libpcap's wording. */
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "cannot read capture %s: %s", path,
			 strerror(errno));
		return -1;
	}
	fclose(f);
	p = pcap_open_offline(path, ebuf);
	if (p == NULL) {
		snprintf(err, errlen,
			 "cannot read capture %s: %s (expected a pcap or "
			 "pcapng file)",
			 path, ebuf);
		return -1;
	}
	/* net_pcap hands the frames over as they are in the file, without
	 * their link type: the RX stage reads it from the file again
	 * (vigil_device_linktype) and decodes accordingly. */
	dlt = pcap_datalink(p);
	if (!vigil_linktype_supported(dlt)) {
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, errlen,
			 "capture %s has link type %s (%d): vigil decodes "
			 "Ethernet, Linux cooked (SLL, SLL2), raw IP and BSD "
			 "loopback (NULL, LOOP) captures",
			 path, name ? name : "unknown", dlt);
		pcap_close(p);
		return -1;
	}
	cap->packets = 0;
	while ((rc = pcap_next_ex(p, &h, &data)) == 1)
		cap->packets++;
	cap->truncated = rc == PCAP_ERROR;
	if (cap->truncated)
		fprintf(stderr,
			"vigil: capture %s is cut short after %" PRIu64
			" packets (%s); replaying those\n",
			path, cap->packets, pcap_geterr(p));
	pcap_close(p);
	return 0;
}

static int
port_by_device(const char *device, uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t len = strcspn(device, ",");

	if (len >= sizeof(name))
		return -1;
	memcpy(name, device, len);
	name[len] = '\0';
	return rte_eth_dev_get_port_by_name(name, port_id);
}

static int
setup_port(struct vigil_app *app, uint16_t port,
	   const struct vigil_port_conf *pc, char *err, size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	int rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: cannot read device info: %s",
			 pc->device, rte_strerror(-rc));
		return -1;
	}
	if (pc->queues > info.max_rx_queues) {
		snprintf(err, errlen,
			 "port %s: %u RX queues configured (ports[].queues), "
			 "the device has %u",
			 pc->device, pc->queues, info.max_rx_queues);
		return -1;
	}
	if (pc->queues > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	}
	rc = rte_eth_dev_configure(port, (uint16_t)pc->queues, 0, &conf);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: configure failed: %s",
			 pc->device, rte_strerror(-rc));
		return -1;
	}
	for (uint16_t q = 0; q < pc->queues; q++) {
		uint16_t desc = (uint16_t)pc->rx_desc;

		rte_eth_dev_adjust_nb_rx_tx_desc(port, &desc, NULL);
		rc = rte_eth_rx_queue_setup(port, q, desc,
					    rte_eth_dev_socket_id(port), NULL,
					    app->pool);
		if (rc != 0) {
			snprintf(err, errlen,
				 "port %s: RX queue %u setup failed: %s",
				 pc->device, q, rte_strerror(-rc));
			return -1;
		}
	}
	rc = rte_eth_dev_start(port);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: start failed: %s", pc->device,
			 rte_strerror(-rc));
		return -1;
	}
	/* A tap or SPAN port must see traffic not addressed to it. Virtual
	 * devices may not support it; that is not an error. */
	rte_eth_promiscuous_enable(port);
	return 0;
}

int
vigil_ports_setup(struct vigil_app *app, char *err, size_t errlen)
{
	const struct vigil_conf *c = &app->conf;
	unsigned priv = RTE_ALIGN(sizeof(struct vigil_pkt_meta),
				  RTE_MBUF_PRIV_ALIGN);

	for (uint32_t i = 0; i < c->nports; i++) {
		if (port_by_device(c->ports[i].device, &app->port_ids[i]) != 0) {
			snprintf(err, errlen,
				 "no usable port: device '%s' (ports[%u]) was "
				 "not found by the EAL: check the PCI address "
				 "or the vdev arguments",
				 c->ports[i].device, i);
			return -1;
		}
	}
	app->nports = (uint16_t)c->nports;

	app->pool = rte_pktmbuf_pool_create("vigil_mbufs", c->mbufs,
					    c->mbuf_cache, (uint16_t)priv,
					    RTE_MBUF_DEFAULT_BUF_SIZE,
					    (int)rte_socket_id());
	if (app->pool == NULL) {
		snprintf(err, errlen,
			 "cannot create a pool of %u mbufs (mempool.mbufs): "
			 "%s; reserve hugepages (scripts/hugepages) or give "
			 "the EAL more memory (-m)",
			 c->mbufs, rte_strerror(rte_errno));
		return -1;
	}
	for (uint16_t i = 0; i < app->nports; i++)
		if (setup_port(app, app->port_ids[i], &c->ports[i], err,
			       errlen) != 0)
			return -1;
	return 0;
}

void
vigil_ports_close(struct vigil_app *app)
{
	for (uint16_t i = 0; i < app->nports; i++) {
		rte_eth_dev_stop(app->port_ids[i]);
		rte_eth_dev_close(app->port_ids[i]);
	}
	app->nports = 0;
	rte_mempool_free(app->pool);
	app->pool = NULL;
}

bool
vigil_ports_input_exhausted(struct vigil_app *app)
{
	static uint64_t last_seen, last_change_us;
	struct rte_eth_stats st;
	uint64_t consumed, now;

	if (rte_eth_stats_get(app->port_ids[0], &st) != 0)
		return false;
	/* Every packet read from the file is either delivered (ipackets),
	 * lost for want of an mbuf (rx_nombuf) or refused (ierrors). */
	consumed = st.ipackets + st.rx_nombuf + st.ierrors;
	if (consumed >= app->cap.packets)
		return true;
	now = vigil_clock_now_us(&app->clock);
	if (consumed != last_seen || last_change_us == 0) {
		last_seen = consumed;
		last_change_us = now;
		return false;
	}
	if (now - last_change_us > 10u * 1000000u) {
		fprintf(stderr,
			"vigil: the capture stopped delivering after %" PRIu64
			" of %" PRIu64 " packets; ending the replay "
			"(exit status 1)\n",
			consumed, app->cap.packets);
		app->replay_stalled = true;
		return true;
	}
	return false;
}
