/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy loader tests: every shared example and compat file loads, every
 * refusal names the right place, and the helpers around the model agree
 * with the parser.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/util.h"
#include "policy/policy.h"
#include "tap.h"

#define V1 "version: 1\n"

static struct policy *
parse_ok(const char *yaml)
{
	struct policy_error err;
	struct policy *p = NULL;

	if (policy_parse(yaml, strlen(yaml), &p, &err) < 0)
		printf("# unexpected refusal: %u:%u: %s\n", err.line,
		       err.column, err.message);
	return p;
}

struct refusal {
	const char *name;
	const char *yaml;
	unsigned line, column;
	const char *message; /* a fragment of err.message */
};

static const struct refusal refusals[] = {
	{ "unknown key",
	  V1 "filesystem_policy:\n  read_only: [/usr]\n"
	     "  read_wirte: [/tmp]\n",
	  4, 3, "unknown key 'read_wirte'" },
	{ "unknown top-level key", V1 "networks: {}\n", 2, 1,
	  "unknown key 'networks'" },
	{ "unknown endpoint key",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 443, hots: b.com }\n",
	  5, 35, "unknown key 'hots'" },
	{ "port not an integer",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: https\n",
	  6, 15, "'port' must be an integer" },
	{ "quoted port is a string",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: \"443\" }\n",
	  5, 30, "'port' must be an integer" },
	{ "include_workdir not a bool",
	  V1 "filesystem_policy:\n  include_workdir: yes\n", 3, 20,
	  "'include_workdir' must be true or false" },
	{ "read_only not a list", V1 "filesystem_policy:\n  read_only: /usr\n",
	  3, 14, "'read_only' must be a list" },
	{ "section not a mapping", V1 "landlock: best_effort\n", 2, 11,
	  "'landlock' must be a mapping" },
	{ "null value", V1 "network_policies:\n", 2, 18,
	  "'network_policies' must be a mapping" },
	{ "host not a string",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: [a.com], port: 443 }\n",
	  5, 17, "'host' must be a string" },
	{ "version 2", "version: 2\n", 1, 10, "'version' must be 1" },
	{ "version quoted", "version: \"1\"\n", 1, 10,
	  "'version' must be an integer" },
	{ "version a mapping", "version: {a: 1}\n", 1, 10,
	  "'version' must be an integer" },
	{ "port a list",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: [443] }\n",
	  5, 30, "'port' must be an integer" },
	{ "path entry not a string",
	  V1 "filesystem_policy:\n  read_only: [/usr, {a: b}]\n", 3, 21,
	  "'read_only' entries must be strings" },
	{ "endpoint entry not a mapping",
	  V1 "network_policies:\n  a:\n    endpoints: [a.com]\n", 4, 17,
	  "'endpoints' entries must be mappings" },
	{ "control characters are not echoed", V1 "\"a\\e[31mb\": 1\n", 2, 1,
	  "unknown key 'a?[31mb'" },
	{ "version missing", "landlock:\n  compatibility: best_effort\n", 1, 1,
	  "missing 'version'" },
	{ "relative path", V1 "filesystem_policy:\n  read_only: [/usr, lib]\n",
	  3, 21, "path 'lib' is not absolute" },
	{ "dot-dot path",
	  V1 "filesystem_policy:\n  read_write:\n    - /sandbox/../etc\n", 4, 7,
	  "contains '..'" },
	{ "trailing dot-dot", V1 "filesystem_policy:\n  read_only: [/usr/..]\n",
	  3, 15, "contains '..'" },
	{ "read_write root", V1 "filesystem_policy:\n  read_write: [/tmp, /]\n",
	  3, 22, "read_write must not contain '/'" },
	{ "read_write root spelt //.",
	  V1 "filesystem_policy:\n  read_write: [//.]\n", 3, 16,
	  "read_write must not contain '/'" },
	{ "run_as_user root", V1 "process:\n  run_as_user: root\n", 3, 16,
	  "'run_as_user' must not be root" },
	{ "run_as_user 0", V1 "process:\n  run_as_user: 0\n", 3, 16,
	  "'run_as_user' must not be root" },
	{ "run_as_group root", V1 "process:\n  run_as_group: root\n", 3, 17,
	  "'run_as_group' must not be root" },
	{ "run_as_group quoted 0", V1 "process:\n  run_as_group: \"0\"\n", 3,
	  17, "'run_as_group' must not be root" },
	{ "run_as_user name", V1 "process:\n  run_as_user: nobody\n", 3, 16,
	  "must be 'sandbox' or a numeric id" },
	{ "run_as_user -1", V1 "process:\n  run_as_user: 4294967295\n", 3, 16,
	  "must be 'sandbox' or a numeric id" },
	{ "unknown landlock compatibility",
	  V1 "landlock:\n  compatibility: strict\n", 3, 18,
	  "unknown compatibility 'strict' (expected best_effort, "
	  "hard_requirement)" },
	{ "bare * host",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: \"*\", port: 443 }\n",
	  5, 17, "host '*' would match every host" },
	{ "bare ** host",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: \"**\", port: 443 }\n",
	  5, 17, "would match every host" },
	{ "empty host",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: \"\", port: 443 }\n",
	  5, 17, "'host' must not be empty" },
	{ "wildcard host with two labels",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: \"*.com\", port: 443 }\n",
	  5, 17, "needs at least three labels" },
	{ "** inside a later label",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: \"api.**.example.com\", port: 443 }\n",
	  5, 17, "'*' must be a whole label" },
	{ "host with a slash",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: \"a.com/x\", port: 443 }\n",
	  5, 17, "is not a host name" },
	{ "port 0",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 0 }\n",
	  5, 30, "'port' must be between 1 and 65535" },
	{ "port 65536",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 65536 }\n",
	  5, 30, "'port' must be between 1 and 65535" },
	{ "port -1",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: -1 }\n",
	  5, 30, "'port' must be between 1 and 65535" },
	{ "ports entry out of range",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, ports: [443, 70000] }\n",
	  5, 37, "'port' must be between 1 and 65535" },
	{ "port and ports",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 80, ports: [443] }\n",
	  5, 41, "'port' and 'ports' cannot both be set" },
	{ "no port",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com }\n",
	  5, 9, "needs 'port' or 'ports'" },
	{ "no host and no allowed_ips",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { port: 443 }\n",
	  5, 9, "needs 'host' or 'allowed_ips'" },
	{ "access with rules",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        access: full\n"
	     "        rules:\n          - allow: { method: GET }\n",
	  7, 9, "'access' cannot be combined with 'rules'" },
	{ "allowed_ips loopback",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [10.0.0.0/8, 127.0.0.1]\n",
	  7, 35, "'127.0.0.1' overlaps loopback" },
	{ "allowed_ips containing loopback",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [64.0.0.0/1]\n",
	  7, 23, "overlaps loopback" },
	{ "allowed_ips everything",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [0.0.0.0/0]\n",
	  7, 23, "overlaps" },
	{ "allowed_ips metadata",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [169.254.169.254]\n",
	  7, 23, "overlaps link-local" },
	{ "allowed_ips 0.0.0.0",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [0.0.0.0]\n",
	  7, 23, "overlaps 0.0.0.0" },
	{ "allowed_ips ::1",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [\"::1\"]\n",
	  7, 23, "'::1' overlaps loopback" },
	{ "allowed_ips fe80::/10",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [\"fe80::1/64\"]\n",
	  7, 23, "overlaps link-local" },
	{ "allowed_ips ::",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [\"::\"]\n",
	  7, 23, "overlaps ::" },
	{ "allowed_ips v4-mapped loopback",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [\"::ffff:127.0.0.2\"]\n",
	  7, 23, "overlaps loopback" },
	{ "allowed_ips garbage",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [10.0.0.300]\n",
	  7, 23, "is not an IP address or CIDR range" },
	{ "allowed_ips prefix too long",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n"
	     "        allowed_ips: [10.0.0.0/33]\n",
	  7, 23, "is not an IP address or CIDR range" },
	{ "tls unknown",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 443, tls: inspect }\n",
	  5, 40, "unknown tls 'inspect'" },
	{ "enforcement unknown",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 443, enforcement: block }\n",
	  5, 48, "unknown enforcement 'block'" },
	{ "access unknown",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 443, access: write }\n",
	  5, 43, "unknown access 'write'" },
	{ "duplicate key", V1 "landlock: {}\nlandlock: {}\n", 3, 1,
	  "duplicate key 'landlock'" },
	{ "duplicate network policy",
	  V1 "network_policies:\n  a: {}\n  a: {}\n", 4, 3,
	  "duplicate key 'a'" },
	{ "malformed YAML", V1 "filesystem_policy:\n  read_only: [/usr\n", 4, 1,
	  "malformed YAML: did not find expected ',' or ']'" },
	{ "bad indentation",
	  V1 "landlock:\n  compatibility: best_effort\n"
	     " process: {}\n",
	  4, 2, "malformed YAML" },
	{ "anchor", V1 "landlock: &l {compatibility: best_effort}\n", 2, 11,
	  "anchors and aliases are not allowed" },
	{ "alias",
	  V1 "filesystem_policy:\n  read_only: [/usr]\n"
	     "  read_write: *x\n",
	  4, 15, "anchors and aliases are not allowed" },
	{ "billion laughs", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", 1, 4,
	  "anchors and aliases are not allowed" },
	{ "tag", V1 "filesystem_policy:\n  read_only: !!seq [/usr]\n", 3, 14,
	  "tags are not allowed" },
	{ "document is a list", "- version: 1\n", 1, 1,
	  "the policy must be a mapping" },
	{ "document is a scalar", "version 1\n", 1, 1,
	  "the policy must be a mapping" },
	{ "two documents", V1 "---\n" V1, 2, 1,
	  "only one YAML document is allowed" },
	{ "escaped NUL", V1 "network_policies:\n  \"a\\0b\": {}\n", 3, 3,
	  "NUL bytes are not allowed" },
	{ "invalid UTF-8", V1 "network_policies:\n  \"\xff\": {}\n", 3, 4,
	  "malformed YAML" },
	{ "complex key", V1 "? [a]\n: b\n", 2, 3,
	  "mapping keys must be strings" },
	{ "unsupported mcp",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - { host: a.com, port: 443, mcp: {} }\n",
	  5, 35, "'mcp' is not supported by brig" },
	{ "unsupported middleware", V1 "network_middlewares: {}\n", 2, 1,
	  "'network_middlewares' is not supported by brig" },
	{ "unsupported graphql matcher",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        rules:\n"
	     "          - allow: { operation_type: query }\n",
	  8, 22, "'operation_type' is not supported by brig" },
	{ "empty allow rule",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        rules:\n"
	     "          - allow: {}\n",
	  8, 20, "'allow' needs 'method', 'path' or 'query'" },
	{ "rule without allow",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        rules:\n"
	     "          - method: GET\n",
	  8, 13, "unknown key 'method'" },
	{ "deny wrapper with extra key",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        deny_rules:\n"
	     "          - { deny: { method: GET }, path: /x }\n",
	  8, 38, "unknown key 'path'" },
	{ "query value a list",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        deny_rules:\n"
	     "          - { path: /x, query: { q: [a] } }\n",
	  8, 37, "query 'q' must be a glob or { any: [...] }" },
	{ "query any empty",
	  V1 "network_policies:\n  a:\n    endpoints:\n"
	     "      - host: a.com\n        port: 443\n        deny_rules:\n"
	     "          - { path: /x, query: { q: { any: [] } } }\n",
	  8, 44, "'any' must not be empty" },
	{ "binary without path",
	  V1
	  "network_policies:\n  a:\n    binaries:\n      - { harness: true }\n",
	  5, 9, "a binary needs 'path'" },
	{ "relative binary",
	  V1 "network_policies:\n  a:\n    binaries:\n      - path: curl\n", 5,
	  15, "path 'curl' is not absolute" },
	{ "binary with dot-dot",
	  V1 "network_policies:\n  a:\n    binaries:\n"
	     "      - path: /usr/bin/../../tmp/x\n",
	  5, 15, "contains '..'" },
	{ "reserved network key", V1 "network_policies:\n  _provider_x: {}\n",
	  3, 3, "must not start with '_provider_'" },
	{ "name not a string", V1 "network_policies:\n  a:\n    name: {}\n", 4,
	  11, "'name' must be a string" },
};

