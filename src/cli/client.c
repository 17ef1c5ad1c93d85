/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/log.h"
#include "common/util.h"
#include "sandbox/proto.h"

#define RELAY_BUF 65536
/* After the command exits, output still in flight gets this long. */
#define DRAIN_MS 200

static struct proto_msg cli_msg;

int
client_connect(const char *dir)
{
	return proto_control_socket(dir, false);
}

int
client_request(int fd, unsigned type)
{
	struct proto_hdr h = { .type = type };
	int r = proto_send(fd, &h, NULL, 0, NULL, 0);

	if (r < 0)
		return r;
	r = proto_recv(fd, &cli_msg, NULL, NULL);
	if (r <= 0)
		return r;
	return cli_msg.hdr.type == PROTO_ERROR ? -cli_msg.hdr.arg : 0;
}

void
client_wait_closed(int fd)
{
	char c;
	ssize_t n;

	do
		n = recv(fd, &c, 1, 0);
	while (n > 0 || (n < 0 && errno == EINTR));
}

/* One direction of a relay: a buffer between two descriptors. */
struct pump {
	int in, out;
	char *buf;
	size_t len, off;
	bool eof;
	bool close_out; /* close out at EOF (the sandbox's stdin) */
};

static void
pump_read(struct pump *p)
{
	ssize_t n = read(p->in, p->buf, RELAY_BUF);

	if (n > 0) {
		p->len = (size_t)n;
		p->off = 0;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		p->eof = true;
	}
}

static void
pump_write(struct pump *p)
{
	ssize_t n = write(p->out, p->buf + p->off, p->len - p->off);

	if (n > 0) {
		p->off += (size_t)n;
		if (p->off == p->len)
			p->len = p->off = 0;
	} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
		p->eof = true; /* the reader is gone; drop the rest */
		p->len = p->off = 0;
	}
}

/* Sets poll events for a pump; returns whether it still has work. */
static bool
pump_events(struct pump *p, struct pollfd *in, struct pollfd *out)
{
	in->fd = p->eof || p->len || p->in < 0 ? -1 : p->in;
	in->events = POLLIN;
	out->fd = p->len ? p->out : -1;
	out->events = POLLOUT;
	if (p->eof && !p->len && p->close_out && p->out >= 0) {
		close(p->out);
		p->out = -1;
	}
	return !(p->eof && !p->len);
}

static void
pump_step(struct pump *p, const struct pollfd *in, const struct pollfd *out)
{
	if (in->fd >= 0 && (in->revents & (POLLIN | POLLHUP | POLLERR)))
		pump_read(p);
	if (out->fd >= 0 && (out->revents & (POLLOUT | POLLERR | POLLHUP)))
		pump_write(p);
}

static struct termios saved_tty;
static bool tty_raw;

static void
restore_tty(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tty);
	tty_raw = false;
}

static void
make_raw(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return;
	raw = saved_tty;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0) {
		tty_raw = true;
		atexit(restore_tty);
	}
}

/* Signals that brig forwards to the command rather than dying of. */
static int
forward_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static int
send_exec(int fd, char **argv, int argc, bool tty, const int *fds, size_t nfds)
{
	struct proto_hdr h = { .type = PROTO_EXEC, .arg = argc };
	char *strings[PROTO_MAX_STRINGS];
	const char *term = getenv("TERM");
	_cleanup_free_ char *term_env = NULL;
	size_t n = 0;

	if (argc < 0 || argc >= PROTO_MAX_STRINGS - 1)
		return -E2BIG;
	for (int i = 0; i < argc; i++)
		strings[n++] = argv[i];
	if (!argv)
		h.flags |= PROTO_FLAG_LOGIN;
	if (tty) {
		struct winsize ws = { 0 };

		h.flags |= PROTO_FLAG_TTY;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
			h.rows = ws.ws_row;
			h.cols = ws.ws_col;
		}
		term_env = xasprintf("TERM=%s", term && *term ? term : "xterm");
		strings[n++] = term_env;
	}
	return proto_send(fd, &h, strings, n, fds, nfds);
}

static int
exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_FAILURE;
}

struct session {
	int ctl, sigfd, master;
	struct pump pumps[3]; /* to the sandbox, from it, its stderr */
	size_t npumps;
	bool exited;
	int status;
	int error; /* -errno when the start failed or the sandbox went away */
};

static void
session_signal(struct session *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		struct proto_hdr h = { .type = PROTO_SIGNAL,
				       .arg = (int32_t)si.ssi_signo };

		if (si.ssi_signo == SIGWINCH) {
			struct winsize ws;

			if (s->master >= 0 &&
			    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
				ioctl(s->master, TIOCSWINSZ, &ws);
			continue;
		}
		/* On a terminal, ^C travels as a byte; signals are for
		 * pipes. */
		proto_send(s->ctl, &h, NULL, 0, NULL, 0);
	}
}

