/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/util.h"
#include "store/store.h"
#include "tap.h"

#define CONC_PROCS 8
#define CONC_REVS 50
#define CONC_SANDBOXES 20

/*
 * TAP_EQ_INT evaluates its arguments twice, which would run a store call
 * twice; this evaluates them once.
 */
static void
eq(long long got, long long want, const char *name)
{
	tap_ok(got == want, "%s (got %lld, want %lld)", name, got, want);
}

/* A well-formed stand-in for a policy's sha256, distinct for each (a, b). */
static void
fake_sha(char out[65], unsigned a, unsigned b)
{
	snprintf(out, 65, "%032x%032x", a, b);
}

static char *
new_dir(const char *base, const char *name)
{
	char *d = xasprintf("%s/%s", base, name);

	if (mkdir(d, 0700) < 0)
		abort();
	return d;
}

/* Reads one integer with plain SQLite, bypassing the store: -1 on error. */
static long long
raw_int(const char *dir, const char *sql)
{
	_cleanup_free_ char *path = xasprintf("%s/brig.db", dir);
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static int
raw_exec(const char *dir, const char *sql)
{
	_cleanup_free_ char *path = xasprintf("%s/brig.db", dir);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static unsigned
file_mode(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	struct stat st;

	return lstat(path, &st) < 0 ? 0 : st.st_mode & 07777;
}

static int
insert(struct store *s, const char *name, unsigned policy)
{
	struct store_sandbox sb = { .name = (char *)name,
				    .workspace = (char *)"/tmp/ws",
				    .workspace_owned = true,
				    .host_uid = 1000 };
	_cleanup_free_ char *text = xasprintf("policy %u", policy);
	char sha[65];

	fake_sha(sha, policy, 0);
	return store_sandbox_insert(s, &sb, text, sha);
}

static int
add_rev(struct store *s, const char *name, unsigned a, unsigned b, int64_t *rev,
	bool *created)
{
	_cleanup_free_ char *text = xasprintf("policy %u.%u", a, b);
	char sha[65];

	fake_sha(sha, a, b);
	return store_revision_add(s, name, text, sha, rev, created);
}

static enum store_rev_status
rev_status(struct store *s, const char *name, int64_t rev)
{
	struct store_revision r = { 0 };
	enum store_rev_status st = (enum store_rev_status) - 1;

	if (store_revision_get(s, name, rev, &r) == 0)
		st = r.status;
	store_revision_clear(&r);
	return st;
}

static int64_t
policy_rev(struct store *s, const char *name)
{
	struct store_sandbox sb = { 0 };
	int64_t rev = -1;

	if (store_sandbox_get(s, name, &sb) == 0)
		rev = sb.policy_rev;
	store_sandbox_clear(&sb);
	return rev;
}

static void
test_open(const char *dir)
{
	struct store *s = NULL;

	eq(store_open(dir, &s), 0, "store_open creates the database");
	eq(file_mode(dir, "brig.db"), 0600, "brig.db is mode 0600");
	eq(raw_int(dir, "SELECT count(*) FROM pragma_journal_mode"
			" WHERE journal_mode = 'wal'"),
	   1, "the database is in WAL mode");
	store_close(s);
}

static void
test_insert(struct store *s)
{
	struct store_sandbox sb = { .name = (char *)"alpha",
				    .workspace = (char *)"/srv/alpha",
				    .workspace_owned = true,
				    .keep = true,
				    .supervisor_pid = 0,
				    .host_uid = 1234,
				    .limits = { .pids = 64,
						.memory = 256 << 20,
						.cpus_milli = 1500,
						.files = 4096,
						.backend = "rlimit" } };
	char sha[65];

	fake_sha(sha, 1, 0);
	eq(store_sandbox_insert(s, &sb, "policy 1", sha), 0, "insert alpha");
	tap_ok(sb.id > 0 && sb.policy_rev == 1 &&
		   sb.state == STORE_SANDBOX_STARTING && sb.created_at > 0,
	       "insert fills id, policy_rev, state and created_at");
	eq(insert(s, "alpha", 9), -EEXIST, "duplicate name is -EEXIST");
	tap_ok(*store_errmsg(s) != '\0', "a failure leaves a message ('%s')",
	       store_errmsg(s));
	eq(insert(s, "Bad_Name", 1), -EINVAL, "invalid name refused");
	eq(store_sandbox_insert(s, &sb, "p", "abc"), -EINVAL,
	   "malformed sha256 refused");
	eq(insert(s, "beta", 2), 0, "insert beta");
}

static void
test_get(struct store *s)
{
	struct store_sandbox sb = { 0 };
	int r = store_sandbox_get(s, "alpha", &sb);

	eq(r, 0, "get alpha");
	tap_ok(r == 0 && streq(sb.name, "alpha") &&
		   streq(sb.workspace, "/srv/alpha") && sb.workspace_owned &&
		   sb.keep && sb.host_uid == 1234 && sb.reason == NULL &&
		   sb.policy_rev == 1 && sb.state == STORE_SANDBOX_STARTING,
	       "get returns what was inserted");
	tap_ok(r == 0 && sb.limits.pids == 64 &&
		   sb.limits.memory == 256 << 20 &&
		   sb.limits.cpus_milli == 1500 && sb.limits.files == 4096 &&
		   streq(sb.limits.backend, "rlimit"),
	       "get returns the limits and their backend");
	store_sandbox_clear(&sb);
	sb = (struct store_sandbox){ 0 };
	tap_ok(store_sandbox_get(s, "beta", &sb) == 0 && sb.limits.pids == 0 &&
		   !*sb.limits.backend,
	       "a sandbox recorded without limits reads as none");
	store_sandbox_clear(&sb);
	eq(store_sandbox_get(s, "nope", &sb), -ENOENT,
	   "get of a missing sandbox is -ENOENT");
}

static void
test_set(struct store *s)
{
	struct store_sandbox sb = { 0 };

	eq(store_sandbox_set_state(s, "alpha", STORE_SANDBOX_FAILED,
				   "out of memory"),
	   0, "set state failed with a reason");
	eq(store_sandbox_set_supervisor(s, "alpha", 4321), 0,
	   "set supervisor pid");
	store_sandbox_get(s, "alpha", &sb);
	tap_ok(sb.state == STORE_SANDBOX_FAILED &&
		   streq(sb.reason, "out of memory") &&
		   sb.supervisor_pid == 4321,
	       "state, reason and pid read back");
	store_sandbox_clear(&sb);
	eq(store_sandbox_set_state(s, "alpha", STORE_SANDBOX_RUNNING, NULL), 0,
	   "set state running");
	store_sandbox_get(s, "alpha", &sb);
	tap_ok(sb.state == STORE_SANDBOX_RUNNING && sb.reason == NULL,
	       "running clears the reason");
	store_sandbox_clear(&sb);
	eq(store_sandbox_set_state(s, "nope", STORE_SANDBOX_RUNNING, NULL),
	   -ENOENT, "set state of a missing sandbox is -ENOENT");
	eq(store_sandbox_set_supervisor(s, "nope", 1), -ENOENT,
	   "set supervisor of a missing sandbox is -ENOENT");
}

static void
test_list(struct store *s)
{
	struct store_sandbox *v = NULL;
	size_t n = 0;

	eq(store_sandbox_list(s, &v, &n), 0, "list sandboxes");
	eq(n, 2, "the failed duplicate left nothing behind");
	tap_ok(n == 2 && streq(v[0].name, "alpha") && streq(v[1].name, "beta"),
	       "list is in creation order");
	store_sandbox_list_free(v, n);
}

static void
test_revision_add(struct store *s)
{
	int64_t rev = 0;
	bool created = true;

	eq(add_rev(s, "alpha", 1, 0, &rev, &created), 0,
	   "add the same policy again");
	tap_ok(rev == 1 && !created, "identical sha256 creates no revision");
	eq(add_rev(s, "alpha", 2, 0, &rev, &created), 0, "add a new policy");
	tap_ok(rev == 2 && created, "new sha256 is revision 2");
	add_rev(s, "alpha", 2, 0, &rev, &created);
	tap_ok(rev == 2 && !created, "same as latest again creates none");
	add_rev(s, "alpha", 1, 0, &rev, &created);
	tap_ok(rev == 3 && created, "an older policy again is a new revision");
	eq(add_rev(s, "nope", 1, 0, &rev, &created), -ENOENT,
	   "revision of a missing sandbox is -ENOENT");
	eq(store_revision_add(s, "alpha", "x", "ABC", &rev, &created), -EINVAL,
	   "malformed sha256 refused");
}

static void
test_revision_get(struct store *s)
{
	struct store_revision r = { 0 };
	char sha[65];

	fake_sha(sha, 2, 0);
	eq(store_revision_get(s, "alpha", 2, &r), 0, "get revision 2");
	tap_ok(r.rev == 2 && streq(r.text, "policy 2.0") &&
		   streq(r.sha256, sha) && r.status == STORE_REV_PENDING &&
		   r.created_at > 0 && r.loaded_at == 0 && !r.error,
	       "revision 2 reads back pending");
	store_revision_clear(&r);
	store_revision_get(s, "alpha", 0, &r);
	eq(r.rev, 3, "rev 0 is the latest");
	store_revision_clear(&r);
	eq(store_revision_get(s, "alpha", 99, &r), -ENOENT,
	   "missing revision is -ENOENT");
	eq(store_revision_get(s, "nope", 0, &r), -ENOENT,
	   "revision of a missing sandbox is -ENOENT");
}

static void
test_status_loaded(struct store *s)
{
	struct store_revision r = { 0 };

	eq(store_revision_set_status(s, "alpha", 1, STORE_REV_LOADED, NULL), 0,
	   "load revision 1");
	store_revision_get(s, "alpha", 1, &r);
	tap_ok(r.status == STORE_REV_LOADED && r.loaded_at > 0,
	       "revision 1 is loaded with a time");
	store_revision_clear(&r);
	eq(policy_rev(s, "alpha"), 1, "policy_rev is 1");
	eq(store_revision_set_status(s, "alpha", 2, STORE_REV_LOADED, NULL), 0,
	   "load revision 2");
	eq(rev_status(s, "alpha", 1), STORE_REV_SUPERSEDED,
	   "revision 1 is superseded");
	eq(rev_status(s, "alpha", 2), STORE_REV_LOADED, "revision 2 is loaded");
	eq(policy_rev(s, "alpha"), 2, "policy_rev is 2");
	eq(store_revision_set_status(s, "alpha", 2, STORE_REV_LOADED, NULL), 0,
	   "loading the loaded revision again changes nothing");
	eq(rev_status(s, "alpha", 1), STORE_REV_SUPERSEDED,
	   "revision 1 stays superseded");
}

static void
test_status_failed(struct store *s)
{
	struct store_revision r = { 0 };

	eq(store_revision_set_status(s, "alpha", 3, STORE_REV_FAILED,
				     "bad rule"),
	   0, "fail revision 3");
	store_revision_get(s, "alpha", 3, &r);
	tap_ok(r.status == STORE_REV_FAILED && streq(r.error, "bad rule"),
	       "revision 3 failed with its error");
	store_revision_clear(&r);
	eq(policy_rev(s, "alpha"), 2, "a failed reload keeps rev 2");
	eq(store_revision_set_status(s, "alpha", 2, STORE_REV_FAILED, "x"),
	   -EINVAL, "a loaded revision cannot fail");
	eq(store_revision_set_status(s, "alpha", 3, STORE_REV_PENDING, NULL),
	   -EINVAL, "pending cannot be set");
	eq(store_revision_set_status(s, "alpha", 3, STORE_REV_SUPERSEDED, NULL),
	   -EINVAL, "superseded cannot be set");
	eq(store_revision_set_status(s, "alpha", 99, STORE_REV_LOADED, NULL),
	   -ENOENT, "status of a missing revision is -ENOENT");
	eq(store_revision_set_status(s, "alpha", 3, STORE_REV_LOADED, NULL), 0,
	   "a failed revision can be loaded on retry");
	store_revision_get(s, "alpha", 3, &r);
	tap_ok(r.status == STORE_REV_LOADED && !r.error,
	       "the retry clears the error");
	store_revision_clear(&r);
	eq(rev_status(s, "alpha", 2), STORE_REV_SUPERSEDED,
	   "revision 2 is superseded");
	eq(store_revision_set_status(s, "beta", 1, STORE_REV_FAILED, "no"), 0,
	   "fail beta's first revision");
	eq(policy_rev(s, "beta"), 0, "then beta has no policy in force");
}

static void
test_revision_list(struct store *s)
{
	struct store_revision *v = NULL;
	size_t n = 0, loaded = 0;

	eq(store_revision_list(s, "alpha", &v, &n), 0,
	   "list alpha's revisions");
	eq(n, 3, "alpha has 3 revisions");
	for (size_t i = 0; i < n; i++)
		loaded += v[i].status == STORE_REV_LOADED;
	tap_ok(n == 3 && v[0].rev == 1 && v[2].rev == 3 && loaded == 1,
	       "in order, exactly one loaded");
	store_revision_list_free(v, n);
	eq(store_revision_list(s, "nope", &v, &n), -ENOENT,
	   "revisions of a missing sandbox are -ENOENT");
}

static void
test_delete(struct store *s, const char *dir)
{
	struct store_revision *v = NULL;
	struct store_sandbox sb = { 0 };
	size_t n = 0;

	eq(store_sandbox_delete(s, "alpha"), 0, "delete alpha");
	eq(store_sandbox_get(s, "alpha", &sb), -ENOENT, "alpha is gone");
	eq(store_revision_list(s, "alpha", &v, &n), -ENOENT,
	   "its revisions are not listed");
	eq(raw_int(dir, "SELECT count(*) FROM policy_revisions"
			" WHERE sandbox_id NOT IN"
			" (SELECT id FROM sandboxes)"),
	   0, "its revisions are deleted");
	eq(store_sandbox_delete(s, "alpha"), -ENOENT,
	   "deleting again is -ENOENT");
	eq(insert(s, "alpha", 5), 0, "the name can be used again");
	eq(policy_rev(s, "alpha"), 1, "the new alpha starts at rev 1");
	store_sandbox_delete(s, "alpha");
}

static void
test_reopen(const char *dir)
{
	struct store *s = NULL;
	struct store_sandbox sb = { 0 };
	long long applied = raw_int(dir, "SELECT sum(applied_at) FROM"
					 " schema_version");

	eq(raw_exec(dir, "UPDATE schema_version SET applied_at = 7"), SQLITE_OK,
	   "mark the applied migrations");
	eq(store_open(dir, &s), 0, "reopen");
	eq(store_sandbox_get(s, "beta", &sb), 0, "beta survives");
	store_sandbox_clear(&sb);
	/* They exist while a store is open; the last close removes them. */
	eq(file_mode(dir, "brig.db-wal"), 0600, "the WAL file is 0600");
	eq(file_mode(dir, "brig.db-shm"), 0600, "the shared-memory file too");
	store_close(s);
	eq(raw_int(dir, "SELECT count(*) FROM schema_version"
			" WHERE applied_at != 7"),
	   0, "reopening applies no migration again");
	tap_ok(applied > 0, "migrations were recorded when applied");
	eq(file_mode(dir, "brig.db"), 0600, "brig.db is still 0600");
}

static void
test_newer(const char *base)
{
	_cleanup_free_ char *dir = new_dir(base, "newer");
	struct store *s = NULL;

	eq(store_open(dir, &s), 0, "open a fresh store");
	store_close(s);
	raw_exec(dir, "INSERT INTO schema_version VALUES (1000, 0)");
	s = NULL;
	eq(store_open(dir, &s), -EPROTO,
	   "a database from a newer brig is -EPROTO");
	tap_ok(s == NULL, "and no store is returned");
}

static void
test_file_checks(const char *base)
{
	_cleanup_free_ char *dir = new_dir(base, "files");
	_cleanup_free_ char *db = xasprintf("%s/brig.db", dir);
	struct store *s = NULL;

	if (symlink("/dev/null", db) < 0)
		abort();
	eq(store_open(dir, &s), -ELOOP, "a symlinked brig.db refused");
	unlink(db);
	eq(store_open(dir, &s), 0, "create");
	store_close(s);
	chmod(db, 0644);
	eq(store_open(dir, &s), 0, "reopen a 0644 database");
	eq(file_mode(dir, "brig.db"), 0600, "it is made 0600");
	store_close(s);
}

/* Each child adds its own distinct revisions through its own store. */
static int
child_add_revisions(const char *dir, unsigned child)
{
	struct store *s = NULL;
	int bad = 0;

	if (store_open(dir, &s) < 0)
		return 2;
	for (unsigned j = 0; j < CONC_REVS; j++) {
		int64_t rev = 0;
		bool created = false;

		if (add_rev(s, "conc", child + 100, j, &rev, &created) < 0 ||
		    !created)
			bad = 1;
	}
	store_close(s);
	return bad;
}

static int
child_insert_sandboxes(const char *dir, unsigned child)
{
	struct store *s = NULL;
	int bad = 0;

	if (store_open(dir, &s) < 0)
		return 2;
	for (unsigned j = 0; j < CONC_SANDBOXES; j++) {
		char name[32];

		snprintf(name, sizeof(name), "p%u-%u", child, j);
		if (insert(s, name, child * 1000 + j) < 0)
			bad = 1;
	}
	store_close(s);
	return bad;
}

/* Forks CONC_PROCS children running fn; counts those that did not exit 0. */
static int
run_children(const char *dir, int (*fn)(const char *, unsigned))
{
	pid_t pids[CONC_PROCS];
	int failed = 0;

	fflush(stdout);
	for (unsigned i = 0; i < CONC_PROCS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			abort();
		if (pids[i] == 0)
			_exit(fn(dir, i));
	}
	for (unsigned i = 0; i < CONC_PROCS; i++) {
		int status = 0;

		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
	}
	return failed;
}

static bool
revisions_dense(const struct store_revision *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].rev != (int64_t)i + 1)
			return false;
		for (size_t j = 0; j < i; j++) {
			if (streq(v[i].sha256, v[j].sha256))
				return false;
		}
	}
	return true;
}

