/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store: sandboxes, their policy revisions and the credential
 * providers in one SQLite database.
 * Several brig processes may use it at once, so every write that reads
 * before it writes runs in a BEGIN IMMEDIATE transaction, which takes
 * SQLite's single write lock up front instead of upgrading a read lock
 * (an upgrade can fail with SQLITE_BUSY without waiting). Values reach SQL
 * only as bound parameters.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/paths.h"
#include "common/util.h"

#define STORE_DB_NAME "brig.db"
/* How long one brig waits for another's transaction before -EBUSY. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* How often to retry switching to WAL while another brig holds the file. */
#define STORE_WAL_RETRY_MS 10
#define STORE_ERRMSG_MAX 256
/* The most rows a list returns; past it the list fails with -E2BIG. */
#define STORE_LIST_MAX (1 << 20)
#define STORE_SHA256_LEN 64

struct store {
	sqlite3 *db;
	char errmsg[STORE_ERRMSG_MAX];
};

/*
 * Migration n (counting from 1) brings the schema from version n - 1 to n.
 * Entries are only ever appended: a released migration never changes.
 */
static const char *const store_migrations[] = {
	"CREATE TABLE sandboxes ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT UNIQUE NOT NULL,"
	" state TEXT NOT NULL,"
	" reason TEXT,"
	" created_at INTEGER NOT NULL,"
	" policy_rev INTEGER NOT NULL DEFAULT 0,"
	" workspace TEXT,"
	" workspace_owned INTEGER NOT NULL DEFAULT 0,"
	" keep INTEGER NOT NULL DEFAULT 0,"
	" supervisor_pid INTEGER NOT NULL DEFAULT 0,"
	" host_uid INTEGER NOT NULL);"
	"CREATE TABLE policy_revisions ("
	" sandbox_id INTEGER NOT NULL"
	"  REFERENCES sandboxes (id) ON DELETE CASCADE,"
	" rev INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" text TEXT NOT NULL,"
	" status TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" loaded_at INTEGER NOT NULL DEFAULT 0,"
	" error TEXT,"
	" PRIMARY KEY (sandbox_id, rev));",
	/*
	 * Providers. Deleting one must not leave its credentials behind, so
	 * they and its hosts cascade; a sandbox's record of the providers it
	 * was created with does not, so that store_provider_delete decides
	 * (refusing while a running sandbox uses it) before anything goes.
	 */
	"CREATE TABLE providers ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT UNIQUE NOT NULL,"
	" type TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL);"
	"CREATE TABLE provider_credentials ("
	" provider_id INTEGER NOT NULL"
	"  REFERENCES providers (id) ON DELETE CASCADE,"
	" key TEXT NOT NULL,"
	" value BLOB NOT NULL,"
	" PRIMARY KEY (provider_id, key));"
	"CREATE TABLE provider_hosts ("
	" provider_id INTEGER NOT NULL"
	"  REFERENCES providers (id) ON DELETE CASCADE,"
	" host TEXT NOT NULL,"
	" port INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (provider_id, host, port));"
	"CREATE TABLE sandbox_providers ("
	" sandbox_id INTEGER NOT NULL"
	"  REFERENCES sandboxes (id) ON DELETE CASCADE,"
	" provider_id INTEGER NOT NULL REFERENCES providers (id),"
	" PRIMARY KEY (sandbox_id, provider_id));"
	"CREATE INDEX sandbox_providers_by_provider"
	" ON sandbox_providers (provider_id);",
	/* Resource limits, and which backend enforces them. */
	"ALTER TABLE sandboxes ADD COLUMN limit_pids INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE sandboxes ADD COLUMN limit_memory INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE sandboxes ADD COLUMN limit_cpus_milli INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE sandboxes ADD COLUMN limit_files INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE sandboxes ADD COLUMN limits_backend TEXT;",
};

/* States and statuses are stored by name, so reordering an enum is safe. */
static const char *const store_state_names[] = {
	[STORE_SANDBOX_STARTING] = "starting",
	[STORE_SANDBOX_RUNNING] = "running",
	[STORE_SANDBOX_STOPPED] = "stopped",
	[STORE_SANDBOX_FAILED] = "failed",
};

static const char *const store_status_names[] = {
	[STORE_REV_PENDING] = "pending",
	[STORE_REV_LOADED] = "loaded",
	[STORE_REV_FAILED] = "failed",
	[STORE_REV_SUPERSEDED] = "superseded",
};

static const struct {
	int rc;
	int err;
} store_errnos[] = {
	{ SQLITE_CONSTRAINT_UNIQUE, EEXIST },
	{ SQLITE_CONSTRAINT_PRIMARYKEY, EEXIST },
	{ SQLITE_CONSTRAINT, EINVAL },
	{ SQLITE_BUSY, EBUSY },
	{ SQLITE_LOCKED, EBUSY },
	{ SQLITE_NOMEM, ENOMEM },
	{ SQLITE_READONLY, EROFS },
	{ SQLITE_PERM, EACCES },
	{ SQLITE_AUTH, EACCES },
	{ SQLITE_FULL, ENOSPC },
	{ SQLITE_TOOBIG, E2BIG },
	{ SQLITE_CORRUPT, EBADMSG },
	{ SQLITE_NOTADB, EBADMSG },
	{ SQLITE_MISMATCH, EINVAL },
	{ SQLITE_RANGE, EINVAL },
	{ SQLITE_MISUSE, EINVAL },
};

/* A bound parameter: every value reaches SQL through one of these. */
struct store_arg {
	enum { STORE_ARG_I64, STORE_ARG_TEXT, STORE_ARG_SECRET } kind;
	int64_t i;
	const char *t;
	size_t len; /* of a secret */
};

#define ARG_I64(v) ((struct store_arg){ .kind = STORE_ARG_I64, .i = (v) })
#define ARG_STR(v) ((struct store_arg){ .kind = STORE_ARG_TEXT, .t = (v) })
#define ARG_SECRET(v, n) \
	((struct store_arg){ .kind = STORE_ARG_SECRET, .t = (v), .len = (n) })
#define ARGS(...)                                  \
	(const struct store_arg[]){ __VA_ARGS__ }, \
	    ARRAY_SIZE(((const struct store_arg[]){ __VA_ARGS__ }))

static inline void
stmt_finalizep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}

#define _cleanup_stmt_ __attribute__((cleanup(stmt_finalizep)))

/* Records why the last call failed and returns err (negative). */
static int
store_fail(struct store *s, int err, const char *msg)
{
	snprintf(s->errmsg, sizeof(s->errmsg), "%s", msg);
	return err;
}

