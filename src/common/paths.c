/* SPDX-License-Identifier: Apache-2.0 */
#include "common/paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/util.h"

int
paths_state_dir(char **ret)
{
	const char *env = getenv("BRIG_STATE_DIR");
	_cleanup_free_ char *dir = NULL;
	struct stat st;
	int r;

	if (env && *env) {
		if (env[0] != '/')
			return -EINVAL;
		dir = xstrdup(env);
	} else if (geteuid() == 0) {
		dir = xstrdup("/var/lib/brig");
	} else if ((env = getenv("XDG_STATE_HOME")) && env[0] == '/') {
		dir = xasprintf("%s/brig", env);
	} else {
		const char *home = getenv("HOME");
		struct passwd *pw;

		if (!home || home[0] != '/') {
			pw = getpwuid(geteuid());
			if (!pw)
				return -ENOENT;
			home = pw->pw_dir;
		}
		dir = xasprintf("%s/.local/state/brig", home);
	}
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	if (stat(dir, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid())
		return -EPERM;
	*ret = TAKE_PTR(dir);
	return 0;
}

char *
paths_sandbox_dir(const char *state, const char *name)
{
	return xasprintf("%s/sandboxes/%s", state, name);
}

int
paths_valid_name(const char *name)
{
	size_t n = 0;

	if (!name || !*name || *name == '-')
		return 0;
	for (const char *p = name; *p; p++, n++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return 0;
	}
	return n <= 63;
}
