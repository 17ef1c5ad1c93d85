/* SPDX-License-Identifier: Apache-2.0 */
/*
 * brig provider create | update | list | get | delete | types
 *
 * A value is never printed, logged or put in an error message: messages
 * name the key ("the value of KEY"). Every buffer that held a value is
 * wiped before it is freed.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/lifecycle.h"
#include "cli/providers.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/paths.h"
#include "common/util.h"

#define PROVIDER_JSON_MAX (16 * 1024 * 1024)
/* One line of keys or hosts in a table. */
#define PROVIDER_LINE_MAX 4096

/* What create and update are asked to write. */
struct edit {
	const char *usage; /* the verb's, for messages */
	const char *name;
	const char *type_arg;
	const struct provider_type *type;
	struct store_credential creds[STORE_PROVIDER_MAX_CREDS];
	size_t n_creds;
	struct store_host hosts[STORE_PROVIDER_MAX_HOSTS];
	size_t n_hosts;
	bool from_existing;
};

/*
 * The name to quote in a message about a credential. A token pasted where
 * a name belongs (--credential "$TOKEN") can itself be a valid variable
 * name, so only the usual upper-case names are quoted.
 */
static const char *
shown(const char *key)
{
	for (const char *p = key; *p; p++) {
		if (!isupper((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_')
			return "(a name not in upper case, not shown in case "
			       "it is a value)";
	}
	return key;
}

static void
edit_clear(struct edit *e)
{
	for (size_t i = 0; i < e->n_creds; i++) {
		explicit_bzero(e->creds[i].value, e->creds[i].len);
		free(e->creds[i].value);
		free(e->creds[i].key);
	}
	for (size_t i = 0; i < e->n_hosts; i++)
		free(e->hosts[i].host);
	e->n_creds = e->n_hosts = 0;
}

static bool
edit_has_key(const struct edit *e, const char *key)
{
	for (size_t i = 0; i < e->n_creds; i++) {
		if (streq(e->creds[i].key, key))
			return true;
	}
	return false;
}

/* Adds key (taken) with a copy of len bytes at src; logs on failure. */
static int
edit_add(struct edit *e, char *key, const char *src, size_t len)
{
	struct store_credential *c;

	if (len == 0 || len > STORE_VALUE_MAX) {
		log_error("the value of %s is %s", shown(key),
			  len ? "too long (the limit is 64 KiB)" : "empty");
		free(key);
		return EXIT_FAIL;
	}
	if (e->n_creds == STORE_PROVIDER_MAX_CREDS) {
		log_error("a provider holds at most %d credentials",
			  STORE_PROVIDER_MAX_CREDS);
		free(key);
		return EXIT_USAGE;
	}
	c = &e->creds[e->n_creds++];
	c->key = key;
	c->len = len;
	c->value = xmalloc(len + 1);
	memcpy(c->value, src, len);
	c->value[len] = '\0';
	return 0;
}

/* Reads KEY's value from brig's own environment. */
static int
edit_add_env(struct edit *e, char *key)
{
	const char *v = getenv(key);

	if (!v) {
		log_error("%s is not set in brig's environment", shown(key));
		free(key);
		return EXIT_FAIL;
	}
	return edit_add(e, key, v, strlen(v));
}

/*
 * A value on the command line is readable by every local user in
 * /proc/PID/cmdline while brig runs and may stay in shell history. It is
 * accepted, as OpenShell accepts it, but wiped from argv at once (which
 * shortens, not closes, that window) and warned about.
 */
static int
edit_add_argv(struct edit *e, char *key, char *value)
{
	size_t len = strlen(value);

	log_warn("the value of %s was given on the command line, where other "
		 "local users can read it (in /proc) while brig runs and the "
		 "shell may keep it in its history; set %s in the environment "
		 "and pass --credential %s instead",
		 key, key, key);
	if (edit_add(e, key, value, len) != 0) {
		explicit_bzero(value, len);
		return EXIT_FAIL;
	}
	explicit_bzero(value, len);
	return 0;
}

static int
opt_credential(struct edit *e, char *arg)
{
	char *eq = strchr(arg, '=');
	char *key = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);

	if (!provider_key_valid(key)) {
		cli_usage_error(e->usage,
				"invalid credential name %s: it becomes an "
				"environment variable ([A-Za-z_][A-Za-z0-9_]*)",
				shown(key));
		free(key);
		return EXIT_USAGE;
	}
	if (edit_has_key(e, key)) {
		cli_usage_error(e->usage, "credential %s given twice",
				shown(key));
		free(key);
		return EXIT_USAGE;
	}
	return eq ? edit_add_argv(e, key, eq + 1) : edit_add_env(e, key);
}

static int
opt_host(struct edit *e, char *arg)
{
	if (e->n_hosts == STORE_PROVIDER_MAX_HOSTS)
		return cli_usage_error(e->usage,
				       "a provider has at most %d hosts",
				       STORE_PROVIDER_MAX_HOSTS);
	if (provider_parse_host(arg, &e->hosts[e->n_hosts]) < 0)
		return cli_usage_error(e->usage, "invalid host '%s'", arg);
	e->n_hosts++;
	return 0;
}

static int
opt_name(struct edit *e, char *arg)
{
	e->name = arg;
	return 0;
}

static int
opt_type(struct edit *e, char *arg)
{
	e->type_arg = arg;
	return 0;
}

static int
opt_from_existing(struct edit *e, char *arg)
{
	e->from_existing = true;
	return 0;
}

/* Options of create and update, and what each does. */
static const struct option edit_longopts[] = {
	{ "name", required_argument, NULL, 'n' },
	{ "type", required_argument, NULL, 't' },
	{ "credential", required_argument, NULL, 'c' },
	{ "host", required_argument, NULL, 'H' },
	{ "from-existing", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	int c;
	int (*fn)(struct edit *e, char *arg);
} edit_handlers[] = {
	{ 'n', opt_name }, { 't', opt_type },          { 'c', opt_credential },
	{ 'H', opt_host }, { 'f', opt_from_existing },
};

/*
 * Parses argv with the options in shortopts; -1 when the verb goes on,
 * else the exit code (0 after --help).
 */
static int
edit_parse(struct edit *e, int argc, char **argv, const char *shortopts,
	   const char *help, const char *usage)
{
	int c;

	/*
	 * getopt's own message would quote a mistyped option whole, and
	 * "--credentail=KEY=VALUE" holds a value.
	 */
	opterr = 0;
	optind = 1;
	e->usage = usage;
	while ((c = getopt_long(argc, argv, shortopts, edit_longopts, NULL)) !=
	       -1) {
		size_t i = 0;

		if (c == 'h')
			return cli_help(help);
		while (i < ARRAY_SIZE(edit_handlers) && edit_handlers[i].c != c)
			i++;
		if (i == ARRAY_SIZE(edit_handlers))
			return cli_usage_error(usage, "unknown option, or an "
						      "option without its "
						      "argument");
		c = edit_handlers[i].fn(e, optarg);
		if (c != 0)
			return c;
	}
	return -1;
}

/* Takes each default key of the type that brig's environment has. */
static int
edit_from_existing(struct edit *e, const struct provider_type *t)
{
	size_t found = 0;

	if (!t->keys[0]) {
		log_error("type %s has no usual keys for --from-existing to "
			  "take; give --credential KEY",
			  t->name);
		return EXIT_USAGE;
	}
	for (const char *const *k = t->keys; *k; k++) {
		if (edit_has_key(e, *k))
			continue;
		if (!getenv(*k)) {
			log_info("%s is not set in brig's environment, "
				 "skipping",
				 *k);
			continue;
		}
		if (edit_add_env(e, xstrdup(*k)) != 0)
			return EXIT_FAIL;
		found++;
	}
	if (found == 0 && e->n_creds == 0) {
		log_error("--from-existing found none of type %s's keys in "
			  "brig's environment",
			  t->name);
		return EXIT_FAIL;
	}
	return 0;
}

static void
edit_default_hosts(struct edit *e, const struct provider_type *t)
{
	for (size_t i = 0; i < PROVIDER_TYPE_MAX && t->hosts[i].host; i++) {
		e->hosts[e->n_hosts++] = (struct store_host){
			.host = xstrdup(t->hosts[i].host),
			.port = t->hosts[i].port,
		};
	}
}

static void
warn_unbound(const char *name)
{
	log_warn("provider '%s' names no host: its credentials will be "
		 "resolved toward any endpoint the sandbox's policy allows "
		 "for the calling binary; --host HOST[:PORT] binds them",
		 name);
}

/*
 * A process that holds values should not leave them in a core dump, nor
 * let a debugger of the same user read them: this does both for brig
 * from here on.
 */
static void
protect_values(void)
{
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Joins names (or hosts) with ", " into out, cut at len. */
static void
join_keys(const char *const *keys, size_t n, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? ", " : "", keys[i]);
}

static void
join_hosts(const struct store_host *h, size_t n, const char *none, char *out,
	   size_t len)
{
	size_t used = 0;

	snprintf(out, len, "%s", n ? "" : none);
	for (size_t i = 0; i < n && used < len; i++) {
		char one[STORE_HOST_MAX + 16];

		provider_format_host(&h[i], one, sizeof(one));
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? ", " : "", one);
	}
}

static struct store_provider_edit
edit_view(const struct edit *e)
{
	return (struct store_provider_edit){
		.creds = e->creds,
		.n_creds = e->n_creds,
		.hosts = e->hosts,
		.n_hosts = e->n_hosts,
	};
}

static const char create_usage[] =
    "brig provider create --name N --type T --credential KEY[=VALUE]...\n"
    "                            [--host HOST[:PORT]]... [--from-existing]";
static const char create_help[] =
    "Usage: brig provider create --name N --type T [OPTIONS]\n\n"
    "Stores credentials that sandboxes created with --provider N use\n"
    "without seeing them: inside, each KEY holds a placeholder, which the\n"
    "proxy replaces with the value on the way out.\n\n"
    "  -n, --name N               the provider's name\n"
    "  -t, --type T               generic, or a known type (brig provider\n"
    "                             types), which names its usual keys\n"
    "                             and hosts\n"
    "  -c, --credential KEY       take KEY's value from brig's environment\n"
    "  -c, --credential KEY=VALUE the value itself (visible to other local\n"
    "                             users while brig runs: prefer KEY)\n"
    "  -H, --host HOST[:PORT]     send the credentials only to HOST (any\n"
    "                             port when none is given); replaces a\n"
    "                             known type's hosts\n"
    "  -f, --from-existing        take each of the type's keys that is set\n"
    "                             in brig's environment\n"
    "  -h, --help                 show this help\n\n"
    "A generic provider with no --host has its credentials resolved toward\n"
    "any endpoint the sandbox's policy allows for the calling binary.\n";

/* Checks create's options and fills in the type's defaults. */
static int
create_check(struct edit *e, int argc)
{
	int r;

	if (optind != argc)
		return cli_usage_error(create_usage, "unexpected arguments");
	if (!e->name || !e->type_arg)
		return cli_usage_error(create_usage,
				       "--name and --type are required");
	if (!paths_valid_name(e->name))
		return cli_usage_error(create_usage,
				       "invalid provider name '%s': 1-63 of "
				       "a-z, 0-9 and '-'",
				       e->name);
	e->type = provider_type_find(e->type_arg);
	if (!e->type)
		return cli_usage_error(create_usage,
				       "unknown provider type '%s' (see 'brig "
				       "provider types')",
				       e->type_arg);
	r = e->from_existing ? edit_from_existing(e, e->type) : 0;
	if (r != 0)
		return r;
	if (e->n_creds == 0)
		return cli_usage_error(create_usage,
				       "a credential is required (--credential "
				       "KEY or --from-existing)");
	if (e->n_hosts == 0)
		edit_default_hosts(e, e->type);
	return 0;
}

/* Says what was written: key names and hosts, never a value. */
static void
print_edit(const struct edit *e, bool created)
{
	char keys[PROVIDER_LINE_MAX], hosts[PROVIDER_LINE_MAX];
	const char *names[STORE_PROVIDER_MAX_CREDS];

	for (size_t i = 0; i < e->n_creds; i++)
		names[i] = e->creds[i].key;
	join_keys(names, e->n_creds, keys, sizeof(keys));
	join_hosts(e->hosts, e->n_hosts, created ? "any allowed endpoint" : "",
		   hosts, sizeof(hosts));
	if (created)
		printf("provider '%s' created: keys %s; hosts %s\n", e->name,
		       keys, hosts);
	else
		printf("provider '%s' updated: set %s; added hosts %s\n",
		       e->name, *keys ? keys : "no key",
		       *hosts ? hosts : "none");
}

static int
create_store(struct cli *cli, struct edit *e)
{
	struct store_provider_edit v = edit_view(e);
	int r;

	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	r = store_provider_create(cli->store, e->name, e->type->name, &v);
	if (r == -EEXIST) {
		log_error("a provider named '%s' exists (brig provider update "
			  "changes it)",
			  e->name);
		return EXIT_FAIL;
	}
	if (r < 0) {
		log_error("cannot create provider '%s': %s", e->name,
			  store_errmsg(cli->store));
		return EXIT_FAIL;
	}
	print_edit(e, true);
	if (e->n_hosts == 0)
		warn_unbound(e->name);
	return 0;
}

static int
provider_create(struct cli *cli, int argc, char **argv)
{
	struct edit e = { 0 };
	int r;

	protect_values();
	r = edit_parse(&e, argc, argv, "n:t:c:H:fh", create_help, create_usage);
	if (r < 0) {
		r = create_check(&e, argc);
		if (r == 0)
			r = create_store(cli, &e);
	}
	edit_clear(&e);
	return r;
}

static const char update_usage[] =
    "brig provider update NAME [--credential KEY[=VALUE]]...\n"
    "                            [--host HOST[:PORT]]... [--from-existing]";
static const char update_help[] =
    "Usage: brig provider update NAME [OPTIONS]\n\n"
    "Replaces the credentials given (adding new keys) and adds hosts, in\n"
    "one step; the provider's other credentials and hosts stay. Sandboxes\n"
    "already running keep the values they started with.\n\n"
    "  -c, --credential KEY       take KEY's value from brig's environment\n"
    "  -c, --credential KEY=VALUE the value itself (visible to other local\n"
    "                             users while brig runs: prefer KEY)\n"
    "  -H, --host HOST[:PORT]     also send the credentials to HOST\n"
    "  -f, --from-existing        take each of the type's keys that is set\n"
    "                             in brig's environment\n"
    "  -h, --help                 show this help\n";

static int
update_store(struct cli *cli, struct edit *e, const struct store_provider *p)
{
	struct store_provider_edit v = edit_view(e);
	int r = store_provider_update(cli->store, e->name, &v);

	if (r < 0) {
		log_error("cannot update provider '%s': %s", e->name,
			  store_errmsg(cli->store));
		return EXIT_FAIL;
	}
	print_edit(e, false);
	if (p->n_hosts == 0 && e->n_hosts == 0)
		warn_unbound(e->name);
	return 0;
}

static int
update_run(struct cli *cli, struct edit *e)
{
	struct store_provider p = { 0 };
	const struct provider_type *t;
	int r;

	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	if (store_provider_get(cli->store, e->name, &p) < 0) {
		log_error("no provider named '%s'", e->name);
		return EXIT_FAIL;
	}
	t = provider_type_find(p.type);
	r = e->from_existing && t ? edit_from_existing(e, t) : 0;
	if (r == 0 && e->n_creds == 0 && e->n_hosts == 0)
		r = cli_usage_error(update_usage,
				    "nothing to change: give --credential, "
				    "--host or --from-existing");
	if (r == 0)
		r = update_store(cli, e, &p);
	store_provider_clear(&p);
	return r;
}

static int
provider_update(struct cli *cli, int argc, char **argv)
{
	struct edit e = { 0 };
	int r;

	protect_values();
	r = edit_parse(&e, argc, argv, "c:H:fh", update_help, update_usage);
	if (r < 0 && optind + 1 != argc)
		r = cli_usage_error(update_usage,
				    "one provider name is required");
	if (r < 0) {
		e.name = argv[optind];
		r = update_run(cli, &e);
	}
	edit_clear(&e);
	return r;
}

static void
provider_json(struct buf *b, const struct store_provider *p)
{
	buf_puts(b, "{");
	json_kv_str(b, "name", p->name);
	json_kv_str(b, "type", p->type);
	json_key(b, "keys");
	buf_puts(b, "[");
	for (size_t i = 0; i < p->n_keys; i++)
		json_kv_str(b, NULL, p->keys[i]);
	buf_puts(b, "]");
	json_key(b, "hosts");
	buf_puts(b, "[");
	for (size_t i = 0; i < p->n_hosts; i++) {
		char one[STORE_HOST_MAX + 16];

		provider_format_host(&p->hosts[i], one, sizeof(one));
		json_kv_str(b, NULL, one);
	}
	buf_puts(b, "]");
	json_kv_int(b, "created_at", p->created_at);
	json_kv_int(b, "updated_at", p->updated_at);
	buf_puts(b, "}");
}

static void
format_time(int64_t secs, char *out, size_t len)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(out, len, "%lld", (long long)secs);
}

/* Parses "[-o FORMAT] [-h]"; -1 when the verb goes on, else exit code. */
static int
output_opts(int argc, char **argv, const char *help, const char *usage,
	    enum cli_output *out)
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
		if (c == 'o' && cli_parse_output(optarg, out) == 0 &&
		    *out != CLI_OUT_YAML)
			continue;
		return c == 'h'
			   ? cli_help(help)
			   : cli_usage_error(usage, "bad option or format");
	}
	return -1;
}