static int
store_sqlite_errno(sqlite3 *db, int rc)
{
	int sys = sqlite3_system_errno(db);

	if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR)
		return sys > 0 ? -sys : -EIO;
	for (size_t i = 0; i < ARRAY_SIZE(store_errnos); i++) {
		if (store_errnos[i].rc == rc)
			return -store_errnos[i].err;
	}
	for (size_t i = 0; i < ARRAY_SIZE(store_errnos); i++) {
		if (store_errnos[i].rc == (rc & 0xff))
			return -store_errnos[i].err;
	}
	return -EIO;
}

/* Maps a failed SQLite result code to a negative errno, keeping its text. */
static int
store_err(struct store *s, int rc)
{
	return store_fail(s, store_sqlite_errno(s->db, rc),
			  sqlite3_errmsg(s->db));
}

/*
 * Secrets are bound as blobs with SQLITE_STATIC, like text: SQLite reads
 * the caller's buffer, which outlives the statement (every statement is
 * finalized before the function that prepared it returns), instead of
 * copying it into a buffer of its own that it would free unwiped, as
 * SQLITE_TRANSIENT would. A blob is stored as given; no text conversion
 * makes another copy.
 */
static int
store_bind(sqlite3_stmt *st, int idx, const struct store_arg *a)
{
	switch (a->kind) {
	case STORE_ARG_TEXT:
		return sqlite3_bind_text(st, idx, a->t, -1, SQLITE_STATIC);
	case STORE_ARG_SECRET:
		return sqlite3_bind_blob64(st, idx, a->t, a->len,
					   SQLITE_STATIC);
	default:
		return sqlite3_bind_int64(st, idx, a->i);
	}
}

static int
store_prepare(struct store *s, sqlite3_stmt **ret, const char *sql,
	      const struct store_arg *args, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
		rc = store_bind(st, (int)i + 1, &args[i]);
	if (rc != SQLITE_OK)
		return store_err(s, rc);
	*ret = TAKE_PTR(st);
	return 0;
}

/* Steps once: 1 with a row, 0 when done, or a negative errno. */
static int
store_step(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_err(s, rc);
}

/* Runs a statement that returns no rows. */
static int
store_run(struct store *s, const char *sql, const struct store_arg *args,
	  size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, sql, args, n);

	if (r < 0)
		return r;
	r = store_step(s, st);
	return r < 0 ? r : 0;
}

/* Reads one integer from the first row, -ENOENT when there is none. */
static int
store_scalar(struct store *s, int64_t *ret, const char *sql,
	     const struct store_arg *args, size_t n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, sql, args, n);

	if (r < 0)
		return r;
	r = store_step(s, st);
	if (r < 0)
		return r;
	if (r == 0)
		return store_fail(s, -ENOENT, "no such row");
	*ret = sqlite3_column_int64(st, 0);
	return 0;
}

static int
store_exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_err(s, rc);
}

static int
store_begin(struct store *s, bool immediate)
{
	return store_exec(s, immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

/* Commits when r >= 0, else rolls back; returns r or the commit's error. */
static int
store_end(struct store *s, int r)
{
	if (r >= 0) {
		int q = store_exec(s, "COMMIT");

		if (q == 0)
			return r;
		r = q;
	}
	/* SQLite may have rolled back already, after some errors. */
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int64_t
store_now(void)
{
	return (int64_t)time(NULL);
}

static char *
col_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t ? xstrdup((const char *)t) : NULL;
}

/* Finds text in names: its index, or -EBADMSG for a value we never wrote. */
static int
store_name_index(const char *const *names, size_t n, const unsigned char *t)
{
	for (size_t i = 0; t && i < n; i++) {
		if (streq(names[i], (const char *)t))
			return (int)i;
	}
	return -EBADMSG;
}

const char *
store_sandbox_state_name(enum store_sandbox_state st)
{
	if ((size_t)st >= ARRAY_SIZE(store_state_names))
		return "unknown";
	return store_state_names[st];
}

const char *
store_rev_status_name(enum store_rev_status st)
{
	if ((size_t)st >= ARRAY_SIZE(store_status_names))
		return "unknown";
	return store_status_names[st];
}

const char *
store_errmsg(struct store *s)
{
	return s->errmsg;
}

/* Opens or creates the file ourselves, so it is 0600 before SQLite sees it. */
static int
store_create_file(const char *path)
{
	_cleanup_close_ int fd = open(
	    path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
		return -errno;
	return 0;
}

static int
store_open_db(struct store *s, const char *path)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

#ifdef SQLITE_OPEN_NOFOLLOW
	flags |= SQLITE_OPEN_NOFOLLOW;
#endif
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (!s->db)
		return -ENOMEM;
	if (rc != SQLITE_OK)
		return store_err(s, rc);
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
	/* Refuses writes that could corrupt the file (writable_schema). */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#endif
	/*
	 * Every brig command opens and closes the store; a checkpoint at each
	 * close costs fsyncs (milliseconds) on the path of "brig run".
	 * SQLite still checkpoints once the WAL passes 1000 pages.
	 */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	return 0;
}

/* Runs a pragma that answers with one text row and checks the answer. */
static int
store_pragma_expect(struct store *s, const char *sql, const char *want)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, sql, NULL, 0);

	if (r < 0)
		return r;
	r = store_step(s, st);
	if (r < 0)
		return r;
	if (r == 0 || !streq((const char *)sqlite3_column_text(st, 0), want))
		return store_fail(s, -ENOTSUP, sql);
	return 0;
}

/*
 * Switching a new database to WAL takes an exclusive lock, and when another
 * brig holds the file at that moment (two opening a new state directory at
 * once) SQLite 3.40.1 answers SQLITE_BUSY at once, without calling the busy
 * handler. So this waits as the busy timeout would have.
 */
static int
store_set_wal(struct store *s)
{
	for (int waited = 0;; waited += STORE_WAL_RETRY_MS) {
		int r =
		    store_pragma_expect(s, "PRAGMA journal_mode = WAL", "wal");

		if (r != -EBUSY || waited >= STORE_BUSY_TIMEOUT_MS)
			return r;
		sqlite3_sleep(STORE_WAL_RETRY_MS);
	}
}

/*
 * WAL lets readers go on while one brig writes; NORMAL syncs at
 * checkpoints only, which in WAL mode cannot corrupt the database.
 * secure_delete makes SQLite overwrite deleted content with zeros, so a
 * replaced or deleted credential value does not linger in free pages of
 * the file. The settings are read back because SQLite ignores what it
 * cannot do.
 */
