/*
 * Unit tests of lib/conf: defaults, loading, error messages, cross checks,
 * the --redis parser and idle timeouts. No DPDK needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vigil_conf.h"

static struct vigil_conf conf;
static char err[512];

static int
reset(void **state)
{
	(void)state;
	vigil_conf_defaults(&conf);
	memset(err, 0, sizeof(err));
	return 0;
}

/* Load `text` as "t.conf" and expect failure with exactly `want`. */
static void
expect_load_error(const char *text, const char *want)
{
	assert_int_equal(vigil_conf_load_string(&conf, text, "t.conf", err,
						sizeof(err)),
			 -1);
	assert_string_equal(err, want);
}

/* ---- defaults ---------------------------------------------------------- */

static void
test_defaults(void **state)
{
	char host[256] = "";

	(void)state;
	assert_string_equal(conf.source, "");
	assert_int_equal(conf.nports, 0);
	/* One-lcore layout on lcore 0. */
	assert_int_equal(conf.nrx, 1);
	assert_int_equal(conf.rx_lcores[0], 0);
	assert_int_equal(conf.nworkers, 1);
	assert_int_equal(conf.worker_lcores[0], 0);

	assert_int_equal(conf.mbufs, 65535);
	assert_int_equal(conf.mbuf_cache, 256);
	assert_int_equal(conf.burst, 32);
	assert_int_equal(conf.worker_ring_size, 4096);
	assert_int_equal(conf.event_ring_size, 16384);
	assert_int_equal(conf.max_flows, 262144);
	assert_int_equal(conf.expiry_step, 64);
	assert_int_equal(conf.scan_period_ms, 5000);
	assert_int_equal(conf.tcp_idle_s, 300);
	assert_int_equal(conf.udp_idle_s, 60);
	assert_int_equal(conf.icmp_idle_s, 60);
	assert_int_equal(conf.other_idle_s, 60);

	assert_string_equal(conf.redis_host, "127.0.0.1");
	assert_int_equal(conf.redis_port, 6379);
	assert_string_equal(conf.redis_prefix, "vigil");
	assert_int_equal(conf.redis_flows_maxlen, 1000000);
	assert_int_equal(conf.redis_retry_ms, 1000);
	assert_int_equal(conf.redis_connect_timeout_ms, 500);
	assert_int_equal(conf.redis_command_timeout_ms, 2000);
	assert_int_equal(conf.redis_pipeline, 512);
	assert_int_equal(conf.stats_interval_ms, 1000);
	assert_int_equal(conf.drain_timeout_ms, 10000);

	/* Sensor id: the host name, with characters outside [A-Za-z0-9-._]
	 * replaced by '_'. */
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	host[sizeof(conf.sensor_id) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		      *p == '_'))
			*p = '_';
	assert_string_equal(conf.sensor_id, host[0] ? host : "vigil");

	/* The defaults pass the cross checks. */
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
}

/* ---- a full valid file -------------------------------------------------- */

static const char full_conf[] =
	"# every setting\n"
	"sensor = { id = \"sensor-01.dc1:a_b\"; };\n"
	"mempool = { mbufs = 131071; cache = 128; };\n"
	"dispatch = { burst = 64; worker_ring_size = 8192; };\n"
	"flow = {\n"
	"  event_ring_size = 32768;\n"
	"  max_flows = 100000;\n"
	"  expiry_step = 128;\n"
	"  scan_period_ms = 250;\n"
	"  tcp_idle_s = 3600;\n"
	"  udp_idle_s = 120;\n"
	"  icmp_idle_s = 30;\n"
	"  other_idle_s = 90;\n"
	"};\n"
	"redis = {\n"
	"  host = \"redis.local\";\n"
	"  port = 6380;\n"
	"  prefix = \"ndr\";\n"
	"  flows_maxlen = 50000;\n"
	"  retry_ms = 2000;\n"
	"  connect_timeout_ms = 300;\n"
	"  command_timeout_ms = 4000;\n"
	"  pipeline = 256;\n"
	"};\n"
	"stats = { interval_ms = 5000; };\n"
	"shutdown = { drain_timeout_ms = 20000; };\n"
	"lcores = { rx = [ 1, 2 ]; workers = [ 3, 4, 5 ]; };\n"
	"ports = (\n"
	"  { device = \"0000:3b:00.0\"; queues = 2; rx_desc = 2048; },\n"
	"  { device = \"net_pcap0,rx_pcap=/tmp/a.pcap\"; }\n"
	");\n";

