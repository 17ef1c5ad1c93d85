/* SPDX-License-Identifier: Apache-2.0 */
#include "common/fdutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

int
write_full(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
read_file_at(int dirfd, const char *path, size_t limit, char **ret,
	     size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *data = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			data = xrealloc(data, cap);
		}
		n = read(fd, data + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > limit)
			return -EFBIG;
	}
	if (!data)
		data = xcalloc(1, 1);
	data[len] = '\0';
	*ret = TAKE_PTR(data);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int
write_file_at(int dirfd, const char *path, const char *text, mode_t mode)
{
	_cleanup_close_ int fd =
	    openat(dirfd, path,
		   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return -errno;
	return write_full(fd, text, strlen(text));
}

/* Makes one directory; one that exists already must be a directory. */
static int
mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	int r;

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = mkdir_one(tmp, mode);
		if (r < 0)
			return r;
		*p = '/';
	}
	return mkdir_one(tmp, mode);
}

/*
 * Opens the directory that fstatat saw, or returns NULL with errno set.
 * O_NOFOLLOW refuses a symlink put in its place meanwhile; comparing the
 * inode refuses another directory or a mount point moved there.
 */
static DIR *
rm_rf_opendir(int parent, const char *name, const struct stat *st)
{
	int fd = openat(parent, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat now;
	DIR *d;
	int err;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &now) < 0)
		err = errno;
	else if (now.st_dev != st->st_dev || now.st_ino != st->st_ino)
		err = EAGAIN;
	else if ((d = fdopendir(fd)))
		return d;
	else
		err = errno;
	close(fd);
	errno = err;
	return NULL;
}

static int rm_rf_at(int parent, const char *name, dev_t dev);

static int
rm_rf_entries(DIR *d, mode_t mode, dev_t dev)
{
	int r = 0;

	/* A directory left read-only must still be emptied. */
	if ((mode & S_IRWXU) != S_IRWXU)
		fchmod(dirfd(d), (mode & 07777) | S_IRWXU);
	for (struct dirent *de; (de = readdir(d));) {
		int q;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		q = rm_rf_at(dirfd(d), de->d_name, dev);
		if (q < 0 && r == 0)
			r = q;
	}
	return r;
}

static int
rm_rf_at(int parent, const char *name, dev_t dev)
{
	struct stat st;
	DIR *d;
	int r;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 ? -errno : 0;
	if (st.st_dev != dev)
		return -EXDEV;
	d = rm_rf_opendir(parent, name, &st);
	if (!d)
		return -errno;
	r = rm_rf_entries(d, st.st_mode, dev);
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && r == 0)
		r = -errno;
	return r;
}

int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

ssize_t
send_msg_fds(int sock, const void *p, size_t n, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FD_PASS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t w;

	if (nfds > FD_PASS_MAX)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		w = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : w;
}

ssize_t
recv_msg_fds(int sock, void *p, size_t n, int *fds, size_t *nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * FD_PASS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = p, .iov_len = n };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	size_t got = 0;
	ssize_t r;

	do
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (fds && nfds && got < *nfds)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		close_fds(fds, got);
		return -EMSGSIZE;
	}
	if (nfds)
		*nfds = got;
	return r;
}

void
close_fds(int *fds, size_t n)
{
	for (size_t i = 0; fds && i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