static int
store_pragmas(struct store *s)
{
	int r = store_exec(s, "PRAGMA foreign_keys = ON;"
			      "PRAGMA secure_delete = ON;"
			      "PRAGMA synchronous = NORMAL;"
			      "PRAGMA wal_autocheckpoint = 64;"
			      "PRAGMA trusted_schema = OFF");

	if (r == 0)
		r = store_set_wal(s);
	if (r == 0)
		r = store_pragma_expect(s, "PRAGMA foreign_keys", "1");
	if (r == 0)
		r = store_pragma_expect(s, "PRAGMA secure_delete", "1");
	return r;
}

static int
store_schema_version(struct store *s, int64_t *ret)
{
	int64_t exists;
	int r =
	    store_scalar(s, &exists,
			 "SELECT count(*) FROM sqlite_master"
			 " WHERE type = 'table' AND name = 'schema_version'",
			 NULL, 0);

	if (r < 0 || !exists) {
		*ret = 0;
		return r;
	}
	return store_scalar(s, ret,
			    "SELECT coalesce(max(version), 0)"
			    " FROM schema_version",
			    NULL, 0);
}

/* Applies migration i inside the caller's transaction, unless done. */
static int
store_migrate_tx(struct store *s, size_t i)
{
	int64_t v;
	int r = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
			      " version INTEGER PRIMARY KEY,"
			      " applied_at INTEGER NOT NULL)");

	if (r < 0)
		return r;
	r = store_schema_version(s, &v);
	if (r < 0)
		return r;
	/* Another brig may have migrated since we looked. */
	if (v > (int64_t)ARRAY_SIZE(store_migrations))
		return store_fail(s, -EPROTO, "database is from a newer brig");
	if (v > (int64_t)i)
		return 0;
	r = store_exec(s, store_migrations[i]);
	if (r < 0)
		return r;
	return store_run(s,
			 "INSERT INTO schema_version (version, applied_at)"
			 " VALUES (?1, ?2)",
			 ARGS(ARG_I64((int64_t)i + 1), ARG_I64(store_now())));
}

static int
store_migrate(struct store *s)
{
	const int64_t latest = ARRAY_SIZE(store_migrations);
	int64_t v;
	int r = store_schema_version(s, &v);

	if (r < 0)
		return r;
	if (v > latest)
		return store_fail(s, -EPROTO, "database is from a newer brig");
	for (size_t i = (size_t)v; i < ARRAY_SIZE(store_migrations); i++) {
		r = store_begin(s, true);
		if (r < 0)
			return r;
		r = store_end(s, store_migrate_tx(s, i));
		if (r < 0)
			return r;
	}
	return 0;
}

int
store_open(const char *state_dir, struct store **ret)
{
	_cleanup_free_ char *path = NULL;
	struct store *s;
	int r;

	if (!state_dir || !ret)
		return -EINVAL;
	path = xasprintf("%s/%s", state_dir, STORE_DB_NAME);
	r = store_create_file(path);
	if (r < 0)
		return r;

	s = xcalloc(1, sizeof(*s));
	r = store_open_db(s, path);
	if (r == 0)
		r = store_pragmas(s);
	if (r == 0)
		r = store_migrate(s);
	if (r < 0) {
		store_close(s);
		return r;
	}
	*ret = s;
	return 0;
}

void
store_files(const char *state_dir, char *ret[STORE_NFILES + 1])
{
	static const char *const suffix[STORE_NFILES] = { "", "-wal", "-shm" };

	for (size_t i = 0; i < STORE_NFILES; i++)
		ret[i] =
		    xasprintf("%s/%s%s", state_dir, STORE_DB_NAME, suffix[i]);
	ret[STORE_NFILES] = NULL;
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	free(s);
}

static bool
store_sha256_valid(const char *sha256)
{
	size_t n = 0;

	for (; sha256 && sha256[n]; n++) {
		if (!strchr("0123456789abcdef", sha256[n]))
			return false;
	}
	return n == STORE_SHA256_LEN;
}

static int
store_sandbox_id(struct store *s, const char *name, int64_t *ret)
{
	int r = store_scalar(s, ret, "SELECT id FROM sandboxes WHERE name = ?1",
			     ARGS(ARG_STR(name)));

	return r == -ENOENT ? store_fail(s, r, "no such sandbox") : r;
}

static int
store_revision_insert(struct store *s, int64_t id, int64_t rev,
		      const char *text, const char *sha256)
{
	return store_run(s,
			 "INSERT INTO policy_revisions"
			 " (sandbox_id, rev, sha256, text, status, created_at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			 ARGS(ARG_I64(id), ARG_I64(rev), ARG_STR(sha256),
			      ARG_STR(text),
			      ARG_STR(store_rev_status_name(STORE_REV_PENDING)),
			      ARG_I64(store_now())));
}

/*
 * The first revision is pending until the supervisor loads it, but it is
 * already the sandbox's policy_rev: the sandbox is being built under it.
 */
static int
store_sandbox_insert_tx(struct store *s, const struct store_sandbox *sb,
			const char *text, const char *sha256, int64_t *ret_id)
{
	int r = store_run(
	    s,
	    "INSERT INTO sandboxes (name, state, reason, created_at,"
	    " policy_rev, workspace, workspace_owned, keep,"
	    " supervisor_pid, host_uid, limit_pids, limit_memory,"
	    " limit_cpus_milli, limit_files, limits_backend)"
	    " VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	    " ?13, ?14)",
	    ARGS(ARG_STR(sb->name),
		 ARG_STR(store_sandbox_state_name(STORE_SANDBOX_STARTING)),
		 ARG_STR(sb->reason), ARG_I64(sb->created_at),
		 ARG_STR(sb->workspace), ARG_I64(sb->workspace_owned),
		 ARG_I64(sb->keep), ARG_I64(sb->supervisor_pid),
		 ARG_I64(sb->host_uid), ARG_I64(sb->limits.pids),
		 ARG_I64(sb->limits.memory), ARG_I64(sb->limits.cpus_milli),
		 ARG_I64(sb->limits.files),
		 ARG_STR(*sb->limits.backend ? sb->limits.backend : NULL)));

	if (r == -EEXIST)
		return store_fail(s, r, "a sandbox with that name exists");
	if (r < 0)
		return r;
	*ret_id = sqlite3_last_insert_rowid(s->db);
	return store_revision_insert(s, *ret_id, 1, text, sha256);
}

