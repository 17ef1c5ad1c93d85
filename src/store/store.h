/* SPDX-License-Identifier: Apache-2.0 */
/*
 * brig's store: one SQLite database (WAL) in the state directory, holding
 * sandboxes and policy revisions (DESIGN.md section 9). Every function
 * returns 0 or a negative errno; -EEXIST and -ENOENT mean what they say,
 * -EBUSY that another brig held the database past the busy timeout.
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