static void
test_refusal(const struct refusal *t)
{
	struct policy_error err;
	struct policy *p = (struct policy *)1;
	int r = policy_parse(t->yaml, strlen(t->yaml), &p, &err);

	tap_ok(r == -EINVAL && !p && err.line == t->line &&
		   err.column == t->column && strstr(err.message, t->message),
	       "refuses %s at %u:%u (got %d at %u:%u: %s)", t->name, t->line,
	       t->column, r, err.line, err.column, err.message);
}

/* A refusal whose input is built at run time: sizes and raw bytes. */
static void
test_refusal_bytes(const char *name, const char *text, size_t len,
		   unsigned line, unsigned column, const char *message)
{
	struct policy_error err;
	struct policy *p = NULL;
	int r = policy_parse(text, len, &p, &err);

	tap_ok(r == -EINVAL && !p && err.line == line && err.column == column &&
		   strstr(err.message, message),
	       "refuses %s at %u:%u (got %d at %u:%u: %s)", name, line, column,
	       r, err.line, err.column, err.message);
}

static void
test_refusals_built(void)
{
	static const char nul[] = "version: 1\nlandlock:\0 {}\n";
	struct buf b = BUF_INIT(4 * POLICY_MAX_BYTES);

	test_refusal_bytes("a NUL byte", nul, sizeof(nul) - 1, 2, 10,
			   "NUL bytes are not allowed");

	buf_puts(&b, "version: 1\n#");
	while (b.len <= POLICY_MAX_BYTES)
		buf_puts(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	test_refusal_bytes("input over POLICY_MAX_BYTES", b.data, b.len, 0, 0,
			   "larger than 1048576 bytes");
	test_refusal_bytes("an empty policy", "# nothing\n", 10, 0, 0,
			   "the policy is empty");
	buf_free(&b);
}

static void
test_refusals_limits(void)
{
	struct buf b = BUF_INIT(POLICY_MAX_BYTES);

	buf_puts(&b, "version: 1\nnetwork_policies:\n  a:\n    endpoints:\n"
		     "      - host: a.com\n        ports: [");
	for (int i = 0; i <= POLICY_MAX_ENTRIES; i++)
		buf_puts(&b, "1,");
	buf_puts(&b, "2]\n");
	test_refusal_bytes("a list over POLICY_MAX_ENTRIES", b.data, b.len, 6,
			   8209, "too many entries (at most 4096)");

	buf_reset(&b);
	buf_puts(&b, "version: 1\nfilesystem_policy:\n  read_only: [/a");
	for (int i = 0; i < POLICY_MAX_PATHS; i++)
		buf_puts(&b, ", /a");
	buf_puts(&b, "]\n");
	test_refusal_bytes("paths over POLICY_MAX_PATHS", b.data, b.len, 3, 14,
			   "too many paths (at most 256)");

	buf_reset(&b);
	buf_puts(&b, "version: 1\nx: ");
	for (int i = 0; i < 40; i++)
		buf_puts(&b, "[");
	test_refusal_bytes("deep nesting", b.data, b.len, 2, 35,
			   "nesting is too deep");
	buf_free(&b);
}

static const char full_policy[] =
    "# every key of the schema, in both styles\n"
    "version: 1\n"
    "filesystem_policy:\n"
    "  include_workdir: false\n"
    "  read_only: [/usr, /lib]\n"
    "  read_write:\n"
    "    - /sandbox\n"
    "landlock: { compatibility: hard_requirement }\n"
    "process:\n"
    "  run_as_user: 1500\n"
    "  run_as_group: \"1501\"\n"
    "network_policies:\n"
    "  api_access:\n"
    "    endpoints:\n"
    "      - host: API.Example.COM   # lower-cased\n"
    "        ports: [443, 8443]\n"
    "        path: /v1/**\n"
    "        protocol: rest\n"
    "        tls: terminate\n"
    "        enforcement: audit\n"
    "        request_body_credential_rewrite: true\n"
    "        allow_encoded_slash: true\n"
    "        rules:\n"
    "          - allow:\n"
    "              method: GET\n"
    "              path: \"/repos/**\"\n"
    "              query:\n"
    "                per_page: \"1*\"\n"
    "                platform: { any: [\"linux-*\", \"darwin-*\"] }\n"
    "          - allow: { method: POST, path: /graphql }\n"
    "        deny_rules:\n"
    "          - method: \"*\"\n"
    "            path: /repos/*/*/rulesets\n"
    "          - deny: { method: DELETE, path: \"/**\" }\n"
    "      - { host: \"*.cdn.example.com\", port: 443, tls: skip,\n"
    "          allowed_ips: [10.1.2.3/8, 192.168.1.1, \"2001:db8::/32\"] }\n"
    "      - { allowed_ips: [203.0.113.0/24], port: 22, access: read-only }\n"
    "    binaries:\n"
    "      - { path: /usr/bin/curl }\n"
    "      - path: \"/usr/lib/node_modules/**/bin/*\"\n"
    "        harness: false\n"
    "  named:\n"
    "    name: display-name\n";

static void
test_full_endpoint(const struct policy_endpoint *e)
{
	tap_ok(streq(e->host, "api.example.com"), "host is lower-cased");
	tap_ok(e->nports == 2 && e->ports[0] == 443 && e->ports[1] == 8443,
	       "ports list");
	tap_ok(streq(e->path, "/v1/**") && streq(e->protocol, "rest"),
	       "endpoint path and protocol");
	tap_ok(e->tls == POLICY_TLS_TERMINATE &&
		   e->enforcement == POLICY_AUDIT &&
		   e->access == POLICY_ACCESS_UNSET,
	       "tls, enforcement, access");
	tap_ok(e->request_body_credential_rewrite && e->allow_encoded_slash &&
		   !e->websocket_credential_rewrite,
	       "endpoint flags");
	tap_ok(e->line == 15 && e->column == 9, "endpoint position %u:%u",
	       e->line, e->column);
	TAP_EQ_INT(e->nrules, 2, "two allow rules");
	tap_ok(streq(e->rules[0].method, "GET") &&
		   streq(e->rules[0].path, "/repos/**") &&
		   e->rules[0].nquery == 2,
	       "first allow rule");
	tap_ok(streq(e->rules[0].query[0].key, "per_page") &&
		   streq(e->rules[0].query[0].value, "1*"),
	       "query glob");
	tap_ok(!e->rules[0].query[1].value && e->rules[0].query[1].any.n == 2 &&
		   streq(e->rules[0].query[1].any.v[1], "darwin-*"),
	       "query any");
	tap_ok(streq(e->rules[1].method, "POST") && !e->rules[1].nquery,
	       "flow-style allow rule");
	tap_ok(e->ndeny_rules == 2 && streq(e->deny_rules[0].method, "*") &&
		   streq(e->deny_rules[0].path, "/repos/*/*/rulesets"),
	       "bare deny rule");
	tap_ok(streq(e->deny_rules[1].method, "DELETE") &&
		   streq(e->deny_rules[1].path, "/**"),
	       "wrapped deny rule");
}

static void
test_full_cidrs(const struct policy_endpoint *e)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	tap_ok(e->nallowed_ips == 3, "three allowed_ips");
	tap_ok(e->allowed_ips[0].family == AF_INET &&
		   e->allowed_ips[0].prefix == 8 &&
		   e->allowed_ips[0].addr[0] == 10 &&
		   e->allowed_ips[0].addr[1] == 0,
	       "v4 CIDR, host bits cleared");
	tap_ok(e->allowed_ips[1].prefix == 32 && e->allowed_ips[1].addr[3] == 1,
	       "plain v4 address is a /32");
	tap_ok(e->allowed_ips[2].family == AF_INET6 &&
		   e->allowed_ips[2].prefix == 32 &&
		   memcmp(e->allowed_ips[2].addr, v6, 16) == 0,
	       "v6 CIDR");
	tap_ok(e->tls == POLICY_TLS_SKIP && e->enforcement == POLICY_ENFORCE,
	       "tls skip, enforcement defaults to enforce");
}