static const char list_usage[] = "brig provider list [-o json]";
static const char list_help[] =
    "Usage: brig provider list [-o table|json]\n\n"
    "Lists providers: name, type, keys, the hosts their credentials may\n"
    "be sent to, and when each was created. Values are never shown.\n";

static void
list_table(const struct store_provider *v, size_t n)
{
	printf("%-20s %-10s %-28s %-32s %s\n", "NAME", "TYPE", "KEYS", "HOSTS",
	       "CREATED");
	for (size_t i = 0; i < n; i++) {
		char keys[PROVIDER_LINE_MAX], hosts[PROVIDER_LINE_MAX];
		char when[32];

		join_keys((const char *const *)v[i].keys, v[i].n_keys, keys,
			  sizeof(keys));
		join_hosts(v[i].hosts, v[i].n_hosts, "any", hosts,
			   sizeof(hosts));
		format_time(v[i].created_at, when, sizeof(when));
		printf("%-20s %-10s %-28s %-32s %s\n", v[i].name, v[i].type,
		       keys, hosts, when);
	}
}

static void
list_json(const struct store_provider *v, size_t n)
{
	struct buf b = BUF_INIT(PROVIDER_JSON_MAX);

	buf_puts(&b, "[");
	for (size_t i = 0; i < n; i++) {
		json_key(&b, NULL);
		provider_json(&b, &v[i]);
	}
	buf_puts(&b, "]");
	printf("%s\n", buf_str(&b));
	buf_free(&b);
}

