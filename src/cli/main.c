/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/util.h"

static int
cmd_version(struct cli *cli, int argc, char **argv)
{
	printf("brig %s\n", BRIG_VERSION);
	return 0;
}

static const struct cli_verb verbs[] = {
	{ "sandbox", cmd_sandbox, "create, connect to, run in, list, delete" },
	{ "run", cmd_run, "run one command in a sandbox that is then removed" },
	{ "policy", cmd_policy, "check a policy file" },
	{ "provider", cmd_provider,
	  "store credentials the agent uses without seeing" },
	{ "logs", cmd_logs, "show a sandbox's events" },
	{ "doctor", cmd_doctor, "show what this host supports" },
	{ "version", cmd_version, "print brig's version" },
	{ NULL, NULL, NULL },
};

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int r;

	if (argc > 1 && streq(argv[1], "--version"))
		return cmd_version(&cli, argc, argv);
	r = cli_dispatch(&cli, "brig", verbs, argc, argv);
	cli_close(&cli);
	fflush(stdout);
	return r;
}
