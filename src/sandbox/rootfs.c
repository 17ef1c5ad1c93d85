/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/util.h"

#define BASE "/tmp"
#define NEWROOT "/newroot"
#define OLDROOT "/oldroot"
#define GENDIR "/gen"
#define ROOT_TMPFS_OPTS "mode=0755,size=16m,nr_inodes=4096"

/* Kept sorted by how they nest: a directory before the names inside it. */
const char *const rootfs_protected[] = {
	".git/hooks", ".git/config", ".gitmodules", ".vscode",
	".idea",      ".envrc",      ".mcp.json",   NULL,
};

/* Devices of the minimal /dev, bound from the host's nodes. */
static const char *const dev_nodes[] = { "null",   "zero",    "full",
					 "random", "urandom", "tty" };

struct rootfs {
	const struct sandbox_config *cfg;
	int oldroot; /* O_PATH fd of the host's root */
	int wsfd; /* O_PATH fd of the workspace, opened before the drop */
	char *why;
	size_t whylen;
	struct buf notes;
	const char *ca_pem;
};

static int fail(struct rootfs *fs, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct rootfs *fs, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(fs->why, fs->whylen, "%s: %s", msg, strerror(-err));
	return err;
}

static int
open_resolve(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = { .flags = flags | O_CLOEXEC,
				.resolve = resolve };
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* Opens a host path as the host resolves it, absolute links included. */
static int
open_host(struct rootfs *fs, const char *path, uint64_t flags)
{
	while (*path == '/')
		path++;
	return open_resolve(fs->oldroot, *path ? path : ".", flags,
			    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/*
 * Creates path under the new root, parents included, as a directory or an
 * empty file, and opens it without following any symlink on the way.
 */
static int
make_target(const char *path, bool dir)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), NEWROOT "%s", path);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + strlen(NEWROOT) + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (dir && mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!dir) {
		int fd = open(tmp, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
			      0644);

		if (fd < 0 && errno != EEXIST && errno != EROFS &&
		    errno != EACCES)
			return -errno;
		if (fd >= 0)
			close(fd);
	}
	return open_resolve(AT_FDCWD, tmp, O_PATH,
			    RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

/*
 * Clones the tree at srcfd, sets its attributes while it is still detached
 * (so it is never visible writable), and attaches it on dstfd.
 */
static int
attach_clone(int srcfd, int dstfd, uint64_t attrs)
{
	struct mount_attr attr = { .attr_set = attrs };
	_cleanup_close_ int mfd = open_tree(
	    srcfd, "",
	    OPEN_TREE_CLONE | AT_RECURSIVE | AT_EMPTY_PATH | OPEN_TREE_CLOEXEC);

	if (mfd < 0)
		return -errno;
	if (mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr)) < 0)
		return -errno;
	if (move_mount(mfd, "", dstfd, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return -errno;
	return 0;
}

static uint64_t
bind_attrs(const struct rootfs *fs, bool ro)
{
	uint64_t a = MOUNT_ATTR_NODEV;

	if (!(fs->cfg->off & SANDBOX_OFF_NOSUID))
		a |= MOUNT_ATTR_NOSUID;
	if (ro && !(fs->cfg->off & SANDBOX_OFF_RO_MOUNTS))
		a |= MOUNT_ATTR_RDONLY;
	return a;
}

/* Recreates a host symlink (/lib -> usr/lib) instead of following it. */
static int
copy_symlink(struct rootfs *fs, const char *path)
{
	char target[4096], dst[4096];
	ssize_t n;
	int r;

	n = readlinkat(fs->oldroot, path + 1, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	r = make_target(path, true);
	if (r < 0)
		return r;
	close(r);
	snprintf(dst, sizeof(dst), NEWROOT "%s", path);
	rmdir(dst);
	return symlink(target, dst) < 0 && errno != EEXIST ? -errno : 0;
}

static int bind_host_attrs(struct rootfs *fs, const char *src, const char *dst,
			   uint64_t attrs);

static int
bind_host(struct rootfs *fs, const char *src, const char *dst, bool ro)
{
	return bind_host_attrs(fs, src, dst, bind_attrs(fs, ro));
}

/* Binds the tree at sfd (named src in messages) onto dst in the new root. */
static int
bind_fd(struct rootfs *fs, int sfd, const char *src, const char *dst,
	uint64_t attrs)
{
	_cleanup_close_ int dfd = -1;
	struct stat st;
	int r;

	if (fstat(sfd, &st) < 0)
		return fail(fs, -errno, "cannot stat '%s'", src);
	dfd = make_target(dst, S_ISDIR(st.st_mode));
	if (dfd < 0)
		return fail(fs, dfd, "cannot make mount point '%s'", dst);
	r = attach_clone(sfd, dfd, attrs);
	return r < 0 ? fail(fs, r, "cannot bind '%s'", src) : 0;
}

static int
bind_host_attrs(struct rootfs *fs, const char *src, const char *dst,
		uint64_t attrs)
{
	_cleanup_close_ int sfd = -1;
	struct stat st;

	if (fstatat(fs->oldroot, src + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode) && streq(src, dst))
		return copy_symlink(fs, src);
	sfd = open_host(fs, src, O_PATH);
	if (sfd == -ENOENT) {
		buf_printf(&fs->notes, "'%s' is not on this host, skipped; ",
			   src);
		return 0;
	}
	if (sfd < 0)
		return fail(fs, sfd, "cannot open '%s'", src);
	return bind_fd(fs, sfd, src, dst, attrs);
}

/* Mounts a file system; MS_NODEV unless it is /dev's own (devpts). */
static int
mount_fs(struct rootfs *fs, const char *type, const char *dst,
	 unsigned long flags, const char *opts)
{
	char path[4096];
	int fd = make_target(dst, true);

	if (fd < 0)
		return fail(fs, fd, "cannot make mount point '%s'", dst);
	close(fd);
	snprintf(path, sizeof(path), NEWROOT "%s", dst);
	if (!streq(type, "devpts"))
		flags |= MS_NODEV;
	if (!(fs->cfg->off & SANDBOX_OFF_NOSUID))
		flags |= MS_NOSUID;
	if (mount(type, path, type, flags, opts) < 0)
		return fail(fs, -errno, "cannot mount '%s'", dst);
	return 0;
}

static int
set_readonly(struct rootfs *fs, const char *dst)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	char path[4096];

	if (fs->cfg->off & SANDBOX_OFF_RO_MOUNTS)
		return 0;
	snprintf(path, sizeof(path), NEWROOT "%s", dst);
	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) <
	    0)
		return fail(fs, -errno, "cannot make '%s' read-only", dst);
	return 0;
}

