/* SPDX-License-Identifier: Apache-2.0 */
/*
 * brig's store: one SQLite database (WAL) in the state directory, holding
 * sandboxes, policy revisions and credential providers (DESIGN.md sections
 * 6 and 9). Every function returns 0 or a negative errno; -EEXIST and
 * -ENOENT mean what they say, -EBUSY that another brig held the database
 * past the busy timeout (or, for store_provider_delete, that a running
 * sandbox uses the provider).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct store;

enum store_sandbox_state {
	STORE_SANDBOX_STARTING,
	STORE_SANDBOX_RUNNING,
	STORE_SANDBOX_STOPPED,
	STORE_SANDBOX_FAILED,
};

struct store_sandbox {
	int64_t id;
	char *name;
	enum store_sandbox_state state;
	char *reason; /* why it failed or stopped, or NULL */
	int64_t created_at; /* unix seconds */
	int64_t policy_rev; /* the revision in force, 0 when none */
	char *workspace; /* host directory that is /sandbox */
	bool workspace_owned; /* brig made it and removes it */
	bool keep;
	pid_t supervisor_pid;
	uid_t host_uid; /* host uid that the sandbox user maps to */
	/* Resource limits; 0 (and an empty backend) for a sandbox made
	 * before brig had them. */
	struct store_limits {
		int64_t pids;
		int64_t memory; /* bytes */
		int64_t cpus_milli; /* 0: all CPUs */
		int64_t files;
		char backend[16]; /* "cgroup2" or "rlimit" */
	} limits;
};

enum store_rev_status {
	STORE_REV_PENDING,
	STORE_REV_LOADED,
	STORE_REV_FAILED,
	STORE_REV_SUPERSEDED,
};

struct store_revision {
	int64_t rev;
	char sha256[65];
	char *text;
	enum store_rev_status status;
	int64_t created_at;
	int64_t loaded_at; /* 0 when never loaded */
	char *error; /* why it failed, or NULL */
};

/* Opens (creating and migrating) <state_dir>/brig.db, mode 0600. */
int store_open(const char *state_dir, struct store **ret);
void store_close(struct store *s);

#define STORE_NFILES 3
/*
 * The files the store lives in: the database, its write-ahead log and
 * the log's index. SQLite does not remove the last two on close (brig
 * turns off the checkpoint on close), so they outlive every connection.
 * Fills ret with NULL-terminated paths to free.
 */
void store_files(const char *state_dir, char *ret[STORE_NFILES + 1]);
/*
 * Why the last failed call failed, for the CLI's message (SQLite's own
 * text where SQLite failed). Meaningful only right after a failure.
 */
const char *store_errmsg(struct store *s);

/*
 * Inserts a sandbox in state STARTING together with its first policy
 * revision (text, sha256), atomically. -EEXIST if the name is taken.
 * Fills sb->id, sb->state and sb->policy_rev (1: the first revision is in
 * force, pending until loaded), and sb->created_at when it is 0.
 */
int store_sandbox_insert(struct store *s, struct store_sandbox *sb,
			 const char *policy_text, const char *sha256);
int store_sandbox_get(struct store *s, const char *name,
		      struct store_sandbox *ret);
/* All sandboxes ordered by creation; free with store_sandbox_list_free. */
int store_sandbox_list(struct store *s, struct store_sandbox **ret,
		       size_t *ret_n);
int store_sandbox_set_state(struct store *s, const char *name,
			    enum store_sandbox_state state, const char *reason);
/*
 * A sandbox's supervisor is up: state RUNNING, its pid, and revision 1
 * loaded, in one transaction (one commit on the path of "brig run").
 */
int store_sandbox_started(struct store *s, const char *name, pid_t pid);
int store_sandbox_set_supervisor(struct store *s, const char *name, pid_t pid);
/* Deletes the sandbox and its revisions. */
int store_sandbox_delete(struct store *s, const char *name);
void store_sandbox_clear(struct store_sandbox *sb);
void store_sandbox_list_free(struct store_sandbox *v, size_t n);
const char *store_sandbox_state_name(enum store_sandbox_state st);

/*
 * Adds a revision unless the latest one has the same sha256, in which case
 * *ret_rev is that revision and *ret_created false.
 */
int store_revision_add(struct store *s, const char *name, const char *text,
		       const char *sha256, int64_t *ret_rev, bool *ret_created);
