/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded number parsing: no atoi, no silent overflow. */
#pragma once

#include <stdint.h>

/* Parses all of s as a decimal in [min, max]: 0, -EINVAL or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* Parses a duration such as "30", "5m", "2h", "1d" into seconds. */
int parse_duration(const char *s, uint64_t *ret_seconds);
