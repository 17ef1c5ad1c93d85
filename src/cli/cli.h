/* SPDX-License-Identifier: Apache-2.0 */
/* What the CLI's verbs share: the state directory, the store, options. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"
#include "store/store.h"

/* Exit codes of brig's own failures (DESIGN.md section 8). */
#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct cli {
	char *state_dir;
	struct store *store;
};

/* A verb: its name, its entry, and its one-line help. */
struct cli_verb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

/* Dispatches argv[1] among verbs; prints the list for --help. */
int cli_dispatch(struct cli *cli, const char *prog,
		 const struct cli_verb *verbs, int argc, char **argv);
/* Finds (and makes) the state directory once; logs on failure. */
int cli_state_dir(struct cli *cli);
/* Opens the state directory and store once; logs on failure. */
int cli_store(struct cli *cli);
void cli_close(struct cli *cli);
/* Prints usage text to stdout (for --help) and returns 0. */
int cli_help(const char *text);
/* Prints "brig: <msg>\nTry '<usage>'" and returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Reads and parses a policy file (or the default policy when file is
 * NULL). On failure prints "file:line:column: message" and returns -EINVAL.
 */
int cli_load_policy(const char *file, struct policy **ret, char **ret_text);

/* Output format from "-o": table (default), json, yaml. */
enum cli_output { CLI_OUT_TABLE, CLI_OUT_JSON, CLI_OUT_YAML };
int cli_parse_output(const char *arg, enum cli_output *ret);

/* The verbs. */
int cmd_sandbox(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);
int cmd_doctor(struct cli *cli, int argc, char **argv);
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_provider(struct cli *cli, int argc, char **argv);