int
store_sandbox_insert(struct store *s, struct store_sandbox *sb,
		     const char *policy_text, const char *sha256)
{
	int64_t id = 0;
	int r;

	if (!paths_valid_name(sb->name) || !policy_text ||
	    !store_sha256_valid(sha256))
		return store_fail(s, -EINVAL, "invalid sandbox or policy");
	if (sb->created_at == 0)
		sb->created_at = store_now();
	r = store_begin(s, true);
	if (r < 0)
		return r;
	r = store_end(s,
		      store_sandbox_insert_tx(s, sb, policy_text, sha256, &id));
	if (r < 0)
		return r;
	sb->id = id;
	sb->state = STORE_SANDBOX_STARTING;
	sb->policy_rev = 1;
	return 0;
}

#define STORE_SANDBOX_COLUMNS                                                \
	"SELECT id, name, state, reason, created_at, policy_rev, workspace," \
	" workspace_owned, keep, supervisor_pid, host_uid, limit_pids,"      \
	" limit_memory, limit_cpus_milli, limit_files, limits_backend"       \
	" FROM sandboxes"

static int
store_sandbox_read(sqlite3_stmt *st, void *elem)
{
	struct store_sandbox *sb = elem;
	int state =
	    store_name_index(store_state_names, ARRAY_SIZE(store_state_names),
			     sqlite3_column_text(st, 2));

	if (state < 0)
		return state;
	*sb = (struct store_sandbox){
		.id = sqlite3_column_int64(st, 0),
		.name = col_strdup(st, 1),
		.state = (enum store_sandbox_state)state,
		.reason = col_strdup(st, 3),
		.created_at = sqlite3_column_int64(st, 4),
		.policy_rev = sqlite3_column_int64(st, 5),
		.workspace = col_strdup(st, 6),
		.workspace_owned = sqlite3_column_int64(st, 7) != 0,
		.keep = sqlite3_column_int64(st, 8) != 0,
		.supervisor_pid = (pid_t)sqlite3_column_int64(st, 9),
		.host_uid = (uid_t)sqlite3_column_int64(st, 10),
		.limits = { .pids = sqlite3_column_int64(st, 11),
			    .memory = sqlite3_column_int64(st, 12),
			    .cpus_milli = sqlite3_column_int64(st, 13),
			    .files = sqlite3_column_int64(st, 14) },
	};
	if (sqlite3_column_text(st, 15))
		snprintf(sb->limits.backend, sizeof(sb->limits.backend), "%s",
			 (const char *)sqlite3_column_text(st, 15));
	return 0;
}

int
store_sandbox_get(struct store *s, const char *name, struct store_sandbox *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, STORE_SANDBOX_COLUMNS " WHERE name = ?1",
			      ARGS(ARG_STR(name)));

	if (r < 0)
		return r;
	r = store_step(s, st);
	if (r < 0)
		return r;
	if (r == 0)
		return store_fail(s, -ENOENT, "no such sandbox");
	r = store_sandbox_read(st, ret);
	return r < 0 ? store_fail(s, r, "unknown sandbox state") : 0;
}

/* How to read one row of a list into an element, and to free it. */
struct store_rows {
	size_t size;
	int (*read)(sqlite3_stmt *st, void *elem);
	void (*clear)(void *elem);
};

static void
store_rows_free(const struct store_rows *rows, char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rows->clear(v + i * rows->size);
	free(v);
}

/* Reads every row of st into a new array. */
static int
store_collect(struct store *s, sqlite3_stmt *st, const struct store_rows *rows,
	      void **ret, size_t *ret_n)
{
	char *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	while ((r = store_step(s, st)) > 0) {
		if (n == STORE_LIST_MAX) {
			r = store_fail(s, -E2BIG, "too many rows");
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * rows->size);
		}
		r = rows->read(st, v + n * rows->size);
		if (r < 0)
			break;
		n++;
	}
	if (r < 0) {
		store_rows_free(rows, v, n);
		return r == -EBADMSG
			   ? store_fail(s, r, "unknown state or status")
			   : r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

static void
store_sandbox_clear_elem(void *elem)
{
	store_sandbox_clear(elem);
}

static const struct store_rows store_sandbox_rows = {
	.size = sizeof(struct store_sandbox),
	.read = store_sandbox_read,
	.clear = store_sandbox_clear_elem,
};

int
store_sandbox_list(struct store *s, struct store_sandbox **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(
	    s, &st, STORE_SANDBOX_COLUMNS " ORDER BY created_at, id", NULL, 0);

	if (r < 0)
		return r;
	return store_collect(s, st, &store_sandbox_rows, (void **)ret, ret_n);
}

/* Runs an UPDATE or DELETE on one sandbox: -ENOENT when it matched none. */
static int
store_sandbox_change(struct store *s, const char *sql,
		     const struct store_arg *args, size_t n)
{
	int r = store_run(s, sql, args, n);

	if (r < 0)
		return r;
	if (sqlite3_changes(s->db) == 0)
		return store_fail(s, -ENOENT, "no such sandbox");
	return 0;
}

int
store_sandbox_set_state(struct store *s, const char *name,
			enum store_sandbox_state state, const char *reason)
{
	if ((size_t)state >= ARRAY_SIZE(store_state_names))
		return store_fail(s, -EINVAL, "invalid sandbox state");
	return store_sandbox_change(
	    s, "UPDATE sandboxes SET state = ?1, reason = ?2 WHERE name = ?3",
	    ARGS(ARG_STR(store_sandbox_state_name(state)), ARG_STR(reason),
		 ARG_STR(name)));
}

int
store_sandbox_set_supervisor(struct store *s, const char *name, pid_t pid)
{
	return store_sandbox_change(
	    s, "UPDATE sandboxes SET supervisor_pid = ?1 WHERE name = ?2",
	    ARGS(ARG_I64(pid), ARG_STR(name)));
}

/* The revisions go with it: foreign_keys is on and they cascade. */
int
store_sandbox_delete(struct store *s, const char *name)
{
	return store_sandbox_change(s, "DELETE FROM sandboxes WHERE name = ?1",
				    ARGS(ARG_STR(name)));
}

void
store_sandbox_clear(struct store_sandbox *sb)
{
	if (!sb)
		return;
	free(sb->name);
	free(sb->reason);
	free(sb->workspace);
	*sb = (struct store_sandbox){ 0 };
}

void
store_sandbox_list_free(struct store_sandbox *v, size_t n)
{
	store_rows_free(&store_sandbox_rows, (char *)v, n);
}

/* Reads the latest revision's number and sha256; rev 0 when none. */
static int
store_revision_latest(struct store *s, int64_t id, int64_t *ret_rev,
		      char sha256[STORE_SHA256_LEN + 1])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r =
	    store_prepare(s, &st,
			  "SELECT rev, sha256 FROM policy_revisions"
			  " WHERE sandbox_id = ?1 ORDER BY rev DESC LIMIT 1",
			  ARGS(ARG_I64(id)));

	*ret_rev = 0;
	sha256[0] = '\0';
	if (r < 0)
		return r;
	r = store_step(s, st);
	if (r <= 0)
		return r;
	*ret_rev = sqlite3_column_int64(st, 0);
	snprintf(sha256, STORE_SHA256_LEN + 1, "%s",
		 (const char *)sqlite3_column_text(st, 1));
	return 0;
}