/*
 * Marks a revision loaded (and the sandbox's policy_rev; the revision
 * loaded before becomes SUPERSEDED) or failed, with error. A loaded or
 * superseded revision cannot fail (-EINVAL); PENDING and SUPERSEDED are
 * set by the store only (-EINVAL).
 */
int store_revision_set_status(struct store *s, const char *name, int64_t rev,
			      enum store_rev_status status, const char *error);
/* rev 0 means the latest. */
int store_revision_get(struct store *s, const char *name, int64_t rev,
		       struct store_revision *ret);
int store_revision_list(struct store *s, const char *name,
			struct store_revision **ret, size_t *ret_n);
void store_revision_clear(struct store_revision *r);
void store_revision_list_free(struct store_revision *v, size_t n);
const char *store_rev_status_name(enum store_rev_status st);

/*
 * Credential providers. A provider is a named set of credentials
 * (environment variable names and their secret values) and the hosts its
 * credentials may be sent to. Only store_provider_get_secrets returns
 * values; everything else returns names.
 */

/* The most credentials and hosts one provider holds. */
#define STORE_PROVIDER_MAX_CREDS 64
#define STORE_PROVIDER_MAX_HOSTS 64
/* A key is an environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
#define STORE_KEY_MAX 128
/* A value: 1 to this many bytes, no NUL (it becomes an environment value). */
#define STORE_VALUE_MAX (64 * 1024)
/* A host name or address, lowercase, as DNS limits it. */
#define STORE_HOST_MAX 253

/* Where a provider's credentials may be sent; port 0 means any port. */
struct store_host {
	char *host;
	uint16_t port;
};

/*
 * A credential. value holds len bytes and a NUL after them; whoever holds
 * one wipes it (explicit_bzero) before freeing, as
 * store_credentials_free does.
 */
struct store_credential {
	char *key;
	char *value;
	size_t len;
};

struct store_provider {
	int64_t id;
	char *name;
	char *type;
	int64_t created_at; /* unix seconds */
	int64_t updated_at;
	char **keys; /* sorted; the values stay in the store */
	size_t n_keys;
	struct store_host *hosts; /* sorted; none means any allowed endpoint */
	size_t n_hosts;
};

/* What a create or an update writes. */
struct store_provider_edit {
	const struct store_credential *creds;
	size_t n_creds;
	const struct store_host *hosts;
	size_t n_hosts;
};

/*
 * Inserts a provider with its credentials (at least one) and hosts,
 * atomically. -EEXIST if the name is taken, -EINVAL for a bad name, type,
 * key (or a key given twice), value or host.
 */
int store_provider_create(struct store *s, const char *name, const char *type,
			  const struct store_provider_edit *e);
/* Type, keys and hosts of one provider; never a value. */
int store_provider_get(struct store *s, const char *name,
		       struct store_provider *ret);
/* All providers by name; free with store_provider_list_free. */
int store_provider_list(struct store *s, struct store_provider **ret,
			size_t *ret_n);
/*
 * Keys and values of one provider, sorted by key, for the supervisor that
 * resolves placeholders and for nothing else. Free with
 * store_credentials_free, which wipes the values.
 */
int store_provider_get_secrets(struct store *s, const char *name,
			       struct store_credential **ret, size_t *ret_n);
/*
 * In one transaction: each credential given replaces the one with its key
 * (or is added), each host given is added. Other credentials and hosts
 * stay. -ENOENT when there is no such provider.
 */
int store_provider_update(struct store *s, const char *name,
			  const struct store_provider_edit *e);
/*
 * Deletes a provider, its credentials and hosts, and the record of which
 * sandboxes were created with it. -EBUSY while a starting or running
 * sandbox uses it, unless force.
 */
int store_provider_delete(struct store *s, const char *name, bool force);
void store_provider_clear(struct store_provider *p);
void store_provider_list_free(struct store_provider *v, size_t n);
/* Wipes every value, then frees. */
void store_credentials_free(struct store_credential *v, size_t n);

/*
 * Records that a sandbox was created with a provider (again is no
 * change). -ENOENT when either is missing.
 */
int store_sandbox_add_provider(struct store *s, const char *sandbox,
			       const char *provider);
/* The providers a sandbox was created with, in the order they were added. */
int store_sandbox_providers(struct store *s, const char *sandbox, char ***ret,
			    size_t *ret_n);
void store_names_free(char **v, size_t n);
