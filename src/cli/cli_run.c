/* SPDX-License-Identifier: Apache-2.0 */
/* brig run: create, run one command, delete. */
#include <getopt.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "common/log.h"

static const char run_usage[] =
    "brig run [--policy F] [--workspace DIR] [--name N] -- CMD...";
static const char run_help[] =
    "Usage: brig run [OPTIONS] -- CMD...\n\n"
    "Runs CMD in a new sandbox with a throwaway workspace, then removes\n"
    "the sandbox. brig exits with CMD's exit code.\n\n" LIFECYCLE_OPTIONS_HELP
    "  -n, --name N         name the sandbox (default: generated)\n"
    "  -h, --help           show this help\n";

int
cmd_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "workspace", required_argument, NULL, 'w' },
		{ "connect-to", required_argument, NULL, 'C' },
		{ "provider", required_argument, NULL, 'P' },
		{ "upstream-ca", required_argument, NULL, 'U' },
		{ "name", required_argument, NULL, 'n' },
		{ "pids", required_argument, NULL, LIFECYCLE_OPT_PIDS },
		{ "memory", required_argument, NULL, LIFECYCLE_OPT_MEMORY },
		{ "cpus", required_argument, NULL, LIFECYCLE_OPT_CPUS },
		{ "files", required_argument, NULL, LIFECYCLE_OPT_FILES },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_opts o = { .ephemeral = true };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:n:hC:P:U:", opts, NULL)) !=
	       -1) {
		if (c == 'p')
			o.policy_file = optarg;
		else if (c == 'w')
			o.workspace = optarg;
		else if (c == 'n')
			o.name = optarg;
		else if (c == 'C') {
			if (lifecycle_add_connect_to(&o, optarg) < 0)
				return EXIT_USAGE;
		} else if (c == 'P') {
			if (lifecycle_add_provider(&o, optarg) < 0)
				return EXIT_USAGE;
		} else if (c == 'U') {
			o.upstream_ca = optarg;
		} else if (c >= LIFECYCLE_OPT_PIDS &&
			   c <= LIFECYCLE_OPT_FILES) {
			if (lifecycle_set_limit(&o, c, optarg) < 0)
				return EXIT_USAGE;
		} else if (c == 'h')
			return cli_help(run_help);
		else
			return cli_usage_error(run_usage, "bad option");
	}
	if (optind >= argc)
		return cli_usage_error(run_usage, "a command is required");
	o.argv = argv + optind;
	o.argc = argc - optind;
	return lifecycle_create(cli, &o);
}