/* The minimal /dev: device nodes bound from the host, devpts, shm. */
static int
build_dev(struct rootfs *fs)
{
	static const char *const links[][2] = {
		{ "/dev/ptmx", "pts/ptmx" },
		{ "/dev/fd", "/proc/self/fd" },
		{ "/dev/stdin", "/proc/self/fd/0" },
		{ "/dev/stdout", "/proc/self/fd/1" },
		{ "/dev/stderr", "/proc/self/fd/2" },
	};
	char dev[64], path[256];
	int r;

	r = mount_fs(fs, "tmpfs", "/dev", MS_NOEXEC, "mode=0755,size=64k");
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dev_nodes); i++) {
		snprintf(dev, sizeof(dev), "/dev/%s", dev_nodes[i]);
		r = bind_host_attrs(fs, dev, dev,
				    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	}
	if (r == 0)
		r = mount_fs(fs, "devpts", "/dev/pts", MS_NOEXEC,
			     "newinstance,ptmxmode=0666,mode=0620");
	if (r == 0)
		r = mount_fs(fs, "tmpfs", "/dev/shm", MS_NOEXEC,
			     "mode=1777,size=64m");
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(links); i++) {
		snprintf(path, sizeof(path), NEWROOT "%s", links[i][0]);
		if (symlink(links[i][1], path) < 0)
			r = fail(fs, -errno, "cannot link '%s'", links[i][0]);
	}
	return r;
}