static void
test_concurrent_revisions(const char *base)
{
	_cleanup_free_ char *dir = new_dir(base, "conc-rev");
	struct store_revision *v = NULL;
	struct store *s = NULL;
	size_t n = 0;

	store_open(dir, &s);
	eq(insert(s, "conc", 1), 0, "insert the shared sandbox");
	/* A connection must not cross fork(); the children open their own. */
	store_close(s);
	eq(run_children(dir, child_add_revisions), 0,
	   "8 processes each added 50 revisions");
	store_open(dir, &s);
	eq(store_revision_list(s, "conc", &v, &n), 0, "list them");
	eq(n, 1 + CONC_PROCS * CONC_REVS, "401 revisions");
	tap_ok(revisions_dense(v, n), "numbered 1..401, no gap or duplicate");
	store_revision_list_free(v, n);
	store_close(s);
}

static void
test_concurrent_sandboxes(const char *base)
{
	_cleanup_free_ char *dir = new_dir(base, "conc-sb");
	struct store_sandbox *v = NULL;
	struct store *s = NULL;
	size_t n = 0, found = 0;

	/* No database yet: the children also race to create and migrate it. */
	eq(run_children(dir, child_insert_sandboxes), 0,
	   "8 processes each inserted 20 sandboxes");
	store_open(dir, &s);
	eq(store_sandbox_list(s, &v, &n), 0, "list them");
	eq(n, CONC_PROCS * CONC_SANDBOXES, "160 sandboxes");
	for (unsigned i = 0; i < CONC_PROCS; i++) {
		for (unsigned j = 0; j < CONC_SANDBOXES; j++) {
			struct store_sandbox sb = { 0 };
			char name[32];

			snprintf(name, sizeof(name), "p%u-%u", i, j);
			found += store_sandbox_get(s, name, &sb) == 0;
			store_sandbox_clear(&sb);
		}
	}
	eq(found, CONC_PROCS * CONC_SANDBOXES, "every name present");
	store_sandbox_list_free(v, n);
	store_close(s);
}

