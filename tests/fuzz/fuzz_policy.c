/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the policy loader. A policy that loads is also
 * rendered to JSON and summarised, so the emitters see every model the
 * parser can build.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_error err;
	struct policy *p = NULL;
	char line[512];

	if (policy_parse((const char *)data, size, &p, &err) < 0) {
		policy_error_format(&err, "fuzz.yaml", line, sizeof(line));
		return 0;
	}
	policy_summary(p, line, sizeof(line));
	free(policy_to_json(p));
	policy_free(p);
	return 0;
}
