/*
 * vigil configuration: defaults, a declarative table of scalar settings,
 * validators for `ports` and `lcores`, and cross-setting checks.
 *
 * Every scalar setting is one row of `settings[]`: its path in the file, its
 * type, its bounds, its default and the struct field it fills. Loading walks
 * the file's tree and refuses any setting that is neither a row nor part of
 * `ports`/`lcores`, then reads each row. All messages name file:line and the
 * setting, so an operator can fix the file without reading code.
 */
#include "vigil_conf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

enum conf_type { T_UINT, T_STR };

/* Allowed characters of a string setting. */
enum conf_chars { C_ANY, C_ID, C_HOST };

struct conf_row {
	const char *path;
	enum conf_type type;
	size_t off;
	size_t size; /* T_STR: buffer size */
	int64_t min, max;
	int64_t def_int;
	const char *def_str;
	enum conf_chars chars;
	const char *help;
};

#define U(p, field, lo, hi, def, h)                                            \
	{ p, T_UINT, offsetof(struct vigil_conf, field), 0, lo, hi, def,       \
	  NULL, C_ANY, h }
#define S(p, field, def, ch, h)                                                \
	{ p, T_STR, offsetof(struct vigil_conf, field),                        \
	  sizeof(((struct vigil_conf *)0)->field), 1, 0, 0, def, ch, h }