static void
test_full(void)
{
	struct policy *p = parse_ok(full_policy);
	const struct policy_network *n;

	tap_ok(p != NULL, "a policy with every key loads");
	if (!p)
		return;
	tap_ok(!p->include_workdir && p->read_only.n == 2 &&
		   p->read_write.n == 1 &&
		   streq(p->read_write.v[0], "/sandbox"),
	       "filesystem_policy");
	tap_ok(p->landlock == POLICY_LANDLOCK_HARD_REQUIREMENT,
	       "landlock hard_requirement");
	tap_ok(p->run_as_user == 1500 && p->run_as_group == 1501,
	       "numeric run_as_user and quoted run_as_group");
	TAP_EQ_INT(p->nnetworks, 2, "two network policies");
	n = &p->networks[0];
	tap_ok(streq(n->key, "api_access") && streq(n->name, "api_access"),
	       "name defaults to the key");
	tap_ok(streq(p->networks[1].name, "display-name") &&
		   p->networks[1].nendpoints == 0,
	       "name given");
	TAP_EQ_INT(n->nendpoints, 3, "three endpoints");
	test_full_endpoint(&n->endpoints[0]);
	test_full_cidrs(&n->endpoints[1]);
	tap_ok(!n->endpoints[2].host &&
		   n->endpoints[2].access == POLICY_ACCESS_READ_ONLY,
	       "hostless endpoint with allowed_ips and access");
	tap_ok(n->nbinaries == 2 &&
		   streq(n->binaries[1].path, "/usr/lib/node_modules/**/bin/*"),
	       "binaries with globs");
	policy_free(p);
}

