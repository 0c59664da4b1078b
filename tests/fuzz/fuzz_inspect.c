/*
 * libFuzzer target: the worker's payload inspection (lib/flow/
 * vigil_inspect.c) driven by arbitrary segment sequences: sequence numbers
 * that jump, wrap and overlap, retransmissions, empty and oversized
 * segments, both directions, flows ending mid-message. The parsers behind
 * it have their own targets; this one is about the gathering, the budgets
 * and the context pool.
 *
 * Input: byte 0 picks the protocol (bit 0: UDP, else TCP) and the port the
 * server listens on (bits 1..3: 53, 80, 443, 22, 3333, 8080, 4433, 9999).
 * Then segments, each: flags (bit 0: from the server; bit 1: the flow
 * ends after this segment; bit 2: sequence number absolute rather than
 * following on), 4 bytes of sequence number (absolute or a delta), 2
 * bytes of length (big-endian, cut to what is left), the payload.
 *
 * Checked: at most one context is in use at any time (one flow), and none
 * once the flow has ended; a finished record names the flow it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "vigil_conf.h"
#include "vigil_inspect.h"
#include "vigil_stats.h"

static struct vigil_inspector *in;
static struct vigil_conf conf;
static struct vigil_counters ctr;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The inspector lives in DPDK memory, which LeakSanitizer does not scan
 * for pointers: free it (and the libcrypto contexts it holds) at exit. */
static void
cleanup(void)
{
	vigil_inspector_free(in);
	in = NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = { "fuzz", "--no-huge", "-m", "128", "--no-pci",
			"--no-shconf", "-l", "0", "--log-level=1" };
	char err[256];

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		abort();
	vigil_conf_defaults(&conf);
	/* Small, so that the budgets and the buffer run out often. */
	conf.l7_contexts = 16;
	conf.l7_inspect_bytes = 3000;
	conf.l7_buffer_bytes = 1024;
	in = vigil_inspector_create(&conf, 0, 0, SOCKET_ID_ANY, err,
				    sizeof(err));
	if (in == NULL)
		abort();
	atexit(cleanup);
	return 0;
}

/* A finished record: its key checked and its index given back, as the
 * reader does; the pool must be whole again. */
static void
check_rec(uint32_t idx, const struct vigil_flow_key *k)
{
	if (idx >= vigil_inspector_nrecs(in) ||
	    memcmp(&vigil_inspector_recs(in)[idx].key, k, sizeof(*k)) != 0 ||
	    vigil_inspector_give(in, &idx, 1) != 0)
		abort();
}

static void
end_flow(uint32_t entry, const struct vigil_flow_key *k)
{
	uint32_t idx;

	if (vigil_inspect_end(in, entry, &idx, &ctr))
		check_rec(idx, k);
	if (vigil_inspector_active(in) != 0 ||
	    vigil_inspector_free_recs(in) != vigil_inspector_nrecs(in))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[8] = { 53, 80, 443, 22, 3333, 8080, 4433,
					   9999 };
	static uint8_t frame[70000];
	struct vigil_flow_key k;
	struct vigil_pkt_meta m;
	struct rte_mbuf mb;
	uint32_t rec;
	uint32_t seq[2] = { 1000, 90000 }, entry = 5;
	bool started = false, done = false;
	size_t i = 1;

	if (size < 1)
		return 0;
	memset(&k, 0, sizeof(k));
	k.family = VIGIL_AF_INET;
	k.proto = (data[0] & 1) ? VIGIL_IPPROTO_UDP : VIGIL_IPPROTO_TCP;
	k.addr[0][0] = 10, k.addr[0][3] = 2;
	k.addr[1][0] = 10, k.addr[1][3] = 1;
	k.port[0] = ports[(data[0] >> 1) & 7];
	k.port[1] = 40000;
	while (i + 7 <= size) {
		uint8_t fl = data[i];
		unsigned role = fl & 1;
		uint32_t s = (uint32_t)data[i + 1] << 24 |
			     (uint32_t)data[i + 2] << 16 |
			     (uint32_t)data[i + 3] << 8 | data[i + 4];
		uint32_t len = (uint32_t)data[i + 5] << 8 | data[i + 6];

		i += 7;
		if (len > size - i)
			len = (uint32_t)(size - i);
		seq[role] = (fl & 4) ? s : seq[role] + s % 4096 - 2048;
		memset(&m, 0, sizeof(m));
		m.key = k;
		m.dir = role == 0 ? 1 : 0;
		m.payload_len = len;
		m.payload_off = len ? 54 : 0;
		m.tcp_seq = seq[role];
		memcpy(frame + 54, data + i, len);
		memset(&mb, 0, sizeof(mb));
		mb.buf_addr = frame;
		mb.data_off = 0;
		mb.data_len = (uint16_t)(54 + len);
		mb.pkt_len = 54 + len;
		mb.nb_segs = 1;
		i += len;
		if (!done) {
			struct vigil_insp_pkt p = {
				.entry = entry,
				.key = &k,
				.first_us = 1,
				.role = role,
				.m = &m,
				.mb = &mb,
			};
			enum vigil_insp_rc rc = vigil_inspect_packet(
				in, &p, started, &done, &rec, &ctr);

			if (rc == VIGIL_INSP_MORE)
				started = true;
			else if (done)
				started = false;
			if (rc == VIGIL_INSP_FINISHED)
				check_rec(rec, &k);
			if (vigil_inspector_active(in) > 1 ||
			    (!started && vigil_inspector_active(in) != 0))
				abort();
		}
		seq[role] += len;
		if (fl & 2) {
			/* The flow ends; the next segment starts a new one. */
			if (started)
				end_flow(entry, &k);
			started = false;
			done = false;
			entry++;
		}
	}
	if (started)
		end_flow(entry, &k);
	return 0;
}