static const struct conf_row settings[] = {
	S("sensor.id", sensor_id, NULL, C_ID,
	  "sensor id written in every record (default: host name)"),
	U("mempool.mbufs", mbufs, 1023, 16777215, 65535,
	  "mbufs in the packet pool (shared by all ports)"),
	U("mempool.cache", mbuf_cache, 0, 512, 256,
	  "per-lcore mbuf cache"),
	U("dispatch.burst", burst, 1, 256, 32,
	  "packets per rx_burst and per ring operation"),
	U("dispatch.worker_ring_size", worker_ring_size, 64, 1048576, 4096,
	  "slots of each RX-lcore-to-worker ring (power of two)"),
	S("dispatch.decode_on", decode_on, "auto", C_ID,
	  "where packets are decoded: rx, worker (one worker only) or auto "
	  "(the worker when there is one, on its own lcore)"),
	U("flow.event_ring_size", event_ring_size, 64, 1048576, 16384,
	  "slots of each worker-to-publisher record ring (power of two)"),
	U("flow.max_flows", max_flows, 1024, 16777215, 262144,
	  "flows per worker table"),
	U("flow.expiry_step", expiry_step, 1, 65536, 64,
	  "table slots a worker checks for idle flows per loop"),
	U("flow.scan_period_ms", scan_period_ms, 10, 600000, 5000,
	  "time for the idle scan to cover a whole table"),
	U("flow.tcp_idle_s", tcp_idle_s, 1, 86400, 300,
	  "TCP idle timeout, seconds"),
	U("flow.tcp_attempt_s", tcp_attempt_s, 1, 86400, 5,
	  "TCP connection attempt (SYN, no answer) timeout, seconds"),
	U("flow.tcp_closed_s", tcp_closed_s, 1, 86400, 5,
	  "TCP timeout after FIN both ways or RST, seconds"),
	U("flow.active_timeout_s", active_timeout_s, 1, 4000, 3600,
	  "a longer flow is reported and continues as a new record"),
	U("flow.max_tunnels", max_tunnels, 16, 65535, 4096,
	  "tunnel endpoint pairs remembered per worker"),
	U("flow.udp_idle_s", udp_idle_s, 1, 86400, 60,
	  "UDP idle timeout, seconds"),
	U("flow.icmp_idle_s", icmp_idle_s, 1, 86400, 60,
	  "ICMP idle timeout, seconds"),
	U("flow.other_idle_s", other_idle_s, 1, 86400, 60,
	  "idle timeout of other IP protocols, seconds"),
	U("l7.enabled", l7_enabled, 0, 1, 1,
	  "1: inspect payload for application metadata (DNS, HTTP, TLS, SSH, "
	  "QUIC, Stratum)"),
	U("l7.contexts", l7_contexts, 16, 1048576, 4096,
	  "flows a worker inspects at once"),
	U("l7.inspect_bytes", l7_inspect_bytes, 64, 1048576, 8192,
	  "payload bytes inspected in each direction of a flow"),
	U("l7.buffer_bytes", l7_buffer_bytes, 512, 65536, 4096,
	  "largest message gathered across segments, per direction"),
	U("l7.ring_size", l7_ring_size, 64, 1048576, 4096,
	  "slots of each worker-to-publisher L7 record ring (power of two)"),
	U("l7.pending_max", l7_pending_max, 1024, 16777216, 262144,
	  "L7 records the publisher holds until their flow record comes"),
	U("l7.dns_cache", l7_dns_cache, 0, 4194304, 32768,
	  "DNS answers each worker keeps to name later flows (0: none)"),
	U("l7.dns_ttl_min_s", l7_dns_ttl_min_s, 0, 604800, 600,
	  "an answer names flows for its TTL, but at least this long"),
	S("redis.host", redis_host, "127.0.0.1", C_HOST,
	  "Redis server address or name"),
	U("redis.port", redis_port, 1, 65535, 6379, "Redis server port"),
	S("redis.prefix", redis_prefix, "vigil", C_ID,
	  "prefix of every key vigil writes"),
	U("redis.flows_maxlen", redis_flows_maxlen, 1000, 1000000000, 1000000,
	  "approximate cap of the flows stream (XADD MAXLEN ~)"),
	U("redis.retry_ms", redis_retry_ms, 50, 600000, 1000,
	  "time between reconnection attempts"),
	U("redis.connect_timeout_ms", redis_connect_timeout_ms, 10, 60000, 500,
	  "connect timeout"),
	U("redis.command_timeout_ms", redis_command_timeout_ms, 10, 60000, 2000,
	  "timeout of one pipelined round trip"),
	U("redis.pipeline", redis_pipeline, 1, 65536, 512,
	  "commands sent before replies are read"),
	U("decode.geneve_port", geneve_port, 0, 65535, 6081,
	  "UDP destination port decapsulated as Geneve (0: none)"),
	U("decode.decap", decap, 0, 1, 1,
	  "1: decapsulate tunnels and key the inner flow; 0: the outer"),
	U("stats.interval_ms", stats_interval_ms, 100, 3600000, 1000,
	  "how often counters are written to Redis"),
	U("shutdown.drain_timeout_ms", drain_timeout_ms, 100, 600000, 10000,
	  "longest time a stop waits for rings to drain"),
	U("meta.enabled", meta_enabled, 0, 1, 1,
	  "1: read workload identities from <prefix>:meta:* and follow "
	  "<prefix>:meta:updates"),
	U("meta.max_ips", meta_max_ips, 1, 16777216, 1048576,
	  "addresses with an identity the appliance keeps"),
	U("meta.max_history", meta_max_history, 1, 4096, 64,
	  "identities kept per address (the newest)"),
	U("entity.enabled", entity_enabled, 0, 1, 1,
	  "1: entities, services, edges and the time-bucketed map to Redis, "
	  "entity ids in flow records"),
	U("entity.max_entities", entity_max_entities, 1024, 16777216, 65536,
	  "entities held between two publishes"),
	U("entity.max_services", entity_max_services, 1024, 16777216, 16384,
	  "services held between two publishes"),
	U("entity.max_edges", entity_max_edges, 1024, 16777216, 65536,
	  "edges (and group edges, and map cells of each level) held between "
	  "two publishes"),
	U("entity.bucket_s", entity_bucket_s, 10, 86400, 60,
	  "map time bucket, seconds of packet time"),
	U("entity.retention_s", entity_retention_s, 60, 315360000, 604800,
	  "map buckets, entities, services and edges kept, seconds of packet "
	  "time"),
	U("entity.publish_s", entity_publish_s, 1, 3600, 10,
	  "what changed is merged into Redis this often (packet time)"),
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
vigil_conf_defaults(struct vigil_conf *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct conf_row *r = &settings[i];
		char *field = (char *)c + r->off;

		if (r->type == T_UINT)
			*(uint32_t *)field = (uint32_t)r->def_int;
		else if (r->def_str != NULL)
			snprintf(field, r->size, "%s", r->def_str);
	}
	if (gethostname(c->sensor_id, sizeof(c->sensor_id)) != 0 ||
	    c->sensor_id[0] == '\0')
		snprintf(c->sensor_id, sizeof(c->sensor_id), "vigil");
	c->sensor_id[sizeof(c->sensor_id) - 1] = '\0';
	for (char *p = c->sensor_id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			*p = '_';
	c->n_vxlan_ports = 2;
	c->vxlan_ports[0] = 4789;
	c->vxlan_ports[1] = 8472;
	c->nrx = 1;
	c->rx_lcores[0] = 0;
	c->nworkers = 1;
	c->worker_lcores[0] = 0;
}

static bool
chars_ok(const char *s, enum conf_chars ch)
{
	for (; *s; s++) {
		unsigned char u = (unsigned char)*s;

		switch (ch) {
		case C_ANY:
			if (u < 0x20 || u == 0x7f)
				return false;
			break;
		case C_ID:
			if (!isalnum(u) && u != '-' && u != '_' && u != '.' &&
			    u != ':')
				return false;
			break;
		case C_HOST:
			if (!isalnum(u) && u != '-' && u != '.' && u != ':' &&
			    u != '_')
				return false;
			break;
		}
	}
	return true;
}

/* A value fit for a one-line message: control and non-ASCII bytes as
 * \xNN, at most about 60 characters. */
static void
quote_val(const char *v, char *out, size_t len)
{
	size_t n = 0;

	for (; *v && n + 8 < len; v++) {
		unsigned char u = (unsigned char)*v;

		if (n >= 60) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (u < 0x20 || u >= 0x7f || u == '"' || u == '\\')
			n += (size_t)snprintf(out + n, len - n, "\\x%02x", u);
		else
			out[n++] = (char)u;
	}
	out[n] = '\0';
}

static const char *
chars_desc(enum conf_chars ch)
{
	switch (ch) {
	case C_ID:
		return "letters, digits, '-', '_', '.', ':'";
	case C_HOST:
		return "a host name or IP address";
	default:
		return "printable characters";
	}
}

static int
get_uint(const config_setting_t *s, const char *file, const char *path,
	 int64_t min, int64_t max, uint32_t *out, char *err, size_t errlen)
{
	int t = config_setting_type(s);
	long long v;

	if (t == CONFIG_TYPE_BOOL && min == 0 && max == 1) {
		*out = (uint32_t)config_setting_get_bool(s);
		return 0;
	}
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		set_err(err, errlen, "%s:%d: %s must be an integer", file,
			config_setting_source_line(s), path);
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		set_err(err, errlen,
			"%s:%d: %s = %lld is out of range %" PRId64 "..%" PRId64,
			file, config_setting_source_line(s), path, v, min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
load_row(const struct conf_row *r, const config_setting_t *s,
	 struct vigil_conf *c, const char *file, char *err, size_t errlen)
{
	char *field = (char *)c + r->off;

	if (r->type == T_UINT)
		return get_uint(s, file, r->path, r->min, r->max,
				(uint32_t *)field, err, errlen);

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		set_err(err, errlen, "%s:%d: %s must be a string", file,
			config_setting_source_line(s), r->path);
		return -1;
	}
	const char *v = config_setting_get_string(s);
	size_t len = strlen(v);

	if (len == 0 || len >= r->size) {
		set_err(err, errlen,
			"%s:%d: %s must be 1 to %zu characters long (got %zu)",
			file, config_setting_source_line(s), r->path,
			r->size - 1, len);
		return -1;
	}
	if (!chars_ok(v, r->chars)) {
		char shown[96];

		quote_val(v, shown, sizeof(shown));
		set_err(err, errlen, "%s:%d: %s = \"%s\": allowed are %s", file,
			config_setting_source_line(s), r->path, shown,
			chars_desc(r->chars));
		return -1;
	}
	memcpy(field, v, len + 1);
	return 0;
}

static int
load_lcore_list(const config_setting_t *s, const char *file,
		const char *path, uint32_t *list, uint32_t *n, char *err,
		size_t errlen)
{
	int line = config_setting_source_line(s);
	int len;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		set_err(err, errlen,
			"%s:%d: %s must be an array of lcore ids, e.g. [ 1 ]",
			file, line, path);
		return -1;
	}
	len = config_setting_length(s);
	if (len < 1 || len > VIGIL_MAX_STAGE_LCORES) {
		set_err(err, errlen, "%s:%d: %s must list 1 to %d lcores", file,
			line, path, VIGIL_MAX_STAGE_LCORES);
		return -1;
	}
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		uint32_t id;

		if (get_uint(e, file, path, 0, VIGIL_MAX_LCORE_ID, &id, err,
			     errlen) != 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (list[j] == id) {
				set_err(err, errlen,
					"%s:%d: %s lists lcore %u twice", file,
					line, path, id);
				return -1;
			}
		list[i] = id;
	}
	*n = (uint32_t)len;
	return 0;
}

static int
load_lcores(const config_setting_t *g, struct vigil_conf *c, const char *file,
	    char *err, size_t errlen)
{
	const config_setting_t *s;

	if (!config_setting_is_group(g)) {
		set_err(err, errlen,
			"%s:%d: lcores must be a group: lcores = { rx = [ 1 ]; "
			"workers = [ 1 ]; };",
			file, config_setting_source_line(g));
		return -1;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);

		if (strcmp(name, "rx") == 0) {
			if (load_lcore_list(s, file, "lcores.rx", c->rx_lcores,
					    &c->nrx, err, errlen) != 0)
				return -1;
		} else if (strcmp(name, "workers") == 0) {
			if (load_lcore_list(s, file, "lcores.workers",
					    c->worker_lcores, &c->nworkers, err,
					    errlen) != 0)
				return -1;
		} else {
			set_err(err, errlen,
				"%s:%d: unknown setting 'lcores.%s' (known: rx, "
				"workers)",
				file, config_setting_source_line(s), name);
			return -1;
		}
	}
	return 0;
}

