/*
 * Unit tests of the control thread's Redis side that need a real Redis:
 * lib/publish's metasync (identities loaded from P:meta:*, followed on
 * P:meta:updates, hostile content refused and counted, the subscription
 * re-established after Redis restarts) and the Lua scripts of lib/entity
 * (the merge operations and the trim) run on the server.
 *
 * Each test group starts its own redis-server on a free loopback port (and
 * restarts it for the reconnect test); without redis-server the tests are
 * skipped. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "vigil_conf.h"
#include "vigil_entity.h"
#include "vigil_meta.h"
#include "vigil_metasync.h"
#include "vigil_stats.h"

static pid_t redis_pid;
static int redis_port;
static redisContext *rc;
static struct vigil_conf conf;
static struct vigil_counters ctr;

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool
have_redis(void)
{
	return system("command -v redis-server >/dev/null 2>&1") == 0;
}

/* A redis-server on redis_port; connects rc. False if it does not come
 * up within 5 s. */
static bool
redis_start(void)
{
	char port[16];

	snprintf(port, sizeof(port), "%d", redis_port);
	redis_pid = fork();
	if (redis_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("redis-server", "redis-server", "--port", port, "--bind",
		       "127.0.0.1", "--save", "", "--appendonly", "no",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		struct timeval tv = { 1, 0 };

		rc = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
		if (rc != NULL && rc->err == 0) {
			redisReply *r = redisCommand(rc, "PING");

			if (r != NULL) {
				freeReplyObject(r);
				return true;
			}
		}
		if (rc != NULL)
			redisFree(rc);
		rc = NULL;
		sleep_ms(50);
	}
	return false;
}

static void
redis_stop(void)
{
	if (rc != NULL)
		redisFree(rc);
	rc = NULL;
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
	}
	redis_pid = 0;
}

static int
group_setup(void **state)
{
	(void)state;
	if (!have_redis())
		return 0; /* each test skips */
	redis_port = free_port();
	if (redis_port < 0 || !redis_start())
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	redis_stop();
	return 0;
}

static int
setup(void **state)
{
	redisReply *r;

	(void)state;
	if (rc == NULL)
		skip();
	r = redisCommand(rc, "FLUSHALL");
	freeReplyObject(r);
	vigil_conf_defaults(&conf);
	snprintf(conf.redis_host, sizeof(conf.redis_host), "127.0.0.1");
	conf.redis_port = (uint32_t)redis_port;
	conf.redis_retry_ms = 50;
	snprintf(conf.redis_prefix, sizeof(conf.redis_prefix), "t");
	memset(&ctr, 0, sizeof(ctr));
	return 0;
}

static redisReply *
cmd(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	return r;
}

static void
run(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("redis: %s", r->str);
	freeReplyObject(r);
}

/* What vigilctl meta push writes for one identity (README "Redis
 * schema"), without the message. */
static void
put(const char *ip, const char *pod, const char *service, double since)
{
	char json[512], ssince[32] = "";

	if (since > 0)
		snprintf(ssince, sizeof(ssince), "\"since\":%.6f,", since);
	snprintf(json, sizeof(json),
		 "{%s\"pod\":\"%s\",\"namespace\":\"shop\",\"image\":"
		 "\"reg.example.com/shop/%s:1\",\"service\":\"%s\"}",
		 ssince, pod, service, service);
	run("ZADD t:meta:%s:history %.6f %s", ip, since, json);
	if (since > 0)
		run("HSET t:meta:%s pod %s namespace shop image "
		    "reg.example.com/shop/%s:1 service %s since %.6f",
		    ip, pod, service, service, since);
	else
		run("HSET t:meta:%s pod %s namespace shop image "
		    "reg.example.com/shop/%s:1 service %s",
		    ip, pod, service, service);
}

