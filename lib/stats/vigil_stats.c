/*
 * vigil counters: names, help texts and snapshot helpers generated from the
 * single list in vigil_stats.h.
 */
#include "vigil_stats.h"

static const char *const ctr_names[VIGIL_CTR_MAX] = {
#define X(name, drop, help) [VIGIL_CTR_##name] = #name,
	VIGIL_COUNTERS(X)
#undef X
};

static const char *const ctr_help[VIGIL_CTR_MAX] = {
#define X(name, drop, help) [VIGIL_CTR_##name] = help,
	VIGIL_COUNTERS(X)
#undef X
};

static const unsigned char ctr_drop[VIGIL_CTR_MAX] = {
#define X(name, drop, help) [VIGIL_CTR_##name] = drop,
	VIGIL_COUNTERS(X)
#undef X
};

const char *
vigil_ctr_name(enum vigil_ctr id)
{
	return (unsigned)id < VIGIL_CTR_MAX ? ctr_names[id] : "?";
}

const char *
vigil_ctr_help(enum vigil_ctr id)
{
	return (unsigned)id < VIGIL_CTR_MAX ? ctr_help[id] : "?";
}

int
vigil_ctr_is_drop(enum vigil_ctr id)
{
	return (unsigned)id < VIGIL_CTR_MAX ? ctr_drop[id] : 0;
}

void
vigil_counters_accumulate(uint64_t out[VIGIL_CTR_MAX],
			  const struct vigil_counters *s)
{
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++)
		out[i] += vigil_ctr_read(s, (enum vigil_ctr)i);
}

uint64_t
vigil_counters_drops(const uint64_t snap[VIGIL_CTR_MAX])
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++)
		if (ctr_drop[i])
			sum += snap[i];
	return sum;
}

void
vigil_counters_list(FILE *out)
{
	for (unsigned i = 0; i < VIGIL_CTR_MAX; i++)
		fprintf(out, "%-26s %s\n", ctr_names[i], ctr_help[i]);
}