static void
test_defaults(void)
{
	struct policy *def = policy_default();
	struct policy *p = parse_ok(V1);
	struct policy *q = parse_ok(V1 "filesystem_policy:\n  read_only: []\n"
				       "process: {run_as_user: 2000}\n"
				       "landlock: {}\n");

	tap_ok(def && def->include_workdir && def->read_only.n == 7 &&
		   def->read_write.n == 3 &&
		   streq(def->read_only.v[3], "/dev/urandom") &&
		   streq(def->read_write.v[2], "/dev/null"),
	       "policy_default is DESIGN.md's table");
	tap_ok(def && def->nnetworks == 0 &&
		   def->landlock == POLICY_LANDLOCK_BEST_EFFORT &&
		   def->run_as_user == POLICY_SANDBOX_ID &&
		   def->run_as_group == POLICY_SANDBOX_ID,
	       "the default has no network and runs as sandbox");
	tap_ok(p && def && policy_static_equal(p, def),
	       "missing sections get the default values");
	tap_ok(q && !q->include_workdir && q->read_only.n == 0 &&
		   q->read_write.n == 0,
	       "a written filesystem_policy gets nothing added");
	tap_ok(q && q->run_as_user == 2000 &&
		   q->run_as_group == POLICY_SANDBOX_ID &&
		   q->landlock == POLICY_LANDLOCK_BEST_EFFORT,
	       "missing keys in present sections get defaults");
	policy_free(def);
	policy_free(p);
	policy_free(q);
}