/*
 * A private /tmp, no larger than the sandbox's memory limit: tmpfs pages
 * are memory that no process's rlimit or resident size counts.
 */
static int
mount_tmp(struct rootfs *fs)
{
	char opts[64] = "mode=1777";

	if (fs->cfg->limits.memory)
		snprintf(opts, sizeof(opts), "mode=1777,size=%llu",
			 (unsigned long long)fs->cfg->limits.memory);
	return mount_fs(fs, "tmpfs", "/tmp", 0, opts);
}

/* Where a policy path comes from: the host, or something of our own. */
static int
mount_policy_path(struct rootfs *fs, const char *path, bool ro)
{
	static const char *const own_dirs[] = { "/app", "/var/log" };

	if (streq(path, "/sandbox"))
		return bind_fd(fs, fs->wsfd, fs->cfg->workspace, "/sandbox",
			       bind_attrs(fs, ro));
	if (streq(path, "/tmp"))
		return mount_tmp(fs);
	/* Without a pid namespace of its own, init may not mount a proc. */
	if (streq(path, "/proc") && (fs->cfg->off & SANDBOX_OFF_PIDNS))
		return bind_host(fs, path, path, ro);
	if (streq(path, "/proc"))
		return mount_fs(fs, "proc", "/proc", MS_NOEXEC, NULL)
			   ?: (ro ? set_readonly(fs, "/proc") : 0);
	if (strncmp(path, "/dev/", 5) == 0 || streq(path, "/dev")) {
		char p[4096];
		struct stat st;

		snprintf(p, sizeof(p), NEWROOT "%s", path);
		if (lstat(p, &st) == 0)
			return ro ? set_readonly(fs, path) : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(own_dirs); i++) {
		if (!streq(path, own_dirs[i]))
			continue;
		return ro ? mount_fs(fs, "tmpfs", path, MS_RDONLY,
				     "mode=0755,size=4k")
			  : mount_fs(fs, "tmpfs", path, 0, "mode=0777");
	}
	return bind_host(fs, path, path, ro);
}

static bool
strv_contains(const struct policy_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (streq(v->v[i], s))
			return true;
	return false;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Policy paths in nesting order, each with its access. */
static int
mount_policy(struct rootfs *fs)
{
	const struct policy *p = fs->cfg->policy;
	size_t n = p->read_only.n + p->read_write.n;
	_cleanup_free_ const char **all = xcalloc(n + 1, sizeof(*all));
	int r = 0;

	for (size_t i = 0; i < p->read_only.n; i++)
		all[i] = p->read_only.v[i];
	for (size_t i = 0; i < p->read_write.n; i++)
		all[p->read_only.n + i] = p->read_write.v[i];
	qsort(all, n, sizeof(*all), cmp_path);
	for (size_t i = 0; r == 0 && i < n; i++) {
		bool ro = strv_contains(&p->read_only, all[i]);

		if (i > 0 && streq(all[i], all[i - 1]))
			continue;
		r = mount_policy_path(fs, all[i], ro);
	}
	return r;
}

/* /bin, /sbin and /lib64 so that a shell runs, when the policy has /usr. */
static int
add_usr_links(struct rootfs *fs)
{
	static const char *const dirs[] = { "/bin", "/sbin", "/lib64" };
	char path[64];
	struct stat st;
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), NEWROOT "%s", dirs[i]);
		if (lstat(path, &st) == 0 ||
		    fstatat(fs->oldroot, dirs[i] + 1, &st,
			    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		r = bind_host(fs, dirs[i], dirs[i], true);
	}
	return r;
}

static int
gen_text(struct rootfs *fs, struct buf *b, const char *name)
{
	const struct sandbox_config *c = fs->cfg;
	unsigned uid = c->policy->run_as_user, gid = c->policy->run_as_group;

	if (streq(name, "passwd"))
		return buf_printf(
		    b,
		    "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
		    "sandbox:x:%u:%u:sandbox:/sandbox:/bin/bash\n"
		    "nobody:x:65534:65534:nobody:/nonexistent:"
		    "/usr/sbin/nologin\n",
		    uid, gid);
	if (streq(name, "group"))
		return buf_printf(b,
				  "root:x:0:\nsandbox:x:%u:\n"
				  "nogroup:x:65534:\n",
				  gid);
	if (streq(name, "hosts"))
		return buf_printf(b,
				  "127.0.0.1\tlocalhost %s\n"
				  "::1\tlocalhost ip6-localhost\n",
				  c->name);
	if (streq(name, "hostname"))
		return buf_printf(b, "%s\n", c->name);
	return buf_puts(b, "# brig: the supervisor's DNS stub answers only "
			   "names the policy could allow\n"
			   "nameserver 127.0.0.1\noptions ndots:0\n");
}

