/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages on brig's two sockets: the CLI and the supervisor (control.sock),
 * and the supervisor and sandbox init (a socketpair). Both are
 * SOCK_SEQPACKET, so a message is one datagram: a header, then a payload of
 * NUL-terminated strings, with up to FD_PASS_MAX descriptors alongside.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_MAX_MSG (64 * 1024)
#define PROTO_MAX_STRINGS 1024

enum proto_type {
	/* CLI -> supervisor */
	PROTO_EXEC = 1, /* spawn a process; fds: stdin, stdout, stderr */
	PROTO_SIGNAL, /* arg: signal for the session's process */
	PROTO_SHUTDOWN, /* stop the sandbox and exit */
	PROTO_PING, /* is the supervisor alive and serving */
	/* supervisor -> init */
	PROTO_SPAWN = 16, /* as EXEC, with an id */
	PROTO_KILL, /* id, arg: signal */
	PROTO_LISTEN, /* arg: a TCP port to capture; reply LISTENING + fd */
	PROTO_ENV, /* strings: KEY=VALUE for every later process */
	PROTO_POLICY, /* CLI -> supervisor: strings[0] is the new policy */
	/* replies */
	PROTO_STARTED = 32, /* arg: pid inside; fd: pty master when tty */
	PROTO_EXITED, /* arg: wait status */
	PROTO_ERROR, /* arg: errno; strings[0]: message */
	PROTO_OK,
	PROTO_LISTENING, /* arg: port; fd: the listener, or none (arg < 0) */
};

#define PROTO_FLAG_TTY 0x1
#define PROTO_FLAG_LOGIN 0x2 /* no argv: start a login shell */

struct proto_hdr {
	uint32_t type;
	uint32_t flags;
	uint32_t id; /* spawn id between supervisor and init */
	int32_t arg; /* pid, status, signal or errno */
	uint16_t rows; /* terminal size for tty spawns */
	uint16_t cols;
	uint32_t nstrings; /* argv, then "--env", then environment, then cwd */
};

struct proto_msg {
	struct proto_hdr hdr;
	char *strings[PROTO_MAX_STRINGS + 1];
	size_t nstrings;
	char data[PROTO_MAX_MSG];
};

/* Sends a message with strings (may be NULL) and fds; 0 or -errno. */
int proto_send(int sock, const struct proto_hdr *hdr, char *const *strings,
	       size_t nstrings, const int *fds, size_t nfds);
/*
 * Receives one message: validates the header and splits the payload into
 * msg->strings. Returns the number of bytes, 0 on EOF, or -errno (-EBADMSG
 * for a malformed message; any received fds are then closed).
 */
int proto_recv(int sock, struct proto_msg *msg, int *fds, size_t *nfds);
#define PROTO_CONTROL_SOCK "control.sock"
#define PROTO_BACKLOG 64

/*
 * <dir>/control.sock: bound and listening (serve, for the supervisor) or
 * connected (for the CLI). Returns the socket or -errno.
 */
int proto_control_socket(const char *dir, bool serve);
/* Decodes a payload: the parser behind proto_recv, for the fuzzer. */
int proto_parse(struct proto_msg *msg, size_t len);