static void
test_basic(const char *base)
{
	_cleanup_free_ char *dir = new_dir(base, "basic");
	struct store *s = NULL;

	test_open(dir);
	if (store_open(dir, &s) < 0)
		abort();
	test_insert(s);
	test_get(s);
	test_set(s);
	test_list(s);
	test_revision_add(s);
	test_revision_get(s);
	test_status_loaded(s);
	test_status_failed(s);
	test_revision_list(s);
	test_delete(s, dir);
	store_close(s);
	test_reopen(dir);
}

/* Provider tests: the values are distinct markers, to look for on disk. */
#define VALUE_A "sk-unit-secret-value-A"
#define VALUE_B "sk-unit-secret-value-B"
#define VALUE_C "sk-unit-secret-value-C"

static struct store_credential
cred(const char *key, const char *value)
{
	return (struct store_credential){ .key = (char *)key,
					  .value = (char *)value,
					  .len = strlen(value) };
}

static int
create_provider(struct store *s, const char *name, const char *key,
		const char *value, const char *host)
{
	struct store_credential c = cred(key, value);
	struct store_host h = { .host = (char *)host, .port = 443 };
	struct store_provider_edit e = {
		.creds = &c, .n_creds = 1, .hosts = &h, .n_hosts = host ? 1 : 0
	};

	return store_provider_create(s, name, "generic", &e);
}