/*
 * The generated /etc files. Where /etc is the host's (read-only), each is
 * bound over the host's file; a file the host lacks cannot be added there.
 */
static int
gen_etc(struct rootfs *fs)
{
	static const char *const files[] = { "passwd", "group", "hosts",
					     "hostname", "resolv.conf" };
	bool host_etc = strv_contains(&fs->cfg->policy->read_only, "/etc") ||
			strv_contains(&fs->cfg->policy->read_write, "/etc");
	int r = 0;

	if (mkdir(GENDIR, 0755) < 0 && errno != EEXIST)
		return fail(fs, -errno, "cannot make '%s'", GENDIR);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(files); i++) {
		struct buf b = BUF_INIT(4096);
		char src[128], dst[128];
		_cleanup_close_ int sfd = -1, dfd = -1;

		snprintf(src, sizeof(src), GENDIR "/%s", files[i]);
		snprintf(dst, sizeof(dst), "/etc/%s", files[i]);
		r = gen_text(fs, &b, files[i]);
		if (r == 0)
			r = write_file_at(AT_FDCWD, src, buf_str(&b), 0644);
		buf_free(&b);
		if (r < 0)
			return fail(fs, r, "cannot write '%s'", src);
		dfd = make_target(dst, false);
		if (dfd == -ENOENT && host_etc)
			continue;
		if (dfd < 0)
			return fail(fs, dfd, "cannot make '%s'", dst);
		sfd = open(src, O_PATH | O_CLOEXEC);
		r = sfd < 0 ? -errno
			    : attach_clone(sfd, dfd, bind_attrs(fs, true));
		if (r < 0)
			return fail(fs, r, "cannot bind '%s'", dst);
	}
	return 0;
}

static bool
protected_is_dir(const char *name)
{
	return streq(name, ".git/hooks") || streq(name, ".vscode") ||
	       streq(name, ".idea") || streq(name, ".git");
}

/*
 * Binds one protected name of the workspace over itself: read-only, or
 * writable for .git, which only has to become a mount point so that it can
 * be neither renamed nor removed (a new .git would bring new hooks).
 */
static int
protect_one(struct rootfs *fs, int wsfd, const char *name, bool ro)
{
	const uint64_t no_links = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
				  RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	_cleanup_close_ int sfd = -1, dfd = -1;
	char dst[4096];
	int r;

	sfd = open_resolve(wsfd, name, O_PATH, no_links);
	if (sfd == -ENOTDIR || (sfd == -ENOENT && fs->cfg->git_placeholder &&
				strncmp(name, ".git/", 5) == 0))
		return 0; /* covered by a read-only .git file or placeholder */
	if (sfd < 0)
		return fail(fs, sfd, "cannot protect workspace path '%s'",
			    name);
	snprintf(dst, sizeof(dst), NEWROOT "/sandbox/%s", name);
	dfd = open_resolve(AT_FDCWD, dst, O_PATH, RESOLVE_NO_SYMLINKS);
	if (dfd < 0)
		return fail(fs, dfd, "cannot protect workspace path '%s'",
			    name);
	r = attach_clone(sfd, dfd, bind_attrs(fs, ro));
	return r < 0 ? fail(fs, r, "cannot protect workspace path '%s'", name)
		     : 0;
}

