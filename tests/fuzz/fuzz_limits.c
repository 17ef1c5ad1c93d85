/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives the resource limits' parsers with arbitrary text: the option
 * values a user types (--memory, --cpus), and the cgroup files brig
 * reads (/proc/self/mountinfo against /proc/self/cgroup, and flat-keyed
 * counters). The input is split at its first NUL: a size, a CPU count
 * and a key take the first part, mountinfo the first and /proc/self/
 * cgroup the second. Results must stay within their stated bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/cgroup.h"
#include "sandbox/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_dir(const char *mi, const char *self)
{
	char out[LIMITS_PATH_MAX];
	/* A heap buffer cut short, so ASan sees any write past it. */
	size_t shortlen = strlen(self) % 64 + 1;
	char *small = malloc(shortlen);
	int r = cgroup_find_dir(mi, self, out, sizeof(out));

	if (r != 0 && r != -ENOENT && r != -ENAMETOOLONG)
		abort();
	if (r == 0 && strlen(out) >= sizeof(out))
		abort();
	r = cgroup_find_dir(mi, self, small, shortlen);
	if (r == 0 && strlen(small) >= shortlen)
		abort();
	free(small);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a = malloc(size + 1);
	const char *b;
	uint64_t v;
	int r;

	memcpy(a, data, size);
	a[size] = '\0';
	b = a + strlen(a) + (strlen(a) < size ? 1 : 0);
	r = limits_parse_size(a, &v);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	r = limits_parse_cpus(a, &v);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	if (r == 0 && (v == 0 || v > LIMITS_CPUS_MAX_MILLI))
		abort();
	r = cgroup_read_key(b, a, &v);
	if (r != 0 && r != -ENOENT && r != -EBADMSG)
		abort();
	cgroup_has_word(b, a);
	check_dir(a, b);
	free(a);
	return 0;
}