static int
load_port(const config_setting_t *g, int idx, struct vigil_port_conf *p,
	  const char *file, char *err, size_t errlen)
{
	char path[64];
	bool have_device = false;

	p->queues = 1;
	p->rx_desc = 1024;
	if (!config_setting_is_group(g)) {
		set_err(err, errlen,
			"%s:%d: ports[%d] must be a group: { device = \"...\"; }",
			file, config_setting_source_line(g), idx);
		return -1;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);

		snprintf(path, sizeof(path), "ports[%d].%s", idx, name);
		if (strcmp(name, "device") == 0) {
			const char *v;

			if (config_setting_type(s) != CONFIG_TYPE_STRING) {
				set_err(err, errlen,
					"%s:%d: %s must be a string", file,
					config_setting_source_line(s), path);
				return -1;
			}
			v = config_setting_get_string(s);
			if (v[0] == '\0' || strlen(v) >= sizeof(p->device) ||
			    !chars_ok(v, C_ANY) || strchr(v, ' ') != NULL) {
				set_err(err, errlen,
					"%s:%d: %s must be a PCI address or a "
					"vdev spec (no spaces, < %zu chars)",
					file, config_setting_source_line(s),
					path, sizeof(p->device));
				return -1;
			}
			snprintf(p->device, sizeof(p->device), "%s", v);
			have_device = true;
		} else if (strcmp(name, "queues") == 0) {
			if (get_uint(s, file, path, 1, VIGIL_MAX_QUEUES,
				     &p->queues, err, errlen) != 0)
				return -1;
		} else if (strcmp(name, "rx_desc") == 0) {
			if (get_uint(s, file, path, 32, 32768, &p->rx_desc,
				     err, errlen) != 0)
				return -1;
		} else {
			set_err(err, errlen,
				"%s:%d: unknown setting '%s' (known: device, "
				"queues, rx_desc)",
				file, config_setting_source_line(s), path);
			return -1;
		}
	}
	if (!have_device) {
		set_err(err, errlen, "%s:%d: ports[%d] has no device", file,
			config_setting_source_line(g), idx);
		return -1;
	}
	return 0;
}