static int
protect_workspace(struct rootfs *fs)
{
	int wsfd = fs->wsfd;
	struct stat st;
	int r;

	if (!fs->cfg->protect_workspace)
		return 0;
	if (fstatat(wsfd, ".git", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(fs, -errno, "cannot protect '%s'", ".git");
	r = protect_one(fs, wsfd, ".git",
			!S_ISDIR(st.st_mode) || fs->cfg->git_placeholder);
	for (size_t i = 0; r == 0 && rootfs_protected[i]; i++)
		r = protect_one(fs, wsfd, rootfs_protected[i], true);
	return r;
}

/* Moves into the new root and detaches the host's tree entirely. */
static int
pivot_into_newroot(struct rootfs *fs)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (mount_setattr(AT_FDCWD, NEWROOT, 0, &attr, sizeof(attr)) < 0)
		return fail(fs, -errno, "cannot make '%s' read-only", "/");
	if (chdir(NEWROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return fail(fs, -errno, "cannot enter '%s'", "the new root");
	return 0;
}

/* An empty tmpfs to build on, with the host's root kept at /oldroot. */
static int
enter_base(struct rootfs *fs)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(fs, -errno, "cannot make '%s' private", "/");
	if (mount("tmpfs", BASE, "tmpfs", MS_NOSUID | MS_NODEV,
		  ROOT_TMPFS_OPTS) < 0)
		return fail(fs, -errno, "cannot mount a tmpfs on '%s'", BASE);
	if (chdir(BASE) < 0 || mkdir("newroot", 0755) < 0 ||
	    mkdir("oldroot", 0755) < 0 ||
	    syscall(SYS_pivot_root, ".", "oldroot") < 0 || chdir("/") < 0)
		return fail(fs, -errno, "cannot pivot to '%s'",
			    "the build root");
	fs->oldroot = open(OLDROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->oldroot < 0)
		return fail(fs, -errno, "cannot open '%s'", OLDROOT);
	if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV,
		  ROOT_TMPFS_OPTS) < 0)
		return fail(fs, -errno, "cannot mount a tmpfs on '%s'",
			    NEWROOT);
	return 0;
}

/*
 * The sandbox's CA, alone and after the host's trust store, in the new
 * root's own (soon read-only) tmpfs; the bundle is also bound over the
 * host bundle's path, for programs that read only that one.
 */
static int
gen_ca(struct rootfs *fs)
{
	_cleanup_free_ char *host = NULL, *bundle = NULL;
	_cleanup_close_ int sfd = -1, dfd = -1;
	int r;

	if (!fs->ca_pem)
		return 0;
	r = make_target(ROOTFS_CA_DIR, true);
	if (r < 0)
		return fail(fs, r, "cannot make '%s'", ROOTFS_CA_DIR);
	close(r);
	if (read_file_at(fs->oldroot, ROOTFS_HOST_BUNDLE + 1, ROOTFS_BUNDLE_MAX,
			 &host, NULL) < 0)
		host = xstrdup("");
	bundle = xasprintf("%s\n%s", host, fs->ca_pem);
	r = write_file_at(AT_FDCWD, NEWROOT ROOTFS_CA_FILE, fs->ca_pem, 0644);
	if (r == 0)
		r = write_file_at(AT_FDCWD, NEWROOT ROOTFS_CA_BUNDLE, bundle,
				  0644);
	if (r < 0)
		return fail(fs, r, "cannot write '%s'", ROOTFS_CA_DIR);
	dfd = open_resolve(AT_FDCWD, NEWROOT ROOTFS_HOST_BUNDLE, O_PATH,
			   RESOLVE_NO_SYMLINKS);
	if (dfd < 0)
		return 0; /* no such path inside: the environment names ours */
	sfd = open(NEWROOT ROOTFS_CA_BUNDLE, O_PATH | O_CLOEXEC);
	r = sfd < 0 ? -errno : attach_clone(sfd, dfd, bind_attrs(fs, true));
	return r < 0 ? fail(fs, r, "cannot bind '%s'", ROOTFS_HOST_BUNDLE) : 0;
}

