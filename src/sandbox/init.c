/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/util.h"
#include "sandbox/confine.h"
#include "sandbox/landlock.h"
#include "sandbox/limits.h"
#include "sandbox/netns.h"
#include "sandbox/proto.h"
#include "sandbox/rootfs.h"

#define INIT_MAX_CHILDREN 4096
#define INIT_MAX_ENV 256
#define INIT_CA_PEM_MAX 16384
#define INIT_MAX_ARGS_BYTES (8 * 1024 * 1024)

/* Variables the supervisor adds for every process: placeholders. */
static char *extra_env[SANDBOX_MAX_EXTRA_ENV];
static size_t nextra_env;

/* The sandbox's CA certificate (PEM), when it has one. */
static char ca_pem[INIT_CA_PEM_MAX];

struct child {
	pid_t pid;
	uint32_t id;
};

static struct child children[INIT_MAX_CHILDREN];

/* The SANDBOX_OFF_* test switches, for the per-process steps. */
static unsigned init_off;
/* Set on every process init starts (its own were set in setup). */
static const struct sandbox_limits *limits;

static void
reply_fds(int sock, uint32_t type, uint32_t id, int32_t arg, const char *msg,
	  const int *fds, size_t nfds)
{
	struct proto_hdr h = { .type = type, .id = id, .arg = arg };
	char *strings[1] = { (char *)msg };

	proto_send(sock, &h, strings, msg ? 1 : 0, fds, nfds);
}

static void
reply(int sock, uint32_t type, uint32_t id, int32_t arg, const char *msg,
      int fd)
{
	reply_fds(sock, type, id, arg, msg, fd >= 0 ? &fd : NULL,
		  fd >= 0 ? 1 : 0);
}