static void
test_load_full_config(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf, full_conf, "full.conf",
						err, sizeof(err)),
			 0);
	assert_string_equal(conf.source, "full.conf");
	assert_string_equal(conf.sensor_id, "sensor-01.dc1:a_b");
	assert_int_equal(conf.mbufs, 131071);
	assert_int_equal(conf.mbuf_cache, 128);
	assert_int_equal(conf.burst, 64);
	assert_int_equal(conf.worker_ring_size, 8192);
	assert_int_equal(conf.event_ring_size, 32768);
	assert_int_equal(conf.max_flows, 100000);
	assert_int_equal(conf.expiry_step, 128);
	assert_int_equal(conf.scan_period_ms, 250);
	assert_int_equal(conf.tcp_idle_s, 3600);
	assert_int_equal(conf.udp_idle_s, 120);
	assert_int_equal(conf.icmp_idle_s, 30);
	assert_int_equal(conf.other_idle_s, 90);
	assert_string_equal(conf.redis_host, "redis.local");
	assert_int_equal(conf.redis_port, 6380);
	assert_string_equal(conf.redis_prefix, "ndr");
	assert_int_equal(conf.redis_flows_maxlen, 50000);
	assert_int_equal(conf.redis_retry_ms, 2000);
	assert_int_equal(conf.redis_connect_timeout_ms, 300);
	assert_int_equal(conf.redis_command_timeout_ms, 4000);
	assert_int_equal(conf.redis_pipeline, 256);
	assert_int_equal(conf.stats_interval_ms, 5000);
	assert_int_equal(conf.drain_timeout_ms, 20000);

	assert_int_equal(conf.nrx, 2);
	assert_int_equal(conf.rx_lcores[0], 1);
	assert_int_equal(conf.rx_lcores[1], 2);
	assert_int_equal(conf.nworkers, 3);
	assert_int_equal(conf.worker_lcores[0], 3);
	assert_int_equal(conf.worker_lcores[1], 4);
	assert_int_equal(conf.worker_lcores[2], 5);

	assert_int_equal(conf.nports, 2);
	assert_string_equal(conf.ports[0].device, "0000:3b:00.0");
	assert_int_equal(conf.ports[0].queues, 2);
	assert_int_equal(conf.ports[0].rx_desc, 2048);
	/* Port defaults: one queue, 1024 descriptors. */
	assert_string_equal(conf.ports[1].device,
			    "net_pcap0,rx_pcap=/tmp/a.pcap");
	assert_int_equal(conf.ports[1].queues, 1);
	assert_int_equal(conf.ports[1].rx_desc, 1024);

	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
}

static void
test_partial_file_keeps_other_defaults(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf,
						"flow = { udp_idle_s = 5; };\n",
						"p.conf", err, sizeof(err)),
			 0);
	assert_int_equal(conf.udp_idle_s, 5);
	assert_int_equal(conf.tcp_idle_s, 300);
	assert_string_equal(conf.redis_host, "127.0.0.1");
	assert_int_equal(conf.nworkers, 1);
	/* Bounds are inclusive. */
	assert_int_equal(vigil_conf_load_string(&conf,
						"flow = { tcp_idle_s = 86400; "
						"udp_idle_s = 1; };\n",
						"p.conf", err, sizeof(err)),
			 0);
	assert_int_equal(conf.tcp_idle_s, 86400);
	assert_int_equal(conf.udp_idle_s, 1);
}

/* ---- errors: FILE:LINE: and the setting path ----------------------------- */

static void
test_err_out_of_range(void **state)
{
	(void)state;
	expect_load_error("# line 1\n"
			  "flow = {\n"
			  "  udp_idle_s = 30;\n"
			  "  tcp_idle_s = 0;\n"
			  "};\n",
			  "t.conf:4: flow.tcp_idle_s = 0 is out of range "
			  "1..86400");
	reset(NULL);
	expect_load_error("redis = { port = 65536; };\n",
			  "t.conf:1: redis.port = 65536 is out of range "
			  "1..65535");
	reset(NULL);
	expect_load_error("\n\nmempool = { mbufs = 1022; };\n",
			  "t.conf:3: mempool.mbufs = 1022 is out of range "
			  "1023..16777215");
	reset(NULL);
	expect_load_error("flow = { scan_period_ms = 9; };\n",
			  "t.conf:1: flow.scan_period_ms = 9 is out of range "
			  "10..600000");
	reset(NULL);
	/* A negative value is out of range, not wrapped to a huge uint. */
	expect_load_error("flow = { max_flows = -1; };\n",
			  "t.conf:1: flow.max_flows = -1 is out of range "
			  "1024..16777215");
}

