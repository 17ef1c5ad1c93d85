/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/providers.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/parse.h"
#include "common/util.h"

/*
 * The keys are the variables each vendor's own tools read, so an agent
 * finds its placeholder where it looks for the key. OpenCode's hosted
 * models (OpenCode Zen) read OPENCODE_API_KEY and are served from
 * opencode.ai (its models.dev entry, seen in 2026).
 */
static const struct provider_type types[] = {
	{ "generic",
	  NULL,
	  "any credential; bound to the hosts given",
	  { 0 },
	  { { 0 } } },
	{ "anthropic",
	  "claude",
	  "Anthropic API (Claude)",
	  { "ANTHROPIC_API_KEY" },
	  { { "api.anthropic.com", 443 } } },
	{ "openai",
	  "codex",
	  "OpenAI API (Codex)",
	  { "OPENAI_API_KEY" },
	  { { "api.openai.com", 443 } } },
	{ "opencode",
	  NULL,
	  "OpenCode Zen models",
	  { "OPENCODE_API_KEY" },
	  { { "opencode.ai", 443 } } },
	{ "github",
	  NULL,
	  "GitHub API and git over HTTPS",
	  { "GITHUB_TOKEN", "GH_TOKEN" },
	  { { "api.github.com", 443 }, { "github.com", 443 } } },
	{ "gitlab",
	  NULL,
	  "GitLab.com API and git over HTTPS",
	  { "GITLAB_TOKEN" },
	  { { "gitlab.com", 443 } } },
	{ "nvidia",
	  NULL,
	  "NVIDIA API catalog",
	  { "NVIDIA_API_KEY" },
	  { { "integrate.api.nvidia.com", 443 } } },
};

const struct provider_type *
provider_types(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(types);
	return types;
}

const struct provider_type *
provider_type_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (streq(types[i].name, name) || streq(types[i].alias, name))
			return &types[i];
	}
	return NULL;
}

bool
provider_key_valid(const char *key)
{
	size_t n = 0;

	if (!key || !(isalpha((unsigned char)*key) || *key == '_'))
		return false;
	for (; key[n]; n++) {
		if (!isalnum((unsigned char)key[n]) && key[n] != '_')
			return false;
	}
	return n <= STORE_KEY_MAX;
}

/*
 * A name is labels of [a-z0-9_-] joined by dots, optionally after "*."
 * (any subdomain); an IPv4 address is such a name too.
 */
static bool
host_name_valid(const char *h, size_t n)
{
	size_t label = 0;

	if (n > 2 && h[0] == '*' && h[1] == '.') {
		h += 2;
		n -= 2;
	}
	if (n == 0 || n > STORE_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (h[i] == '.' && label == 0)
			return false;
		if (h[i] == '.') {
			label = 0;
			continue;
		}
		if (!islower((unsigned char)h[i]) &&
		    !isdigit((unsigned char)h[i]) && !strchr("-_", h[i]))
			return false;
		label++;
	}
	return label > 0;
}

static bool
host_v6_valid(const char *h, size_t n)
{
	if (n < 2 || n > STORE_HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)h[i]) && !strchr(":.", h[i]))
			return false;
	}
	return true;
}

static int
host_port(const char *s, uint16_t *ret)
{
	uint64_t v;

	if (!s) {
		*ret = 0;
		return 0;
	}
	if (parse_u64(s, 1, 65535, &v) < 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int
provider_parse_host(const char *arg, struct store_host *ret)
{
	_cleanup_free_ char *h = xstrdup(arg);
	char *port = NULL, *name = h;
	bool ok;

	for (char *p = h; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (*h == '[') {
		char *end = strchr(h, ']');

		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		*end = '\0';
		port = end[1] ? end + 2 : NULL;
		name = h + 1;
		ok = host_v6_valid(name, strlen(name));
	} else {
		port = strchr(h, ':');
		if (port)
			*port++ = '\0';
		ok = host_name_valid(h, strlen(h));
	}
	if (!ok || host_port(port, &ret->port) < 0)
		return -EINVAL;
	ret->host = xstrdup(name);
	return 0;
}

void
provider_format_host(const struct store_host *h, char *out, size_t len)
{
	bool v6 = strchr(h->host, ':') != NULL;

	if (h->port)
		snprintf(out, len, v6 ? "[%s]:%u" : "%s:%u", h->host,
			 (unsigned)h->port);
	else
		snprintf(out, len, v6 ? "[%s]" : "%s", h->host);
}
