/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/ident.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/parse.h"
#include "common/util.h"

#define IDENT_MAPS_MAX (4 * 1024 * 1024)

static void
diag_fill_id(struct inet_diag_sockid *id, const struct sockaddr_storage *src,
	     const struct sockaddr_storage *dst)
{
	if (src->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)src;
		const struct sockaddr_in *d = (const void *)dst;

		id->idiag_sport = s->sin_port;
		id->idiag_dport = d->sin_port;
		memcpy(id->idiag_src, &s->sin_addr, 4);
		memcpy(id->idiag_dst, &d->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *s = (const void *)src;
		const struct sockaddr_in6 *d = (const void *)dst;

		id->idiag_sport = s->sin6_port;
		id->idiag_dport = d->sin6_port;
		memcpy(id->idiag_src, &s->sin6_addr, 16);
		memcpy(id->idiag_dst, &d->sin6_addr, 16);
	}
	id->idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;
}

int
ident_socket_inode(int diagfd, const struct sockaddr_storage *peer,
		   const struct sockaddr_storage *local, unsigned long *ret)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = (uint8_t)peer->ss_family,
			 .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = ~0U },
	};
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} a;
	ssize_t n;

	/* The client's socket: its source is our peer, its destination us. */
	diag_fill_id(&q.req.id, peer, local);
	if (send(diagfd, &q, sizeof(q), 0) < 0)
		return -errno;
	n = recv(diagfd, &a, sizeof(a), 0);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(&a.nlh, (size_t)n) || a.nlh.nlmsg_type == NLMSG_ERROR)
		return -ENOENT;
	if (a.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    a.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -EBADMSG;
	*ret = ((struct inet_diag_msg *)NLMSG_DATA(&a.nlh))->idiag_inode;
	return *ret ? 0 : -ENOENT;
}

/* Appends the pids listed in one children file to out. */
static size_t
read_children(const char *path, pid_t *out, size_t n, size_t max)
{
	_cleanup_free_ char *text = NULL;
	char *p, *end;

	if (read_file_at(AT_FDCWD, path, 65536, &text, NULL) < 0)
		return n;
	for (p = text; *p && n < max; p = end) {
		uint64_t v;

		end = p + strcspn(p, " \n");
		if (*end)
			*end++ = '\0';
		if (parse_u64(p, 1, INT32_MAX, &v) == 0)
			out[n++] = (pid_t)v;
	}
	return n;
}

/*
 * init_pid and every process under it, breadth first. A process started
 * by any thread is listed in that thread's children file; orphans are
 * reparented to init, so nothing inside is missed.
 */
static size_t
collect_procs(pid_t init_pid, pid_t *out, size_t max)
{
	size_t n = 1;

	out[0] = init_pid;
	for (size_t i = 0; i < n && n < max; i++) {
		char path[64];
		DIR *d;

		snprintf(path, sizeof(path), "/proc/%d/task", (int)out[i]);
		d = opendir(path);
		if (!d)
			continue;
		for (struct dirent *de; (de = readdir(d)) && n < max;) {
			char children[384];

			if (de->d_name[0] == '.')
				continue;
			snprintf(children, sizeof(children), "%s/%s/children",
				 path, de->d_name);
			n = read_children(children, out, n, max);
		}
		closedir(d);
	}
	return n;
}

static bool
holds_socket(pid_t pid, const char *want)
{
	char path[64], link[64];
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false;
	for (struct dirent *de; !found && (de = readdir(d));) {
		ssize_t n =
		    readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);

		if (n > 0) {
			link[n] = '\0';
			found = streq(link, want);
		}
	}
	closedir(d);
	return found;
}

/* Whether path lies under one of the sandbox-writable prefixes. */
static bool
in_writable(const char *path, const char *const *writable)
{
	if (strncmp(path, "/memfd:", 7) == 0 || strstr(path, " (deleted)"))
		return true;
	for (size_t i = 0; writable && writable[i]; i++) {
		size_t n = strlen(writable[i]);

		if (strncmp(path, writable[i], n) == 0 &&
		    (path[n] == '/' || path[n] == '\0'))
			return true;
	}
	return false;
}

/* Any file-backed executable mapping from a writable place but exe. */
static bool
maps_tainted(pid_t pid, const char *exe, const char *const *writable)
{
	_cleanup_free_ char *maps = NULL;
	char path[64], *line, *next;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (read_file_at(AT_FDCWD, path, IDENT_MAPS_MAX, &maps, NULL) < 0)
		return true; /* unreadable: when in doubt, it is not trusted */
	for (line = maps; *line; line = next) {
		char *perms, *file;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		perms = strchr(line, ' ');
		file = strchr(line, '/');
		if (perms && strlen(perms) > 4 && perms[3] == 'x' && file &&
		    !streq(file, exe) && in_writable(file, writable))
			return true;
	}
	return false;
}

static pid_t
parent_of(pid_t pid)
{
	_cleanup_free_ char *stat = NULL;
	char path[64], *p;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, 4096, &stat, NULL) < 0)
		return 0;
	p = strrchr(stat, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

pid_t
ident_inner_pid(pid_t pid)
{
	_cleanup_free_ char *status = NULL;
	char path[64], *line, *last;
	uint64_t v;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file_at(AT_FDCWD, path, 16384, &status, NULL) < 0)
		return pid;
	line = strstr(status, "\nNSpid:");
	if (!line)
		return pid;
	line[strcspn(line + 1, "\n") + 1] = '\0';
	last = strrchr(line, '\t');
	if (!last || parse_u64(last + 1, 1, INT32_MAX, &v) < 0)
		return pid;
	return (pid_t)v;
}

static int
fill_chain(pid_t pid, pid_t init_pid, const char *const *writable,
	   struct ident_holder *h)
{
	for (h->nchain = 0;
	     pid > 0 && pid != init_pid && h->nchain < IDENT_MAX_CHAIN;
	     pid = parent_of(pid)) {
		struct ident_proc *p = &h->chain[h->nchain];
		char path[64];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		n = readlink(path, p->exe, sizeof(p->exe) - 1);
		if (n <= 0)
			return h->nchain ? 0 : -ESRCH;
		p->exe[n] = '\0';
		p->pid = pid;
		p->nspid = h->nchain == 0 ? ident_inner_pid(pid) : 0;
		p->injected = maps_tainted(pid, p->exe, writable);
		p->tainted = p->injected || in_writable(p->exe, writable);
		h->nchain++;
	}
	return h->nchain ? 0 : -ESRCH;
}

int
ident_holders(pid_t init_pid, unsigned long inode, const char *const *writable,
	      struct ident *ret)
{
	/* Per thread: the proxy loop and its worker both look callers up. */
	static __thread pid_t procs[IDENT_MAX_PROCS];
	size_t n = collect_procs(init_pid, procs, IDENT_MAX_PROCS);
	char want[64];
	int r;

	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	ret->inode = inode;
	ret->nholders = 0;
	/* procs[0] is init, which never holds a caller's socket. */
	for (size_t i = 1; i < n; i++) {
		if (!holds_socket(procs[i], want))
			continue;
		if (ret->nholders == IDENT_MAX_HOLDERS)
			return -E2BIG;
		r = fill_chain(procs[i], init_pid, writable,
			       &ret->holders[ret->nholders]);
		if (r < 0)
			return r;
		ret->nholders++;
	}
	return ret->nholders ? 0 : -ESRCH;
}
