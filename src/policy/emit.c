/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The model as JSON, for "policy get -o json". The shape follows the YAML
 * schema, with defaults filled in, so a reader sees what is in force.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/json.h"

/* A policy is at most 1 MiB; escaping can grow it, but not past this. */
#define POLICY_JSON_MAX (16 * 1024 * 1024)

static const char *const tls_names[] = {
	[POLICY_TLS_AUTO] = "auto",
	[POLICY_TLS_TERMINATE] = "terminate",
	[POLICY_TLS_SKIP] = "skip",
	[POLICY_TLS_PASSTHROUGH] = "passthrough",
};

static const char *const enforcement_names[] = {
	[POLICY_ENFORCE] = "enforce",
	[POLICY_AUDIT] = "audit",
};

static const char *const access_names[] = {
	[POLICY_ACCESS_UNSET] = NULL,
	[POLICY_ACCESS_READ_ONLY] = "read-only",
	[POLICY_ACCESS_READ_WRITE] = "read-write",
	[POLICY_ACCESS_FULL] = "full",
};

/* Opens an object or array member: key (or NULL inside an array) and open. */
static int
json_open(struct buf *b, const char *key, const char *open)
{
	int r = json_key(b, key);

	return r ? r : buf_puts(b, open);
}

static int
emit_strv(struct buf *b, const char *key, const struct policy_strv *sv)
{
	int r = json_open(b, key, "[");

	for (size_t i = 0; i < sv->n && r == 0; i++)
		r = json_kv_str(b, NULL, sv->v[i]);
	return r ? r : buf_puts(b, "]");
}

static int
emit_query(struct buf *b, const struct policy_query *q)
{
	int r;

	if (q->value)
		return json_kv_str(b, q->key, q->value);
	r = json_open(b, q->key, "{");
	if (r == 0)
		r = emit_strv(b, "any", &q->any);
	return r ? r : buf_puts(b, "}");
}

static int
emit_matcher(struct buf *b, const char *key, const struct policy_rule *rule)
{
	int r = json_open(b, key, "{");

	if (r == 0)
		r = json_kv_str(b, "method", rule->method);
	if (r == 0)
		r = json_kv_str(b, "path", rule->path);
	if (r == 0)
		r = json_open(b, "query", "{");
	for (size_t i = 0; i < rule->nquery && r == 0; i++)
		r = emit_query(b, &rule->query[i]);
	return r ? r : buf_puts(b, "}}");
}

/* Allow rules keep their "allow" wrapper; deny rules are bare matchers. */
static int
emit_rules(struct buf *b, const char *key, const struct policy_rule *rules,
	   size_t n, bool wrap)
{
	int r = json_open(b, key, "[");

	for (size_t i = 0; i < n && r == 0; i++) {
		r = wrap ? json_open(b, NULL, "{") : 0;
		if (r == 0)
			r = emit_matcher(b, wrap ? "allow" : NULL, &rules[i]);
		if (r == 0 && wrap)
			r = buf_puts(b, "}");
	}
	return r ? r : buf_puts(b, "]");
}

static int
emit_ports(struct buf *b, const struct policy_endpoint *e)
{
	int r = json_open(b, "ports", "[");

	for (size_t i = 0; i < e->nports && r == 0; i++)
		r = json_kv_int(b, NULL, e->ports[i]);
	return r ? r : buf_puts(b, "]");
}

static int
emit_allowed_ips(struct buf *b, const struct policy_endpoint *e)
{
	int r = json_open(b, "allowed_ips", "[");

	for (size_t i = 0; i < e->nallowed_ips && r == 0; i++) {
		const struct policy_cidr *ip = &e->allowed_ips[i];
		char addr[INET6_ADDRSTRLEN] = "?";

		inet_ntop(ip->family, ip->addr, addr, sizeof(addr));
		r = json_key(b, NULL);
		if (r == 0)
			r = buf_printf(b, "\"%s/%u\"", addr, ip->prefix);
	}
	return r ? r : buf_puts(b, "]");
}