static int
load_ports(const config_setting_t *l, struct vigil_conf *c, const char *file,
	   char *err, size_t errlen)
{
	int n;

	if (!config_setting_is_list(l)) {
		set_err(err, errlen,
			"%s:%d: ports must be a list: ports = ( { device = "
			"\"...\"; } );",
			file, config_setting_source_line(l));
		return -1;
	}
	n = config_setting_length(l);
	if (n > VIGIL_MAX_PORTS) {
		set_err(err, errlen, "%s:%d: at most %d ports", file,
			config_setting_source_line(l), VIGIL_MAX_PORTS);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (load_port(config_setting_get_elem(l, i), i, &c->ports[i],
			      file, err, errlen) != 0)
			return -1;
	c->nports = (uint32_t)n;
	return 0;
}

static int
load_vxlan_ports(const config_setting_t *s, struct vigil_conf *c,
		 const char *file, char *err, size_t errlen)
{
	int line = config_setting_source_line(s), len;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		set_err(err, errlen,
			"%s:%d: decode.vxlan_ports must be an array of UDP "
			"ports, e.g. [ 4789, 8472 ]",
			file, line);
		return -1;
	}
	len = config_setting_length(s);
	if (len > VIGIL_CONF_MAX_VXLAN_PORTS) {
		set_err(err, errlen,
			"%s:%d: decode.vxlan_ports lists %d ports, at most %d",
			file, line, len, VIGIL_CONF_MAX_VXLAN_PORTS);
		return -1;
	}
	for (int i = 0; i < len; i++) {
		uint32_t port;

		if (get_uint(config_setting_get_elem(s, i), file,
			     "decode.vxlan_ports", 1, 65535, &port, err,
			     errlen) != 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (c->vxlan_ports[j] == port) {
				set_err(err, errlen,
					"%s:%d: decode.vxlan_ports lists port "
					"%u twice",
					file, line, port);
				return -1;
			}
		c->vxlan_ports[i] = port;
	}
	c->n_vxlan_ports = (uint32_t)len;
	return 0;
}

static const struct conf_row *
find_row(const char *path)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].path, path) == 0)
			return &settings[i];
	return NULL;
}

