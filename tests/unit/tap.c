/* SPDX-License-Identifier: Apache-2.0 */
#include "tap.h"

#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"

static int tap_n, tap_failed;

void
tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
}

void
tap_skip(const char *why, const char *fmt, ...)
{
	va_list ap;

	printf("ok %d - ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

void
tap_eq_int(long long got, long long want, const char *name)
{
	tap_ok(got == want, "%s (got %lld, want %lld)", name, got, want);
}

/* The shared directory: $BRIG_SHARED_DIR, else ../shared next to the
 * source tree, found from this file's path as the compiler saw it (relative
 * to the build directory, which holds this binary in tests/unit). */
char *
tap_shared_dir(void)
{
	const char *env = getenv("BRIG_SHARED_DIR");
	char exe[PATH_MAX], src[] = __FILE__;
	ssize_t n;

	if (env && *env)
		return xstrdup(env);
	if (src[0] == '/')
		return xasprintf("%s/../../../shared", dirname(src));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return xstrdup("../shared");
	exe[n] = '\0';
	return xasprintf("%s/../../%s/../../../shared", dirname(exe),
			 dirname(src));
}