static void
test_static_equal(void)
{
	struct policy *a = policy_default();
	struct policy *b = parse_ok(V1 "network_policies:\n  x:\n"
				       "    binaries: [{path: /bin/sh}]\n");
	struct policy *c = parse_ok(V1 "process: {run_as_user: 1001}\n");
	struct policy *d = parse_ok(V1 "filesystem_policy:\n"
				       "  include_workdir: true\n"
				       "  read_only: [/usr, /lib, /proc]\n");

	tap_ok(a && b && policy_static_equal(a, b),
	       "network_policies do not count as static");
	tap_ok(a && c && !policy_static_equal(a, c),
	       "run_as_user counts as static");
	tap_ok(a && d && !policy_static_equal(a, d),
	       "filesystem paths count as static");
	policy_free(a);
	policy_free(b);
	policy_free(c);
	policy_free(d);
}

static void
test_summary_and_errors(void)
{
	struct policy *p = parse_ok(full_policy);
	struct policy_error err = { 3, 5, "unknown key 'x'" };
	char out[256];

	if (p)
		policy_summary(p, out, sizeof(out));
	tap_ok(p && streq(out, "version 1: 2 read-only and 1 read-write "
			       "paths, landlock hard_requirement, 2 network "
			       "policies with 3 endpoints and 2 binaries"),
	       "summary: %s", p ? out : "");
	policy_free(p);
	p = policy_default();
	policy_summary(p, out, sizeof(out));
	tap_ok(streq(out, "version 1: 7 read-only and 3 read-write paths, "
			  "landlock best_effort, 0 network policies with 0 "
			  "endpoints and 0 binaries"),
	       "default summary: %s", out);
	policy_free(p);
	policy_error_format(&err, "policy.yaml", out, sizeof(out));
	tap_ok(streq(out, "policy.yaml:3:5: unknown key 'x'"),
	       "error format with a place: %s", out);
	err.line = 0;
	policy_error_format(&err, "policy.yaml", out, sizeof(out));
	tap_ok(streq(out, "policy.yaml: unknown key 'x'"),
	       "error format without a place: %s", out);
}

