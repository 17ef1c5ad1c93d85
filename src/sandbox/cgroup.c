/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/parse.h"
#include "common/util.h"

#define CGROUP_FILE_MAX 65536
#define CGROUP_MOUNTINFO_MAX (1024 * 1024)
/* cpu.max's period, in microseconds (the kernel's default). */
#define CGROUP_CPU_PERIOD 100000
/* rmdir waits this long, at most, for the last task to leave. */
#define CGROUP_RMDIR_TRIES 50
#define CGROUP_RMDIR_STEP_NS (10 * 1000 * 1000)

/* The n-th (from 0) space-separated field of line, cut in place. */
static char *
field(char *line, int n)
{
	char *p = line;

	for (int i = 0; i < n && p; i++) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	if (p)
		p[strcspn(p, " ")] = '\0';
	return p;
}

/* The "0::" line's path, cut in place; NULL without one. */
static char *
unified_path(char *text)
{
	for (char *line = text, *next; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if (strncmp(line, "0::", 3) == 0 && line[3] == '/')
			return line + 3;
	}
	return NULL;
}

/* Whether the cgroup2 mount whose root is root holds rel; its suffix. */
static const char *
under_root(const char *rel, const char *root)
{
	size_t n = strlen(root);

	if (streq(root, "/"))
		return rel;
	if (strncmp(rel, root, n) == 0 && (rel[n] == '/' || !rel[n]))
		return rel + n;
	return NULL;
}

int
cgroup_find_dir(const char *mountinfo, const char *proc_cgroup, char *out,
		size_t len)
{
	_cleanup_free_ char *self = xstrdup(proc_cgroup);
	_cleanup_free_ char *mi = xstrdup(mountinfo);
	const char *rel = unified_path(self);

	if (!rel || strchr(rel, '\\'))
		return -ENOENT;
	for (char *line = mi, *next; *line; line = next) {
		char *sep, *root, *point, *type;
		const char *rest;
		_cleanup_free_ char *copy = NULL;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		type = field(sep + 3, 0);
		if (!streq(type, "cgroup2"))
			continue;
		*sep = '\0';
		copy = xstrdup(line);
		root = field(line, 3);
		point = field(copy, 4);
		/* Escaped characters (\040) are not worth decoding here. */
		if (!root || !point || strchr(point, '\\'))
			continue;
		rest = under_root(rel, root);
		if (!rest)
			continue;
		if ((size_t)snprintf(out, len, "%s%s", point,
				     streq(rest, "/") ? "" : rest) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	return -ENOENT;
}

bool
cgroup_has_word(const char *text, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = text; p && *p;) {
		p += strspn(p, " \n");
		if (strncmp(p, w, n) == 0 && (!p[n] || strchr(" \n", p[n])))
			return true;
		p += strcspn(p, " \n");
	}
	return false;
}

void
cgroup_format_cpu_max(uint64_t milli, char *out, size_t len)
{
	snprintf(out, len, "%llu %d",
		 (unsigned long long)(milli * (CGROUP_CPU_PERIOD / 1000)),
		 CGROUP_CPU_PERIOD);
}

int
cgroup_read_key(const char *text, const char *key, uint64_t *ret)
{
	size_t n = strlen(key);

	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, n) == 0 && line[n] == ' ') {
			char num[24];
			size_t k = strcspn(line + n + 1, "\n");

			if (k == 0 || k >= sizeof(num))
				return -EBADMSG;
			memcpy(num, line + n + 1, k);
			num[k] = '\0';
			return parse_u64(num, 0, UINT64_MAX, ret) < 0 ? -EBADMSG
								      : 0;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	return -ENOENT;
}

static int
write_at(const char *dir, const char *file, const char *text)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return write_full(fd, text, strlen(text));
}

static int
read_at(const char *dir, const char *file, char **ret)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);

	return read_file_at(AT_FDCWD, path, CGROUP_FILE_MAX, ret, NULL);
}

int
cgroup_read_value(const char *path, const char *file, const char *key,
		  uint64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	int r = read_at(path, file, &text);

	if (r < 0)
		return r;
	if (key)
		return cgroup_read_key(text, key, ret);
	text[strcspn(text, "\n")] = '\0';
	return parse_u64(text, 0, UINT64_MAX, ret) < 0 ? -EBADMSG : 0;
}

/* The controllers a sandbox needs (cpu for --cpus) that text lacks. */
static void
missing(const struct sandbox_limits *l, const char *text, char *out, size_t len)
{
	static const char *const names[] = { "pids", "memory", "cpu" };

	*out = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (streq(names[i], "cpu") && !l->cpus_milli)
			continue;
		if (!cgroup_has_word(text, names[i]))
			snprintf(out + strlen(out), len - strlen(out), "%s%s",
				 *out ? ", " : "", names[i]);
	}
}

/*
 * Whether the sandbox's cgroup can go under dir: the needed controllers
 * are enabled for dir's children (own: brig may enable them itself,
 * which the kernel allows only where no process lives, as in a root
 * cgroup), and this user may make a child and move init into it.
 */