int
rootfs_build(const struct sandbox_config *cfg, int wsfd, const char *ca_pem,
	     char *why, size_t whylen, char *notes, size_t noteslen)
{
	struct rootfs fs = { .cfg = cfg,
			     .oldroot = -1,
			     .wsfd = wsfd,
			     .ca_pem = ca_pem,
			     .why = why,
			     .whylen = whylen,
			     .notes = BUF_INIT(noteslen - 1) };
	int r;

	r = enter_base(&fs);
	if (r == 0)
		r = build_dev(&fs);
	if (r == 0)
		r = mount_policy(&fs);
	if (r == 0)
		r = add_usr_links(&fs);
	if (r == 0)
		r = gen_etc(&fs);
	if (r == 0)
		r = gen_ca(&fs);
	if (r == 0)
		r = protect_workspace(&fs);
	if (fs.oldroot >= 0)
		close(fs.oldroot);
	if (r == 0)
		r = pivot_into_newroot(&fs);
	snprintf(notes, noteslen, "%s", buf_str(&fs.notes));
	buf_free(&fs.notes);
	return r;
}

/* Host side, before the sandbox starts: the placeholders for missing names. */
static int
make_placeholder(int wsfd, const char *name, uid_t uid, gid_t gid)
{
	bool dir = protected_is_dir(name);
	int fd = -1, r = 0;

	if (dir && mkdirat(wsfd, name, 0755) < 0)
		return -errno;
	if (!dir) {
		fd = openat(
		    wsfd, name,
		    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
	}
	/* As root, the placeholder belongs to the project's owner. */
	if (geteuid() == 0 &&
	    fchownat(wsfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		unlinkat(wsfd, name, dir ? AT_REMOVEDIR : 0);
	}
	return r;
}

static int
record_placeholder(const char *dir, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/placeholders", dir);
	_cleanup_close_ int fd = open(
	    path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	return write_full(fd, name, strlen(name)) ?: write_full(fd, "\n", 1);
}

int
rootfs_prepare_workspace(struct sandbox_config *cfg, char *why, size_t whylen)
{
	_cleanup_close_ int wsfd =
	    open(cfg->workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *names[ARRAY_SIZE(rootfs_protected) + 1] = { ".git" };
	struct stat ws, st;
	int r = 0;

	if (wsfd < 0 || fstat(wsfd, &ws) < 0)
		return -errno;
	memcpy(names + 1, rootfs_protected, sizeof(rootfs_protected));
	for (size_t i = 0; r == 0 && names[i]; i++) {
		if (fstatat(wsfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISLNK(st.st_mode)) {
				snprintf(why, whylen,
					 "workspace path '%s' is a symlink; "
					 "brig will not mount over a link",
					 names[i]);
				return -ELOOP;
			}
			continue;
		}
		if (errno == ENOTDIR || (strncmp(names[i], ".git/", 5) == 0 &&
					 cfg->git_placeholder))
			continue;
		if (errno != ENOENT)
			r = -errno;
		else
			r = make_placeholder(wsfd, names[i], ws.st_uid,
					     ws.st_gid);
		if (r == 0)
			r = record_placeholder(cfg->dir, names[i]);
		if (r == 0 && i == 0)
			cfg->git_placeholder = true;
		if (r < 0)
			snprintf(why, whylen,
				 "cannot guard workspace path '%s': %s",
				 names[i], strerror(-r));
	}
	return r;
}

void
rootfs_remove_placeholders(const char *dir, const char *workspace)
{
	_cleanup_free_ char *list = NULL,
			    *path = xasprintf("%s/placeholders", dir);
	_cleanup_close_ int wsfd =
	    open(workspace, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *names[ARRAY_SIZE(rootfs_protected) + 1];
	size_t n = 0;

	if (wsfd < 0 || read_file_at(AT_FDCWD, path, 4096, &list, NULL) < 0)
		return;
	for (char *p = list, *nl; n < ARRAY_SIZE(names) && *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		names[n++] = p;
	}
	/* Deepest first (.git/hooks before .git); only empty ones go. */
	while (n-- > 0) {
		struct stat st;

		if (fstatat(wsfd, names[n], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			unlinkat(wsfd, names[n], AT_REMOVEDIR);
		else if (S_ISREG(st.st_mode) && st.st_size == 0)
			unlinkat(wsfd, names[n], 0);
	}
	unlink(path);
}