static void
test_sha256(void)
{
	char hex[65];

	policy_sha256_hex("", 0, hex);
	tap_ok(streq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
			  "27ae41e4649b934ca495991b7852b855"),
	       "sha256 of nothing");
	policy_sha256_hex("abc", 3, hex);
	tap_ok(streq(hex, "ba7816bf8f01cfea414140de5dae2223"
			  "b00361a396177a9cb410ff61f20015ad"),
	       "sha256 of abc");
}

static const char json_policy[] =
    V1 "filesystem_policy: {read_only: [/usr], read_write: [\"/t\\\"q\"]}\n"
       "network_policies:\n  n:\n    endpoints:\n"
       "      - host: a.com\n        port: 443\n"
       "        allowed_ips: [\"2001:db8::1/64\"]\n"
       "        rules: [{allow: {method: GET, query: {a: b}}}]\n"
       "        deny_rules: [{path: /x, query: {c: {any: [d]}}}]\n"
       "    binaries: [{path: /bin/sh}]\n";

static const char json_expected[] =
    "{\"version\":1,\"filesystem_policy\":{\"include_workdir\":false,"
    "\"read_only\":[\"/usr\"],\"read_write\":[\"/t\\\"q\"]},"
    "\"landlock\":{\"compatibility\":\"best_effort\"},"
    "\"process\":{\"run_as_user\":1000,\"run_as_group\":1000},"
    "\"network_policies\":{\"n\":{\"name\":\"n\",\"endpoints\":[{"
    "\"host\":\"a.com\",\"ports\":[443],"
    "\"allowed_ips\":[\"2001:db8::/64\"],\"path\":null,"
    "\"protocol\":null,\"tls\":\"auto\",\"enforcement\":\"enforce\","
    "\"access\":null,\"rules\":[{\"allow\":{\"method\":\"GET\","
    "\"path\":null,\"query\":{\"a\":\"b\"}}}],\"deny_rules\":[{"
    "\"method\":null,\"path\":\"/x\",\"query\":{\"c\":{\"any\":[\"d\"]}}}],"
    "\"allow_encoded_slash\":false,"
    "\"request_body_credential_rewrite\":false,"
    "\"websocket_credential_rewrite\":false,"
    "\"allow_uninspected_credentials\":false}],"
    "\"binaries\":[{\"path\":\"/bin/sh\"}]}}}";

