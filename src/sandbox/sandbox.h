/* SPDX-License-Identifier: Apache-2.0 */
/* What one sandbox is made from, shared by the supervisor and init. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "proxy/proxy.h"
#include "sandbox/limits.h"

#define SANDBOX_MAX_PROVIDERS 16
#define SANDBOX_MAX_EXTRA_ENV 128

struct creds;

/* Walls that a test build may switch off one at a time (BRIG_TEST_DISABLE). */
#define SANDBOX_OFF_LANDLOCK 0x1
#define SANDBOX_OFF_RO_MOUNTS 0x2
#define SANDBOX_OFF_SECCOMP 0x4
/* Processes inside keep init's capabilities (raised into the ambient set). */
#define SANDBOX_OFF_CAPS 0x100
/* No new session: the caller's controlling terminal stays reachable. */
#define SANDBOX_OFF_SETSID 0x200
/* Inherited descriptors are not closed (supervisor, init, spawn). */
#define SANDBOX_OFF_CLOSE_FDS 0x400
/* The caller's working directory is kept, not reset to /sandbox. */
#define SANDBOX_OFF_CHDIR 0x800
/* No PR_SET_NO_NEW_PRIVS (Landlock and seccomp then go before the drop). */
#define SANDBOX_OFF_NNP 0x1000
/* Mounts without nosuid. */
#define SANDBOX_OFF_NOSUID 0x2000
/* No pid namespace: init and its children see the host's pids. */
#define SANDBOX_OFF_PIDNS 0x4000
/* Init stays dumpable, open to ptrace by the sandbox's processes. */
#define SANDBOX_OFF_DUMPABLE 0x8000
/* The host's network namespace: no proxy capture, no DNS stub. */
#define SANDBOX_OFF_NETNS 0x10000
/* The proxy's own walls (PROXY_OFF_*, passed on as they are). */
#define SANDBOX_OFF_SSRF PROXY_OFF_SSRF
#define SANDBOX_OFF_HOST_CHECK PROXY_OFF_HOST_CHECK
#define SANDBOX_OFF_IDENT PROXY_OFF_IDENT
#define SANDBOX_OFF_CRED_BINDING PROXY_OFF_CRED_BINDING
#define SANDBOX_OFF_SCRUB PROXY_OFF_SCRUB
#define SANDBOX_OFF_LEAK_CHECK PROXY_OFF_LEAK_CHECK
#define SANDBOX_OFF_PROXY_LIMITS PROXY_OFF_LIMITS
/* The supervisor's own confinement, whole or only its seccomp filter. */
#define SANDBOX_OFF_SUP_CONFINE 0x8
#define SANDBOX_OFF_SUP_FILTER 0x10

struct sandbox_config {
	const char *name;
	const char *dir; /* <state>/sandboxes/<name>, host path */
	const char *workspace; /* host directory that becomes /sandbox */
	bool workspace_owned; /* brig made it (and removes it) */
	bool protect_workspace; /* a user's project: guard its hook files */
	/* .git was missing: it is an empty, read-only directory. */
	bool git_placeholder;
	bool keep;
	const struct policy *policy;
	const char *policy_text;
	uid_t host_uid; /* the sandbox user on the host */
	gid_t host_gid;
	unsigned off; /* SANDBOX_OFF_*, only in test builds */
	/* Operator mappings (--connect-to) for the proxy's own dialing. */
	const struct proxy_connect_to *connect_to;
	size_t nconnect_to;
	/* Credential providers: their values are loaded by the supervisor
	 * after init exists (load_creds, from the store), never before. */
	const char *const *providers;
	size_t nproviders;
	const char *upstream_ca;
	int (*load_creds)(const struct sandbox_config *cfg, struct creds **ret);
	/* --pids --memory --cpus --files, with the backend decided. */
	struct sandbox_limits limits;
	/* Files the supervisor's store callbacks write (the SQLite
	 * database and its WAL files), NULL-terminated; NULL: none. */
	char *const *store_files;
};

/* Reads BRIG_TEST_DISABLE in test builds; 0 otherwise. */
unsigned sandbox_test_switches(void);
