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
		LIFECYCLE_LONG_OPTIONS,
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct create_opts o = { .ephemeral = true };
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:n:hC:P:U:", opts, NULL)) !=
	       -1) {
		if ((r = lifecycle_option(&o, c, optarg)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
		} else if (c == 'n') {
			o.name = optarg;
		} else if (c == 'h') {
			return cli_help(run_help);
		} else {
			return cli_usage_error(run_usage, "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(run_usage, "a command is required");
	o.argv = argv + optind;
	o.argc = argc - optind;
	return lifecycle_create(cli, &o);
}