static const char *
pod_at(const struct vigil_metasync *m, const char *ip, double t)
{
	struct vigil_meta_ip a;
	const struct vigil_meta_entry *e;

	assert_int_equal(vigil_meta_parse_ip(ip, strlen(ip), &a, NULL, NULL, 0),
			 0);
	e = vigil_meta_lookup(vigil_metasync_store(m), &a,
			      (uint64_t)(t * 1e6));
	return e != NULL ? e->pod : NULL;
}

/* Polls until cond() holds, at most 5 s. */
static bool
poll_until(struct vigil_metasync *m, bool (*cond)(struct vigil_metasync *))
{
	for (int i = 0; i < 5000; i++) {
		vigil_metasync_poll(m);
		if (cond(m))
			return true;
		sleep_ms(1);
	}
	return false;
}

/* ---- the scripts -------------------------------------------------------- */

static void
eval_merge(int argc, const char **argv)
{
	const char *v[64];
	redisReply *r;

	v[0] = "EVAL";
	v[1] = vigil_entity_merge_lua;
	for (int i = 0; i < argc; i++)
		v[2 + i] = argv[i];
	r = redisCommandArgv(rc, argc + 2, v, NULL);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("merge: %s", r->str);
	freeReplyObject(r);
}

static char *
hget(const char *key, const char *field)
{
	redisReply *r = cmd("HGET %s %s", key, field);
	char *s = r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;

	freeReplyObject(r);
	return s;
}

#define ASSERT_HGET(key, field, want)                                        \
	do {                                                                 \
		char *got_ = hget(key, field);                               \
		if ((want) == NULL)                                          \
			assert_null(got_);                                   \
		else {                                                       \
			assert_non_null(got_);                               \
			assert_string_equal(got_, (want));                   \
		}                                                            \
		free(got_);                                                  \
	} while (0)

static void
test_merge_script(void **state)
{
	const char *a1[] = {
		"3", "h", "idx", "side", "m1", "1767225601.000000", "100",
		"ini", "2", "id", "m1", "kind", "first",
		"set", "1", "sensor", "s1",
		"add", "2", "flows", "2", "zero", "0",
		"min", "first_seen", "1767225600.500000",
		"max", "last_seen", "1767225601.000000",
		"uni", "ports", "80/tcp,443/tcp", "3",
		"pair", "1", "e1", "2 100",
		"lat", "seen", "1767225600.500000", "2", "name", "b.example",
		"labels", "app=x",
	};
	const char *a2[] = {
		"2", "h", "idx", "m1", "1767225600.900000", "0",
		"ini", "2", "id", "m1", "kind", "second", /* not new: kept */
		"set", "1", "sensor", "s2",
		"add", "2", "flows", "3", "zero", "0",
		"min", "first_seen", "1767225600.400000",
		"max", "last_seen", "1767225600.900000",
		"uni", "ports", "22/tcp,80/tcp,53/udp", "3",
		"uni", "sensors", "s1", "32",
		"pair", "1", "e1", "1 50",
		/* older: loses */
		"lat", "seen", "1767225600.100000", "2", "name", "z.example",
		"labels", "",
	};
	const char *a3[] = {
		"2", "h", "idx", "m1", "1767225602.000000", "0",
		/* the same time, a greater value: wins; "" deletes */
		"lat", "seen", "1767225600.500000", "2", "name", "c.example",
		"labels", "",
		/* 10 digits before the point against 9: compared by length */
		"max", "last_seen", "999999999.000000",
		/* already there: nothing changes */
		"uni", "ports", "80/tcp", "3",
		"uni", "sensors", "s1", "32",
	};
	redisReply *r;

	(void)state;
	eval_merge((int)(sizeof(a1) / sizeof(a1[0])), a1);
	eval_merge((int)(sizeof(a2) / sizeof(a2[0])), a2);
	ASSERT_HGET("h", "id", "m1");
	ASSERT_HGET("h", "kind", "first");
	ASSERT_HGET("h", "sensor", "s2");
	ASSERT_HGET("h", "sensors", "s1");
	ASSERT_HGET("h", "flows", "5");
	ASSERT_HGET("h", "zero", "0");
	ASSERT_HGET("h", "first_seen", "1767225600.400000");
	ASSERT_HGET("h", "last_seen", "1767225601.000000");
	ASSERT_HGET("h", "ports", "22/tcp,443/tcp,80/tcp");
	ASSERT_HGET("h", "e1", "3 150");
	ASSERT_HGET("h", "name", "b.example");
	ASSERT_HGET("h", "labels", "app=x");
	r = cmd("ZSCORE idx m1");
	assert_string_equal(r->str, "1767225601");
	freeReplyObject(r);
	r = cmd("TTL side");
	assert_true(r->integer > 90 && r->integer <= 100);
	freeReplyObject(r);
	eval_merge((int)(sizeof(a3) / sizeof(a3[0])), a3);
	ASSERT_HGET("h", "name", "c.example");
	ASSERT_HGET("h", "labels", NULL);
	ASSERT_HGET("h", "last_seen", "1767225601.000000");
	ASSERT_HGET("h", "ports", "22/tcp,443/tcp,80/tcp");
	r = cmd("ZSCORE idx m1");
	assert_string_equal(r->str, "1767225602");
	freeReplyObject(r);
	/* A malformed pair or count in Redis starts again from 0. */
	run("HSET h e2 garbage flows lots");
	{
		const char *a4[] = { "1", "h", "m", "1", "0", "pair", "1", "e2",
				     "4 8", "add", "1", "flows", "7" };

		eval_merge(13, a4);
	}
	ASSERT_HGET("h", "e2", "4 8");
	ASSERT_HGET("h", "flows", "7");
	/* Counts beyond 2^32 stay exact. */
	{
		const char *a5[] = { "1", "h", "m", "1", "0", "add", "1",
				     "big", "4503599627370496" };

		eval_merge(9, a5);
		eval_merge(9, a5);
	}
	ASSERT_HGET("h", "big", "9007199254740992");
	/* An unknown operation is refused, before anything is written. */
	{
		const char *v[] = { "EVAL", vigil_entity_merge_lua, "1", "h2",
				    "m", "1", "0", "set", "1", "a", "b", "nope" };

		r = redisCommandArgv(rc, 12, v, NULL);
		assert_int_equal(r->type, REDIS_REPLY_ERROR);
		freeReplyObject(r);
		r = cmd("EXISTS h2");
		assert_int_equal(r->integer, 0);
		freeReplyObject(r);
	}
}