/* Whether any of the database's files holds the bytes of value. */
static bool
on_disk(const char *dir, const char *value)
{
	static const char *const names[] = { "brig.db", "brig.db-wal",
					     "brig.db-shm" };
	bool found = false;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		_cleanup_free_ char *path = xasprintf("%s/%s", dir, names[i]);
		_cleanup_free_ char *data = NULL;
		size_t len = 0;

		if (read_file_at(AT_FDCWD, path, 64 << 20, &data, &len) == 0)
			found |=
			    memmem(data, len, value, strlen(value)) != NULL;
	}
	return found;
}

static void
test_provider_create(struct store *s, const char *dir)
{
	struct store_credential c[] = { cred("OPENAI_API_KEY", VALUE_A),
					cred("AUX_TOKEN", VALUE_B) };
	struct store_host h[] = { { (char *)"api.openai.com", 443 },
				  { (char *)"alt.example.com", 0 } };
	struct store_provider_edit e = { c, 2, h, 2 };

	eq(store_provider_create(s, "oa", "openai", &e), 0,
	   "create a provider");
	eq(store_provider_create(s, "oa", "generic", &e), -EEXIST,
	   "a taken provider name is -EEXIST");
	eq(raw_int(dir, "SELECT count(*) FROM provider_credentials"), 2,
	   "the refused create left no credential behind");
	eq(create_provider(s, "gen", "VOICE_API_KEY", VALUE_C, NULL), 0,
	   "create a generic provider with no host");
	eq(file_mode(dir, "brig.db-wal"), 0600,
	   "with values written, the WAL file is 0600");
	eq(file_mode(dir, "brig.db-shm"), 0600, "and the shared-memory file");
	eq(file_mode(dir, "brig.db"), 0600, "and the database");
}