static int
provider_list(struct cli *cli, int argc, char **argv)
{
	struct store_provider *v = NULL;
	enum cli_output out;
	size_t n = 0;
	int r = output_opts(argc, argv, list_help, list_usage, &out);

	if (r >= 0)
		return r;
	if (optind != argc)
		return cli_usage_error(list_usage, "unexpected '%s'",
				       argv[optind]);
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	r = store_provider_list(cli->store, &v, &n);
	if (r < 0)
		return log_errno(r, "cannot list providers"), EXIT_FAIL;
	if (out == CLI_OUT_JSON)
		list_json(v, n);
	else
		list_table(v, n);
	store_provider_list_free(v, n);
	return 0;
}

static const char get_usage[] = "brig provider get NAME [-o json]";
static const char get_help[] =
    "Usage: brig provider get NAME [-o table|json]\n\n"
    "Shows one provider: its type, keys and hosts. Its values are never\n"
    "shown.\n";

static void
get_table(const struct store_provider *p)
{
	char keys[PROVIDER_LINE_MAX], hosts[PROVIDER_LINE_MAX];
	char created[32], updated[32];

	join_keys((const char *const *)p->keys, p->n_keys, keys, sizeof(keys));
	join_hosts(p->hosts, p->n_hosts,
		   "any endpoint the sandbox's policy allows", hosts,
		   sizeof(hosts));
	format_time(p->created_at, created, sizeof(created));
	format_time(p->updated_at, updated, sizeof(updated));
	printf("name:     %s\ntype:     %s\nkeys:     %s\nhosts:    %s\n"
	       "created:  %s\nupdated:  %s\n",
	       p->name, p->type, keys, hosts, created, updated);
}

