/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is calling (DESIGN.md section 5): the socket behind an accepted
 * connection, the processes in the sandbox that hold it, and each one's
 * executable and its ancestors', by path as seen inside the sandbox.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define IDENT_MAX_HOLDERS 8
#define IDENT_MAX_CHAIN 16
#define IDENT_MAX_PROCS 4096
#define IDENT_PATH_MAX 1024

struct ident_proc {
	pid_t pid; /* host pid */
	pid_t nspid; /* the same process's pid inside the sandbox */
	char exe[IDENT_PATH_MAX];
	/* Its executable, or code it maps, lies where the sandbox can write
	 * (a copied binary, LD_PRELOAD, memfd): it is not what a glob names. */
	bool tainted;
	/* Code other than the executable itself comes from a writable place
	 * (LD_PRELOAD, memfd): no rule, not even an exact path, names it. */
	bool injected;
};

struct ident_holder {
	size_t nchain; /* chain[0] is the holder, then its ancestors */
	struct ident_proc chain[IDENT_MAX_CHAIN];
};

struct ident {
	unsigned long inode;
	size_t nholders;
	struct ident_holder holders[IDENT_MAX_HOLDERS];
};

/*
 * The inode of the sandbox-side socket of a connection, by an exact
 * sock_diag lookup of its 4-tuple in the sandbox's network namespace.
 * diagfd is a NETLINK_SOCK_DIAG socket created inside that namespace.
 * peer is the client's address (getpeername), local ours (getsockname).
 */
int ident_socket_inode(int diagfd, const struct sockaddr_storage *peer,
		       const struct sockaddr_storage *local,
		       unsigned long *ret);
/*
 * Finds every process under init_pid (host pid) holding the socket and
 * fills their chains. writable lists the sandbox-writable path prefixes
 * (NULL-terminated). -ESRCH when nobody holds it, -E2BIG when more than
 * IDENT_MAX_HOLDERS do: both are denials.
 */
int ident_holders(pid_t init_pid, unsigned long inode,
		  const char *const *writable, struct ident *ret);
/* The last NSpid field of /proc/<pid>/status: the innermost pid. */
pid_t ident_inner_pid(pid_t pid);