static void
test_err_wrong_type(void **state)
{
	(void)state;
	expect_load_error("flow = {\n  udp_idle_s = \"60\";\n};\n",
			  "t.conf:2: flow.udp_idle_s must be an integer");
	reset(NULL);
	expect_load_error("flow = { tcp_idle_s = 1.5; };\n",
			  "t.conf:1: flow.tcp_idle_s must be an integer");
	reset(NULL);
	expect_load_error("\nredis = { host = 42; };\n",
			  "t.conf:2: redis.host must be a string");
	reset(NULL);
	expect_load_error("ports = ( { device = 1; } );\n",
			  "t.conf:1: ports[0].device must be a string");
}

static void
test_err_unknown_setting(void **state)
{
	(void)state;
	expect_load_error("flow = {\n"
			  "  tcp_idle_s = 10;\n"
			  "  tcp_idel_s = 10;\n"
			  "};\n",
			  "t.conf:3: unknown setting 'flow.tcp_idel_s'");
	reset(NULL);
	expect_load_error("lcores = {\n  rx = [ 1 ];\n  worker = [ 2 ];\n};\n",
			  "t.conf:3: unknown setting 'lcores.worker' (known: "
			  "rx, workers)");
	reset(NULL);
	expect_load_error("ports = ( { device = \"net_null0\"; queue = 2; } );\n",
			  "t.conf:1: unknown setting 'ports[0].queue' (known: "
			  "device, queues, rx_desc)");
}

static void
test_err_unknown_group(void **state)
{
	(void)state;
	expect_load_error("flow = { tcp_idle_s = 10; };\n"
			  "flows = { tcp_idle_s = 10; };\n",
			  "t.conf:2: unknown setting 'flows'");
	reset(NULL);
	/* A prefix of a group name is not that group. */
	expect_load_error("\n\nred = { port = 1; };\n",
			  "t.conf:3: unknown setting 'red'");
	reset(NULL);
	/* A top-level scalar in place of a group. */
	expect_load_error("flow = 5;\n",
			  "t.conf:1: 'flow' must be a group: flow = { ... };");
}

static void
test_err_syntax(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf,
						"# ok\n"
						"flow = {\n"
						"  tcp_idle_s = 10;\n"
						"  udp_idle_s = ;\n"
						"};\n",
						"t.conf", err, sizeof(err)),
			 -1);
	assert_true(strncmp(err, "t.conf:4: syntax error", 22) == 0);
	reset(NULL);
	assert_int_equal(vigil_conf_load_string(&conf,
						"flow = { tcp_idle_s = 10; };\n"
						"\n"
						"redis = { port = 1 \n",
						"t.conf", err, sizeof(err)),
			 -1);
	assert_true(strncmp(err, "t.conf:", 7) == 0);
	assert_non_null(strstr(err, "syntax error"));
}

static void
test_err_duplicate_lcore(void **state)
{
	(void)state;
	expect_load_error("lcores = {\n"
			  "  rx = [ 1 ];\n"
			  "  workers = [ 2, 3, 2 ];\n"
			  "};\n",
			  "t.conf:3: lcores.workers lists lcore 2 twice");
	reset(NULL);
	expect_load_error("lcores = { rx = [ 4, 4 ]; workers = [ 1 ]; };\n",
			  "t.conf:1: lcores.rx lists lcore 4 twice");
	reset(NULL);
	/* The same lcore in both lists is allowed (one-lcore layout). */
	assert_int_equal(vigil_conf_load_string(&conf,
						"lcores = { rx = [ 3 ]; "
						"workers = [ 3 ]; };\n",
						"t.conf", err, sizeof(err)),
			 0);
	assert_int_equal(conf.rx_lcores[0], 3);
	assert_int_equal(conf.worker_lcores[0], 3);
	/* Lcore ids are bounded, lists are non-empty. */
	expect_load_error("lcores = { rx = [ 128 ]; };\n",
			  "t.conf:1: lcores.rx = 128 is out of range 0..127");
	expect_load_error("lcores = { workers = [ ]; };\n",
			  "t.conf:1: lcores.workers must list 1 to 32 lcores");
}