static int
emit_endpoint_flags(struct buf *b, const struct policy_endpoint *e)
{
	int r = json_kv_bool(b, "allow_encoded_slash", e->allow_encoded_slash);

	if (r == 0)
		r = json_kv_bool(b, "request_body_credential_rewrite",
				 e->request_body_credential_rewrite);
	if (r == 0)
		r = json_kv_bool(b, "websocket_credential_rewrite",
				 e->websocket_credential_rewrite);
	if (r == 0)
		r = json_kv_bool(b, "allow_uninspected_credentials",
				 e->allow_uninspected_credentials);
	return r;
}

static int
emit_endpoint(struct buf *b, const struct policy_endpoint *e)
{
	int r = json_open(b, NULL, "{");

	if (r == 0)
		r = json_kv_str(b, "host", e->host);
	if (r == 0)
		r = emit_ports(b, e);
	if (r == 0)
		r = emit_allowed_ips(b, e);
	if (r == 0)
		r = json_kv_str(b, "path", e->path);
	if (r == 0)
		r = json_kv_str(b, "protocol", e->protocol);
	if (r == 0)
		r = json_kv_str(b, "tls", tls_names[e->tls]);
	if (r == 0)
		r = json_kv_str(b, "enforcement",
				enforcement_names[e->enforcement]);
	if (r == 0)
		r = json_kv_str(b, "access", access_names[e->access]);
	if (r == 0)
		r = emit_rules(b, "rules", e->rules, e->nrules, true);
	if (r == 0)
		r = emit_rules(b, "deny_rules", e->deny_rules, e->ndeny_rules,
			       false);
	if (r == 0)
		r = emit_endpoint_flags(b, e);
	return r ? r : buf_puts(b, "}");
}

static int
emit_network(struct buf *b, const struct policy_network *net)
{
	int r = json_open(b, net->key, "{");

	if (r == 0)
		r = json_kv_str(b, "name", net->name);
	if (r == 0)
		r = json_open(b, "endpoints", "[");
	for (size_t i = 0; i < net->nendpoints && r == 0; i++)
		r = emit_endpoint(b, &net->endpoints[i]);
	if (r == 0)
		r = buf_puts(b, "]");
	if (r == 0)
		r = json_open(b, "binaries", "[");
	for (size_t i = 0; i < net->nbinaries && r == 0; i++) {
		r = json_open(b, NULL, "{");
		if (r == 0)
			r = json_kv_str(b, "path", net->binaries[i].path);
		if (r == 0)
			r = buf_puts(b, "}");
	}
	return r ? r : buf_puts(b, "]}");
}

static int
emit_static(struct buf *b, const struct policy *p)
{
	int r = json_kv_int(b, "version", 1);

	if (r == 0)
		r = json_open(b, "filesystem_policy", "{");
	if (r == 0)
		r = json_kv_bool(b, "include_workdir", p->include_workdir);
	if (r == 0)
		r = emit_strv(b, "read_only", &p->read_only);
	if (r == 0)
		r = emit_strv(b, "read_write", &p->read_write);
	if (r == 0)
		r = buf_printf(b, "},\"landlock\":{\"compatibility\":\"%s\"}",
			       p->landlock == POLICY_LANDLOCK_HARD_REQUIREMENT
				   ? "hard_requirement"
				   : "best_effort");
	if (r == 0)
		r = json_open(b, "process", "{");
	if (r == 0)
		r = json_kv_int(b, "run_as_user", p->run_as_user);
	if (r == 0)
		r = json_kv_int(b, "run_as_group", p->run_as_group);
	return r ? r : buf_puts(b, "}");
}

char *
policy_to_json(const struct policy *p)
{
	struct buf b = BUF_INIT(POLICY_JSON_MAX);
	int r = buf_puts(&b, "{");

	if (r == 0)
		r = emit_static(&b, p);
	if (r == 0)
		r = json_open(&b, "network_policies", "{");
	for (size_t i = 0; i < p->nnetworks && r == 0; i++)
		r = emit_network(&b, &p->networks[i]);
	if (r == 0)
		r = buf_puts(&b, "}}");
	if (r < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}
