/* SPDX-License-Identifier: Apache-2.0 */
/* brig policy check | get | list */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/util.h"

static const char check_usage[] = "brig policy check FILE";
static const char check_help[] =
    "Usage: brig policy check FILE\n\n"
    "Loads FILE as brig would. Prints what is wrong, as\n"
    "FILE:LINE:COLUMN: message, and exits 1; or prints a one-line\n"
    "summary and exits 0.\n";

static int
policy_check(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *text = NULL;
	struct policy *p = NULL;
	char summary[512];

	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h")))
		return cli_help(check_help);
	if (argc != 2)
		return cli_usage_error(check_usage,
				       "one policy file is required");
	if (cli_load_policy(argv[1], &p, &text) < 0)
		return EXIT_FAIL;
	policy_summary(p, summary, sizeof(summary));
	printf("%s: ok: %s\n", argv[1], summary);
	policy_free(p);
	return 0;
}

static const char get_usage[] = "brig policy get NAME [--rev K] [-o yaml|json]";
static const char get_help[] =
    "Usage: brig policy get NAME [--rev K] [-o yaml|json]\n\n"
    "Prints a sandbox's policy revision K (default: the latest) as\n"
    "stored (yaml) or as brig understood it (json).\n";

static int
policy_get(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rev", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_output out = CLI_OUT_YAML;
	struct store_revision rev = { 0 };
	long long k = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:o:h", opts, NULL)) != -1) {
		char *end;

		if (c == 'r' && (k = strtoll(optarg, &end, 10)) > 0 && !*end)
			continue;
		if (c == 'o' && cli_parse_output(optarg, &out) == 0)
			continue;
		return c == 'h' ? cli_help(get_help)
				: cli_usage_error(get_usage, "bad option");
	}
	if (optind + 1 != argc)
		return cli_usage_error(get_usage,
				       "one sandbox name is required");
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	r = store_revision_get(cli->store, argv[optind], k, &rev);
	if (r < 0) {
		log_error("no policy revision %lld for sandbox '%s'", k,
			  argv[optind]);
		return EXIT_FAIL;
	}
	if (out == CLI_OUT_JSON) {
		struct policy *p = NULL;
		struct policy_error err;
		char *json;

		if (policy_parse(rev.text, strlen(rev.text), &p, &err) == 0) {
			json = policy_to_json(p);
			printf("%s\n", json);
			free(json);
			policy_free(p);
		}
	} else {
		fputs(rev.text, stdout);
	}
	store_revision_clear(&rev);
	return 0;
}

static const char list_usage[] = "brig policy list NAME";

static int
policy_list(struct cli *cli, int argc, char **argv)
{
	struct store_revision *v = NULL;
	size_t n = 0;

	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h")))
		return cli_help("Usage: brig policy list NAME\n\n"
				"Lists a sandbox's policy revisions.\n");
	if (argc != 2)
		return cli_usage_error(list_usage,
				       "one sandbox name is required");
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	if (store_revision_list(cli->store, argv[1], &v, &n) < 0 || n == 0) {
		log_error("no sandbox named '%s'", argv[1]);
		return EXIT_FAIL;
	}
	printf("%-4s %-12s %-11s %-20s %s\n", "REV", "SHA256", "STATUS",
	       "CREATED", "ERROR");
	for (size_t i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)v[i].created_at;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime(&t));
		printf("%-4lld %.12s %-11s %-20s %s\n", (long long)v[i].rev,
		       v[i].sha256, store_rev_status_name(v[i].status), when,
		       v[i].error ? v[i].error : "");
	}
	store_revision_list_free(v, n);
	return 0;
}

int
cmd_policy(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "check", policy_check, "check a policy file" },
		{ "get", policy_get, "print a sandbox's policy revision" },
		{ "list", policy_list, "list a sandbox's policy revisions" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "brig policy", verbs, argc, argv);
}