static void
test_err_port_without_device(void **state)
{
	(void)state;
	expect_load_error("ports = (\n"
			  "  { device = \"net_null0\"; },\n"
			  "  { queues = 2; rx_desc = 512; }\n"
			  ");\n",
			  "t.conf:3: ports[1] has no device");
	reset(NULL);
	expect_load_error("ports = ( { device = \"net_null0\"; queues = 17; } );\n",
			  "t.conf:1: ports[0].queues = 17 is out of range "
			  "1..16");
	reset(NULL);
	expect_load_error("ports = ( { device = \"net null0\"; } );\n",
			  "t.conf:1: ports[0].device must be a PCI address or "
			  "a vdev spec (no spaces, < 512 chars)");
}

static void
test_err_bad_characters(void **state)
{
	(void)state;
	expect_load_error("sensor = {\n  id = \"bad id\";\n};\n",
			  "t.conf:2: sensor.id = \"bad id\": allowed are "
			  "letters, digits, '-', '_', '.', ':'");
	reset(NULL);
	expect_load_error("redis = { prefix = \"a/b\"; };\n",
			  "t.conf:1: redis.prefix = \"a/b\": allowed are "
			  "letters, digits, '-', '_', '.', ':'");
	reset(NULL);
	expect_load_error("redis = { prefix = \"a*\"; };\n",
			  "t.conf:1: redis.prefix = \"a*\": allowed are "
			  "letters, digits, '-', '_', '.', ':'");
	reset(NULL);
	expect_load_error("redis = { host = \"h;x\"; };\n",
			  "t.conf:1: redis.host = \"h;x\": allowed are a host "
			  "name or IP address");
	reset(NULL);
	expect_load_error("sensor = { id = \"\"; };\n",
			  "t.conf:1: sensor.id must be 1 to 63 characters long "
			  "(got 0)");
	/* Nothing of the refused value was stored. */
	assert_string_equal(conf.redis_prefix, "vigil");
}

static void
test_load_missing_file(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_load(&conf, "/nonexistent/vigil.conf", err,
					 sizeof(err)),
			 -1);
	assert_true(strncmp(err, "/nonexistent/vigil.conf: ", 25) == 0);
	assert_non_null(strstr(err, "cannot open"));
}

/*
 * Regression (was a bug in lib/conf/vigil_conf.c, vigil_conf_load()): a path that opens
 * but cannot be read as a file, e.g. a directory (`vigil -c /etc/vigil/`),
 * is handed to libconfig, whose flex scanner fails on the read error and
 * calls exit(2) after printing "input in flex scanner failed": the whole
 * process dies instead of getting -1 and a "FILE: cannot ..." message.
 * Expected: -1 with a message naming the path (fstat() the stream and
 * refuse anything but a regular file before config_read()). The call runs
 * in a child process so that the exit cannot take the test runner down.
 */