static int
store_revision_add_tx(struct store *s, const char *name, const char *text,
		      const char *sha256, int64_t *ret_rev, bool *ret_created)
{
	char latest_sha[STORE_SHA256_LEN + 1];
	int64_t id, latest;
	int r = store_sandbox_id(s, name, &id);

	if (r == 0)
		r = store_revision_latest(s, id, &latest, latest_sha);
	if (r < 0)
		return r;
	*ret_created = !streq(latest_sha, sha256);
	*ret_rev = *ret_created ? latest + 1 : latest;
	if (!*ret_created)
		return 0;
	return store_revision_insert(s, id, *ret_rev, text, sha256);
}

int
store_revision_add(struct store *s, const char *name, const char *text,
		   const char *sha256, int64_t *ret_rev, bool *ret_created)
{
	int64_t rev = 0;
	bool created = false;
	int r;

	if (!text || !store_sha256_valid(sha256))
		return store_fail(s, -EINVAL, "invalid policy revision");
	r = store_begin(s, true);
	if (r < 0)
		return r;
	r = store_end(
	    s, store_revision_add_tx(s, name, text, sha256, &rev, &created));
	if (r < 0)
		return r;
	if (ret_rev)
		*ret_rev = rev;
	if (ret_created)
		*ret_created = created;
	return 0;
}

static int
store_revision_status(struct store *s, int64_t id, int64_t rev,
		      enum store_rev_status *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st,
			      "SELECT status FROM policy_revisions"
			      " WHERE sandbox_id = ?1 AND rev = ?2",
			      ARGS(ARG_I64(id), ARG_I64(rev)));

	if (r < 0)
		return r;
	r = store_step(s, st);
	if (r < 0)
		return r;
	if (r == 0)
		return store_fail(s, -ENOENT, "no such revision");
	r = store_name_index(store_status_names, ARRAY_SIZE(store_status_names),
			     sqlite3_column_text(st, 0));
	if (r < 0)
		return store_fail(s, r, "unknown revision status");
	*ret = (enum store_rev_status)r;
	return 0;
}

/* The loaded revision replaces the one loaded before it. */
static int
store_revision_mark_loaded(struct store *s, int64_t id, int64_t rev)
{
	int r =
	    store_run(s,
		      "UPDATE policy_revisions SET status = ?1"
		      " WHERE sandbox_id = ?2 AND status = ?3",
		      ARGS(ARG_STR(store_rev_status_name(STORE_REV_SUPERSEDED)),
			   ARG_I64(id),
			   ARG_STR(store_rev_status_name(STORE_REV_LOADED))));

	if (r == 0)
		r = store_run(
		    s,
		    "UPDATE policy_revisions"
		    " SET status = ?1, loaded_at = ?2, error = NULL"
		    " WHERE sandbox_id = ?3 AND rev = ?4",
		    ARGS(ARG_STR(store_rev_status_name(STORE_REV_LOADED)),
			 ARG_I64(store_now()), ARG_I64(id), ARG_I64(rev)));
	if (r == 0)
		r = store_run(s,
			      "UPDATE sandboxes SET policy_rev = ?1"
			      " WHERE id = ?2",
			      ARGS(ARG_I64(rev), ARG_I64(id)));
	return r;
}

/*
 * A revision that fails to load is not in force; that matters for the
 * first one, which is the sandbox's policy_rev from the start.
 */
static int
store_revision_mark_failed(struct store *s, int64_t id, int64_t rev,
			   const char *error)
{
	int r = store_run(s,
			  "UPDATE policy_revisions SET status = ?1, error = ?2"
			  " WHERE sandbox_id = ?3 AND rev = ?4",
			  ARGS(ARG_STR(store_rev_status_name(STORE_REV_FAILED)),
			       ARG_STR(error), ARG_I64(id), ARG_I64(rev)));

	if (r == 0)
		r = store_run(s,
			      "UPDATE sandboxes SET policy_rev = 0"
			      " WHERE id = ?1 AND policy_rev = ?2",
			      ARGS(ARG_I64(id), ARG_I64(rev)));
	return r;
}

/*
 * Any revision may be loaded (a failed one retried, an old one restored);
 * only a pending or failed one may fail, since a loaded policy did load.
 */
static int
store_revision_set_status_tx(struct store *s, const char *name, int64_t rev,
			     enum store_rev_status status, const char *error)
{
	enum store_rev_status cur = STORE_REV_PENDING;
	int64_t id;
	int r = store_sandbox_id(s, name, &id);

	if (r == 0)
		r = store_revision_status(s, id, rev, &cur);
	if (r < 0)
		return r;
	if (status == STORE_REV_LOADED)
		return cur == STORE_REV_LOADED
			   ? 0
			   : store_revision_mark_loaded(s, id, rev);
	if (cur != STORE_REV_PENDING && cur != STORE_REV_FAILED)
		return store_fail(s, -EINVAL, "revision was loaded");
	return store_revision_mark_failed(s, id, rev, error);
}

int
store_revision_set_status(struct store *s, const char *name, int64_t rev,
			  enum store_rev_status status, const char *error)
{
	int r;

	/* Pending and superseded are the store's to set, not the caller's. */
	if (status != STORE_REV_LOADED && status != STORE_REV_FAILED)
		return store_fail(s, -EINVAL, "invalid revision status");
	r = store_begin(s, true);
	if (r < 0)
		return r;
	return store_end(
	    s, store_revision_set_status_tx(s, name, rev, status, error));
}

int
store_sandbox_started(struct store *s, const char *name, pid_t pid)
{
	int r = store_begin(s, true);

	if (r < 0)
		return r;
	r = store_sandbox_change(
	    s,
	    "UPDATE sandboxes SET state = ?1, reason = NULL,"
	    " supervisor_pid = ?2 WHERE name = ?3",
	    ARGS(ARG_STR(store_sandbox_state_name(STORE_SANDBOX_RUNNING)),
		 ARG_I64(pid), ARG_STR(name)));
	if (r == 0)
		r = store_revision_set_status_tx(s, name, 1, STORE_REV_LOADED,
						 NULL);
	return store_end(s, r);
}

