/*
 * vigil: the appliance's entry point.
 *
 *   vigil -c FILE [--redis HOST:PORT] [-- EAL args]      run as configured
 *   vigil -r CAPTURE [-c FILE] [--redis HOST:PORT] [-- EAL args]
 *                                                         replay, drain, exit
 *
 * Order matters: everything that can be checked without touching the
 * machine (options, the config file, the capture) is checked before the EAL
 * starts, so a bad file is refused before a port is touched. Each failure
 * prints one line naming the bad input and exits non-zero; only main()
 * exits.
 *
 * EAL arguments: whatever follows "--" is passed on unchanged; vigil only
 * adds what the configuration implies and the operator did not say: the
 * lcore list (-l) from the layout, a --vdev per virtual port, --no-pci and
 * --in-memory for a replay, -m when --no-huge is given without a size, and a
 * quieter log level.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "vigil.h"

volatile sig_atomic_t vigil_signal;

static void
on_signal(int sig)
{
	vigil_signal = sig;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: vigil -c FILE [options] [-- EAL arguments]\n"
		"       vigil -r CAPTURE [-c FILE] [options] [-- EAL arguments]\n"
		"\n"
		"  -c, --config FILE      libconfig file (see config/vigil.conf)\n"
		"  -r, --read CAPTURE     replay a pcap/pcapng file through "
		"net_pcap,\n"
		"                         then drain, flush and exit\n"
		"      --redis HOST:PORT  Redis to write to (overrides "
		"redis.host/port)\n"
		"      --duration SECONDS stop after this long (benchmarks)\n"
		"      --progress         print rates every stats.interval_ms\n"
		"      --print-config     print the effective configuration and "
		"exit\n"
		"      --list-counters    print every counter and exit\n"
		"  -h, --help             this text\n"
		"  -V, --version          version\n"
		"\n"
		"SIGINT/SIGTERM: stop reading, drain, flush to Redis, print a "
		"summary, exit 0.\n");
}

enum { OPT_REDIS = 256, OPT_DURATION, OPT_PROGRESS, OPT_PRINT_CONFIG,
       OPT_LIST_COUNTERS };

/* Returns 0 to go on, 1 to exit 0 (help...), -1 to exit 2. */
static int
parse_args(int argc, char **argv, struct vigil_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "read", required_argument, NULL, 'r' },
		{ "redis", required_argument, NULL, OPT_REDIS },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
		{ "list-counters", no_argument, NULL, OPT_LIST_COUNTERS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ours = argc, c;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			ours = i;
			break;
		}
	o->eal_argc = ours < argc ? argc - ours - 1 : 0;
	o->eal_argv = argv + ours + 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(ours, argv, ":c:r:hV", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'r':
			o->capture = optarg;
			break;
		case OPT_REDIS:
			o->redis = optarg;
			break;
		case OPT_DURATION:
			errno = 0;
			o->duration_s = strtod(optarg, &end);
			if (errno || *end || o->duration_s <= 0 ||
			    o->duration_s > 1e7) {
				fprintf(stderr,
					"vigil: --duration %s: expected a "
					"positive number of seconds\n",
					optarg);
				return -1;
			}
			break;
		case OPT_PROGRESS:
			o->progress = true;
			break;
		case OPT_PRINT_CONFIG:
			o->print_config = true;
			break;
		case OPT_LIST_COUNTERS:
			vigil_counters_list(stdout);
			return 1;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("vigil %s\n", VIGIL_VERSION);
			return 1;
		case ':':
			fprintf(stderr, "vigil: option %s needs a value\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr,
				"vigil: unknown option %s (EAL arguments go "
				"after --; see vigil --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < ours) {
		fprintf(stderr,
			"vigil: unexpected argument '%s' (EAL arguments go "
			"after --)\n",
			argv[optind]);
		return -1;
	}
	if (o->config == NULL && o->capture == NULL) {
		fprintf(stderr, "vigil: nothing to do: give -c FILE or -r "
				"CAPTURE (see vigil --help)\n");
		return -1;
	}
	return 0;
}