static void
test_trim_script(void **state)
{
	redisReply *r;

	(void)state;
	run("ZADD t:entities 100 a 200 b 300 c");
	run("HSET t:entity:a x 1");
	run("HSET t:entity:b x 1");
	run("HSET t:entity:c x 1");
	run("HSET t:entity:a:svc x 1");
	r = redisCommand(rc, "EVAL %s 1 t:entities t:entity: 250 1000 :svc",
			 vigil_entity_trim_lua);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);
	r = cmd("EXISTS t:entity:a t:entity:b t:entity:c t:entity:a:svc");
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	r = cmd("ZCARD t:entities");
	assert_int_equal(r->integer, 1);
	freeReplyObject(r);
	/* At most LIMIT a call. */
	run("ZADD t:edges 1 a 2 b 3 c");
	r = redisCommand(rc, "EVAL %s 1 t:edges t:edge: 10 2",
			 vigil_entity_trim_lua);
	assert_int_equal(r->integer, 2);
	freeReplyObject(r);
}

/* ---- metasync ------------------------------------------------------------- */

static bool
has_web2(struct vigil_metasync *m)
{
	const char *p = pod_at(m, "10.244.0.2", 1767225700);

	return p != NULL && strcmp(p, "web-2") == 0;
}

static bool
no_api(struct vigil_metasync *m)
{
	return pod_at(m, "10.244.5.1", 1767225700) == NULL;
}

static bool
refused_msg(struct vigil_metasync *m)
{
	(void)m;
	return vigil_ctr_read(&ctr, VIGIL_CTR_meta_updates_refused) == 2;
}