static bool
usable(const struct sandbox_limits *l, const char *dir, bool own, char *why,
       size_t whylen)
{
	_cleanup_free_ char *ctl = NULL, *sub = NULL;
	char lack[64], add[64] = "";
	int r;

	if (read_at(dir, "cgroup.controllers", &ctl) < 0)
		ctl = xstrdup("");
	missing(l, ctl, lack, sizeof(lack));
	if (*lack) {
		snprintf(why, whylen,
			 "cgroup v2 at '%s' lacks controllers: %s (bound to "
			 "cgroup v1, or not delegated)",
			 dir, lack);
		return false;
	}
	if (faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) < 0 ||
	    write_at(dir, "cgroup.procs", "") == -EACCES) {
		snprintf(why, whylen,
			 "'%s' is not writable by this user (run brig under "
			 "a unit with Delegate=yes)",
			 dir);
		return false;
	}
	if (read_at(dir, "cgroup.subtree_control", &sub) < 0)
		sub = xstrdup("");
	missing(l, sub, lack, sizeof(lack));
	if (!*lack)
		return true;
	for (char *p = lack; own && *p; p += strspn(p, ", ")) {
		size_t n = strcspn(p, ",");

		snprintf(add + strlen(add), sizeof(add) - strlen(add),
			 "%s+%.*s", *add ? " " : "", (int)n, p);
		p += n;
	}
	r = own ? write_at(dir, "cgroup.subtree_control", add) : -EBUSY;
	if (r < 0)
		snprintf(why, whylen,
			 "%s is not enabled for the children of '%s'%s%s (a "
			 "cgroup that holds processes cannot enable it: run "
			 "brig in a leaf of a delegated cgroup)",
			 lack, dir, own ? ": " : "", own ? strerror(-r) : "");
	return r == 0;
}

void
cgroup_probe(struct sandbox_limits *l, char *why, size_t whylen)
{
	_cleanup_free_ char *mi = NULL, *self = NULL;
	char dir[LIMITS_PATH_MAX], *slash;

	l->backend = LIMITS_RLIMIT;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", CGROUP_MOUNTINFO_MAX,
			 &mi, NULL) < 0 ||
	    read_file_at(AT_FDCWD, "/proc/self/cgroup", CGROUP_FILE_MAX, &self,
			 NULL) < 0 ||
	    cgroup_find_dir(mi, self, dir, sizeof(dir)) < 0) {
		snprintf(why, whylen, "no cgroup v2 hierarchy holds brig");
		return;
	}
	/*
	 * brig's own cgroup, where it may enable the controllers when it
	 * holds no process of its own (a root cgroup); else the parent, as
	 * a sibling: a delegated leaf such as a systemd scope holds brig.
	 */
	if (!usable(l, dir, true, why, whylen)) {
		char first[512];

		snprintf(first, sizeof(first), "%s", why);
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return;
		*slash = '\0';
		if (!usable(l, dir, false, why, whylen)) {
			snprintf(why, whylen, "%s", first);
			return;
		}
	}
	snprintf(l->cgroup_parent, sizeof(l->cgroup_parent), "%s", dir);
	l->backend = LIMITS_CGROUP;
}

static int
set_limits(const struct sandbox_limits *l, const char *path, char *why,
	   size_t whylen)
{
	char v[64];
	const char *file = "pids.max";
	int r;

	/* The same reserve as init's rlimit: exec works during a bomb. */
	snprintf(v, sizeof(v), "%llu",
		 (unsigned long long)(l->pids + LIMITS_INIT_RESERVE));
	r = write_at(path, file, v);
	if (r == 0) {
		file = "memory.max";
		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory);
		r = write_at(path, file, v);
	}
	/* Swap would let a sandbox go past memory.max; it may be absent. */
	if (r == 0 && write_at(path, "memory.swap.max", "0") == -EACCES)
		r = -EACCES, file = "memory.swap.max";
	if (r == 0 && l->cpus_milli) {
		file = "cpu.max";
		cgroup_format_cpu_max(l->cpus_milli, v, sizeof(v));
		r = write_at(path, file, v);
	}
	if (r < 0)
		snprintf(why, whylen, "cannot set %s/%s: %s", path, file,
			 strerror(-r));
	return r;
}

int
cgroup_create(const struct sandbox_limits *l, const char *name, pid_t pid,
	      char *out, size_t len, char *why, size_t whylen)
{
	char v[32];
	int r;

	if ((size_t)snprintf(out, len, "%s/brig-%s.%d", l->cgroup_parent, name,
			     (int)getpid()) >= len)
		return -ENAMETOOLONG;
	if (mkdir(out, 0755) < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot make cgroup '%s': %s", out,
			 strerror(-r));
		*out = '\0';
		return r;
	}
	r = set_limits(l, out, why, whylen);
	snprintf(v, sizeof(v), "%d", (int)pid);
	if (r == 0 && (r = write_at(out, "cgroup.procs", v)) < 0)
		snprintf(why, whylen, "cannot move init into cgroup '%s': %s",
			 out, strerror(-r));
	if (r < 0) {
		rmdir(out);
		*out = '\0';
	}
	return r;
}

void
cgroup_remove(const char *path)
{
	const struct timespec step = { 0, CGROUP_RMDIR_STEP_NS };

	if (!path || !*path)
		return;
	/* Anything left (there should be nothing once init is reaped). */
	write_at(path, "cgroup.kill", "1");
	for (int i = 0; i < CGROUP_RMDIR_TRIES; i++) {
		if (rmdir(path) == 0 || errno != EBUSY)
			return;
		nanosleep(&step, NULL);
	}
}