static int
provider_get(struct cli *cli, int argc, char **argv)
{
	struct store_provider p = { 0 };
	enum cli_output out;
	int r = output_opts(argc, argv, get_help, get_usage, &out);

	if (r >= 0)
		return r;
	if (optind + 1 != argc)
		return cli_usage_error(get_usage,
				       "one provider name is required");
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	if (store_provider_get(cli->store, argv[optind], &p) < 0) {
		log_error("no provider named '%s'", argv[optind]);
		return EXIT_FAIL;
	}
	if (out == CLI_OUT_JSON) {
		struct buf b = BUF_INIT(PROVIDER_JSON_MAX);

		provider_json(&b, &p);
		printf("%s\n", buf_str(&b));
		buf_free(&b);
	} else {
		get_table(&p);
	}
	store_provider_clear(&p);
	return 0;
}

static const char delete_usage[] = "brig provider delete NAME... [--force]";
static const char delete_help[] =
    "Usage: brig provider delete NAME... [--force]\n\n"
    "Deletes providers and their stored values. A provider that a running\n"
    "sandbox was created with is kept, unless --force; such a sandbox\n"
    "keeps resolving the credentials it holds until it stops.\n\n"
    "  -f, --force  delete even while a running sandbox uses it\n"
    "  -h, --help   show this help\n";