static void
test_provider_invalid(struct store *s)
{
	struct store_credential c[] = { cred("K", "v"), cred("K", "w") };
	struct store_credential nul = { (char *)"K", (char *)"a\0b", 3 };
	struct store_credential empty = cred("K", "");
	struct store_credential bad_key = cred("1K", "v");
	struct store_host bad_host = { (char *)"Bad Host", 443 };
	struct store_provider_edit e = { c, 2, NULL, 0 };

	eq(store_provider_create(s, "x", "generic", &e), -EINVAL,
	   "a key given twice is -EINVAL");
	e = (struct store_provider_edit){ &nul, 1, NULL, 0 };
	eq(store_provider_create(s, "x", "generic", &e), -EINVAL,
	   "a value holding NUL is -EINVAL");
	e.creds = &empty;
	eq(store_provider_create(s, "x", "generic", &e), -EINVAL,
	   "an empty value is -EINVAL");
	e.creds = &bad_key;
	eq(store_provider_create(s, "x", "generic", &e), -EINVAL,
	   "a key that is no variable name is -EINVAL");
	e = (struct store_provider_edit){ c, 1, &bad_host, 1 };
	eq(store_provider_create(s, "x", "generic", &e), -EINVAL,
	   "an invalid host is -EINVAL");
	e.n_hosts = 0;
	eq(store_provider_create(s, "Bad_Name", "generic", &e), -EINVAL,
	   "an invalid provider name is -EINVAL");
	e.n_creds = 0;
	eq(store_provider_create(s, "x", "generic", &e), -EINVAL,
	   "a provider without a credential is -EINVAL");
}