static void
test_load_and_follow(void **state)
{
	struct vigil_metasync *m;
	struct vigil_metasync_info info;

	(void)state;
	put("10.244.1.17", "checkout-a", "checkout", 1767225600);
	put("10.244.1.17", "report-b", "report", 1767225720);
	put("10.244.5.1", "api-0", "api", 0);
	put("fd00:10:244::1a", "web-0", "web", 0);
	run("HSET t:meta:10.244.9.9 pod only-hash namespace shop image "
	    "nginx:1 service web");
	m = vigil_metasync_create(&conf, &ctr);
	assert_non_null(m);
	assert_true(vigil_metasync_load(m, 5000));
	vigil_metasync_info(m, &info);
	assert_true(info.connected);
	assert_true(info.subscribed);
	assert_false(info.loading);
	assert_int_equal(info.ips, 4);
	assert_int_equal(info.entries, 5);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_meta_loads), 1);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_meta_refused), 0);
	assert_null(pod_at(m, "10.244.1.17", 1767225599));
	assert_string_equal(pod_at(m, "10.244.1.17", 1767225600), "checkout-a");
	assert_string_equal(pod_at(m, "10.244.1.17", 1767225719.9), "checkout-a");
	assert_string_equal(pod_at(m, "10.244.1.17", 1767225720), "report-b");
	assert_string_equal(pod_at(m, "10.244.5.1", 0), "api-0");
	assert_string_equal(pod_at(m, "fd00:10:244::1a", 5), "web-0");
	assert_string_equal(pod_at(m, "10.244.9.9", 5), "only-hash");

	/* Live: a new address, then one removed, then nonsense. */
	put("10.244.0.2", "web-2", "web", 1767225650);
	run("PUBLISH t:meta:updates %s", "set 10.244.0.2");
	assert_true(poll_until(m, has_web2));
	run("DEL t:meta:10.244.5.1 t:meta:10.244.5.1:history");
	run("PUBLISH t:meta:updates %s", "rm 10.244.5.1");
	assert_true(poll_until(m, no_api));
	run("PUBLISH t:meta:updates %s", "set not-an-ip");
	run("PUBLISH t:meta:updates %b", "\x1b[2Jrm\n", (size_t)7);
	assert_true(poll_until(m, refused_msg));
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_meta_updates), 4);
	vigil_metasync_info(m, &info);
	assert_int_equal(info.ips, 4);
	vigil_metasync_free(m);
}

static void
test_hostile_content(void **state)
{
	struct vigil_metasync *m;
	struct vigil_metasync_info info;
	char big[20000];

	(void)state;
	put("10.0.0.1", "good-0", "good", 0);
	/* a key naming no address, one not written as inet_ntop does */
	run("HSET t:meta:not-an-ip pod a namespace b image c service d");
	run("HSET t:meta:FD00::1 pod a namespace b image nginx service d");
	/* a bad pod name; an unknown field; too many fields */
	run("HSET t:meta:10.0.0.2 pod Bad_Pod namespace shop image nginx service d");
	run("HSET t:meta:10.0.0.3 pod a namespace shop image nginx service d "
	    "owner me");
	run("HSET t:meta:10.0.0.4 pod a namespace shop image nginx service d "
	    "labels a=b since 1 x 1 y 2");
	/* not a hash; a history that is not a sorted set */
	run("SET t:meta:10.0.0.5 hello");
	run("SET t:meta:10.0.0.6:history hello");
	/* history members: not JSON, a score that is not the since, one
	 * far too long, and a good one */
	run("ZADD t:meta:10.0.0.7:history 0 {bad");
	run("ZADD t:meta:10.0.0.7:history 5 %s",
	    "{\"since\":6,\"pod\":\"a\",\"namespace\":\"b\",\"image\":\"c\","
	    "\"service\":\"d\"}");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	run("ZADD t:meta:10.0.0.7:history 9 %s", big);
	run("ZADD t:meta:10.0.0.7:history 10 %s",
	    "{\"since\":10,\"pod\":\"ok-7\",\"namespace\":\"b\",\"image\":"
	    "\"c\",\"service\":\"d\"}");
	/* a value too long in a hash */
	run("HSET t:meta:10.0.0.8 pod %s namespace b image c service d", big);
	m = vigil_metasync_create(&conf, &ctr);
	assert_non_null(m);
	assert_true(vigil_metasync_load(m, 5000));
	vigil_metasync_info(m, &info);
	assert_int_equal(info.ips, 2);
	assert_string_equal(pod_at(m, "10.0.0.1", 1), "good-0");
	assert_string_equal(pod_at(m, "10.0.0.7", 11), "ok-7");
	assert_null(pod_at(m, "10.0.0.7", 9));
	assert_null(pod_at(m, "10.0.0.2", 1));
	/* not-an-ip, FD00::1, .2, .3, .4, .5, .6, 3 members of .7, .8 */
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_meta_refused), 11);
	vigil_metasync_free(m);

	/* A store that is full refuses and counts. */
	memset(&ctr, 0, sizeof(ctr));
	conf.meta_max_ips = 1;
	m = vigil_metasync_create(&conf, &ctr);
	assert_true(vigil_metasync_load(m, 5000));
	vigil_metasync_info(m, &info);
	assert_int_equal(info.ips, 1);
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_meta_refused), 12);
	vigil_metasync_free(m);
}

