/* SPDX-License-Identifier: Apache-2.0 */
/* Descriptor helpers: full reads and writes, capped file reads, fd passing. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#define FD_PASS_MAX 4

/* Write all of p, retrying on EINTR and short writes: 0 or -errno. */
int write_full(int fd, const void *p, size_t n);
/* Reads a whole file of at most limit bytes, NUL-terminated. */
int read_file_at(int dirfd, const char *path, size_t limit, char **ret,
		 size_t *ret_len);
int write_file_at(int dirfd, const char *path, const char *text, mode_t mode);
/* Creates path and its parents with mode (existing ones are kept). */
int mkdir_p(const char *path, mode_t mode);
/* Removes a tree without following symlinks and without leaving the
 * file system it started on. */
int rm_rf(const char *path);
/* One datagram with up to FD_PASS_MAX descriptors (SOCK_SEQPACKET). */
ssize_t send_msg_fds(int sock, const void *p, size_t n, const int *fds,
		     size_t nfds);
/* Receives one datagram; received descriptors are O_CLOEXEC. */
ssize_t recv_msg_fds(int sock, void *p, size_t n, int *fds, size_t *nfds);
void close_fds(int *fds, size_t n);