static void
test_provider_get(struct store *s)
{
	struct store_provider p = { 0 };
	int r = store_provider_get(s, "oa", &p);

	eq(r, 0, "get the provider");
	tap_ok(r == 0 && streq(p.name, "oa") && streq(p.type, "openai") &&
		   p.created_at > 0 && p.updated_at == p.created_at,
	       "name, type and times read back");
	tap_ok(p.n_keys == 2 && streq(p.keys[0], "AUX_TOKEN") &&
		   streq(p.keys[1], "OPENAI_API_KEY"),
	       "keys read back, sorted");
	tap_ok(p.n_hosts == 2 && streq(p.hosts[0].host, "alt.example.com") &&
		   p.hosts[0].port == 0 &&
		   streq(p.hosts[1].host, "api.openai.com") &&
		   p.hosts[1].port == 443,
	       "hosts read back, sorted, port 0 meaning any");
	store_provider_clear(&p);
	eq(store_provider_get(s, "nope", &p), -ENOENT,
	   "get of a missing provider is -ENOENT");
}

static void
test_provider_secrets(struct store *s)
{
	struct store_credential *v = NULL;
	size_t n = 0;

	eq(store_provider_get_secrets(s, "oa", &v, &n), 0, "get the secrets");
	tap_ok(n == 2 && streq(v[0].key, "AUX_TOKEN") &&
		   v[0].len == strlen(VALUE_B) && streq(v[0].value, VALUE_B) &&
		   streq(v[1].key, "OPENAI_API_KEY") &&
		   streq(v[1].value, VALUE_A),
	       "keys and values, sorted, NUL-terminated");
	store_credentials_free(v, n);
	eq(store_provider_get_secrets(s, "nope", &v, &n), -ENOENT,
	   "secrets of a missing provider are -ENOENT");
	tap_ok(v == NULL && n == 0, "and none are returned");
}