static void
test_json(void)
{
	struct policy *p = parse_ok(json_policy);
	char *json = p ? policy_to_json(p) : NULL;

	tap_ok(json && streq(json, json_expected), "policy_to_json");
	if (json && !streq(json, json_expected))
		printf("# got %s\n", json);
	free(json);
	policy_free(p);
}

static struct policy *
load_shared(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *text = NULL;
	struct policy_error err = { 0 };
	struct policy *p = NULL;
	size_t len;
	char msg[512];

	if (read_file_at(AT_FDCWD, path, POLICY_MAX_BYTES + 1, &text, &len) < 0)
		return NULL;
	if (policy_parse(text, len, &p, &err) < 0) {
		policy_error_format(&err, name, msg, sizeof(msg));
		printf("# %s\n", msg);
	}
	return p;
}

static void
check_base_policy(const struct policy *p)
{
	const struct policy_network *n = &p->networks[0];
	const struct policy_endpoint *e = &n->endpoints[0];

	tap_ok(p->include_workdir && p->read_only.n == 7 &&
		   p->read_write.n == 3 && p->nnetworks == 10,
	       "base policy: paths and 10 network policies");
	tap_ok(streq(n->key, "claude_code") && streq(n->name, "claude-code") &&
		   n->nendpoints == 5 && n->nbinaries == 2,
	       "base policy: claude_code");
	tap_ok(streq(e->host, "api.anthropic.com") && e->nports == 1 &&
		   e->ports[0] == 443 && streq(e->protocol, "rest") &&
		   e->access == POLICY_ACCESS_FULL &&
		   e->tls == POLICY_TLS_TERMINATE,
	       "base policy: flow-style endpoint");
	e = &p->networks[1].endpoints[0];
	tap_ok(e->nrules == 2 && streq(e->rules[0].path, "/**/info/refs*") &&
		   streq(e->rules[1].method, "POST"),
	       "base policy: git rules");
	n = &p->networks[4];
	tap_ok(streq(n->key, "copilot") && n->nendpoints == 11 &&
		   streq(n->binaries[1].path,
			 "/usr/lib/node_modules/@github/copilot/"
			 "node_modules/@github/**/copilot"),
	       "base policy: copilot binary glob");
}