/* Revisions are looked up by the sandbox's name in the same statement. */
#define STORE_REVISION_COLUMNS                                    \
	"SELECT r.rev, r.sha256, r.text, r.status, r.created_at," \
	" r.loaded_at, r.error FROM policy_revisions r"           \
	" JOIN sandboxes s ON s.id = r.sandbox_id WHERE s.name = ?1"

static int
store_revision_read(sqlite3_stmt *st, void *elem)
{
	struct store_revision *rv = elem;
	const unsigned char *sha = sqlite3_column_text(st, 1);
	int status =
	    store_name_index(store_status_names, ARRAY_SIZE(store_status_names),
			     sqlite3_column_text(st, 3));

	if (status < 0)
		return status;
	*rv = (struct store_revision){
		.rev = sqlite3_column_int64(st, 0),
		.text = col_strdup(st, 2),
		.status = (enum store_rev_status)status,
		.created_at = sqlite3_column_int64(st, 4),
		.loaded_at = sqlite3_column_int64(st, 5),
		.error = col_strdup(st, 6),
	};
	snprintf(rv->sha256, sizeof(rv->sha256), "%s",
		 sha ? (const char *)sha : "");
	return 0;
}

int
store_revision_get(struct store *s, const char *name, int64_t rev,
		   struct store_revision *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (rev < 0)
		return store_fail(s, -EINVAL, "invalid revision");
	r = store_prepare(s, &st,
			  STORE_REVISION_COLUMNS " AND (?2 = 0 OR r.rev = ?2)"
						 " ORDER BY r.rev DESC LIMIT 1",
			  ARGS(ARG_STR(name), ARG_I64(rev)));
	if (r == 0)
		r = store_step(s, st);
	if (r < 0)
		return r;
	if (r == 0)
		return store_fail(s, -ENOENT, "no such sandbox or revision");
	r = store_revision_read(st, ret);
	return r < 0 ? store_fail(s, r, "unknown revision status") : 0;
}

static void
store_revision_clear_elem(void *elem)
{
	store_revision_clear(elem);
}

static const struct store_rows store_revision_rows = {
	.size = sizeof(struct store_revision),
	.read = store_revision_read,
	.clear = store_revision_clear_elem,
};

/*
 * No rows almost always means no such sandbox, since every sandbox is
 * inserted with its first revision; the second look makes sure, so that
 * an existing sandbox is never reported missing.
 */
int
store_revision_list(struct store *s, const char *name,
		    struct store_revision **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int64_t id;
	int r = store_prepare(s, &st, STORE_REVISION_COLUMNS " ORDER BY r.rev",
			      ARGS(ARG_STR(name)));

	if (r == 0)
		r = store_collect(s, st, &store_revision_rows, (void **)ret,
				  ret_n);
	if (r < 0 || *ret_n > 0)
		return r;
	free(*ret);
	*ret = NULL;
	return store_sandbox_id(s, name, &id);
}

void
store_revision_clear(struct store_revision *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->error);
	*r = (struct store_revision){ 0 };
}

void
store_revision_list_free(struct store_revision *v, size_t n)
{
	store_rows_free(&store_revision_rows, (char *)v, n);
}

/*
 * Providers.
 *
 * A credential value reaches SQLite only as a bound blob and leaves it
 * only through store_provider_get_secrets, copied into a buffer that the
 * caller wipes. SQLite itself keeps the pages it read or wrote in its page
 * cache, and the row buffers of a statement in its heap, until they are
 * reused or the connection closes; it frees that memory without wiping
 * it. So a process that handled values should close the store soon after.
 * On disk, secure_delete zeros what a delete or update removes, and after
 * such a change a checkpoint truncates the WAL, which still held the old
 * pages.
 */

static bool
store_key_valid(const char *key)
{
	size_t n = 0;

	if (!key || !((*key >= 'A' && *key <= 'Z') ||
		      (*key >= 'a' && *key <= 'z') || *key == '_'))
		return false;
	for (; key[n]; n++) {
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789_",
			    key[n]))
			return false;
	}
	return n <= STORE_KEY_MAX;
}

/* The CLI parses hosts; this only keeps what it stores canonical. */
static bool
store_host_valid(const struct store_host *h)
{
	size_t n = 0;

	for (; h->host && h->host[n]; n++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789.-_*:[]",
			    h->host[n]))
			return false;
	}
	return n > 0 && n <= STORE_HOST_MAX;
}

static bool
store_value_valid(const struct store_credential *c)
{
	return c->value && c->len > 0 && c->len <= STORE_VALUE_MAX &&
	       !memchr(c->value, '\0', c->len);
}

static bool
store_key_repeated(const struct store_provider_edit *e, size_t i)
{
	for (size_t j = 0; j < i; j++) {
		if (streq(e->creds[j].key, e->creds[i].key))
			return true;
	}
	return false;
}

static int
store_edit_check(struct store *s, const struct store_provider_edit *e)
{
	if (e->n_creds > STORE_PROVIDER_MAX_CREDS ||
	    e->n_hosts > STORE_PROVIDER_MAX_HOSTS)
		return store_fail(s, -EINVAL, "too many credentials or hosts");
	for (size_t i = 0; i < e->n_creds; i++) {
		if (!store_key_valid(e->creds[i].key) ||
		    store_key_repeated(e, i))
			return store_fail(s, -EINVAL,
					  "invalid or repeated key");
		if (!store_value_valid(&e->creds[i]))
			return store_fail(s, -EINVAL, "invalid value");
	}
	for (size_t i = 0; i < e->n_hosts; i++) {
		if (!store_host_valid(&e->hosts[i]))
			return store_fail(s, -EINVAL, "invalid host");
	}
	return 0;
}

static int
store_provider_id(struct store *s, const char *name, int64_t *ret)
{
	int r = store_scalar(s, ret, "SELECT id FROM providers WHERE name = ?1",
			     ARGS(ARG_STR(name)));

	return r == -ENOENT ? store_fail(s, r, "no such provider") : r;
}

/* Upserts each credential and adds each host, inside a transaction. */
static int
store_provider_write(struct store *s, int64_t id,
		     const struct store_provider_edit *e)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < e->n_creds; i++)
		r = store_run(
		    s,
		    "INSERT INTO provider_credentials"
		    " (provider_id, key, value) VALUES (?1, ?2, ?3)"
		    " ON CONFLICT (provider_id, key)"
		    " DO UPDATE SET value = excluded.value",
		    ARGS(ARG_I64(id), ARG_STR(e->creds[i].key),
			 ARG_SECRET(e->creds[i].value, e->creds[i].len)));
	for (size_t i = 0; r == 0 && i < e->n_hosts; i++)
		r = store_run(s,
			      "INSERT OR IGNORE INTO provider_hosts"
			      " (provider_id, host, port) VALUES (?1, ?2, ?3)",
			      ARGS(ARG_I64(id), ARG_STR(e->hosts[i].host),
				   ARG_I64(e->hosts[i].port)));
	return r;
}