static void
test_load_directory_is_refused(void **state)
{
	char dir[] = "/tmp/vigil_conf_dir_XXXXXX";
	pid_t pid;
	int status = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc = vigil_conf_load(&conf, dir, err, sizeof(err));

		_exit(rc == -1 && strncmp(err, dir, strlen(dir)) == 0 &&
				      strstr(err, "cannot") != NULL
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("vigil_conf_load(directory) did not return -1 with "
			 "\"%s: cannot ...\" (child exit status %d)",
			 dir, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/vigil_conf_test_XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char want[600];

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("flow = { udp_idle_s = 7; };\n", f);
	fclose(f);
	assert_int_equal(vigil_conf_load(&conf, path, err, sizeof(err)), 0);
	assert_int_equal(conf.udp_idle_s, 7);
	assert_string_equal(conf.source, path);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("flow = { udp_idle_s = 7; };\nflow2 = { x = 1; };\n", f);
	fclose(f);
	assert_int_equal(vigil_conf_load(&conf, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: unknown setting 'flow2'", path);
	assert_string_equal(err, want);
	unlink(path);
}

/* ---- vigil_conf_check ---------------------------------------------------- */

static void
test_check_ring_sizes_pow2(void **state)
{
	(void)state;
	conf.worker_ring_size = 5000;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_string_equal(err, "(defaults): dispatch.worker_ring_size = 5000 "
				 "must be a power of two");
	reset(NULL);
	conf.event_ring_size = 20000;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_string_equal(err, "(defaults): flow.event_ring_size = 20000 must "
				 "be a power of two");
	reset(NULL);
	conf.worker_ring_size = 2048;
	conf.event_ring_size = 1024;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
	/* Messages name the file the settings came from. */
	assert_int_equal(vigil_conf_load_string(&conf,
						"dispatch = { worker_ring_size "
						"= 100; };\n",
						"x.conf", err, sizeof(err)),
			 0);
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_string_equal(err, "x.conf: dispatch.worker_ring_size = 100 must "
				 "be a power of two");
}

static void
test_check_burst_vs_ring(void **state)
{
	(void)state;
	conf.worker_ring_size = 64;
	conf.burst = 64;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_string_equal(err, "(defaults): dispatch.burst = 64 must be "
				 "smaller than dispatch.worker_ring_size = 64");
	conf.burst = 128;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "dispatch.burst = 128"));
	conf.burst = 63;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
	/* The record ring must hold a burst plus an expiry step. */
	conf.event_ring_size = 64;
	conf.expiry_step = 1;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_string_equal(err, "(defaults): flow.event_ring_size = 64 must "
				 "exceed dispatch.burst + flow.expiry_step = 64");
}

static void
test_check_mbufs_for_layout(void **state)
{
	/* 2 RX lcores x 4 workers x 2 rings (to the worker and back) x 4096
	 * slots = 65536, one port with 2 x 1024 descriptors = 2048, 6 lcores
	 * x (256 cache + 2 x 32 x 4) = 3072: 70656 mbufs can be parked at
	 * once. */
	const uint32_t need =
		2 * 4 * 2 * 4096 + 2 * 1024 + 6 * (256 + 2 * 32 * 4);

	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf,
						"lcores = { rx = [ 1, 2 ]; "
						"workers = [ 3, 4, 5, 6 ]; };\n"
						"ports = ( { device = "
						"\"net_null0\"; queues = 2; "
						"} );\n"
						"mempool = { mbufs = 16383; };\n",
						"m.conf", err, sizeof(err)),
			 0);
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_true(strncmp(err, "m.conf: mempool.mbufs = 16383 is too small",
			    42) == 0);
	assert_non_null(strstr(err, "70656 mbufs"));
	conf.mbufs = need - 1;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mempool.mbufs"));
	conf.mbufs = need;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
}

static void
test_check_decode_on(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf,
						"dispatch = { decode_on = "
						"\"wrkr\"; };\n",
						"d.conf", err, sizeof(err)),
			 0);
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_string_equal(err, "d.conf: dispatch.decode_on = \"wrkr\": use "
				 "\"auto\", \"rx\" or \"worker\"");
	assert_int_equal(vigil_conf_load_string(&conf,
						"lcores = { rx = [ 1 ]; "
						"workers = [ 2, 3 ]; };\n"
						"dispatch = { decode_on = "
						"\"worker\"; };\n",
						"d.conf", err, sizeof(err)),
			 0);
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs exactly one worker (lcores.workers "
				    "lists 2)"));
	assert_int_equal(vigil_conf_load_string(&conf,
						"lcores = { rx = [ 1 ]; "
						"workers = [ 2 ]; };\n"
						"dispatch = { decode_on = "
						"\"worker\"; };\n",
						"d.conf", err, sizeof(err)),
			 0);
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
	assert_string_equal(conf.decode_on, "worker");
}

static void
test_check_rx_lcores_need_queues(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf,
						"lcores = { rx = [ 1, 2, 3 ]; "
						"workers = [ 4 ]; };\n"
						"ports = ( { device = "
						"\"net_null0\"; queues = 2; "
						"} );\n",
						"q.conf", err, sizeof(err)),
			 0);
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "lcores.rx lists 3 lcores"));
	conf.ports[0].queues = 3;
	assert_int_equal(vigil_conf_check(&conf, err, sizeof(err)), 0);
}

/* ---- vigil_conf_set_redis ------------------------------------------------ */

