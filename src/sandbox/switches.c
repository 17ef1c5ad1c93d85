/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sandbox/sandbox.h"

#ifdef BRIG_TEST_SWITCHES
/*
 * One name for each wall a test may switch off. Each attack in
 * tests/escape names the walls that stop it, so that it can show once
 * that it succeeds without them. Add new names at the end.
 */
static const struct {
	const char *name;
	unsigned bit;
} names[] = {
	{ "landlock", SANDBOX_OFF_LANDLOCK },
	{ "readonly-mounts", SANDBOX_OFF_RO_MOUNTS },
	{ "seccomp", SANDBOX_OFF_SECCOMP },
	{ "caps", SANDBOX_OFF_CAPS },
	{ "setsid", SANDBOX_OFF_SETSID },
	{ "close-fds", SANDBOX_OFF_CLOSE_FDS },
	{ "chdir", SANDBOX_OFF_CHDIR },
	{ "nnp", SANDBOX_OFF_NNP },
	{ "nosuid", SANDBOX_OFF_NOSUID },
	{ "pidns", SANDBOX_OFF_PIDNS },
	{ "dumpable", SANDBOX_OFF_DUMPABLE },
	{ "netns", SANDBOX_OFF_NETNS },
	{ "ssrf", SANDBOX_OFF_SSRF },
	{ "host-check", SANDBOX_OFF_HOST_CHECK },
	{ "ident", SANDBOX_OFF_IDENT },
	{ "cred-binding", SANDBOX_OFF_CRED_BINDING },
	{ "scrub", SANDBOX_OFF_SCRUB },
	{ "leak-check", SANDBOX_OFF_LEAK_CHECK },
	{ "proxy-limits", SANDBOX_OFF_PROXY_LIMITS },
	{ "supervisor-confine", SANDBOX_OFF_SUP_CONFINE },
	{ "supervisor-filter", SANDBOX_OFF_SUP_FILTER },
};

static unsigned
switch_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i].name) == len &&
		    !strncmp(names[i].name, name, len))
			return names[i].bit;
	return 0;
}
#endif

unsigned
sandbox_test_switches(void)
{
#ifdef BRIG_TEST_SWITCHES
	const char *env = getenv("BRIG_TEST_DISABLE");
	unsigned off = 0;

	/* Comma-separated names, each exact: a typo must not pass for a
	 * wall that was switched off. */
	while (env && *env) {
		size_t len = strcspn(env, ",");
		unsigned bit = switch_bit(env, len);

		if (len > 0 && !bit) {
			fprintf(
			    stderr,
			    "brig: BRIG_TEST_DISABLE: unknown wall '%.*s'\n",
			    (int)len, env);
			exit(2);
		}
		off |= bit;
		env += len + (env[len] == ',');
	}
	return off;
#else
	return 0;
#endif
}