static int
store_provider_create_tx(struct store *s, const char *name, const char *type,
			 const struct store_provider_edit *e)
{
	int r =
	    store_run(s,
		      "INSERT INTO providers"
		      " (name, type, created_at, updated_at)"
		      " VALUES (?1, ?2, ?3, ?3)",
		      ARGS(ARG_STR(name), ARG_STR(type), ARG_I64(store_now())));

	if (r == -EEXIST)
		return store_fail(s, r, "a provider with that name exists");
	if (r < 0)
		return r;
	return store_provider_write(s, sqlite3_last_insert_rowid(s->db), e);
}

int
store_provider_create(struct store *s, const char *name, const char *type,
		      const struct store_provider_edit *e)
{
	int r;

	if (!paths_valid_name(name) || !paths_valid_name(type))
		return store_fail(s, -EINVAL, "invalid provider name or type");
	if (e->n_creds == 0)
		return store_fail(s, -EINVAL, "a provider needs a credential");
	r = store_edit_check(s, e);
	if (r < 0)
		return r;
	r = store_begin(s, true);
	if (r < 0)
		return r;
	return store_end(s, store_provider_create_tx(s, name, type, e));
}

/*
 * After a change removed values, moves the WAL's pages into the database
 * (where secure_delete zeroed them) and truncates the WAL, whose older
 * frames still hold them. Best effort and without waiting: another brig
 * reading at that moment keeps the frames until a later checkpoint.
 */
static void
store_forget_wal(struct store *s)
{
	sqlite3_busy_timeout(s->db, 0);
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
				  NULL);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
}

static int
store_provider_update_tx(struct store *s, const char *name,
			 const struct store_provider_edit *e)
{
	int64_t id;
	int r = store_provider_id(s, name, &id);

	if (r == 0)
		r = store_provider_write(s, id, e);
	if (r == 0)
		r = store_run(s,
			      "UPDATE providers SET updated_at = ?1"
			      " WHERE id = ?2",
			      ARGS(ARG_I64(store_now()), ARG_I64(id)));
	return r;
}

int
store_provider_update(struct store *s, const char *name,
		      const struct store_provider_edit *e)
{
	int r = store_edit_check(s, e);

	if (r < 0)
		return r;
	r = store_begin(s, true);
	if (r < 0)
		return r;
	r = store_end(s, store_provider_update_tx(s, name, e));
	if (r == 0 && e->n_creds > 0)
		store_forget_wal(s);
	return r;
}

/* -EBUSY, naming the sandbox, when a live sandbox uses provider id. */
static int
store_provider_check_unused(struct store *s, int64_t id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char msg[STORE_ERRMSG_MAX];
	int r = store_prepare(
	    s, &st,
	    "SELECT s.name, s.state FROM sandbox_providers sp"
	    " JOIN sandboxes s ON s.id = sp.sandbox_id"
	    " WHERE sp.provider_id = ?1 AND s.state IN (?2, ?3)"
	    " ORDER BY s.name LIMIT 1",
	    ARGS(ARG_I64(id),
		 ARG_STR(store_sandbox_state_name(STORE_SANDBOX_STARTING)),
		 ARG_STR(store_sandbox_state_name(STORE_SANDBOX_RUNNING))));

	if (r == 0)
		r = store_step(s, st);
	if (r <= 0)
		return r;
	snprintf(msg, sizeof(msg), "used by %s sandbox '%s'",
		 (const char *)sqlite3_column_text(st, 1),
		 (const char *)sqlite3_column_text(st, 0));
	return store_fail(s, -EBUSY, msg);
}

/*
 * A starting sandbox counts as using it: its supervisor may be reading
 * the credentials at this moment.
 */
static int
store_provider_delete_tx(struct store *s, const char *name, bool force)
{
	int64_t id;
	int r = store_provider_id(s, name, &id);

	if (r == 0 && !force)
		r = store_provider_check_unused(s, id);
	if (r == 0)
		r = store_run(s,
			      "DELETE FROM sandbox_providers"
			      " WHERE provider_id = ?1",
			      ARGS(ARG_I64(id)));
	if (r == 0)
		r = store_run(s, "DELETE FROM providers WHERE id = ?1",
			      ARGS(ARG_I64(id)));
	return r;
}

int
store_provider_delete(struct store *s, const char *name, bool force)
{
	int r = store_begin(s, true);

	if (r < 0)
		return r;
	r = store_end(s, store_provider_delete_tx(s, name, force));
	if (r == 0)
		store_forget_wal(s);
	return r;
}

static int
store_name_read(sqlite3_stmt *st, void *elem)
{
	*(char **)elem = col_strdup(st, 0);
	return 0;
}

static void
store_name_clear(void *elem)
{
	free(*(char **)elem);
}

static const struct store_rows store_name_rows = {
	.size = sizeof(char *),
	.read = store_name_read,
	.clear = store_name_clear,
};

static int
store_host_read(sqlite3_stmt *st, void *elem)
{
	struct store_host *h = elem;

	h->host = col_strdup(st, 0);
	h->port = (uint16_t)sqlite3_column_int64(st, 1);
	return 0;
}

static void
store_host_clear(void *elem)
{
	free(((struct store_host *)elem)->host);
}

static const struct store_rows store_host_rows = {
	.size = sizeof(struct store_host),
	.read = store_host_read,
	.clear = store_host_clear,
};

/* Runs a query on one id and collects its rows. */
static int
store_collect_id(struct store *s, const char *sql, int64_t id,
		 const struct store_rows *rows, void **ret, size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, sql, ARGS(ARG_I64(id)));

	*ret = NULL;
	*ret_n = 0;
	return r < 0 ? r : store_collect(s, st, rows, ret, ret_n);
}

/* Reads a provider's keys (never the values) and hosts. */
static int
store_provider_fill(struct store *s, struct store_provider *p)
{
	int r = store_collect_id(s,
				 "SELECT key FROM provider_credentials"
				 " WHERE provider_id = ?1 ORDER BY key",
				 p->id, &store_name_rows, (void **)&p->keys,
				 &p->n_keys);

	if (r < 0)
		return r;
	return store_collect_id(s,
				"SELECT host, port FROM provider_hosts"
				" WHERE provider_id = ?1 ORDER BY host, port",
				p->id, &store_host_rows, (void **)&p->hosts,
				&p->n_hosts);
}

#define STORE_PROVIDER_COLUMNS \
	"SELECT id, name, type, created_at, updated_at FROM providers"

