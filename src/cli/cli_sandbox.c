/* SPDX-License-Identifier: Apache-2.0 */
/* brig sandbox create | connect | exec | list | get | delete */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/lifecycle.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/util.h"
#include "sandbox/limits.h"

#define LIST_JSON_MAX (16 * 1024 * 1024)

static const char create_usage[] =
    "brig sandbox create [--name N] [--keep] [--detach] [--policy F]\n"
    "                           [--workspace DIR] [-- CMD...]";

static const char create_help[] =
    "Usage: brig sandbox create [OPTIONS] [-- CMD...]\n\n"
    "Creates a sandbox and runs CMD in it, or a login shell on a\n"
    "terminal when no CMD is given.\n\n"
    "  -n, --name N         name the sandbox (default: generated)\n"
    "  -k, --keep           keep the sandbox after CMD or the shell exits\n"
    "  -d, --detach         create it, print its name and "
    "return\n" LIFECYCLE_OPTIONS_HELP "  -h, --help           show this help\n";

static int
sandbox_create(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		LIFECYCLE_LONG_OPTIONS,
		{ "name", required_argument, NULL, 'n' },
		{ "keep", no_argument, NULL, 'k' },
		{ "detach", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_opts o = { 0 };
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+n:kdp:w:hC:P:U:", opts, NULL)) !=
	       -1) {
		if ((r = lifecycle_option(&o, c, optarg)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		switch (c) {
		case 'n':
			o.name = optarg;
			break;
		case 'k':
			o.keep = true;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'h':
			return cli_help(create_help);
		default:
			return cli_usage_error(create_usage, "bad option");
		}
	}
	if (optind < argc) {
		o.argv = argv + optind;
		o.argc = argc - optind;
	}
	if (o.detach && o.argv)
		return cli_usage_error(create_usage,
				       "--detach takes no command; use "
				       "'brig sandbox exec' after it");
	return lifecycle_create(cli, &o);
}

/* Parses "[-h] NAME" and returns NAME, or NULL after printing help. */
static const char *
one_name(int argc, char **argv, const char *help, const char *usage, int *ret)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	*ret = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		*ret = c == 'h' ? cli_help(help)
				: cli_usage_error(usage, "bad option");
		return NULL;
	}
	if (optind >= argc) {
		*ret = cli_usage_error(usage, "a sandbox name is required");
		return NULL;
	}
	return argv[optind++];
}

/* Looks a running sandbox up and connects to it: fd, or -1 (logged). */
static int
connect_running(struct cli *cli, const char *name)
{
	struct store_sandbox sb = { 0 };
	_cleanup_free_ char *dir = NULL;
	int r = cli_store(cli), fd = -1;

	if (r == 0)
		r = store_sandbox_get(cli->store, name, &sb);
	if (r == -ENOENT)
		log_error("no sandbox named '%s'", name);
	if (r < 0)
		return -1;
	if (!lifecycle_check_alive(cli, &sb)) {
		log_error("sandbox '%s' is %s: %s", name,
			  store_sandbox_state_name(sb.state),
			  sb.reason ? sb.reason : "not running");
	} else {
		dir = paths_sandbox_dir(cli->state_dir, name);
		fd = client_connect(dir);
		if (fd < 0)
			log_errno(fd, "cannot reach sandbox '%s'", name);
	}
	store_sandbox_clear(&sb);
	return fd < 0 ? -1 : fd;
}

static int
run_in(struct cli *cli, const char *name, char **argv, int argc)
{
	int fd = connect_running(cli, name), code;

	if (fd < 0)
		return EXIT_FAIL;
	code = client_exec(fd, argv, argc);
	close(fd);
	return code < 0 ? EXIT_FAIL : code;
}

static const char exec_usage[] = "brig sandbox exec NAME [--] CMD...";
static const char exec_help[] =
    "Usage: brig sandbox exec NAME [--] CMD...\n\n"
    "Runs CMD in a running sandbox. Standard input, output and error are\n"
    "forwarded (a terminal when brig's input is one); brig exits with\n"
    "CMD's exit code, or 128+N when a signal N killed it.\n";

