/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/proto.h"

#include <errno.h>
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