static void
test_set_redis_ok(void **state)
{
	(void)state;
	assert_int_equal(vigil_conf_set_redis(&conf, "127.0.0.1:6380", err,
					      sizeof(err)),
			 0);
	assert_string_equal(conf.redis_host, "127.0.0.1");
	assert_int_equal(conf.redis_port, 6380);
	assert_int_equal(vigil_conf_set_redis(&conf, "[::1]:7000", err,
					      sizeof(err)),
			 0);
	assert_string_equal(conf.redis_host, "::1");
	assert_int_equal(conf.redis_port, 7000);
	assert_int_equal(vigil_conf_set_redis(&conf, "redis.local:6379", err,
					      sizeof(err)),
			 0);
	assert_string_equal(conf.redis_host, "redis.local");
	assert_int_equal(conf.redis_port, 6379);
	assert_int_equal(vigil_conf_set_redis(&conf, "[fd00::5]:1", err,
					      sizeof(err)),
			 0);
	assert_string_equal(conf.redis_host, "fd00::5");
	assert_int_equal(conf.redis_port, 1);
	assert_int_equal(vigil_conf_set_redis(&conf, "h:65535", err,
					      sizeof(err)),
			 0);
	assert_string_equal(conf.redis_host, "h");
	assert_int_equal(conf.redis_port, 65535);
}

static void
test_set_redis_refused(void **state)
{
	static const char *const bad[] = {
		"nohost", ":6379", "h:0", "h:70000", "h:12x", "::1:6379",
		"h:", "[::1]", "[::1]7000", "[]:6379", "h o:80", "h:-1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (vigil_conf_set_redis(&conf, bad[i], err, sizeof(err)) != -1)
			fail_msg("--redis %s was accepted", bad[i]);
		/* The message quotes what was refused. */
		assert_non_null(strstr(err, bad[i]));
		/* Nothing was changed. */
		assert_string_equal(conf.redis_host, "127.0.0.1");
		assert_int_equal(conf.redis_port, 6379);
	}
	assert_int_equal(vigil_conf_set_redis(&conf, "h:70000", err,
					      sizeof(err)),
			 -1);
	assert_string_equal(err, "--redis h:70000: port must be 1..65535");
}

/* ---- idle timeouts -------------------------------------------------------- */

static void
test_idle_us_per_protocol(void **state)
{
	(void)state;
	conf.tcp_idle_s = 11;
	conf.udp_idle_s = 22;
	conf.icmp_idle_s = 33;
	conf.other_idle_s = 44;
	assert_int_equal(vigil_conf_idle_us(&conf, 6), 11000000ull);
	assert_int_equal(vigil_conf_idle_us(&conf, 17), 22000000ull);
	assert_int_equal(vigil_conf_idle_us(&conf, 1), 33000000ull);
	assert_int_equal(vigil_conf_idle_us(&conf, 58), 33000000ull);
	assert_int_equal(vigil_conf_idle_us(&conf, 47), 44000000ull);
	assert_int_equal(vigil_conf_idle_us(&conf, 132), 44000000ull);
	assert_int_equal(vigil_conf_idle_us(&conf, 0), 44000000ull);
	/* No 32-bit overflow at the upper bound. */
	conf.tcp_idle_s = 86400;
	assert_int_equal(vigil_conf_idle_us(&conf, 6), 86400000000ull);
}

static void
test_print_lists_settings(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(vigil_conf_load_string(&conf, full_conf, "full.conf",
						err, sizeof(err)),
			 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	vigil_conf_print(&conf, f);
	fclose(f);
	assert_non_null(strstr(buf, "# source: full.conf\n"));
	assert_non_null(strstr(buf, "flow.tcp_idle_s              3600 "));
	assert_non_null(strstr(buf, "redis.host                   redis.local "));
	assert_non_null(strstr(buf, "lcores.workers              [ 3, 4, 5 ]\n"));
	assert_non_null(strstr(buf, "ports[0]                    0000:3b:00.0 "
				    "queues=2 rx_desc=2048\n"));
	free(buf);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup(f, reset)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_load_full_config),
		T(test_partial_file_keeps_other_defaults),
		T(test_err_out_of_range),
		T(test_err_wrong_type),
		T(test_err_unknown_setting),
		T(test_err_unknown_group),
		T(test_err_syntax),
		T(test_err_duplicate_lcore),
		T(test_err_port_without_device),
		T(test_err_bad_characters),
		T(test_load_missing_file),
		T(test_load_directory_is_refused),
		T(test_load_file),
		T(test_check_ring_sizes_pow2),
		T(test_check_burst_vs_ring),
		T(test_check_mbufs_for_layout),
		T(test_check_decode_on),
		T(test_check_rx_lcores_need_queues),
		T(test_set_redis_ok),
		T(test_set_redis_refused),
		T(test_idle_us_per_protocol),
		T(test_print_lists_settings),
	};
#undef T

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