static int
sandbox_exec(struct cli *cli, int argc, char **argv)
{
	int r;
	const char *name = one_name(argc, argv, exec_help, exec_usage, &r);

	if (!name)
		return r;
	if (optind < argc && streq(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return cli_usage_error(exec_usage, "a command is required");
	return run_in(cli, name, argv + optind, argc - optind);
}

static const char connect_usage[] = "brig sandbox connect NAME";
static const char connect_help[] =
    "Usage: brig sandbox connect NAME\n\n"
    "Starts a login shell in a running sandbox.\n";

static int
sandbox_connect(struct cli *cli, int argc, char **argv)
{
	int r;
	const char *name =
	    one_name(argc, argv, connect_help, connect_usage, &r);

	if (!name)
		return r;
	if (optind < argc)
		return cli_usage_error(connect_usage, "unexpected '%s'",
				       argv[optind]);
	return run_in(cli, name, NULL, 0);
}

static const char delete_usage[] = "brig sandbox delete NAME...";
static const char delete_help[] =
    "Usage: brig sandbox delete NAME...\n\n"
    "Stops each sandbox (every process in it) and removes its state and\n"
    "workspace; a workspace given with --workspace is left in place.\n";

static int
sandbox_delete(struct cli *cli, int argc, char **argv)
{
	int r, failed = 0;
	const char *name = one_name(argc, argv, delete_help, delete_usage, &r);

	if (!name)
		return r;
	for (optind--; optind < argc; optind++)
		if (lifecycle_delete(cli, argv[optind]) < 0)
			failed = 1;
	return failed ? EXIT_FAIL : 0;
}

/* "limits": {"backend": "rlimit", "pids": 1024, "memory": ..., ...} */
static void
limits_json(struct buf *b, const struct store_limits *l)
{
	char cpus[32];

	json_key(b, "limits");
	buf_puts(b, "{");
	json_kv_str(b, "backend", *l->backend ? l->backend : NULL);
	json_kv_int(b, "pids", l->pids);
	json_kv_int(b, "memory", l->memory);
	json_key(b, "cpus");
	if (l->cpus_milli > 0) {
		limits_format_cpus((uint64_t)l->cpus_milli, cpus, sizeof(cpus));
		buf_puts(b, cpus);
	} else {
		buf_puts(b, "null");
	}
	json_kv_int(b, "files", l->files);
	buf_puts(b, "}");
}

static void
print_limits(const struct store_limits *l)
{
	struct sandbox_limits sl = {
		.pids = (uint64_t)l->pids,
		.memory = (uint64_t)l->memory,
		.cpus_milli = (uint64_t)l->cpus_milli,
		.files = (uint64_t)l->files,
	};
	char text[LIMITS_TEXT_MAX];

	if (!*l->backend)
		return;
	limits_describe(&sl, text, sizeof(text));
	printf("limits:     %s (%s)\n", text, l->backend);
}

static void
sandbox_json(struct buf *b, const struct store_sandbox *sb)
{
	buf_puts(b, "{");
	json_kv_str(b, "name", sb->name);
	json_kv_str(b, "state", store_sandbox_state_name(sb->state));
	json_kv_str(b, "reason", sb->reason);
	json_kv_int(b, "created_at", sb->created_at);
	json_kv_int(b, "age_seconds", time(NULL) - sb->created_at);
	json_kv_int(b, "policy_rev", sb->policy_rev);
	json_kv_str(b, "workspace", sb->workspace);
	json_kv_bool(b, "keep", sb->keep);
	json_kv_int(b, "supervisor_pid", sb->supervisor_pid);
	if (*sb->limits.backend)
		limits_json(b, &sb->limits);
	buf_puts(b, "}");
}

static void
format_age(int64_t secs, char *out, size_t len)
{
	if (secs < 120)
		snprintf(out, len, "%llds", (long long)secs);
	else if (secs < 2 * 3600)
		snprintf(out, len, "%lldm", (long long)secs / 60);
	else if (secs < 2 * 86400)
		snprintf(out, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(out, len, "%lldd", (long long)secs / 86400);
}

static void
print_table(struct store_sandbox *v, size_t n)
{
	printf("%-24s %-9s %-6s %-7s %s\n", "NAME", "STATE", "AGE", "POLICY",
	       "REASON");
	for (size_t i = 0; i < n; i++) {
		char age[32], rev[32];

		format_age(time(NULL) - v[i].created_at, age, sizeof(age));
		snprintf(rev, sizeof(rev), "rev %lld",
			 (long long)v[i].policy_rev);
		printf("%-24s %-9s %-6s %-7s %s\n", v[i].name,
		       store_sandbox_state_name(v[i].state), age, rev,
		       v[i].reason ? v[i].reason : "");
	}
}

/* Parses "[-o FORMAT] [-h]"; returns -1 after printing help or an error. */
static int
output_opts(int argc, char **argv, const char *help, const char *usage,
	    enum cli_output *out, int *ret)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	*out = CLI_OUT_TABLE;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == 'o' && cli_parse_output(optarg, out) == 0)
			continue;
		*ret = c == 'h'
			   ? cli_help(help)
			   : cli_usage_error(usage, "bad option or format");
		return -1;
	}
	return 0;
}

