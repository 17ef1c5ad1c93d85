/* SPDX-License-Identifier: Apache-2.0 */
/* The policy model's life cycle and the small questions asked of it. */
#include "policy/policy.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

static const char default_text[] =
    "# brig's default policy (DESIGN.md section 7): no network.\n"
    "version: 1\n"
    "\n"
    "filesystem_policy:\n"
    "  include_workdir: true\n"
    "  read_only: [/usr, /lib, /proc, /dev/urandom, /app, /etc, /var/log]\n"
    "  read_write: [/sandbox, /tmp, /dev/null]\n"
    "\n"
    "landlock:\n"
    "  compatibility: best_effort\n"
    "\n"
    "process:\n"
    "  run_as_user: sandbox\n"
    "  run_as_group: sandbox\n";

const char *
policy_default_text(void)
{
	return default_text;
}

/* The default text is part of brig, so failing to parse it is a bug. */
struct policy *
policy_default(void)
{
	struct policy *p;

	if (policy_parse(default_text, sizeof(default_text) - 1, &p, NULL) < 0)
		abort();
	return p;
}

static void
strv_free(struct policy_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

static void
rules_free(struct policy_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < rules[i].nquery; j++) {
			free(rules[i].query[j].key);
			free(rules[i].query[j].value);
			strv_free(&rules[i].query[j].any);
		}
		free(rules[i].query);
		free(rules[i].method);
		free(rules[i].path);
	}
	free(rules);
}

static void
endpoint_free(struct policy_endpoint *e)
{
	free(e->host);
	free(e->ports);
	free(e->allowed_ips);
	free(e->path);
	free(e->protocol);
	rules_free(e->rules, e->nrules);
	rules_free(e->deny_rules, e->ndeny_rules);
}

static void
network_free(struct policy_network *net)
{
	for (size_t i = 0; i < net->nendpoints; i++)
		endpoint_free(&net->endpoints[i]);
	free(net->endpoints);
	for (size_t i = 0; i < net->nbinaries; i++)
		free(net->binaries[i].path);
	free(net->binaries);
	free(net->key);
	free(net->name);
}

/* Also frees a model that a failed parse left half built. */
void
policy_free(struct policy *p)
{
	if (!p)
		return;
	strv_free(&p->read_only);
	strv_free(&p->read_write);
	for (size_t i = 0; i < p->nnetworks; i++)
		network_free(&p->networks[i]);
	free(p->networks);
	free(p);
}

void
policy_error_format(const struct policy_error *err, const char *file, char *out,
		    size_t outlen)
{
	if (!file)
		file = "policy";
	if (err->line == 0)
		snprintf(out, outlen, "%s: %s", file, err->message);
	else
		snprintf(out, outlen, "%s:%u:%u: %s", file, err->line,
			 err->column, err->message);
}

static bool
strv_equal(const struct policy_strv *a, const struct policy_strv *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!streq(a->v[i], b->v[i]))
			return false;
	return true;
}

bool
policy_static_equal(const struct policy *a, const struct policy *b)
{
	return a->include_workdir == b->include_workdir &&
	       strv_equal(&a->read_only, &b->read_only) &&
	       strv_equal(&a->read_write, &b->read_write) &&
	       a->landlock == b->landlock && a->run_as_user == b->run_as_user &&
	       a->run_as_group == b->run_as_group;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

void
policy_summary(const struct policy *p, char *out, size_t outlen)
{
	size_t nendpoints = 0, nbinaries = 0;

	for (size_t i = 0; i < p->nnetworks; i++) {
		nendpoints += p->networks[i].nendpoints;
		nbinaries += p->networks[i].nbinaries;
	}
	snprintf(out, outlen,
		 "version 1: %zu read-only and %zu read-write paths, "
		 "landlock %s, %zu network %s with %zu %s and %zu %s",
		 p->read_only.n, p->read_write.n,
		 p->landlock == POLICY_LANDLOCK_HARD_REQUIREMENT
		     ? "hard_requirement"
		     : "best_effort",
		 p->nnetworks, plural(p->nnetworks, "policy", "policies"),
		 nendpoints, plural(nendpoints, "endpoint", "endpoints"),
		 nbinaries, plural(nbinaries, "binary", "binaries"));
}

void
policy_sha256_hex(const char *text, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	/* EVP_Digest fails only when OpenSSL cannot allocate. */
	if (!EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		abort();
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}
