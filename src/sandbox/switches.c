/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sandbox/sandbox.h"

unsigned
sandbox_test_switches(void)
{
#ifdef BRIG_TEST_SWITCHES
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = { { "landlock", SANDBOX_OFF_LANDLOCK },
		      { "readonly-mounts", SANDBOX_OFF_RO_MOUNTS },
		      { "seccomp", SANDBOX_OFF_SECCOMP },
		      { "supervisor-confine", SANDBOX_OFF_SUP_CONFINE },
		      { "supervisor-filter", SANDBOX_OFF_SUP_FILTER } };
	const char *env = getenv("BRIG_TEST_DISABLE");
	unsigned off = 0;

	for (size_t i = 0; env && i < ARRAY_SIZE(names); i++)
		if (strstr(env, names[i].name))
			off |= names[i].bit;
	return off;
#else
	return 0;
#endif
}
