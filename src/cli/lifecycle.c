/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "common/fdutil.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/paths.h"
#include "common/util.h"
#include "proxy/creds.h"
#include "sandbox/cgroup.h"
#include "sandbox/host.h"
#include "sandbox/proto.h"
#include "sandbox/rootfs.h"
#include "sandbox/supervisor.h"
#include "sandbox/userns.h"

/* The state directory, saved for the supervisor's exit callback. */
static const char *exit_state_dir;

/* In the supervisor, at the sandbox's end: a fresh store connection,
 * since the CLI's was opened before the fork. */
static void
on_supervisor_exit(const struct sandbox_config *cfg, bool remove,
		   const char *reason)
{
	struct store *st;

	if (store_open(exit_state_dir, &st) < 0)
		return;
	if (remove)
		store_sandbox_delete(st, cfg->name);
	else
		store_sandbox_set_state(st, cfg->name, STORE_SANDBOX_FAILED,
					reason ? reason : "stopped");
	store_close(st);
}

static void
on_supervisor_policy(const struct sandbox_config *cfg, int64_t rev, bool loaded,
		     const char *error)
{
	struct store *st;

	if (store_open(exit_state_dir, &st) < 0)
		return;
	store_revision_set_status(st, cfg->name, rev,
				  loaded ? STORE_REV_LOADED : STORE_REV_FAILED,
				  error);
	store_close(st);
}

static char *
generate_name(void)
{
	unsigned char r[3] = { 0 };

	(void)!getrandom(r, sizeof(r), 0);
	return xasprintf("sandbox-%02x%02x%02x", r[0], r[1], r[2]);
}

/*
 * The host uid and gid of the sandbox user. As a user, brig maps to
 * itself; as root, never to 0: to a user's project's owner, or to a uid of
 * brig's own per sandbox.
 */