static int
store_provider_read(sqlite3_stmt *st, void *elem)
{
	struct store_provider *p = elem;

	*p = (struct store_provider){
		.id = sqlite3_column_int64(st, 0),
		.name = col_strdup(st, 1),
		.type = col_strdup(st, 2),
		.created_at = sqlite3_column_int64(st, 3),
		.updated_at = sqlite3_column_int64(st, 4),
	};
	return 0;
}

static int
store_provider_get_tx(struct store *s, const char *name,
		      struct store_provider *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, STORE_PROVIDER_COLUMNS " WHERE name = ?1",
			      ARGS(ARG_STR(name)));

	if (r == 0)
		r = store_step(s, st);
	if (r < 0)
		return r;
	if (r == 0)
		return store_fail(s, -ENOENT, "no such provider");
	store_provider_read(st, ret);
	return store_provider_fill(s, ret);
}

/* One read transaction, so the keys and hosts match the provider. */
int
store_provider_get(struct store *s, const char *name,
		   struct store_provider *ret)
{
	int r = store_begin(s, false);

	*ret = (struct store_provider){ 0 };
	if (r < 0)
		return r;
	r = store_end(s, store_provider_get_tx(s, name, ret));
	if (r < 0)
		store_provider_clear(ret);
	return r;
}

static void
store_provider_clear_elem(void *elem)
{
	store_provider_clear(elem);
}

static const struct store_rows store_provider_rows = {
	.size = sizeof(struct store_provider),
	.read = store_provider_read,
	.clear = store_provider_clear_elem,
};

static int
store_provider_list_tx(struct store *s, struct store_provider **ret,
		       size_t *ret_n)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_prepare(s, &st, STORE_PROVIDER_COLUMNS " ORDER BY name",
			      NULL, 0);

	if (r == 0)
		r = store_collect(s, st, &store_provider_rows, (void **)ret,
				  ret_n);
	for (size_t i = 0; r == 0 && i < *ret_n; i++)
		r = store_provider_fill(s, &(*ret)[i]);
	if (r < 0 && *ret) {
		store_provider_list_free(*ret, *ret_n);
		*ret = NULL;
	}
	return r;
}

int
store_provider_list(struct store *s, struct store_provider **ret, size_t *ret_n)
{
	int r = store_begin(s, false);

	*ret = NULL;
	*ret_n = 0;
	if (r < 0)
		return r;
	return store_end(s, store_provider_list_tx(s, ret, ret_n));
}

/* Copies one value out of SQLite's row into a buffer the caller wipes. */
static int
store_secret_read(sqlite3_stmt *st, void *elem)
{
	struct store_credential *c = elem;
	const void *v = sqlite3_column_blob(st, 1);
	int n = sqlite3_column_bytes(st, 1);

	*c = (struct store_credential){ .key = col_strdup(st, 0) };
	c->len = n > 0 ? (size_t)n : 0;
	c->value = xmalloc(c->len + 1);
	if (c->len)
		memcpy(c->value, v, c->len);
	c->value[c->len] = '\0';
	return 0;
}

static void
store_secret_clear(void *elem)
{
	struct store_credential *c = elem;

	if (c->value)
		explicit_bzero(c->value, c->len);
	free(c->value);
	free(c->key);
	*c = (struct store_credential){ 0 };
}

static const struct store_rows store_secret_rows = {
	.size = sizeof(struct store_credential),
	.read = store_secret_read,
	.clear = store_secret_clear,
};

static int
store_provider_secrets_tx(struct store *s, const char *name,
			  struct store_credential **ret, size_t *ret_n)
{
	int64_t id;
	int r = store_provider_id(s, name, &id);

	if (r < 0)
		return r;
	return store_collect_id(s,
				"SELECT key, value FROM provider_credentials"
				" WHERE provider_id = ?1 ORDER BY key",
				id, &store_secret_rows, (void **)ret, ret_n);
}

int
store_provider_get_secrets(struct store *s, const char *name,
			   struct store_credential **ret, size_t *ret_n)
{
	int r = store_begin(s, false);

	*ret = NULL;
	*ret_n = 0;
	if (r < 0)
		return r;
	r = store_end(s, store_provider_secrets_tx(s, name, ret, ret_n));
	if (r < 0 && *ret) {
		store_credentials_free(*ret, *ret_n);
		*ret = NULL;
		*ret_n = 0;
	}
	return r;
}

void
store_provider_clear(struct store_provider *p)
{
	if (!p)
		return;
	store_names_free(p->keys, p->n_keys);
	store_rows_free(&store_host_rows, (char *)p->hosts, p->n_hosts);
	free(p->name);
	free(p->type);
	*p = (struct store_provider){ 0 };
}

void
store_provider_list_free(struct store_provider *v, size_t n)
{
	store_rows_free(&store_provider_rows, (char *)v, n);
}

void
store_credentials_free(struct store_credential *v, size_t n)
{
	store_rows_free(&store_secret_rows, (char *)v, n);
}

void
store_names_free(char **v, size_t n)
{
	store_rows_free(&store_name_rows, (char *)v, n);
}

/* Which of the two names is missing, after an insert matched neither. */
static int
store_sandbox_provider_missing(struct store *s, const char *sandbox,
			       const char *provider)
{
	int64_t id;
	int r = store_sandbox_id(s, sandbox, &id);

	return r < 0 ? r : store_provider_id(s, provider, &id);
}

int
store_sandbox_add_provider(struct store *s, const char *sandbox,
			   const char *provider)
{
	int r = store_begin(s, true);

	if (r < 0)
		return r;
	r = store_run(s,
		      "INSERT OR IGNORE INTO sandbox_providers"
		      " (sandbox_id, provider_id) SELECT s.id, p.id"
		      " FROM sandboxes s, providers p"
		      " WHERE s.name = ?1 AND p.name = ?2",
		      ARGS(ARG_STR(sandbox), ARG_STR(provider)));
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = store_sandbox_provider_missing(s, sandbox, provider);
	return store_end(s, r);
}

int
store_sandbox_providers(struct store *s, const char *sandbox, char ***ret,
			size_t *ret_n)
{
	int64_t id;
	int r = store_sandbox_id(s, sandbox, &id);

	*ret = NULL;
	*ret_n = 0;
	if (r < 0)
		return r;
	return store_collect_id(s,
				"SELECT p.name FROM sandbox_providers sp"
				" JOIN providers p ON p.id = sp.provider_id"
				" WHERE sp.sandbox_id = ?1 ORDER BY sp.rowid",
				id, &store_name_rows, (void **)ret, ret_n);
}