/* The sandbox user's own identity, dropping the caller's groups. */
static int
become_sandbox_user(const struct sandbox_config *cfg)
{
	uid_t uid = cfg->policy->run_as_user;
	gid_t gid = cfg->policy->run_as_group;

	if (geteuid() == 0 || getuid() != uid) {
		/* Only a root caller left setgroups allowed; see userns.c. */
		if (setgroups(0, NULL) < 0 && errno != EPERM)
			return -errno;
	}
	if (setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	return 0;
}

/*
 * The supervisor's doors into the sandbox, made inside its network
 * namespace: the proxy's listener, the DNS stub's socket, and a sock_diag
 * socket for finding who holds a connection. sock_diag must be opened
 * before the seccomp filter, which refuses netlink other than route.
 */
static int net_fds[3] = { -1, -1, -1 };
/* Test builds only ("netns" off): no capture listeners on the host. */
static bool host_net;

static int
open_net_fds(char *why, size_t whylen)
{
	/* On the host's network (test builds, "netns" off), any free port:
	 * the proxy and the stub are then out of the way, not shared. */
	net_fds[0] =
	    netns_listen_tcp(INADDR_LOOPBACK, host_net ? 0 : NETNS_PROXY_PORT);
	net_fds[1] =
	    netns_bind_udp(INADDR_LOOPBACK, host_net ? 0 : NETNS_DNS_PORT);
	net_fds[2] =
	    socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	for (int i = 0; i < 3; i++) {
		if (net_fds[i] < 0) {
			int r = net_fds[i] == -1 ? -errno : net_fds[i];

			snprintf(why, whylen,
				 "cannot open the proxy's sockets: %s",
				 strerror(-r));
			return r;
		}
	}
	return 0;
}

static int
setup(const struct sandbox_config *cfg, char *why, size_t whylen, char *notes,
      size_t noteslen)
{
	char finding[256] = "";
	int ruleset = 0, r;
	_cleanup_close_ int wsfd =
	    open(cfg->workspace, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* The caller's directory, kept only by the "chdir" test switch. */
	_cleanup_close_ int cwd =
	    cfg->off & SANDBOX_OFF_CHDIR ? open(".", O_PATH | O_CLOEXEC) : -1;

	if (wsfd < 0) {
		snprintf(why, whylen, "cannot open workspace '%s': %s",
			 cfg->workspace, strerror(errno));
		return -errno;
	}
	r = become_sandbox_user(cfg);
	if (r < 0) {
		snprintf(why, whylen, "cannot become the sandbox user: %s",
			 strerror(-r));
		return r;
	}
	r = limits_apply_init(&cfg->limits);
	if (r < 0) {
		snprintf(why, whylen, "cannot set the resource limits: %s",
			 strerror(-r));
		return r;
	}
	if (sethostname(cfg->name, strlen(cfg->name)) < 0) {
		snprintf(why, whylen, "cannot set the hostname: %s",
			 strerror(errno));
		return -errno;
	}
	host_net = cfg->off & SANDBOX_OFF_NETNS;
	r = host_net ? 0 : netns_setup(why, whylen);
	if (r == 0)
		r = open_net_fds(why, whylen);
	if (r < 0)
		return r;
	r = rootfs_build(cfg, wsfd, *ca_pem ? ca_pem : NULL, why, whylen, notes,
			 noteslen);
	if (r < 0)
		return r;
	if (cwd >= 0 && fchdir(cwd) < 0)
		return -errno;
	if (!(cfg->off & SANDBOX_OFF_LANDLOCK)) {
		ruleset = landlock_build(cfg->policy, finding, sizeof(finding));
		if (ruleset < 0) {
			snprintf(why, whylen,
				 "Landlock cannot enforce this policy (%s) and "
				 "landlock.compatibility is hard_requirement",
				 strerror(-ruleset));
			return ruleset;
		}
		if (*finding)
			snprintf(notes + strlen(notes),
				 noteslen - strlen(notes), "%s; ", finding);
	}
	r = confine_self(ruleset, cfg->off, why, whylen);
	if (ruleset > 0)
		close(ruleset);
	return r;
}

static const char *
login_shell(void)
{
	return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

/* The environment every process starts with: nothing of the host's. */
static size_t
base_env(char **env, size_t max, const struct proto_msg *m, size_t argc)
{
	static char *const fixed[] = {
		("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
		 "/bin"),
		"HOME=/sandbox",
		"USER=sandbox",
		"LOGNAME=sandbox",
		"LANG=C.UTF-8",
		"PWD=/sandbox",
		/* Every way out goes through the supervisor's proxy. */
		"HTTP_PROXY=http://127.0.0.1:3128",
		"HTTPS_PROXY=http://127.0.0.1:3128",
		"ALL_PROXY=http://127.0.0.1:3128",
		"http_proxy=http://127.0.0.1:3128",
		"https_proxy=http://127.0.0.1:3128",
		"all_proxy=http://127.0.0.1:3128",
		"grpc_proxy=http://127.0.0.1:3128",
		"NO_PROXY=localhost,127.0.0.1,::1",
		"no_proxy=localhost,127.0.0.1,::1",
		"NODE_USE_ENV_PROXY=1",
	};
	/* Every TLS client finds the sandbox's CA without flags. */
	static char *const ca_env[] = {
		"SSL_CERT_FILE=" ROOTFS_CA_BUNDLE,
		"REQUESTS_CA_BUNDLE=" ROOTFS_CA_BUNDLE,
		"CURL_CA_BUNDLE=" ROOTFS_CA_BUNDLE,
		"GIT_SSL_CAINFO=" ROOTFS_CA_BUNDLE,
		"NODE_EXTRA_CA_CERTS=" ROOTFS_CA_FILE,
		"DENO_CERT=" ROOTFS_CA_BUNDLE,
	};
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed) && n < max; i++)
		env[n++] = fixed[i];
	for (size_t i = 0; *ca_pem && i < ARRAY_SIZE(ca_env) && n < max; i++)
		env[n++] = ca_env[i];
	for (size_t i = 0; i < nextra_env && n < max; i++)
		env[n++] = extra_env[i];
	for (size_t i = argc; i < m->nstrings && n < max; i++)
		env[n++] = m->strings[i];
	env[n] = NULL;
	return n;
}

/* In the child: the terminal or the three descriptors become 0, 1, 2. */
static int
child_stdio(const struct proto_msg *m, int *fds, size_t nfds, int master)
{
	if (master >= 0) {
		struct winsize ws = { .ws_row = m->hdr.rows,
				      .ws_col = m->hdr.cols };
		char name[64];
		int slave;

		if (ptsname_r(master, name, sizeof(name)) != 0)
			return -errno;
		slave = open(name, O_RDWR | O_NOCTTY);
		if (slave < 0)
			return -errno;
		/* Outside a new session ("setsid" switch) this cannot work. */
		if (ioctl(slave, TIOCSCTTY, 0) < 0 &&
		    !(init_off & SANDBOX_OFF_SETSID))
			return -errno;
		if (ws.ws_row && ws.ws_col)
			ioctl(slave, TIOCSWINSZ, &ws);
		for (int i = 0; i < 3; i++)
			fds[i] = slave;
		nfds = 3;
	}
	if (nfds != 3)
		return -EBADF;
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			return -errno;
	return 0;
}

/* Forked child: never returns. Reports an exec failure through errpipe. */
__attribute__((noreturn)) static void
child_exec(struct proto_msg *m, int *fds, size_t nfds, int master, int errpipe)
{
	char *env[INIT_MAX_ENV + 8], *argv_login[3] = { NULL, "-l", NULL };
	size_t argc = (size_t)m->hdr.arg;
	char **argv = m->strings;
	sigset_t none;
	int r;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	umask(022); /* the supervisor's 077 is for its own files */
	r = !(init_off & SANDBOX_OFF_SETSID) && setsid() < 0
		? -errno
		: child_stdio(m, fds, nfds, master);
	if (r == 0 && errpipe != 3 && dup3(errpipe, 3, O_CLOEXEC) < 0)
		r = -errno;
	if (r == 0 && !(init_off & SANDBOX_OFF_CLOSE_FDS) &&
	    syscall(SYS_close_range, 4, ~0U, 0) < 0)
		r = -errno;
	if (r == 0 && !(init_off & SANDBOX_OFF_CHDIR) &&
	    chdir("/sandbox") < 0 && chdir("/") < 0)
		r = -errno;
	if (r == 0)
		r = limits_apply_process(limits);
	base_env(env, INIT_MAX_ENV, m, argc);
	if (m->hdr.flags & PROTO_FLAG_LOGIN) {
		argv_login[0] = (char *)login_shell();
		argv = argv_login;
	} else {
		argv[argc] = NULL;
	}
	if (r == 0) {
		execvpe(argv[0], argv, env);
		r = -errno;
	}
	(void)!write(3, &r, sizeof(r));
	_exit(127);
}

static struct child *
child_slot(pid_t pid)
{
	for (size_t i = 0; i < ARRAY_SIZE(children); i++)
		if (children[i].pid == pid)
			return &children[i];
	return NULL;
}

static int
open_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (master < 0)
		return -errno;
	if (grantpt(master) < 0 || unlockpt(master) < 0) {
		close(master);
		return -errno;
	}
	return master;
}