static void
check_file(const char *name, const struct policy *p)
{
	if (streq(name, "openshell-community-base-policy.yaml"))
		check_base_policy(p);
	if (streq(name, "network-policy.yaml"))
		tap_ok(p->nnetworks == 2 &&
			   streq(p->networks[1].name, "github-passthrough") &&
			   p->networks[1].nbinaries == 4 &&
			   p->networks[1].endpoints[0].ports[0] == 443,
		       "network-policy.yaml values");
}

static void
test_shared_subdir(const char *shared, const char *sub)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", shared, sub);
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	if (n < 0) {
		tap_skip("not found", "load %s", dir);
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		struct policy *p;

		if (len > 5 && (streq(name + len - 5, ".yaml") ||
				streq(name + len - 4, ".yml"))) {
			p = load_shared(dir, name);
			tap_ok(p != NULL, "%s/%s loads unchanged", sub, name);
			if (p)
				check_file(name, p);
			policy_free(p);
		}
		free(names[i]);
	}
	free(names);
}

int main(void);
int
main(void)
{
	_cleanup_free_ char *shared = tap_shared_dir();

	test_shared_subdir(shared, "compat");
	test_shared_subdir(shared, "examples");
	test_full();
	test_defaults();
	test_static_equal();
	test_summary_and_errors();
	test_sha256();
	test_json();
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++)
		test_refusal(&refusals[i]);
	test_refusals_built();
	test_refusals_limits();
	return tap_done();
}