static const char list_usage[] = "brig sandbox list [-o json]";
static const char list_help[] =
    "Usage: brig sandbox list [-o table|json]\n\n"
    "Lists sandboxes: name, state, age, policy revision, and why a\n"
    "failed one failed.\n";

static int
sandbox_list(struct cli *cli, int argc, char **argv)
{
	struct store_sandbox *v = NULL;
	enum cli_output out;
	size_t n = 0;
	int r = 0;

	if (output_opts(argc, argv, list_help, list_usage, &out, &r) < 0)
		return r;
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	r = store_sandbox_list(cli->store, &v, &n);
	if (r < 0)
		return log_errno(r, "cannot list sandboxes"), EXIT_FAIL;
	for (size_t i = 0; i < n; i++)
		lifecycle_check_alive(cli, &v[i]);
	if (out == CLI_OUT_JSON) {
		struct buf b = BUF_INIT(LIST_JSON_MAX);

		buf_puts(&b, "[");
		for (size_t i = 0; i < n; i++) {
			json_key(&b, NULL);
			sandbox_json(&b, &v[i]);
		}
		buf_puts(&b, "]");
		printf("%s\n", buf_str(&b));
		buf_free(&b);
	} else {
		print_table(v, n);
	}
	store_sandbox_list_free(v, n);
	return 0;
}

static const char get_usage[] = "brig sandbox get NAME [-o json]";
static const char get_help[] =
    "Usage: brig sandbox get NAME [-o table|json]\n\n"
    "Shows one sandbox.\n";

static int
sandbox_get(struct cli *cli, int argc, char **argv)
{
	struct store_sandbox sb = { 0 };
	struct buf b = BUF_INIT(65536);
	enum cli_output out;
	const char *name;
	int r = 0;

	if (output_opts(argc, argv, get_help, get_usage, &out, &r) < 0)
		return r;
	if (optind + 1 != argc)
		return cli_usage_error(get_usage,
				       "one sandbox name is required");
	name = argv[optind];
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	r = store_sandbox_get(cli->store, name, &sb);
	if (r < 0) {
		log_error("no sandbox named '%s'", name);
		return EXIT_FAIL;
	}
	lifecycle_check_alive(cli, &sb);
	if (out == CLI_OUT_JSON) {
		sandbox_json(&b, &sb);
		printf("%s\n", buf_str(&b));
	} else {
		printf("name:       %s\nstate:      %s\n", sb.name,
		       store_sandbox_state_name(sb.state));
		if (sb.reason)
			printf("reason:     %s\n", sb.reason);
		printf("policy:     rev %lld\nworkspace:  %s\nkeep:       %s\n"
		       "supervisor: %d\n",
		       (long long)sb.policy_rev, sb.workspace,
		       sb.keep ? "yes" : "no", (int)sb.supervisor_pid);
		print_limits(&sb.limits);
	}
	buf_free(&b);
	store_sandbox_clear(&sb);
	return 0;
}

int
cmd_sandbox(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", sandbox_create, "create a sandbox and run in it" },
		{ "connect", sandbox_connect, "start a shell in a sandbox" },
		{ "exec", sandbox_exec, "run a command in a sandbox" },
		{ "list", sandbox_list, "list sandboxes" },
		{ "get", sandbox_get, "show one sandbox" },
		{ "delete", sandbox_delete, "stop and remove sandboxes" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "brig sandbox", verbs, argc, argv);
}