/* Is `group` the first component of some row ("flow" for "flow.x")? */
static bool
known_group(const char *group)
{
	size_t n = strlen(group);

	for (size_t i = 0; i < NSETTINGS; i++)
		if (strncmp(settings[i].path, group, n) == 0 &&
		    settings[i].path[n] == '.')
			return true;
	return false;
}

static int
load_tree(config_t *cfg, struct vigil_conf *c, const char *file, char *err,
	  size_t errlen)
{
	const config_setting_t *root = config_root_setting(cfg);
	char path[256];

	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *top = config_setting_get_elem(root, i);
		const char *name = config_setting_name(top);
		int line = config_setting_source_line(top);

		if (strcmp(name, "ports") == 0) {
			if (load_ports(top, c, file, err, errlen) != 0)
				return -1;
			continue;
		}
		if (strcmp(name, "lcores") == 0) {
			if (load_lcores(top, c, file, err, errlen) != 0)
				return -1;
			continue;
		}
		if (!known_group(name)) {
			set_err(err, errlen, "%s:%d: unknown setting '%s'", file,
				line, name);
			return -1;
		}
		if (!config_setting_is_group(top)) {
			set_err(err, errlen,
				"%s:%d: '%s' must be a group: %s = { ... };",
				file, line, name, name);
			return -1;
		}
		for (int j = 0; j < config_setting_length(top); j++) {
			const config_setting_t *s =
				config_setting_get_elem(top, j);
			const struct conf_row *r;

			snprintf(path, sizeof(path), "%s.%s", name,
				 config_setting_name(s));
			if (strcmp(path, "decode.vxlan_ports") == 0) {
				if (load_vxlan_ports(s, c, file, err, errlen) !=
				    0)
					return -1;
				continue;
			}
			r = find_row(path);
			if (r == NULL) {
				set_err(err, errlen,
					"%s:%d: unknown setting '%s'", file,
					config_setting_source_line(s), path);
				return -1;
			}
			if (load_row(r, s, c, file, err, errlen) != 0)
				return -1;
		}
	}
	return 0;
}