/* Waits for the exec: 0 when it happened, else the child's -errno. */
static int
exec_result(int errpipe)
{
	int err = 0;
	ssize_t n;

	do
		n = read(errpipe, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	return n == sizeof(err) ? err : 0;
}

static void
spawn(int sock, struct proto_msg *m, int *fds, size_t nfds)
{
	struct child *slot = child_slot(0);
	int master = -1, pipefd[2], err;
	char msg[300];
	pid_t pid;

	if (!slot || (size_t)m->hdr.arg > m->nstrings ||
	    (m->hdr.arg == 0 && !(m->hdr.flags & PROTO_FLAG_LOGIN))) {
		reply(sock, PROTO_ERROR, m->hdr.id, EINVAL, "bad spawn", -1);
		return;
	}
	if (m->hdr.flags & PROTO_FLAG_TTY) {
		master = open_pty();
		if (master < 0) {
			reply(sock, PROTO_ERROR, m->hdr.id, -master,
			      "cannot open a terminal", -1);
			return;
		}
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		reply(sock, PROTO_ERROR, m->hdr.id, errno, "cannot make a pipe",
		      -1);
		if (master >= 0)
			close(master);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child_exec(m, fds, nfds, master, pipefd[1]);
	}
	close(pipefd[1]);
	err = pid < 0 ? -errno : exec_result(pipefd[0]);
	close(pipefd[0]);
	if (err < 0) {
		snprintf(msg, sizeof(msg), "cannot run '%s': %s",
			 m->hdr.arg ? m->strings[0] : "shell", strerror(-err));
		reply(sock, PROTO_ERROR, m->hdr.id, -err, msg, -1);
	} else {
		slot->pid = pid;
		slot->id = m->hdr.id;
		reply(sock, PROTO_STARTED, m->hdr.id, pid, NULL, master);
	}
	if (master >= 0)
		close(master);
}

static void
reap(int sock)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *c = child_slot(pid);

		if (!c)
			continue; /* an orphan that init inherited */
		reply(sock, PROTO_EXITED, c->id, status, NULL, -1);
		c->pid = 0;
	}
}

