/*
 * Unit tests of lib/stats: counter names, drop classification, snapshots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil_stats.h"

/* The names and drop flags straight from the X-macro list. */
static const char *const xnames[] = {
#define X(name, drop, help) #name,
	VIGIL_COUNTERS(X)
#undef X
};
static const int xdrop[] = {
#define X(name, drop, help) drop,
	VIGIL_COUNTERS(X)
#undef X
};

static void
test_count_matches_xmacro(void **state)
{
	(void)state;
	assert_int_equal(sizeof(xnames) / sizeof(xnames[0]), VIGIL_CTR_MAX);
	/* Spot-check the enum generated from the same list. */
	assert_int_equal(VIGIL_CTR_rx_packets, 0);
	assert_string_equal(vigil_ctr_name(VIGIL_CTR_rx_packets), "rx_packets");
	assert_string_equal(vigil_ctr_name(VIGIL_CTR_drop_ring_full),
			    "drop_ring_full");
	assert_string_equal(vigil_ctr_name(VIGIL_CTR_drop_flow_table_full),
			    "drop_flow_table_full");
	assert_string_equal(vigil_ctr_name(VIGIL_CTR_records_published),
			    "records_published");
}

static void
test_names_equal_xmacro_and_unique(void **state)
{
	(void)state;
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++) {
		const char *n = vigil_ctr_name((enum vigil_ctr)i);

		assert_non_null(n);
		assert_string_equal(n, xnames[i]);
		assert_true(strlen(n) > 0);
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(n,
				vigil_ctr_name((enum vigil_ctr)j));
		/* Every counter has a non-empty help text. */
		assert_true(strlen(vigil_ctr_help((enum vigil_ctr)i)) > 0);
	}
	/* Out of range ids do not crash and are not drops. */
	assert_string_equal(vigil_ctr_name(VIGIL_CTR_MAX), "?");
	assert_string_equal(vigil_ctr_help(VIGIL_CTR_MAX), "?");
	assert_int_equal(vigil_ctr_is_drop(VIGIL_CTR_MAX), 0);
}

static void
test_is_drop_exactly_drop_names(void **state)
{
	unsigned ndrops = 0;

	(void)state;
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++) {
		const char *n = vigil_ctr_name((enum vigil_ctr)i);
		int want = strncmp(n, "drop_", 5) == 0;

		assert_int_equal(!!vigil_ctr_is_drop((enum vigil_ctr)i), want);
		assert_int_equal(!!xdrop[i], want);
		ndrops += (unsigned)want;
	}
	assert_false(vigil_ctr_is_drop(VIGIL_CTR_rx_packets));
	assert_false(vigil_ctr_is_drop(VIGIL_CTR_backpressure));
	assert_true(vigil_ctr_is_drop(VIGIL_CTR_drop_non_ip));
	assert_true(vigil_ctr_is_drop(VIGIL_CTR_drop_shutdown));
	assert_true(vigil_ctr_is_drop(VIGIL_CTR_drop_records_undelivered));
	assert_false(vigil_ctr_is_drop(VIGIL_CTR_ipv4_len_zero));
	assert_true(ndrops > 0 && ndrops < VIGIL_CTR_MAX);
}

static void
test_drops_sums_only_drop_counters(void **state)
{
	uint64_t snap[VIGIL_CTR_MAX];
	uint64_t want = 0;

	(void)state;
	/* Distinct powers of two so a wrong sum cannot hit by chance. */
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++) {
		snap[i] = 1ull << i;
		if (strncmp(xnames[i], "drop_", 5) == 0)
			want += snap[i];
	}
	assert_int_equal(vigil_counters_drops(snap), want);

	memset(snap, 0, sizeof(snap));
	snap[VIGIL_CTR_rx_packets] = 1000;
	snap[VIGIL_CTR_worker_packets] = 990;
	snap[VIGIL_CTR_drop_non_ip] = 7;
	snap[VIGIL_CTR_drop_shutdown] = 3;
	assert_int_equal(vigil_counters_drops(snap), 10);

	memset(snap, 0, sizeof(snap));
	snap[VIGIL_CTR_rx_bytes] = 123456;
	assert_int_equal(vigil_counters_drops(snap), 0);
}

static void
test_accumulate_and_read(void **state)
{
	struct vigil_counters a, b;
	uint64_t out[VIGIL_CTR_MAX];

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(out, 0, sizeof(out));
	vigil_ctr_add(&a, VIGIL_CTR_rx_packets, 5);
	vigil_ctr_add(&a, VIGIL_CTR_rx_packets, 2);
	vigil_ctr_add(&b, VIGIL_CTR_rx_packets, 10);
	vigil_ctr_add(&b, VIGIL_CTR_drop_ring_full, 4);
	assert_int_equal(vigil_ctr_read(&a, VIGIL_CTR_rx_packets), 7);
	vigil_counters_accumulate(out, &a);
	vigil_counters_accumulate(out, &b);
	assert_int_equal(out[VIGIL_CTR_rx_packets], 17);
	assert_int_equal(out[VIGIL_CTR_drop_ring_full], 4);
	assert_int_equal(out[VIGIL_CTR_dispatched], 0);
	assert_int_equal(vigil_counters_drops(out), 4);
}

static void
test_list_prints_every_counter(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned lines = 0;
	char *save = NULL;

	(void)state;
	assert_non_null(f);
	vigil_counters_list(f);
	fclose(f);
	for (char *l = strtok_r(buf, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save), lines++) {
		size_t n = strlen(xnames[lines]);

		assert_true(lines < VIGIL_CTR_MAX);
		assert_memory_equal(l, xnames[lines], n);
		assert_true(l[n] == ' ');
		assert_non_null(strstr(l, vigil_ctr_help((enum vigil_ctr)lines)));
	}
	assert_int_equal(lines, VIGIL_CTR_MAX);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_matches_xmacro),
		cmocka_unit_test(test_names_equal_xmacro_and_unique),
		cmocka_unit_test(test_is_drop_exactly_drop_names),
		cmocka_unit_test(test_drops_sums_only_drop_counters),
		cmocka_unit_test(test_accumulate_and_read),
		cmocka_unit_test(test_list_prints_every_counter),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