static void
session_control(struct session *s)
{
	int n = proto_recv(s->ctl, &cli_msg, NULL, NULL);

	if (n <= 0) {
		if (!s->exited)
			s->error = -ECONNRESET;
		s->exited = true;
		return;
	}
	if (cli_msg.hdr.type == PROTO_EXITED) {
		s->status = cli_msg.hdr.arg;
		s->exited = true;
	} else if (cli_msg.hdr.type == PROTO_ERROR) {
		log_error("%s", cli_msg.nstrings ? cli_msg.strings[0]
						 : "the sandbox refused");
		s->error = -(cli_msg.hdr.arg ?: EIO);
		s->exited = true;
	}
}

static void
pump_init(struct pump *p, int in, int out, bool close_out)
{
	*p = (struct pump){ .in = in, .out = out, .close_out = close_out };
	p->buf = xmalloc(RELAY_BUF);
	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
}

static bool
outputs_done(const struct session *s)
{
	for (size_t i = 1; i < s->npumps; i++)
		if (!(s->pumps[i].eof && !s->pumps[i].len))
			return false;
	return true;
}

static void
relay(struct session *s)
{
	struct pollfd p[2 + 2 * 3];

	for (;;) {
		int timeout = s->exited ? DRAIN_MS : -1, n;

		if (s->exited && (s->error || outputs_done(s)))
			return;
		p[0] = (struct pollfd){ .fd = s->exited ? -1 : s->ctl,
					.events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
		for (size_t i = 0; i < s->npumps; i++)
			pump_events(&s->pumps[i], &p[2 + 2 * i], &p[3 + 2 * i]);
		n = poll(p, 2 + 2 * s->npumps, timeout);
		if (n == 0)
			return; /* output held open by something in the
				   background: stop waiting for it */
		if (n < 0 && errno != EINTR)
			return;
		if (n < 0)
			continue;
		if (p[0].revents)
			session_control(s);
		if (p[1].revents)
			session_signal(s);
		for (size_t i = 0; i < s->npumps; i++)
			pump_step(&s->pumps[i], &p[2 + 2 * i], &p[3 + 2 * i]);
	}
}

static int
start_tty(struct session *s, char **argv, int argc)
{
	int fds[1];
	size_t nfds = 1;
	int r = send_exec(s->ctl, argv, argc, true, NULL, 0);

	if (r < 0)
		return r;
	r = proto_recv(s->ctl, &cli_msg, fds, &nfds);
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return r;
	if (cli_msg.hdr.type != PROTO_STARTED || nfds != 1) {
		close_fds(fds, nfds);
		log_error("%s", cli_msg.nstrings ? cli_msg.strings[0]
						 : "the sandbox refused");
		return -(cli_msg.hdr.arg ?: EIO);
	}
	s->master = fds[0];
	make_raw();
	pump_init(&s->pumps[0], STDIN_FILENO, s->master, false);
	pump_init(&s->pumps[1], s->master, STDOUT_FILENO, false);
	s->npumps = 2;
	return 0;
}

static int
start_pipes(struct session *s, char **argv, int argc)
{
	int in[2], out[2], err[2], remote[3], r;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	remote[0] = in[0];
	remote[1] = out[1];
	remote[2] = err[1];
	r = send_exec(s->ctl, argv, argc, false, remote, 3);
	close_fds(remote, 3);
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	pump_init(&s->pumps[0], STDIN_FILENO, in[1], true);
	pump_init(&s->pumps[1], out[0], STDOUT_FILENO, false);
	pump_init(&s->pumps[2], err[0], STDERR_FILENO, false);
	s->npumps = 3;
	return r;
}

int
client_exec(int fd, char **argv, int argc)
{
	struct session s = { .ctl = fd, .master = -1 };
	int r;

	if (fcntl(STDIN_FILENO, F_GETFD) < 0)
		open("/dev/null", O_RDONLY); /* no stdin at all: use EOF */
	s.sigfd = forward_signals();
	r = isatty(STDIN_FILENO) ? start_tty(&s, argv, argc)
				 : start_pipes(&s, argv, argc);
	if (r == 0)
		relay(&s);
	restore_tty();
	for (size_t i = 0; i < s.npumps; i++)
		free(s.pumps[i].buf);
	if (s.master >= 0)
		close(s.master);
	close(s.sigfd);
	if (r < 0)
		return r;
	if (s.error == -ECONNRESET)
		log_error("the sandbox ended before the command finished");
	if (s.error)
		return s.error == -ENOENT   ? 127
		       : s.error == -EACCES ? 126
					    : s.error;
	return exit_code(s.status);
}

int
client_policy(int fd, int64_t rev, const char *text, const char *sha256,
	      int timeout_ms, char *why, size_t whylen)
{
	struct proto_hdr h = { .type = PROTO_POLICY, .arg = (int32_t)rev };
	char *strings[2] = { (char *)text, (char *)sha256 };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r = proto_send(fd, &h, strings, 2, NULL, 0);

	if (r < 0)
		return r;
	r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	r = proto_recv(fd, &cli_msg, NULL, NULL);
	if (r <= 0)
		return r < 0 ? r : -ECONNRESET;
	if (cli_msg.hdr.type == PROTO_OK)
		return 0;
	snprintf(why, whylen, "%s",
		 cli_msg.nstrings ? cli_msg.strings[0] : "refused");
	return -EINVAL;
}