static void
handle_request(int sock)
{
	static struct proto_msg m;
	int fds[FD_PASS_MAX];
	size_t nfds = FD_PASS_MAX;
	int n = proto_recv(sock, &m, fds, &nfds);

	if (n == 0 || (n < 0 && n != -EBADMSG && n != -EMSGSIZE))
		_exit(0); /* the supervisor is gone: the sandbox ends */
	if (n < 0)
		return;
	if (m.hdr.type == PROTO_SPAWN) {
		spawn(sock, &m, fds, nfds);
	} else if (m.hdr.type == PROTO_LISTEN) {
		/* A capture listener on every address, for a policy port. */
		int fd = host_net ? -EPERM
			 : m.hdr.arg > 0 && m.hdr.arg < 65536
			     ? netns_listen_tcp(INADDR_ANY, (uint16_t)m.hdr.arg)
			     : -EINVAL;

		reply(sock, PROTO_LISTENING, 0, fd < 0 ? fd : m.hdr.arg, NULL,
		      fd);
		if (fd >= 0)
			close(fd);
	} else if (m.hdr.type == PROTO_ENV) {
		for (size_t i = 0;
		     i < m.nstrings && nextra_env < SANDBOX_MAX_EXTRA_ENV; i++)
			extra_env[nextra_env++] = xstrdup(m.strings[i]);
	} else if (m.hdr.type == PROTO_KILL) {
		for (size_t i = 0; i < ARRAY_SIZE(children); i++)
			if (children[i].pid > 0 && children[i].id == m.hdr.id)
				kill(children[i].pid, m.hdr.arg);
	}
	close_fds(fds, nfds);
}

__attribute__((noreturn)) static void
serve(int sock)
{
	struct pollfd p[2] = { { .fd = sock, .events = POLLIN } };
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	p[1].fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(p[1].fd, &si, sizeof(si)) > 0)
				;
			reap(sock);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			handle_request(sock);
	}
}

/* After the go byte, the supervisor sends the CA certificate, if any. */
static void
read_ca(int sync)
{
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(ca_pem) - 1 &&
	       (n = read(sync, ca_pem + len, sizeof(ca_pem) - 1 - len)) > 0)
		len += (size_t)n;
	ca_pem[len] = '\0';
}

/*
 * Init is a copy of the brig that started it, so /proc/1/cmdline (which
 * any process may read, dumpable or not) would show the host's command
 * line and binary path, and its environment the caller's. Both areas are
 * overwritten in place; the kernel gives their bounds in /proc/self/stat
 * (fields 48 to 51).
 */
static void
hide_cmdline(void)
{
	_cleanup_free_ char *stat = NULL;
	unsigned long v[4];
	char *p;

	if (read_file_at(AT_FDCWD, "/proc/self/stat", 4096, &stat, NULL) < 0)
		return;
	p = strrchr(stat, ')');
	/* p ends field 2 (comm); each step moves to the next field. */
	for (int field = 2; p && field < 48; field++)
		p = strchr(p + 1, ' ');
	if (!p ||
	    sscanf(p, " %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4 ||
	    v[3] <= v[0] || v[1] <= v[0] || v[3] - v[0] > INIT_MAX_ARGS_BYTES)
		return;
	memset((void *)v[0], 0, v[3] - v[0]);
	snprintf((char *)v[0], v[1] - v[0], "brig-init");
}

void
init_main(const struct sandbox_config *cfg, int sock, int sync)
{
	char why[512] = "", notes[1024] = "";
	char go;

	limits = &cfg->limits;
	/* Dies with the supervisor; the sync read catches a death before. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	umask(022); /* what init makes in the new root is for everyone */
	if (read(sync, &go, 1) != 1)
		_exit(1);
	read_ca(sync);
	close(sync);
	hide_cmdline();
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	init_off = cfg->off;
	if (setup(cfg, why, sizeof(why), notes, sizeof(notes)) < 0) {
		reply(sock, PROTO_ERROR, 0, EPERM, why, -1);
		_exit(1);
	}
	/* A change of uid made init non-dumpable too; the test switch
	 * undoes both. */
	if (cfg->off & SANDBOX_OFF_DUMPABLE)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	reply_fds(sock, PROTO_OK, 0, 0, notes, net_fds, 3);
	close_fds(net_fds, 3);
	serve(sock);
}
