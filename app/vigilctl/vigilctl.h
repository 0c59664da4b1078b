/*
 * vigilctl.h — what the commands of vigilctl share: the options, the Redis
 * connection, and the helpers that print messages and exit (vigilctl.c).
 * meta.c (the `meta` commands, the only ones that write) and entities.c
 * (entities, services, entity) and map.c (map, policy) use them.
 */
#ifndef VIGILCTL_H
#define VIGILCTL_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_HOST 255
#define COMMAND_TIMEOUT_S 5
#define MAX_ARGS 256 /* positional arguments of a command (meta set) */

struct opts {
	const char *redis;      /* HOST:PORT, or NULL */
	const char *redis_from; /* "--redis" or "VIGIL_REDIS" */
	const char *prefix;
	const char *sensor;     /* --sensor, or NULL */
	const char *limit_arg;  /* --limit as given, or NULL */
	long long limit;
	bool json;
	const char *at;         /* map, policy: --at TIME, or NULL */
	const char *window;     /* --window D, or NULL */
	const char *format;     /* map: --format table|json|dot, or NULL */
	const char *by;         /* map: --by service|entity, or NULL */
	const char *service;    /* policy: --service NAME */
	const char *namespace;  /* policy: --namespace NS, or NULL */
	const char *cmd;
	int nargs;              /* arguments after the command (meta, entity) */
	const char *args[MAX_ARGS];
};

struct app {
	struct opts o;
	char host[MAX_HOST + 1];
	int port;
	char addr[MAX_HOST + 16]; /* HOST:PORT as shown in messages */
	redisContext *rc;
};

/* Prints "vigilctl: <message>" and exits with code. */
void fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Prints "vigilctl: <message>", the short usage, and exits 2. */
void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* A terminal-safe, capped copy of untrusted bytes for a message (static
 * buffers, four in rotation, so one message can show several). */
const char *shown(const char *s, size_t n);
const char *shown_str(const char *s);

/* Exits quietly on a closed pipe (vigilctl ... | head), loudly otherwise. */
void check_stdout(void);

/* Sends a command; exits 1 on a lost connection or an error reply. */
redisReply *redis_cmd(struct app *a, int argc, const char **argv);

/* meta.c: checks the arguments (and reads and checks a push document)
 * before Redis is reached; then runs the command. */
void meta_prepare(struct app *a);
int cmd_meta(struct app *a);

/* entities.c: entities, services, entity X (read-only). */
int cmd_entities(struct app *a);
int cmd_services(struct app *a);
int cmd_entity(struct app *a);

/* entities.c, for map.c: the id grammar of lib/entity (README "Redis
 * schema"), a name from the wire, a list of application protocols. */
bool entity_id_ok(const char *s, size_t n);
bool group_ok(const char *s, size_t n);
/* "<client>><node>:<port>/<transport>", nodes entity ids or (group) groups */
bool edge_id_ok(const char *s, size_t n, bool group);
bool wire_ok(const char *s, size_t n);
bool apps_ok(const char *s, size_t n);
/* HGET P:entity:<id> field, validated as entities.c validates that field:
 * 1 and *out (malloc'd), 0 absent, -1 present but invalid. */
int entity_hget(struct app *a, const char *id, const char *field, char **out);

/* map.c: map (read-only) and policy (writes P:policy:<ns>/<service>). */
int cmd_map(struct app *a);
int cmd_policy(struct app *a);

#endif /* VIGILCTL_H */
