/*
 * vigil appliance: state shared by the files of app/vigil (command line,
 * ports, lcore launch, control thread). Not a library: one instance, owned by
 * main().
 *
 * Threading: filled by the main thread before any lcore or the control
 * thread starts; afterwards the data path only reads it, except the
 * `stop`/`abort` words, written by the control thread and read by the
 * lcores, and the per-lcore counters, each written by its own lcore.
 */
#ifndef VIGIL_APP_H
#define VIGIL_APP_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_lcore.h>
#include <rte_mempool.h>

#include "vigil_conf.h"
#include "vigil_dispatch.h"
#include "vigil_flow.h"
#include "vigil_publish.h"
#include "vigil_stats.h"

struct vigil_opts {
	const char *config;  /* -c */
	const char *capture; /* -r */
	const char *redis;   /* --redis */
	double duration_s;   /* --duration, 0 = until stopped */
	bool progress;	     /* --progress */
	bool print_config;   /* --print-config */
	int eal_argc;	     /* arguments after "--" */
	char **eal_argv;
};

struct vigil_capture {
	uint64_t packets; /* counted with libpcap before the replay */
	bool truncated;	  /* the file ends inside a packet */
};

/* What runs on one lcore: its RX stages and workers, in loop order. */
struct vigil_lcore {
	unsigned nrx;
	struct vigil_rx_stage *rx[VIGIL_MAX_STAGE_LCORES];
	unsigned nw;
	struct vigil_worker *w[VIGIL_MAX_STAGE_LCORES];
};

struct vigil_app {
	struct vigil_conf conf;
	struct vigil_opts opts;
	struct vigil_capture cap;
	bool replay;
	bool replay_stalled; /* the port stopped delivering before the end */

	uint16_t nports;
	uint16_t port_ids[VIGIL_MAX_PORTS];
	struct rte_mempool *pool;

	unsigned nrx, nworkers;
	struct vigil_rx_stage *rx;  /* [nrx] */
	struct vigil_worker *w;	    /* [nworkers] */
	struct rte_ring **rx_rings; /* [nrx * nworkers] */
	struct vigil_lcore lcores[RTE_MAX_LCORE];
	struct vigil_counters *ctr; /* [RTE_MAX_LCORE + 1]; last = control */
	struct vigil_clock clock;

	volatile int stop;  /* control -> RX: stop reading */
	volatile int abort; /* control -> all: drain time is up, drop */
	uint64_t start_us, stop_us;
	pthread_t ctl_thread;
	struct vigil_pub *pub;
	struct vigil_metasync *meta; /* NULL without meta.enabled */
};

#define VIGIL_CTL_CTR(app) (&(app)->ctr[RTE_MAX_LCORE])

/* Set by the signal handler; read by the control thread. */
extern volatile sig_atomic_t vigil_signal;

/* ports.c */
int vigil_capture_inspect(const char *path, struct vigil_capture *cap,
			  char *err, size_t errlen);
int vigil_ports_setup(struct vigil_app *app, char *err, size_t errlen);
void vigil_ports_close(struct vigil_app *app);
/* Replay: have the ports delivered every packet of the capture? */
bool vigil_ports_input_exhausted(struct vigil_app *app);

/* pipeline.c */
int vigil_pipeline_setup(struct vigil_app *app, char *err, size_t errlen);
int vigil_pipeline_run(struct vigil_app *app, char *err, size_t errlen);
void vigil_pipeline_free(struct vigil_app *app);

/* control.c */
void *vigil_control_main(void *arg);
void vigil_control_snapshot(struct vigil_app *app,
			    uint64_t snap[VIGIL_CTR_MAX]);
void vigil_print_summary(struct vigil_app *app, FILE *out);

#endif /* VIGIL_APP_H */
