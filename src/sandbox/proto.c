/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <string.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/util.h"

int
proto_send(int sock, const struct proto_hdr *hdr, char *const *strings,
	   size_t nstrings, const int *fds, size_t nfds)
{
	struct buf b = BUF_INIT(PROTO_MAX_MSG);
	struct proto_hdr h = *hdr;
	ssize_t w;
	int r;

	if (nstrings > PROTO_MAX_STRINGS)
		return -E2BIG;
	h.nstrings = (uint32_t)nstrings;
	r = buf_append(&b, &h, sizeof(h));
	for (size_t i = 0; r == 0 && i < nstrings; i++)
		r = buf_append(&b, strings[i], strlen(strings[i]) + 1);
	if (r == 0) {
		w = send_msg_fds(sock, b.data, b.len, fds, nfds);
		r = w < 0 ? (int)w : 0;
	}
	buf_free(&b);
	return r;
}

int
proto_parse(struct proto_msg *msg, size_t len)
{
	size_t off = sizeof(msg->hdr), n = 0;

	if (len < sizeof(msg->hdr) || len > sizeof(msg->data))
		return -EBADMSG;
	memcpy(&msg->hdr, msg->data, sizeof(msg->hdr));
	if (msg->hdr.nstrings > PROTO_MAX_STRINGS)
		return -EBADMSG;
	while (n < msg->hdr.nstrings) {
		char *s = msg->data + off;
		char *end = memchr(s, '\0', len - off);

		if (off >= len || !end)
			return -EBADMSG;
		msg->strings[n++] = s;
		off = (size_t)(end - msg->data) + 1;
	}
	if (off != len)
		return -EBADMSG;
	msg->strings[n] = NULL;
	msg->nstrings = n;
	return 0;
}

int
proto_recv(int sock, struct proto_msg *msg, int *fds, size_t *nfds)
{
	ssize_t n;
	int r;

	n = recv_msg_fds(sock, msg->data, sizeof(msg->data), fds, nfds);
	if (n <= 0)
		return (int)n;
	r = proto_parse(msg, (size_t)n);
	if (r < 0) {
		close_fds(fds, nfds ? *nfds : 0);
		if (nfds)
			*nfds = 0;
		return r;
	}
	return (int)n;
}

int
proto_control_socket(const char *dir, bool serve)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r = 0;

	if (dfd < 0)
		return -errno;
	/* The path can pass sun_path's 108 bytes; the fd's path cannot. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd,
		 PROTO_CONTROL_SOCK);
	if (serve)
		unlinkat(dfd, PROTO_CONTROL_SOCK, 0);
	fd = socket(AF_UNIX,
		    SOCK_SEQPACKET | SOCK_CLOEXEC | (serve ? SOCK_NONBLOCK : 0),
		    0);
	if (fd < 0)
		return -errno;
	if (serve && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		      listen(fd, PROTO_BACKLOG) < 0))
		r = -errno;
	else if (!serve && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