/*
 * A sandbox whose supervisor died still reads "running" in the store;
 * checking each first keeps a dead sandbox from holding a provider.
 */
static void
refresh_sandboxes(struct cli *cli)
{
	struct store_sandbox *v = NULL;
	size_t n = 0;

	if (store_sandbox_list(cli->store, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		lifecycle_check_alive(cli, &v[i]);
	store_sandbox_list_free(v, n);
}

static int
delete_one(struct cli *cli, const char *name, bool force)
{
	int r = store_provider_delete(cli->store, name, force);

	if (r == -ENOENT) {
		log_error("no provider named '%s'", name);
		return -1;
	}
	if (r < 0) {
		log_error("cannot delete provider '%s': %s%s", name,
			  store_errmsg(cli->store),
			  r == -EBUSY && !force ? " (--force deletes it anyway)"
						: "");
		return -1;
	}
	printf("provider '%s' deleted\n", name);
	return 0;
}

static int
provider_delete(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool force = false;
	int c, failed = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return c == 'h' ? cli_help(delete_help)
					: cli_usage_error(delete_usage,
							  "bad option");
	}
	if (optind >= argc)
		return cli_usage_error(delete_usage,
				       "a provider name is required");
	if (cli_store(cli) < 0)
		return EXIT_FAIL;
	refresh_sandboxes(cli);
	for (; optind < argc; optind++)
		failed |= delete_one(cli, argv[optind], force) < 0;
	return failed ? EXIT_FAIL : 0;
}

static const char types_usage[] = "brig provider types [-o json]";
static const char types_help[] =
    "Usage: brig provider types [-o table|json]\n\n"
    "Lists the provider types: the keys --from-existing takes and the\n"
    "hosts their credentials are bound to unless --host says otherwise.\n";

static void
type_lines(const struct provider_type *t, char *keys, char *hosts, size_t len)
{
	struct store_host h[PROVIDER_TYPE_MAX];
	size_t nk = 0, nh = 0;

	while (nk < PROVIDER_TYPE_MAX && t->keys[nk])
		nk++;
	for (; nh < PROVIDER_TYPE_MAX && t->hosts[nh].host; nh++)
		h[nh] = (struct store_host){ (char *)t->hosts[nh].host,
					     t->hosts[nh].port };
	join_keys(t->keys, nk, keys, len);
	join_hosts(h, nh, "any (unless --host)", hosts, len);
}

static void
types_json(const struct provider_type *v, size_t n)
{
	struct buf b = BUF_INIT(PROVIDER_JSON_MAX);

	buf_puts(&b, "[");
	for (size_t i = 0; i < n; i++) {
		char one[STORE_HOST_MAX + 16];

		json_key(&b, NULL);
		buf_puts(&b, "{");
		json_kv_str(&b, "name", v[i].name);
		json_kv_str(&b, "alias", v[i].alias);
		json_kv_str(&b, "summary", v[i].summary);
		json_key(&b, "keys");
		buf_puts(&b, "[");
		for (size_t k = 0; k < PROVIDER_TYPE_MAX && v[i].keys[k]; k++)
			json_kv_str(&b, NULL, v[i].keys[k]);
		buf_puts(&b, "]");
		json_key(&b, "hosts");
		buf_puts(&b, "[");
		for (size_t k = 0; k < PROVIDER_TYPE_MAX && v[i].hosts[k].host;
		     k++) {
			struct store_host h = { (char *)v[i].hosts[k].host,
						v[i].hosts[k].port };

			provider_format_host(&h, one, sizeof(one));
			json_kv_str(&b, NULL, one);
		}
		buf_puts(&b, "]}");
	}
	buf_puts(&b, "]");
	printf("%s\n", buf_str(&b));
	buf_free(&b);
}

static int
provider_types_cmd(struct cli *cli, int argc, char **argv)
{
	enum cli_output out;
	size_t n;
	const struct provider_type *v = provider_types(&n);
	int r = output_opts(argc, argv, types_help, types_usage, &out);

	if (r >= 0)
		return r;
	if (optind != argc)
		return cli_usage_error(types_usage, "unexpected '%s'",
				       argv[optind]);
	if (out == CLI_OUT_JSON) {
		types_json(v, n);
		return 0;
	}
	printf("%-10s %-8s %-30s %s\n", "TYPE", "ALIAS", "KEYS", "HOSTS");
	for (size_t i = 0; i < n; i++) {
		char keys[PROVIDER_LINE_MAX], hosts[PROVIDER_LINE_MAX];

		type_lines(&v[i], keys, hosts, sizeof(keys));
		printf("%-10s %-8s %-30s %s\n", v[i].name,
		       v[i].alias ? v[i].alias : "", keys, hosts);
	}
	return 0;
}

int
cmd_provider(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", provider_create, "store a provider's credentials" },
		{ "update", provider_update, "replace credentials, add hosts" },
		{ "list", provider_list, "list providers" },
		{ "get", provider_get, "show one provider (never a value)" },
		{ "delete", provider_delete, "delete providers" },
		{ "types", provider_types_cmd, "list the provider types" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch(cli, "brig provider", verbs, argc, argv);
}