/* ---- EAL argument vector -------------------------------------------- */

struct argvec {
	int argc;
	char *argv[256];
	char *owned[256]; /* what av_add allocated: rte_eal_init reorders argv */
};

static void
av_free(struct argvec *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->owned[i]);
	a->argc = 0;
}

static int
av_add(struct argvec *a, const char *s)
{
	if (a->argc >= (int)RTE_DIM(a->argv) - 1)
		return -1;
	a->argv[a->argc] = strdup(s);
	if (a->argv[a->argc] == NULL)
		return -1;
	a->owned[a->argc] = a->argv[a->argc];
	a->argc++;
	a->argv[a->argc] = NULL;
	return 0;
}

static bool
user_has(const struct vigil_opts *o, const char *const *names)
{
	for (int i = 0; i < o->eal_argc; i++)
		for (const char *const *n = names; *n; n++) {
			size_t len = strlen(*n);

			if (strncmp(o->eal_argv[i], *n, len) == 0 &&
			    (o->eal_argv[i][len] == '\0' ||
			     o->eal_argv[i][len] == '=' ||
			     (*n)[1] != '-'))
				return true;
		}
	return false;
}

static bool
is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0 ||
	       strncmp(device, "eth_", 4) == 0;
}

/* Rough memory need in MiB, for -m when --no-huge is given alone. */
static unsigned
memory_estimate_mb(const struct vigil_conf *c)
{
	uint64_t b = 192ull << 20; /* EAL, heap overheads and slack */

	b += (uint64_t)c->mbufs * 2560;
	/* The flow table: under 128 bytes a flow (vigil_ftable.h). */
	b += (uint64_t)c->nworkers * c->max_flows * 128;
	b += (uint64_t)c->nworkers * c->event_ring_size *
	     sizeof(struct vigil_flow_rec);
	/* Rings to the workers and back. */
	b += (uint64_t)c->nrx * c->nworkers * c->worker_ring_size * 16;
	/* Inspection: contexts, the L7 ring and its staging. */
	if (c->l7_enabled)
		b += (uint64_t)c->nworkers *
		     (vigil_inspector_bytes(c, vigil_worker_l7_spare(c)) +
		      /* DNS cache (rounded up to a power of two) and feed */
		      2ull * c->l7_dns_cache * sizeof(struct vigil_dnsc_entry) +
		      (uint64_t)c->l7_ring_size * sizeof(struct vigil_dns_note));
	return (unsigned)(b >> 20) + 1;
}

static int
build_eal_args(const struct vigil_app *app, const char *prog,
	       struct argvec *a)
{
	static const char *const lcore_opts[] = { "-l", "-c", "--lcores", NULL };
	static const char *const pci_opts[] = { "-a", "-b", "--allow",
						"--block", "--no-pci", NULL };
	static const char *const mem_opts[] = { "-m", "--socket-mem", NULL };
	static const char *const nohuge[] = { "--no-huge", NULL };
	static const char *const prefix_opts[] = { "--file-prefix",
						   "--in-memory", "--no-shconf",
						   NULL };
	static const char *const log_opts[] = { "--log-level", NULL };
	const struct vigil_conf *c = &app->conf;
	const struct vigil_opts *o = &app->opts;
	char buf[VIGIL_DEVICE_MAX + 16];
	int rc = 0;