static int
load_common(config_t *cfg, int rc, struct vigil_conf *c, const char *name,
	    char *err, size_t errlen)
{
	if (rc != CONFIG_TRUE) {
		if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
			set_err(err, errlen, "%s: cannot read: %s", name,
				strerror(errno ? errno : EIO));
		else
			set_err(err, errlen, "%s:%d: syntax error: %s", name,
				config_error_line(cfg), config_error_text(cfg));
		return -1;
	}
	if (load_tree(cfg, c, name, err, errlen) != 0)
		return -1;
	snprintf(c->source, sizeof(c->source), "%s", name);
	return 0;
}

/* libconfig would follow "@include" itself, and its scanner exits the
 * process when an included path cannot be read (a directory): refuse the
 * directive, naming its line. Returns 0 or -1 + err. */
static int
refuse_includes(const char *text, const char *name, char *err, size_t errlen)
{
	int line = 1;

	for (const char *p = text; *p; line++) {
		const char *q = p + strspn(p, " \t");

		if (strncmp(q, "@include", 8) == 0) {
			set_err(err, errlen,
				"%s:%d: @include is not supported: put every "
				"setting in this file",
				name, line);
			return -1;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	return 0;
}

#define CONF_MAX_BYTES (1u << 20)

int
vigil_conf_load(struct vigil_conf *c, const char *path, char *err,
		size_t errlen)
{
	struct stat st = { 0 };
	char *text;
	size_t got;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (f == NULL) {
		set_err(err, errlen, "%s: cannot open config file: %s", path,
			strerror(errno));
		return -1;
	}
	/* libconfig's scanner exits the process on a read error (a
	 * directory, say): only regular files, read here. */
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: cannot read config file: %s", path,
			S_ISDIR(st.st_mode) ? "is a directory"
					    : "not a regular file");
		fclose(f);
		return -1;
	}
	if ((uint64_t)st.st_size > CONF_MAX_BYTES) {
		set_err(err, errlen,
			"%s: config file is %lld bytes, more than %u",
			path, (long long)st.st_size, CONF_MAX_BYTES);
		fclose(f);
		return -1;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		fclose(f);
		set_err(err, errlen, "%s: out of memory", path);
		return -1;
	}
	got = fread(text, 1, (size_t)st.st_size, f);
	text[got] = '\0';
	if (ferror(f)) {
		set_err(err, errlen, "%s: cannot read config file: %s", path,
			strerror(errno));
		fclose(f);
		free(text);
		return -1;
	}
	fclose(f);
	rc = vigil_conf_load_string(c, text, path, err, errlen);
	free(text);
	return rc;
}

int
vigil_conf_load_string(struct vigil_conf *c, const char *text,
		       const char *name, char *err, size_t errlen)
{
	config_t cfg;
	int rc;

	if (refuse_includes(text, name, err, errlen) != 0)
		return -1;
	config_init(&cfg);
	rc = config_read_string(&cfg, text);
	rc = load_common(&cfg, rc, c, name, err, errlen);
	config_destroy(&cfg);
	return rc;
}