static void
test_provider_list(struct store *s)
{
	struct store_provider *v = NULL;
	size_t n = 0;

	eq(store_provider_list(s, &v, &n), 0, "list providers");
	tap_ok(n == 2 && streq(v[0].name, "gen") && streq(v[1].name, "oa"),
	       "two providers, by name");
	tap_ok(n == 2 && v[0].n_keys == 1 && v[0].n_hosts == 0 &&
		   v[1].n_keys == 2 && v[1].n_hosts == 2,
	       "each with its keys and hosts");
	store_provider_list_free(v, n);
}

static void
test_provider_update(struct store *s, const char *dir)
{
	struct store_credential c[] = { cred("OPENAI_API_KEY", VALUE_C),
					cred("NEW_KEY", "n") };
	struct store_host h[] = { { (char *)"api.openai.com", 443 },
				  { (char *)"more.example.com", 8443 } };
	struct store_provider_edit e = { c, 2, h, 2 };
	struct store_credential *v = NULL;
	struct store_provider p = { 0 };
	size_t n = 0;

	eq(store_provider_update(s, "oa", &e), 0, "update the provider");
	store_provider_get(s, "oa", &p);
	tap_ok(p.n_keys == 3 && p.n_hosts == 3,
	       "a key and a host added, the known host kept once");
	store_provider_clear(&p);
	store_provider_get_secrets(s, "oa", &v, &n);
	tap_ok(n == 3 && streq(v[2].key, "OPENAI_API_KEY") &&
		   streq(v[2].value, VALUE_C) && streq(v[0].value, VALUE_B),
	       "the given value replaced, the other kept");
	store_credentials_free(v, n);
	tap_ok(!on_disk(dir, VALUE_A), "the replaced value is gone from disk");
	eq(store_provider_update(s, "nope", &e), -ENOENT,
	   "update of a missing provider is -ENOENT");
	c[1] = cred("NEW_KEY", "");
	eq(store_provider_update(s, "oa", &e), -EINVAL,
	   "an update with an empty value is -EINVAL");
	store_provider_get_secrets(s, "oa", &v, &n);
	tap_ok(n == 3 && streq(v[2].value, VALUE_C),
	       "and the refused update changed nothing");
	store_credentials_free(v, n);
}

