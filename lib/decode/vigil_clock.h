/*
 * vigil clock: epoch microseconds from the TSC, for packets that carry no
 * capture time (live ports) and for idle workers in live mode.
 *
 * Replay uses the capture's own timestamps instead (net_pcap writes them in
 * the mbuf's timestamp field, in microseconds), so that replaying a capture
 * twice gives the same records.
 *
 * Threading: initialised once before the lcores start, then read-only; the
 * conversion is a pure function.
 */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>
#include <time.h>

#include <rte_cycles.h>

struct vigil_clock {
	uint64_t tsc0;
	uint64_t epoch_us0;
	uint64_t hz;
};

static inline void
vigil_clock_init(struct vigil_clock *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	c->tsc0 = rte_get_tsc_cycles();
	c->hz = rte_get_tsc_hz();
	c->epoch_us0 = (uint64_t)ts.tv_sec * 1000000u +
		       (uint64_t)ts.tv_nsec / 1000u;
}

/* Split the division so that the product cannot overflow for years. */
static inline uint64_t
vigil_clock_tsc_to_us(const struct vigil_clock *c, uint64_t tsc)
{
	uint64_t d = tsc - c->tsc0;

	return c->epoch_us0 + (d / c->hz) * 1000000u +
	       ((d % c->hz) * 1000000u) / c->hz;
}

static inline uint64_t
vigil_clock_now_us(const struct vigil_clock *c)
{
	return vigil_clock_tsc_to_us(c, rte_get_tsc_cycles());
}

#endif /* VIGIL_CLOCK_H */