static bool
is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

int
vigil_conf_check(const struct vigil_conf *c, char *err, size_t errlen)
{
	const char *src = c->source[0] ? c->source : "(defaults)";
	uint64_t need, lcores;
	uint32_t nq = 0;

	if (!is_pow2(c->worker_ring_size)) {
		set_err(err, errlen,
			"%s: dispatch.worker_ring_size = %u must be a power of "
			"two",
			src, c->worker_ring_size);
		return -1;
	}
	if (!is_pow2(c->event_ring_size)) {
		set_err(err, errlen,
			"%s: flow.event_ring_size = %u must be a power of two",
			src, c->event_ring_size);
		return -1;
	}
	if (!is_pow2(c->l7_ring_size)) {
		set_err(err, errlen,
			"%s: l7.ring_size = %u must be a power of two", src,
			c->l7_ring_size);
		return -1;
	}
	if (c->burst >= c->worker_ring_size) {
		set_err(err, errlen,
			"%s: dispatch.burst = %u must be smaller than "
			"dispatch.worker_ring_size = %u",
			src, c->burst, c->worker_ring_size);
		return -1;
	}
	if (c->burst + c->expiry_step >= c->event_ring_size) {
		set_err(err, errlen,
			"%s: flow.event_ring_size = %u must exceed "
			"dispatch.burst + flow.expiry_step = %u",
			src, c->event_ring_size, c->burst + c->expiry_step);
		return -1;
	}
	if (strcmp(c->decode_on, "auto") != 0 &&
	    strcmp(c->decode_on, "rx") != 0 &&
	    strcmp(c->decode_on, "worker") != 0) {
		set_err(err, errlen,
			"%s: dispatch.decode_on = \"%s\": use \"auto\", \"rx\" or "
			"\"worker\"",
			src, c->decode_on);
		return -1;
	}
	if (strcmp(c->decode_on, "worker") == 0 && c->nworkers != 1) {
		set_err(err, errlen,
			"%s: dispatch.decode_on = \"worker\" needs exactly one "
			"worker (lcores.workers lists %u): with more, the RX "
			"lcore decodes to choose the worker",
			src, c->nworkers);
		return -1;
	}
	if (c->entity_retention_s < c->entity_bucket_s) {
		set_err(err, errlen,
			"%s: entity.retention_s = %u must be at least "
			"entity.bucket_s = %u",
			src, c->entity_retention_s, c->entity_bucket_s);
		return -1;
	}
	for (uint32_t i = 0; i < c->n_vxlan_ports; i++)
		if (c->geneve_port != 0 && c->vxlan_ports[i] == c->geneve_port) {
			set_err(err, errlen,
				"%s: decode.geneve_port = %u is also in "
				"decode.vxlan_ports",
				src, c->geneve_port);
			return -1;
		}
	for (uint32_t i = 0; i < c->nports; i++)
		nq += c->ports[i].queues;
	if (nq > 0 && nq < c->nrx) {
		set_err(err, errlen,
			"%s: lcores.rx lists %u lcores but the ports have only "
			"%u RX queues in all: each RX lcore needs a queue",
			src, c->nrx, nq);
		return -1;
	}
	/* Every mbuf that can be parked somewhere at once, plus slack. */
	lcores = (uint64_t)c->nrx + c->nworkers;
	/* Each RX-worker pair has a ring each way (packets, and packets
	 * handed back to be freed). */
	need = 2ull * c->nrx * c->nworkers * c->worker_ring_size;
	for (uint32_t i = 0; i < c->nports; i++)
		need += (uint64_t)c->ports[i].queues * c->ports[i].rx_desc;
	need += lcores * (c->mbuf_cache + 2ull * c->burst * c->nworkers);
	if (need > c->mbufs) {
		set_err(err, errlen,
			"%s: mempool.mbufs = %u is too small for this layout: "
			"the rings, RX descriptors and caches can hold %" PRIu64
			" mbufs at once; raise mempool.mbufs or lower "
			"dispatch.worker_ring_size",
			src, c->mbufs, need);
		return -1;
	}
	return 0;
}

