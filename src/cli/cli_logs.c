/* SPDX-License-Identifier: Apache-2.0 */
/* brig logs: a sandbox's events, for people or as stored. */
#include "cli/cli.h"
#include "common/log.h"

int
cmd_logs(struct cli *cli, int argc, char **argv)
{
	log_error("logs: not implemented yet");
	return EXIT_FAIL;
}
