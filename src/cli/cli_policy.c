/* SPDX-License-Identifier: Apache-2.0 */
/* brig policy check | get | list */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "common/parse.h"
#include "common/paths.h"
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

static const char set_usage[] =
    "brig policy set NAME --policy F [--wait] [--timeout S]";
static const char set_help[] =
    "Usage: brig policy set NAME --policy F [--wait] [--timeout S]\n\n"
    "Replaces the network policies of a running sandbox, without a\n"
    "restart. The file is stored as a new revision (an identical policy\n"
    "makes none) and pushed to the sandbox's supervisor, which swaps it\n"
    "in whole or refuses it; a refused revision leaves the previous one\n"
    "in force. Open connections the new revision no longer allows are\n"
    "closed. filesystem_policy, landlock and process cannot change.\n\n"
    "  -p, --policy F    the new policy file\n"
    "  -w, --wait        wait until enforced (exit 0), refused (exit 1)\n"
    "                    or timed out (exit 124)\n"
    "  -t, --timeout S   how long to wait, in seconds (default 10)\n";

#define SET_EXIT_TIMEOUT 124
#define SET_DEFAULT_TIMEOUT_S 10

struct set_opts {
	const char *file;
	bool wait;
	uint64_t timeout_s;
};

static int
set_parse(int argc, char **argv, struct set_opts *o)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	o->timeout_s = SET_DEFAULT_TIMEOUT_S;
	while ((c = getopt_long(argc, argv, "p:wt:h", opts, NULL)) != -1) {
		if (c == 'p')
			o->file = optarg;
		else if (c == 'w')
			o->wait = true;
		else if (c == 't' &&
			 parse_duration(optarg, &o->timeout_s) == 0 &&
			 o->timeout_s <= 3600)
			continue;
		else
			return c == 'h'
				   ? cli_help(set_help)
				   : cli_usage_error(set_usage, "bad option");
	}
	if (!o->file || optind + 1 != argc)
		return cli_usage_error(set_usage,
				       "a sandbox name and --policy F are "
				       "required");
	return -1;
}

/* Stores the revision, pushes it, records the outcome. */
static int
set_push(struct cli *cli, const char *name, const struct set_opts *o,
	 const char *text)
{
	_cleanup_free_ char *dir = paths_sandbox_dir(cli->state_dir, name);
	char sha[65], why[512] = "";
	int64_t rev;
	bool created;
	int fd, r;

	policy_sha256_hex(text, strlen(text), sha);
	r = store_revision_add(cli->store, name, text, sha, &rev, &created);
	if (r < 0) {
		log_error("no sandbox named '%s'", name);
		return EXIT_FAIL;
	}
	fd = client_connect(dir);
	if (fd < 0) {
		log_error("sandbox '%s' is not running", name);
		return EXIT_FAIL;
	}
	r = client_policy(fd, rev, text, sha, (int)o->timeout_s * 1000, why,
			  sizeof(why));
	close(fd);
	if (r == -ETIMEDOUT) {
		log_error("revision %lld of sandbox '%s' was not confirmed "
			  "within %llus",
			  (long long)rev, name,
			  (unsigned long long)o->timeout_s);
		return o->wait ? SET_EXIT_TIMEOUT : EXIT_FAIL;
	}
	if (r < 0) {
		store_revision_set_status(cli->store, name, rev,
					  STORE_REV_FAILED, *why ? why : NULL);
		log_error("sandbox '%s' refused revision %lld: %s", name,
			  (long long)rev, *why ? why : strerror(-r));
		return EXIT_FAIL;
	}
	store_revision_set_status(cli->store, name, rev, STORE_REV_LOADED,
				  NULL);
	printf("sandbox '%s': policy revision %lld %s\n", name, (long long)rev,
	       created ? "enforced" : "unchanged, enforced");
	return 0;
}

static int
policy_set(struct cli *cli, int argc, char **argv)
{
	_cleanup_free_ char *text = NULL;
	struct set_opts o = { 0 };
	struct policy *p = NULL;
	int r = set_parse(argc, argv, &o);

	if (r >= 0)
		return r;
	if (cli_load_policy(o.file, &p, &text) < 0)
		return EXIT_FAIL;
	policy_free(p);
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	return set_push(cli, argv[optind], &o, text);
}

static const char list_usage[] = "brig policy list NAME";

static void
format_time(int64_t secs, char *out, size_t len)
{
	time_t t = (time_t)secs;
	struct tm tm;

	strftime(out, len, "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
}

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
	printf("%-4s %-12s %-11s %-20s %-20s %s\n", "REV", "SHA256", "STATUS",
	       "CREATED", "LOADED", "ERROR");
	for (size_t i = 0; i < n; i++) {
		char created[32], loaded[32] = "-";

		format_time(v[i].created_at, created, sizeof(created));
		if (v[i].loaded_at)
			format_time(v[i].loaded_at, loaded, sizeof(loaded));
		printf("%-4lld %.12s %-11s %-20s %-20s %s\n",
		       (long long)v[i].rev, v[i].sha256,
		       store_rev_status_name(v[i].status), created, loaded,
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
		{ "set", policy_set, "replace a running sandbox's policy" },
		{ "get", policy_get, "print a sandbox's policy revision" },
		{ "list", policy_list, "list a sandbox's policy revisions" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "brig policy", verbs, argc, argv);
}