int
vigil_conf_set_redis(struct vigil_conf *c, const char *hostport, char *err,
		     size_t errlen)
{
	const char *colon, *host = hostport;
	size_t hlen;
	char *end;
	unsigned long port;

	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');

		if (close == NULL || close[1] != ':') {
			set_err(err, errlen,
				"--redis %s: expected HOST:PORT or [IPV6]:PORT",
				hostport);
			return -1;
		}
		host = hostport + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (colon == NULL || strchr(hostport, ':') != colon) {
			set_err(err, errlen,
				"--redis %s: expected HOST:PORT or [IPV6]:PORT",
				hostport);
			return -1;
		}
		hlen = (size_t)(colon - hostport);
	}
	for (const char *d = colon + 1; *d; d++)
		if (*d < '0' || *d > '9') {
			set_err(err, errlen, "--redis %s: port must be 1..65535",
				hostport);
			return -1;
		}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port == 0 ||
	    port > 65535) {
		set_err(err, errlen, "--redis %s: port must be 1..65535",
			hostport);
		return -1;
	}
	if (hlen == 0 || hlen >= sizeof(c->redis_host)) {
		set_err(err, errlen, "--redis %s: bad host", hostport);
		return -1;
	}
	char h[sizeof(c->redis_host)];

	memcpy(h, host, hlen);
	h[hlen] = '\0';
	if (!chars_ok(h, C_HOST)) {
		set_err(err, errlen, "--redis %s: bad host '%s'", hostport, h);
		return -1;
	}
	memcpy(c->redis_host, h, hlen + 1);
	c->redis_port = (uint32_t)port;
	return 0;
}

uint64_t
vigil_conf_idle_us(const struct vigil_conf *c, uint8_t ipproto)
{
	uint32_t s;

	switch (ipproto) {
	case 6:
		s = c->tcp_idle_s;
		break;
	case 17:
		s = c->udp_idle_s;
		break;
	case 1:
	case 58:
		s = c->icmp_idle_s;
		break;
	default:
		s = c->other_idle_s;
		break;
	}
	return (uint64_t)s * 1000000u;
}

void
vigil_conf_print(const struct vigil_conf *c, FILE *out)
{
	fprintf(out, "# source: %s\n", c->source[0] ? c->source : "(defaults)");
	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct conf_row *r = &settings[i];
		const char *field = (const char *)c + r->off;

		if (r->type == T_UINT)
			fprintf(out, "%-28s %-12u # %s\n", r->path,
				*(const uint32_t *)field, r->help);
		else
			fprintf(out, "%-28s %-12s # %s\n", r->path, field,
				r->help);
	}
	fprintf(out, "lcores.rx                   [");
	for (uint32_t i = 0; i < c->nrx; i++)
		fprintf(out, "%s%u", i ? ", " : " ", c->rx_lcores[i]);
	fprintf(out, " ]\nlcores.workers              [");
	for (uint32_t i = 0; i < c->nworkers; i++)
		fprintf(out, "%s%u", i ? ", " : " ", c->worker_lcores[i]);
	fprintf(out, " ]\ndecode.vxlan_ports          [");
	for (uint32_t i = 0; i < c->n_vxlan_ports; i++)
		fprintf(out, "%s%u", i ? ", " : " ", c->vxlan_ports[i]);
	fprintf(out, " ]\n");
	for (uint32_t i = 0; i < c->nports; i++)
		fprintf(out, "ports[%u]                    %s queues=%u rx_desc=%u\n",
			i, c->ports[i].device, c->ports[i].queues,
			c->ports[i].rx_desc);
}