static int
host_ids(const struct create_opts *o, int64_t id, uid_t *uid, gid_t *gid)
{
	struct stat st;

	if (geteuid() != 0) {
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	if (!o->workspace) {
		*uid = userns_root_host_uid(id);
		*gid = (gid_t)*uid;
		return 0;
	}
	if (stat(o->workspace, &st) < 0)
		return -errno;
	if (st.st_uid == 0) {
		log_error("workspace '%s' is owned by root, and the sandbox "
			  "never runs as root on the host: chown it to an "
			  "unprivileged user, or run brig as that user",
			  o->workspace);
		return -EPERM;
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}

/*
 * The sandbox's state directory and, unless the user gave one, its
 * workspace, owned by the sandbox user on the host. Init opens the
 * workspace before it becomes that user, so the directories on the way
 * stay closed (0700) to it.
 */
static int
make_dirs(struct cli *cli, struct sandbox_config *cfg)
{
	_cleanup_free_ char *sbs = xasprintf("%s/sandboxes", cli->state_dir);
	int r = mkdir_p(sbs, 0700);

	if (r == 0 && mkdir(cfg->dir, 0700) < 0) {
		r = -errno;
		if (r == -EEXIST) {
			log_error("sandbox '%s' already exists", cfg->name);
			return r;
		}
	}
	if (r == 0 && cfg->workspace_owned &&
	    (mkdir(cfg->workspace, 0700) < 0 ||
	     chown(cfg->workspace, cfg->host_uid, cfg->host_gid) < 0))
		r = -errno;
	if (r < 0)
		log_errno(r, "cannot make the state of sandbox '%s'",
			  cfg->name);
	return r;
}

/*
 * The host is probed only when a sandbox could not be built, so that the
 * common path pays nothing for it; the probe then says what to change.
 */
static void
explain_failure(const char *name, const char *why)
{
	struct host_report host;
	char hint[512];

	host_probe(&host);
	if (host_ready(&host, hint, sizeof(hint)) < 0)
		log_error("cannot create sandbox '%s': %s (%s)", name, hint,
			  why);
	else
		log_error("cannot create sandbox '%s': %s", name, why);
}

/* Undoes a create that did not finish: nothing of it may stay behind. */
static void
abandon(struct cli *cli, const struct sandbox_config *cfg)
{
	if (cfg->protect_workspace)
		rootfs_remove_placeholders(cfg->dir, cfg->workspace);
	rm_rf(cfg->dir);
	if (cli->store)
		store_sandbox_delete(cli->store, cfg->name);
}

static int
insert_sandbox(struct cli *cli, struct sandbox_config *cfg,
	       struct store_sandbox *sb, const struct create_opts *o)
{
	char sha[65];
	int r;

	/* An ephemeral sandbox is unique by its directory alone. */
	if (o->ephemeral)
		return host_ids(o, getpid(), &cfg->host_uid, &cfg->host_gid);
	r = cli_store(cli);
	if (r < 0)
		return r;
	policy_sha256_hex(cfg->policy_text, strlen(cfg->policy_text), sha);
	sb->name = (char *)cfg->name;
	sb->keep = cfg->keep;
	sb->workspace = (char *)cfg->workspace;
	sb->workspace_owned = cfg->workspace_owned;
	sb->limits = (struct store_limits){
		.pids = (int64_t)cfg->limits.pids,
		.memory = (int64_t)cfg->limits.memory,
		.cpus_milli = (int64_t)cfg->limits.cpus_milli,
		.files = (int64_t)cfg->limits.files,
	};
	snprintf(sb->limits.backend, sizeof(sb->limits.backend), "%s",
		 limits_backend_name(cfg->limits.backend));
	r = store_sandbox_insert(cli->store, sb, cfg->policy_text, sha);
	if (r == -EEXIST)
		log_error("sandbox '%s' already exists", cfg->name);
	else if (r < 0)
		log_error("cannot record sandbox '%s': %s", cfg->name,
			  store_errmsg(cli->store));
	for (size_t i = 0; r == 0 && i < o->nproviders; i++)
		r = store_sandbox_add_provider(cli->store, cfg->name,
					       o->providers[i]);
	if (r == 0)
		r = host_ids(o, sb->id, &cfg->host_uid, &cfg->host_gid);
	if (r < 0 && r != -EEXIST)
		store_sandbox_delete(cli->store, cfg->name);
	return r;
}

static int
start(struct cli *cli, struct sandbox_config *cfg, pid_t *pid)
{
	char why[512] = "", notes[1024] = "";
	int r = make_dirs(cli, cfg);

	if (r == 0 && cfg->protect_workspace) {
		r = rootfs_prepare_workspace(cfg, why, sizeof(why));
		if (r < 0)
			log_error("cannot create sandbox '%s': %s", cfg->name,
				  why);
	}
	if (r == 0) {
		/*
		 * SQLite keeps per-process lock state that a forked child
		 * must not inherit (seen with 3.40: the supervisor's own
		 * connection spun on the parent's closed descriptors), so
		 * the store is closed across the fork and opened again.
		 */
		bool stored = cli->store != NULL;
		char *files[STORE_NFILES + 1] = { NULL };

		if (stored)
			store_close(cli->store);
		cli->store = NULL;
		exit_state_dir = cli->state_dir;
		if (stored)
			store_files(cli->state_dir, files);
		cfg->store_files = stored ? files : NULL;
		r = supervisor_start(cfg, stored ? on_supervisor_exit : NULL,
				     stored ? on_supervisor_policy : NULL, pid,
				     why, sizeof(why), notes, sizeof(notes));
		cfg->store_files = NULL;
		for (size_t i = 0; files[i]; i++)
			free(files[i]);
		if (stored && cli_store(cli) < 0)
			return -EIO;
		if (r < 0)
			explain_failure(cfg->name, why);
		else if (*notes)
			log_info("note: %s", notes);
	}
	if (r != 0) {
		if (r != -EEXIST)
			abandon(cli, cfg);
		return r;
	}
	if (!cli->store)
		return 0;
	r = store_sandbox_started(cli->store, cfg->name, *pid);
	if (r < 0)
		log_error("cannot record sandbox '%s' as running: %s",
			  cfg->name, store_errmsg(cli->store));
	return 0;
}

static int
resolve_workspace(const struct create_opts *o, struct sandbox_config *cfg,
		  char **ret)
{
	struct stat st;

	if (!o->workspace) {
		*ret = xasprintf("%s/workspace", cfg->dir);
		cfg->workspace_owned = true;
		return 0;
	}
	*ret = realpath(o->workspace, NULL);
	if (!*ret || stat(*ret, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_error("workspace '%s' is not a directory", o->workspace);
		return -ENOTDIR;
	}
	cfg->protect_workspace = true;
	return 0;
}

static int
first_command(struct cli *cli, const struct sandbox_config *cfg,
	      const struct create_opts *o)
{
	_cleanup_close_ int fd = client_connect(cfg->dir);
	int code;

	if (fd < 0) {
		log_errno(fd, "cannot reach sandbox '%s'", cfg->name);
		return EXIT_FAIL;
	}
	code = client_exec(fd, o->argv, o->argc);
	/* A sandbox that is not kept is gone once its supervisor hangs up. */
	if (!cfg->keep)
		client_wait_closed(fd);
	return code < 0 ? EXIT_FAIL : code;
}

static int
lifecycle_add_provider(struct create_opts *o, const char *name)
{
	if (o->nproviders == SANDBOX_MAX_PROVIDERS) {
		log_error("at most %d --provider options",
			  SANDBOX_MAX_PROVIDERS);
		return -E2BIG;
	}
	o->providers[o->nproviders++] = name;
	return 0;
}

static int
load_provider(struct store *st, const char *name, struct creds *c)
{
	struct store_provider p = { 0 };
	struct store_credential *v = NULL;
	struct creds_host hosts[CREDS_HOSTS_MAX];
	size_t n = 0, nh = 0;
	int r = store_provider_get(st, name, &p);

	if (r == 0)
		r = store_provider_get_secrets(st, name, &v, &n);
	for (size_t i = 0; i < p.n_hosts && nh < CREDS_HOSTS_MAX; i++) {
		snprintf(hosts[nh].host, sizeof(hosts[nh].host), "%s",
			 p.hosts[i].host);
		hosts[nh++].port = p.hosts[i].port;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		r = creds_add(c, v[i].key, v[i].value, v[i].len, hosts, nh);
	store_credentials_free(v, n);
	store_provider_clear(&p);
	return r;
}

/*
 * In the supervisor, once init exists: the providers' values, each with
 * a fresh placeholder. They are read from the store here, never before
 * the sandbox's processes exist, so no copy of them is ever inside.
 */
static int
load_creds(const struct sandbox_config *cfg, struct creds **ret)
{
	struct creds *c = xcalloc(1, sizeof(*c));
	struct store *st;
	int r = store_open(exit_state_dir, &st);

	for (size_t i = 0; r == 0 && i < cfg->nproviders; i++)
		r = load_provider(st, cfg->providers[i], c);
	if (r == 0)
		store_close(st);
	if (r < 0) {
		creds_free(c);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* Checks each --provider exists, warns about unbound ones. */
static int
check_providers(struct cli *cli, const struct create_opts *o)
{
	int r = o->nproviders ? cli_store(cli) : 0;

	for (size_t i = 0; r == 0 && i < o->nproviders; i++) {
		struct store_provider p = { 0 };

		r = store_provider_get(cli->store, o->providers[i], &p);
		if (r < 0) {
			log_error("no provider named '%s'", o->providers[i]);
			break;
		}
		if (p.n_hosts == 0)
			log_warn("provider '%s' is bound to no host: its "
				 "credentials will be sent to any endpoint "
				 "the policy allows for the calling binary",
				 o->providers[i]);
		store_provider_clear(&p);
	}
	return r;
}

static int
lifecycle_set_limit(struct create_opts *o, int opt, const char *arg)
{
	struct sandbox_limits *l = &o->limits;
	uint64_t v = 0;
	int r;

	switch (opt) {
	case LIFECYCLE_OPT_PIDS:
		r = parse_u64(arg, LIMITS_PIDS_MIN, LIMITS_PIDS_MAX, &v);
		if (r < 0)
			log_error("invalid --pids '%s': use a number of tasks "
				  "from %d to %d",
				  arg, LIMITS_PIDS_MIN, LIMITS_PIDS_MAX);
		l->pids = v;
		break;
	case LIFECYCLE_OPT_MEMORY:
		r = limits_parse_size(arg, &v);
		if (r == 0 && (v < LIMITS_MEMORY_MIN || v > LIMITS_MEMORY_MAX))
			r = -ERANGE;
		if (r < 0)
			log_error("invalid --memory '%s': use a size such as "
				  "512M or 2G (K, M, G, T), at least 32M",
				  arg);
		l->memory = v;
		l->memory_per_process = true;
		break;
	case LIFECYCLE_OPT_CPUS:
		r = limits_parse_cpus(arg, &v);
		if (r < 0)
			log_error("invalid --cpus '%s': use a number of CPUs "
				  "above 0, such as 2 or 1.5",
				  arg);
		l->cpus_milli = v;
		break;
	default:
		r = parse_u64(arg, LIMITS_FILES_MIN, LIMITS_FILES_MAX, &v);
		if (r < 0)
			log_error("invalid --files '%s': use a number of open "
				  "files from %d to %d",
				  arg, LIMITS_FILES_MIN, LIMITS_FILES_MAX);
		l->files = v;
	}
	return r;
}

/*
 * The limits in force: the options, defaults for the rest, and the
 * backend (cgroup v2 where the caller may use it). Values init could
 * not set are a usage error.
 */
static int
resolve_limits(const struct create_opts *o, struct sandbox_config *cfg)
{
	struct limits_host host;
	char why[512] = "";

	cfg->limits = o->limits;
	limits_host(&host);
	limits_defaults(&cfg->limits, &host);
	cgroup_probe(&cfg->limits, cfg->limits.note, sizeof(cfg->limits.note));
	if (limits_check_rlimits(&cfg->limits, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return -EINVAL;
	}
	return 0;
}

static int
lifecycle_add_connect_to(struct create_opts *o, const char *arg)
{
	if (o->nconnect_to == PROXY_MAX_CONNECT_TO) {
		log_error("at most %d --connect-to mappings",
			  PROXY_MAX_CONNECT_TO);
		return -E2BIG;
	}
	if (proxy_parse_connect_to(arg, &o->connect_to[o->nconnect_to]) < 0) {
		log_error("invalid --connect-to '%s': use HOST:PORT:ADDR:PORT",
			  arg);
		return -EINVAL;
	}
	o->nconnect_to++;
	return 0;
}

int
lifecycle_create(struct cli *cli, const struct create_opts *o)
{
	_cleanup_free_ char *text = NULL, *name = NULL, *dir = NULL, *ws = NULL;
	struct sandbox_config cfg = { .keep = o->keep || o->detach,
				      .off = sandbox_test_switches(),
				      .connect_to = o->connect_to,
				      .nconnect_to = o->nconnect_to,
				      .providers = o->providers,
				      .nproviders = o->nproviders,
				      .upstream_ca = o->upstream_ca,
				      .load_creds = load_creds };
	struct store_sandbox sb = { 0 };
	struct policy *pol = NULL;
	pid_t pid;
	int r = 0;

	if (resolve_limits(o, &cfg) < 0)
		return EXIT_USAGE;
	if (cli_load_policy(o->policy_file, &pol, &text) < 0)
		return EXIT_FAIL;
	name = o->name ? xstrdup(o->name) : generate_name();
	if (!paths_valid_name(name)) {
		log_error("invalid sandbox name '%s': use 1-63 of a-z, 0-9 "
			  "and '-'",
			  name);
		r = -EINVAL;
	}
	if (r == 0)
		r = cli_state_dir(cli);
	if (r == 0)
		r = check_providers(cli, o);
	/* An ephemeral sandbox is not in the store: only its providers are. */
	if (o->ephemeral && cli->store) {
		store_close(cli->store);
		cli->store = NULL;
	}
	if (r == 0) {
		dir = paths_sandbox_dir(cli->state_dir, name);
		cfg.name = name;
		cfg.dir = dir;
		cfg.policy = pol;
		cfg.policy_text = text;
		r = resolve_workspace(o, &cfg, &ws);
		cfg.workspace = ws;
	}
	if (r == 0)
		r = insert_sandbox(cli, &cfg, &sb, o);
	if (r == 0)
		r = start(cli, &cfg, &pid);
	if (r == 0 && o->detach)
		printf("%s\n", name);
	else if (r == 0)
		r = first_command(cli, &cfg, o);
	policy_free(pol);
	return r < 0 ? EXIT_FAIL : r;
}

int
lifecycle_delete(struct cli *cli, const char *name)
{
	struct store_sandbox sb = { 0 };
	_cleanup_free_ char *dir = NULL;
	int fd, r;

	r = cli_store(cli);
	if (r == 0)
		r = store_sandbox_get(cli->store, name, &sb);
	if (r == -ENOENT)
		log_error("no sandbox named '%s'", name);
	if (r < 0)
		return r;
	dir = paths_sandbox_dir(cli->state_dir, name);
	fd = client_connect(dir);
	if (fd >= 0) {
		struct proto_hdr h = { .type = PROTO_SHUTDOWN };

		proto_send(fd, &h, NULL, 0, NULL, 0);
		client_wait_closed(fd);
		close(fd);
	}
	/* Whatever a dead supervisor left: the placeholders, files, row. */
	if (!sb.workspace_owned && sb.workspace)
		rootfs_remove_placeholders(dir, sb.workspace);
	rm_rf(dir);
	r = store_sandbox_delete(cli->store, name);
	store_sandbox_clear(&sb);
	return r == -ENOENT ? 0 : r;
}

bool
lifecycle_check_alive(struct cli *cli, struct store_sandbox *sb)
{
	_cleanup_free_ char *dir = NULL, *reason = NULL;
	int fd;

	if (sb->state != STORE_SANDBOX_RUNNING)
		return false;
	dir = paths_sandbox_dir(cli->state_dir, sb->name);
	fd = client_connect(dir);
	if (fd >= 0) {
		close(fd);
		return true;
	}
	reason = xasprintf("supervisor (pid %d) is gone: its control socket "
			   "refuses connections",
			   (int)sb->supervisor_pid);
	store_sandbox_set_state(cli->store, sb->name, STORE_SANDBOX_FAILED,
				reason);
	sb->state = STORE_SANDBOX_FAILED;
	free(sb->reason);
	sb->reason = TAKE_PTR(reason);
	return false;
}

int
lifecycle_option(struct create_opts *o, int c, const char *arg)
{
	int r = 0;

	switch (c) {
	case 'p':
		o->policy_file = arg;
		break;
	case 'w':
		o->workspace = arg;
		break;
	case 'C':
		r = lifecycle_add_connect_to(o, arg);
		break;
	case 'P':
		r = lifecycle_add_provider(o, arg);
		break;
	case 'U':
		o->upstream_ca = arg;
		break;
	case LIFECYCLE_OPT_PIDS:
	case LIFECYCLE_OPT_MEMORY:
	case LIFECYCLE_OPT_CPUS:
	case LIFECYCLE_OPT_FILES:
		r = lifecycle_set_limit(o, c, arg);
		break;
	default:
		return 0;
	}
	return r < 0 ? -1 : 1;
}