static void
test_sandbox_providers(struct store *s)
{
	char **v = NULL;
	size_t n = 0;

	insert(s, "user", 1);
	eq(store_sandbox_add_provider(s, "user", "oa"), 0,
	   "record a sandbox's provider");
	eq(store_sandbox_add_provider(s, "user", "gen"), 0, "and another");
	eq(store_sandbox_add_provider(s, "user", "oa"), 0,
	   "recording one again is no change");
	eq(store_sandbox_add_provider(s, "nope", "oa"), -ENOENT,
	   "a missing sandbox is -ENOENT");
	eq(store_sandbox_add_provider(s, "user", "nope"), -ENOENT,
	   "a missing provider is -ENOENT");
	eq(store_sandbox_providers(s, "user", &v, &n), 0,
	   "list the sandbox's providers");
	tap_ok(n == 2 && streq(v[0], "oa") && streq(v[1], "gen"),
	       "both, in the order they were added");
	store_names_free(v, n);
	eq(store_sandbox_providers(s, "nope", &v, &n), -ENOENT,
	   "providers of a missing sandbox are -ENOENT");
}

static void
test_provider_delete(struct store *s, const char *dir)
{
	store_sandbox_set_state(s, "user", STORE_SANDBOX_RUNNING, NULL);
	eq(store_provider_delete(s, "oa", false), -EBUSY,
	   "a provider a running sandbox uses is -EBUSY");
	tap_ok(strstr(store_errmsg(s), "'user'") != NULL,
	       "the message names the sandbox ('%s')", store_errmsg(s));
	store_sandbox_set_state(s, "user", STORE_SANDBOX_STARTING, NULL);
	eq(store_provider_delete(s, "oa", false), -EBUSY,
	   "and a starting one too");
	store_sandbox_set_state(s, "user", STORE_SANDBOX_STOPPED, "done");
	eq(store_provider_delete(s, "gen", false), 0,
	   "a stopped sandbox does not hold its provider");
	store_sandbox_set_state(s, "user", STORE_SANDBOX_RUNNING, NULL);
	eq(store_provider_delete(s, "oa", true), 0, "force deletes anyway");
	eq(store_provider_delete(s, "oa", true), -ENOENT,
	   "deleting again is -ENOENT");
	eq(raw_int(dir, "SELECT (SELECT count(*) FROM provider_credentials) +"
			" (SELECT count(*) FROM provider_hosts) +"
			" (SELECT count(*) FROM sandbox_providers)"),
	   0, "credentials, hosts and sandbox records went with them");
	tap_ok(!on_disk(dir, VALUE_B) && !on_disk(dir, VALUE_C),
	       "the deleted values are gone from the files");
}

static void
test_provider_cascade(struct store *s, const char *dir)
{
	struct store_provider p = { 0 };

	create_provider(s, "kept", "KEY", "v", "h.example.com");
	store_sandbox_add_provider(s, "user", "kept");
	eq(store_sandbox_delete(s, "user"), 0,
	   "delete a sandbox that has a provider");
	eq(raw_int(dir, "SELECT count(*) FROM sandbox_providers"), 0,
	   "its provider records cascade");
	eq(store_provider_get(s, "kept", &p), 0, "the provider stays");
	store_provider_clear(&p);
	eq(store_provider_delete(s, "kept", false), 0,
	   "and, unused, deletes without force");
}

static void
test_providers(const char *base)
{
	_cleanup_free_ char *dir = new_dir(base, "providers");
	struct store *s = NULL;

	if (store_open(dir, &s) < 0)
		abort();
	test_provider_create(s, dir);
	test_provider_invalid(s);
	test_provider_get(s);
	test_provider_secrets(s);
	test_provider_list(s);
	test_provider_update(s, dir);
	test_sandbox_providers(s);
	test_provider_delete(s, dir);
	test_provider_cascade(s, dir);
	store_close(s);
}

int main(void);
int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *base =
	    xasprintf("%s/brig-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (!mkdtemp(base))
		abort();
	test_basic(base);
	test_newer(base);
	test_file_checks(base);
	test_concurrent_revisions(base);
	test_concurrent_sandboxes(base);
	test_providers(base);
	rm_rf(base);
	return tap_done();
}