	rc |= av_add(a, prog);
	for (int i = 0; i < o->eal_argc; i++)
		rc |= av_add(a, o->eal_argv[i]);
	if (!user_has(o, lcore_opts)) {
		bool used[VIGIL_MAX_LCORE_ID + 1] = { false };
		size_t len = 0;

		for (uint32_t i = 0; i < c->nrx; i++)
			used[c->rx_lcores[i]] = true;
		for (uint32_t i = 0; i < c->nworkers; i++)
			used[c->worker_lcores[i]] = true;
		buf[0] = '\0';
		for (unsigned i = 0; i <= VIGIL_MAX_LCORE_ID; i++)
			if (used[i])
				len += (size_t)snprintf(buf + len,
							sizeof(buf) - len,
							"%s%u", len ? "," : "",
							i);
		rc |= av_add(a, "-l");
		rc |= av_add(a, buf);
	}
	for (uint32_t i = 0; i < c->nports; i++) {
		if (is_vdev(c->ports[i].device)) {
			snprintf(buf, sizeof(buf), "--vdev=%s",
				 c->ports[i].device);
			rc |= av_add(a, buf);
		} else if (!user_has(o, pci_opts)) {
			rc |= av_add(a, "-a");
			rc |= av_add(a, c->ports[i].device);
		}
	}
	bool any_pci = false;

	for (uint32_t i = 0; i < c->nports; i++)
		any_pci |= !is_vdev(c->ports[i].device);
	if (!any_pci && !user_has(o, pci_opts))
		rc |= av_add(a, "--no-pci"); /* nothing to probe */
	/* A replay leaves no runtime files behind and does not collide with
	 * a live instance. --in-memory needs hugepages (--no-huge implies
	 * legacy memory); --no-shconf is its equivalent without them. */
	if (app->replay && !user_has(o, prefix_opts))
		rc |= av_add(a, user_has(o, nohuge) ? "--no-shconf"
						    : "--in-memory");
	if (user_has(o, nohuge) && !user_has(o, mem_opts)) {
		snprintf(buf, sizeof(buf), "%u", memory_estimate_mb(c));
		rc |= av_add(a, "-m");
		rc |= av_add(a, buf);
	}
	if (!user_has(o, log_opts))
		rc |= av_add(a, "--log-level=4"); /* warnings and errors */
	return rc;
}

/* The most telling line of a captured EAL log: the last one that is not
 * the generic "invalid arguments" conclusion. */
