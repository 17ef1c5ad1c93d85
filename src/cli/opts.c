/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/fdutil.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/util.h"

int
cli_help(const char *text)
{
	fputs(text, stdout);
	return 0;
}

int
cli_usage_error(const char *usage, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	fprintf(stderr, "Usage: %s\nTry 'brig --help'.\n", usage);
	return EXIT_USAGE;
}

int
cli_dispatch(struct cli *cli, const char *prog, const struct cli_verb *verbs,
	     int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;

	if (verb && !streq(verb, "--help") && !streq(verb, "-h")) {
		for (const struct cli_verb *v = verbs; v->name; v++)
			if (streq(v->name, verb))
				return v->run(cli, argc - 1, argv + 1);
		log_error("unknown command '%s %s'", prog, verb);
		fprintf(stderr, "Try '%s --help'.\n", prog);
		return EXIT_USAGE;
	}
	printf("Usage: %s COMMAND [OPTIONS]\n\nCommands:\n", prog);
	for (const struct cli_verb *v = verbs; v->name; v++)
		printf("  %-10s %s\n", v->name, v->summary);
	printf("\nRun '%s COMMAND --help' for a command's options.\n", prog);
	return verb ? 0 : EXIT_USAGE;
}

int
cli_state_dir(struct cli *cli)
{
	int r = cli->state_dir ? 0 : paths_state_dir(&cli->state_dir);

	if (r < 0)
		return log_errno(r, "cannot use the state directory "
				    "(BRIG_STATE_DIR, or the default)");
	return 0;
}

int
cli_store(struct cli *cli)
{
	int r;

	if (cli->store)
		return 0;
	r = cli_state_dir(cli);
	if (r < 0)
		return r;
	r = store_open(cli->state_dir, &cli->store);
	if (r < 0)
		return log_errno(r, "cannot open the store in '%s'",
				 cli->state_dir);
	return 0;
}

void
cli_close(struct cli *cli)
{
	if (cli->store)
		store_close(cli->store);
	free(cli->state_dir);
}

int
cli_load_policy(const char *file, struct policy **ret, char **ret_text)
{
	_cleanup_free_ char *text = NULL;
	struct policy_error err = { 0 };
	char msg[1024];
	size_t len;
	int r;

	if (!file) {
		*ret = policy_default();
		*ret_text = xstrdup(policy_default_text());
		return 0;
	}
	r = read_file_at(AT_FDCWD, file, POLICY_MAX_BYTES, &text, &len);
	if (r == -EFBIG)
		log_error("policy '%s' is larger than %d bytes", file,
			  POLICY_MAX_BYTES);
	else if (r < 0)
		log_errno(r, "cannot read policy '%s'", file);
	if (r < 0)
		return -EINVAL;
	r = policy_parse(text, len, ret, &err);
	if (r < 0) {
		policy_error_format(&err, file, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return -EINVAL;
	}
	*ret_text = TAKE_PTR(text);
	return 0;
}

int
cli_parse_output(const char *arg, enum cli_output *ret)
{
	if (streq(arg, "json"))
		*ret = CLI_OUT_JSON;
	else if (streq(arg, "yaml"))
		*ret = CLI_OUT_YAML;
	else if (streq(arg, "table") || streq(arg, "text"))
		*ret = CLI_OUT_TABLE;
	else
		return -EINVAL;
	return 0;
}
