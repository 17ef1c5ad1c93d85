/* SPDX-License-Identifier: Apache-2.0 */
#include "common/parse.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
parse_duration(const char *s, uint64_t *ret_seconds)
{
	static const struct {
		char suffix;
		uint64_t mult;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char num[24];
	size_t n = s ? strlen(s) : 0;
	uint64_t mult = 1, v;
	int r;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[n - 1] == units[i].suffix) {
			mult = units[i].mult;
			num[--n] = '\0';
			break;
		}
	}
	r = parse_u64(num, 0, UINT64_MAX / 86400, &v);
	if (r < 0)
		return r;
	*ret_seconds = v * mult;
	return 0;
}