static void
telling_line(const char *text, char *out, size_t len)
{
	const char *p = text, *best = NULL;
	size_t best_len = 0;

	while (*p) {
		size_t n = strcspn(p, "\n");

		if (n > 0 &&
		    memmem(p, n, "Invalid 'command line'", 22) == NULL &&
		    memmem(p, n, "FATAL", 5) == NULL &&
		    memmem(p, n, "Detected", 8) == NULL) {
			best = p;
			best_len = n;
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (best == NULL)
		snprintf(out, len, "%s", "");
	else
		snprintf(out, len, "%.*s", (int)best_len, best);
}

/* Start the EAL with its log captured, so that a failure is reported as
 * one line instead of a page of usage text. */
static int
start_eal(struct argvec *a)
{
	char *logbuf = NULL, line[512];
	size_t loglen = 0;
	FILE *log = open_memstream(&logbuf, &loglen);
	int saved_stdout = dup(STDOUT_FILENO), devnull, rc;

	fflush(stdout);
	devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0) {
		dup2(devnull, STDOUT_FILENO); /* EAL prints usage there */
		close(devnull);
	}
	if (log != NULL)
		rte_openlog_stream(log);
	rc = rte_eal_init(a->argc, a->argv);
	if (log != NULL)
		fflush(log);
	fflush(stdout);
	if (saved_stdout >= 0) {
		dup2(saved_stdout, STDOUT_FILENO);
		close(saved_stdout);
	}
	rte_openlog_stream(stderr);
	if (rc < 0) {
		int e = rte_errno;

		telling_line(logbuf ? logbuf : "", line, sizeof(line));
		fprintf(stderr, "vigil: cannot start the DPDK EAL (%s)%s%s\n",
			rte_strerror(e), line[0] ? ": " : "", line);
		fprintf(stderr, "vigil: EAL arguments were:");
		for (int i = 1; i < a->argc; i++)
			fprintf(stderr, " %s", a->argv[i]);
		fprintf(stderr, "\n");
	} else if (logbuf != NULL && loglen > 0) {
		fputs(logbuf, stderr); /* warnings worth seeing */
	}
	if (log != NULL)
		fclose(log);
	free(logbuf);
	return rc;
}

static int
check_layout(const struct vigil_conf *c)
{
	for (uint32_t i = 0; i < c->nrx + c->nworkers; i++) {
		bool rx = i < c->nrx;
		uint32_t id = rx ? c->rx_lcores[i] : c->worker_lcores[i - c->nrx];

		if (id >= RTE_MAX_LCORE || !rte_lcore_is_enabled(id)) {
			fprintf(stderr,
				"vigil: the layout needs lcore %u (%s) but the "
				"EAL runs only %u lcore(s): give the EAL the "
				"lcores of lcores.rx and lcores.workers "
				"(-l after --) or change the layout in %s\n",
				id, rx ? "lcores.rx" : "lcores.workers",
				rte_lcore_count(),
				c->source[0] ? c->source : "the config");
			return -1;
		}
	}
	return 0;
}

static int
setup_replay(struct vigil_app *app)
{
	struct vigil_conf *c = &app->conf;
	char err[512];

	if (vigil_capture_inspect(app->opts.capture, &app->cap, err,
				  sizeof(err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return -1;
	}
	if (strpbrk(app->opts.capture, ",;=") != NULL) {
		fprintf(stderr,
			"vigil: %s: net_pcap cannot open a path containing ',', "
			"';' or '=': rename or link the file\n",
			app->opts.capture);
		return -1;
	}
	c->nports = 1;
	snprintf(c->ports[0].device, sizeof(c->ports[0].device),
		 "net_pcap0,rx_pcap=%s", app->opts.capture);
	if (strlen(app->opts.capture) + 32 >= sizeof(c->ports[0].device)) {
		fprintf(stderr, "vigil: %s: path too long\n",
			app->opts.capture);
		return -1;
	}
	c->ports[0].queues = 1;
	c->ports[0].rx_desc = 1024;
	/* One capture, one queue: one RX lcore reads it. */
	c->nrx = 1;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct vigil_app app;
	struct argvec eal = { 0 };
	char err[1024];
	int rc;

	rc = parse_args(argc, argv, &app.opts);
	if (rc != 0)
		return rc > 0 ? 0 : 2;

	vigil_conf_defaults(&app.conf);
	if (app.opts.config != NULL &&
	    vigil_conf_load(&app.conf, app.opts.config, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return 1;
	}
	if (app.opts.redis != NULL &&
	    vigil_conf_set_redis(&app.conf, app.opts.redis, err,
				 sizeof(err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return 2;
	}
	app.replay = app.opts.capture != NULL;
	if (app.replay && setup_replay(&app) != 0)
		return 1;
	if (vigil_conf_check(&app.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return 1;
	}
	if (app.opts.print_config) {
		vigil_conf_print(&app.conf, stdout);
		return 0;
	}
	if (app.conf.nports == 0) {
		fprintf(stderr,
			"vigil: no port to read: add ports = ( { device = ... } ) "
			"to %s, or replay a capture with -r\n",
			app.conf.source[0] ? app.conf.source : "the config");
		return 1;
	}

	if (build_eal_args(&app, argv[0], &eal) != 0) {
		fprintf(stderr, "vigil: too many EAL arguments\n");
		av_free(&eal);
		return 2;
	}
	if (start_eal(&eal) < 0) {
		av_free(&eal);
		return 1;
	}

	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a dropped Redis socket is an error code */

	rc = 1;
	if (check_layout(&app.conf) != 0)
		goto out;
	if (vigil_ports_setup(&app, err, sizeof(err)) != 0 ||
	    vigil_pipeline_setup(&app, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		goto out;
	}
	if (vigil_pipeline_run(&app, err, sizeof(err)) != 0) {
		fprintf(stderr, "vigil: %s\n", err);
		goto out;
	}
	vigil_print_summary(&app, stdout);
	/* A replay that lost the rest of its capture is not a success. */
	rc = app.replay_stalled ? 1 : 0;
out:
	vigil_pipeline_free(&app);
	vigil_ports_close(&app);
	rte_eal_cleanup();
	av_free(&eal);
	return rc;
}
