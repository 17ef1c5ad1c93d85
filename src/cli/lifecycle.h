/* SPDX-License-Identifier: Apache-2.0 */
/* Creating, running in, and removing sandboxes, for the verbs that do. */
#pragma once

#include <stdbool.h>

#include "cli/cli.h"
#include "proxy/proxy.h"
#include "sandbox/sandbox.h"

struct create_opts {
	const char *name;
	const char *policy_file;
	const char *workspace;
	bool keep;
	bool detach;
	bool ephemeral; /* brig run: not in the store, gone when CMD exits */
	char **argv; /* the first command, or NULL for a login shell */
	int argc;
	struct proxy_connect_to connect_to[PROXY_MAX_CONNECT_TO];
	size_t nconnect_to;
	const char *providers[SANDBOX_MAX_PROVIDERS];
	size_t nproviders;
	const char *upstream_ca; /* --upstream-ca: trusted for upstream TLS */
	struct sandbox_limits limits; /* as given; 0 means the default */
};

/* The resource limits' options, long only, shared by create and run. */
enum {
	LIFECYCLE_OPT_PIDS = 0x100,
	LIFECYCLE_OPT_MEMORY,
	LIFECYCLE_OPT_CPUS,
	LIFECYCLE_OPT_FILES,
};

/* The options sandbox create and run share, for their --help. */
#define LIFECYCLE_OPTIONS_HELP                                                 \
	"  -p, --policy F       the policy file (default: DESIGN's default)\n" \
	"  -w, --workspace DIR  use DIR as /sandbox (hook files read-only)\n"  \
	"      --provider P     give the sandbox provider P's credentials,\n"  \
	"                       as placeholders (repeatable)\n"                \
	"      --upstream-ca F  also trust F's CAs for upstream TLS\n"         \
	"      --connect-to H:P:A:P  dial A:P for H:P (an operator setting:\n" \
	"                       trusted, loopback allowed; repeatable)\n"      \
	"      --pids N         tasks (processes and threads) in the\n"        \
	"                       sandbox (default 1024, or 32 per CPU)\n"       \
	"      --memory SIZE    memory of the whole sandbox, e.g. 512M, 2G\n"  \
	"                       (default half of RAM, at most 8G)\n"           \
	"      --cpus N         CPUs, e.g. 1.5 (default all; a fraction\n"     \
	"                       needs cgroup v2, rlimits round it up)\n"       \
	"      --files N        open files per process (default 4096)\n"

/* Their getopt_long entries (short letters "p:w:C:P:U:"). */
/* clang-format off */
#define LIFECYCLE_LONG_OPTIONS                                          \
	{ "policy", required_argument, NULL, 'p' },                     \
	{ "workspace", required_argument, NULL, 'w' },                  \
	{ "connect-to", required_argument, NULL, 'C' },                 \
	{ "provider", required_argument, NULL, 'P' },                   \
	{ "upstream-ca", required_argument, NULL, 'U' },                \
	{ "pids", required_argument, NULL, LIFECYCLE_OPT_PIDS },        \
	{ "memory", required_argument, NULL, LIFECYCLE_OPT_MEMORY },    \
	{ "cpus", required_argument, NULL, LIFECYCLE_OPT_CPUS },        \
	{ "files", required_argument, NULL, LIFECYCLE_OPT_FILES }
/* clang-format on */

/*
 * Takes one of the shared options (getopt_long's c and optarg): 1 when c
 * was one and is recorded, 0 when c is not one of them, -1 for a bad
 * value (logged).
 */
int lifecycle_option(struct create_opts *o, int c, const char *arg);

/*
 * Creates a sandbox and runs its first command (or a shell) unless
 * detached. Returns the command's exit code, or EXIT_FAIL after logging.
 */
int lifecycle_create(struct cli *cli, const struct create_opts *o);
/* Stops a sandbox's supervisor and removes its state; logs failures. */
int lifecycle_delete(struct cli *cli, const char *name);
/*
 * Whether a running sandbox's supervisor answers; marks it failed in the
 * store, with the reason, when it does not.
 */
bool lifecycle_check_alive(struct cli *cli, struct store_sandbox *sb);
