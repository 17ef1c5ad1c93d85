/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy model: OpenShell's policy schema, version 1 (DESIGN.md
 * section 7), parsed from YAML into one structure. The loader takes bytes
 * and returns a model or an error naming file:line:column; it never reads a
 * file itself, so a fuzzer can drive it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_MAX_BYTES (1024 * 1024)
#define POLICY_SANDBOX_ID 1000
/* Entries in any one list or mapping of a policy. */
#define POLICY_MAX_ENTRIES 4096
/* Paths in filesystem_policy, read_only and read_write together. */
#define POLICY_MAX_PATHS 256

enum policy_landlock {
	POLICY_LANDLOCK_BEST_EFFORT,
	POLICY_LANDLOCK_HARD_REQUIREMENT,
};

enum policy_tls {
	POLICY_TLS_AUTO, /* unset: inspect when needed */
	POLICY_TLS_TERMINATE, /* "terminate" */
	POLICY_TLS_SKIP, /* "skip": never inspect */
	POLICY_TLS_PASSTHROUGH,
};

enum policy_enforcement {
	POLICY_ENFORCE, /* "enforce" (default) */
	POLICY_AUDIT, /* "audit": log, do not block */
};

enum policy_access {
	POLICY_ACCESS_UNSET,
	POLICY_ACCESS_READ_ONLY,
	POLICY_ACCESS_READ_WRITE,
	POLICY_ACCESS_FULL,
};

struct policy_strv {
	char **v;
	size_t n;
};

struct policy_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix;
};

struct policy_query {
	char *key;
	char *value; /* glob, or NULL when any is set */
	struct policy_strv any; /* { any: [globs] }: one must match */
};

struct policy_rule {
	char *method; /* NULL or "*" for any */
	char *path; /* glob, NULL for any */
	struct policy_query *query;
	size_t nquery;
};

struct policy_endpoint {
	char *host; /* lower case; "*" one label, "**" several */
	uint16_t *ports; /* from port or ports */
	size_t nports;
	struct policy_cidr *allowed_ips;
	size_t nallowed_ips;
	char *path; /* glob choosing among endpoints, or NULL */
	char *protocol; /* "rest", ... or NULL */
	enum policy_tls tls;
	enum policy_enforcement enforcement;
	enum policy_access access;
	struct policy_rule *rules; /* rules[].allow */
	size_t nrules;
	struct policy_rule *deny_rules;
	size_t ndeny_rules;
	bool allow_encoded_slash; /* keep %2F in request paths */
	bool request_body_credential_rewrite;
	bool websocket_credential_rewrite;
	bool allow_uninspected_credentials;
	unsigned line, column;
};

struct policy_binary {
	char *path; /* '*' within a segment, '**' across segments */
};

struct policy_network {
	char *key; /* the map key under network_policies */
	char *name; /* name:, or the key when absent */
	struct policy_endpoint *endpoints;
	size_t nendpoints;
	struct policy_binary *binaries;
	size_t nbinaries;
};

struct policy {
	bool include_workdir;
	struct policy_strv read_only;
	struct policy_strv read_write;
	enum policy_landlock landlock;
	uid_t run_as_user; /* POLICY_SANDBOX_ID for "sandbox" */
	gid_t run_as_group;
	struct policy_network *networks;
	size_t nnetworks;
};

/* Where and why a policy was refused. */
struct policy_error {
	unsigned line, column; /* 1-based; 0 when not tied to a place */
	char message[256];
};

/*
 * Parses text (len bytes) into a new model. On failure returns -EINVAL and
 * fills err; "name" is only used by policy_error_format.
 */
int policy_parse(const char *text, size_t len, struct policy **ret,
		 struct policy_error *err);
/* The default policy of DESIGN.md section 7. */
struct policy *policy_default(void);
/* The default policy's YAML text (stored as revision 1 when none given). */
const char *policy_default_text(void);
void policy_free(struct policy *p);
/* "file:line:column: message" (or "file: message" with no place). */
void policy_error_format(const struct policy_error *err, const char *file,
			 char *out, size_t outlen);
/*
 * Whether the static sections (filesystem_policy, landlock, process) are
 * equal; a live policy update may change only network_policies.
 */
bool policy_static_equal(const struct policy *a, const struct policy *b);
/* One line for "brig policy check": counts of paths, policies, endpoints. */
void policy_summary(const struct policy *p, char *out, size_t outlen);
/* Hex sha256 of text, for revisions (65 bytes with the NUL). */
void policy_sha256_hex(const char *text, size_t len, char out[65]);
/* Renders the model as JSON (for "policy get -o json"). Caller frees. */
char *policy_to_json(const struct policy *p);