static bool
reconnected(struct vigil_metasync *m)
{
	struct vigil_metasync_info info;

	vigil_metasync_info(m, &info);
	return vigil_ctr_read(&ctr, VIGIL_CTR_meta_loads) == 2 && !info.loading;
}

static bool
disconnected(struct vigil_metasync *m)
{
	struct vigil_metasync_info info;

	vigil_metasync_info(m, &info);
	return !info.connected;
}

/* Redis restarts: the identities known stay in use meanwhile; the
 * subscription comes back and a full load replaces the store (what was
 * deleted while nobody listened goes, what was added comes). */
static void
test_reconnect(void **state)
{
	struct vigil_metasync *m;
	struct vigil_metasync_info info;

	(void)state;
	put("10.0.0.1", "before-0", "before", 0);
	put("10.0.0.2", "gone-0", "gone", 0);
	m = vigil_metasync_create(&conf, &ctr);
	assert_true(vigil_metasync_load(m, 5000));
	redis_stop();
	assert_true(poll_until(m, disconnected));
	assert_string_equal(pod_at(m, "10.0.0.2", 1), "gone-0");
	assert_false(vigil_metasync_load(m, 200)); /* does not hang */
	assert_true(redis_start());
	put("10.0.0.1", "before-0", "before", 0);
	put("10.0.0.3", "after-0", "after", 0);
	assert_true(poll_until(m, reconnected));
	assert_int_equal(vigil_ctr_read(&ctr, VIGIL_CTR_meta_reconnects), 1);
	assert_null(pod_at(m, "10.0.0.2", 1));
	assert_string_equal(pod_at(m, "10.0.0.3", 1), "after-0");
	assert_string_equal(pod_at(m, "10.0.0.1", 1), "before-0");
	vigil_metasync_info(m, &info);
	assert_int_equal(info.ips, 2);
	vigil_metasync_free(m);
}

/* Unreachable from the start: nothing blocks, nothing loads. */
static void
test_unreachable(void **state)
{
	struct vigil_metasync *m;

	(void)state;
	conf.redis_port = (uint32_t)free_port();
	m = vigil_metasync_create(&conf, &ctr);
	assert_false(vigil_metasync_load(m, 2000));
	assert_int_equal(vigil_metasync_poll(m), 0);
	assert_int_equal(vigil_meta_store_ips(vigil_metasync_store(m)), 0);
	vigil_metasync_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_merge_script, setup),
		cmocka_unit_test_setup(test_trim_script, setup),
		cmocka_unit_test_setup(test_load_and_follow, setup),
		cmocka_unit_test_setup(test_hostile_content, setup),
		cmocka_unit_test_setup(test_unreachable, setup),
		cmocka_unit_test_setup(test_reconnect, setup),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
