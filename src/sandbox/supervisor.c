/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/log.h"
#include "common/util.h"
#include "proxy/creds.h"
#include "proxy/dns.h"
#include "proxy/tls.h"
#include "sandbox/events.h"
#include "sandbox/init.h"
#include "sandbox/proto.h"
#include "sandbox/rootfs.h"
#include "sandbox/selfconfine.h"
#include "sandbox/userns.h"
#include "sandbox/watchdog.h"

#define SUP_MAX_CLIENTS 256
#define SUP_INIT_TIMEOUT_MS 10000
#define SUP_ROOT_NOFILE (256 * 1024)
#define SANDBOX_NAMESPACES                                           \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | \
	 CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

/* One CLI connection; "id" names its spawn, if any, to init. */
struct client {
	int fd;
	uint32_t id;
	pid_t pid;
	bool running;
	bool first; /* the sandbox ends with it when not kept */
};

struct sup {
	struct sandbox_config *cfg;
	supervisor_exit_fn on_exit;
	supervisor_policy_fn on_policy;
	int epfd, ctl, init_sock, sigfd;
	pid_t init_pid;
	struct client clients[SUP_MAX_CLIENTS];
	uint32_t next_id;
	bool first_taken;
	bool stopping;
	struct events *ev;
	struct watchdog *wd; /* the resource limits' timer */
	/* The network: the proxy, the DNS stub and the policy in force. */
	struct proxy *px;
	struct dns_table *dns;
	struct tls_ca *ca;
	SSL_CTX *upstream_ctx;
	struct creds *creds;
	int proxy_epfd, dns_fd, diag_fd, listen_fd;
	const struct policy *policy;
	const char *writable[POLICY_MAX_PATHS + 4];
};

static struct proto_msg sup_msg;

static int
ep_add(struct sup *s, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

/*
 * A sandbox with credentials gets a CA for HTTPS inspection. It is made
 * here, after init was cloned, so that no copy of its key is in any
 * process inside; init gets the certificate, for the CA bundle.
 */
static int
send_ca(struct sup *s, int sync, char *why, size_t whylen)
{
	_cleanup_free_ char *pem = NULL;
	int r;

	if (!s->cfg->nproviders)
		return 0;
	r = tls_ca_new(&s->ca);
	if (r == 0)
		r = tls_ca_cert_pem(s->ca, &pem);
	if (r == 0)
		r = tls_upstream_ctx(s->cfg->upstream_ca, &s->upstream_ctx);
	if (r == 0)
		r = write_full(sync, pem, strlen(pem));
	if (r < 0)
		snprintf(why, whylen, "cannot set up HTTPS inspection: %s%s%s",
			 strerror(-r),
			 s->cfg->upstream_ca ? " (--upstream-ca '" : "",
			 s->cfg->upstream_ca ? s->cfg->upstream_ca : "");
	return r;
}

/* The providers' values, and their placeholders for every process. */
static int
load_creds(struct sup *s, char *why, size_t whylen)
{
	char *env[SANDBOX_MAX_EXTRA_ENV];
	struct proto_hdr h = { .type = PROTO_ENV };
	size_t n = 0;
	int r;

	if (!s->cfg->nproviders || !s->cfg->load_creds)
		return 0;
	r = s->cfg->load_creds(s->cfg, &s->creds);
	if (r < 0) {
		snprintf(why, whylen,
			 "cannot load the providers' credentials: "
			 "%s",
			 strerror(-r));
		return r;
	}
	s->creds->off = s->cfg->off;
	for (size_t i = 0; i < s->creds->n && n < ARRAY_SIZE(env); i++)
		env[n++] = xasprintf("%s=%s", s->creds->v[i].key,
				     s->creds->v[i].placeholder);
	r = proto_send(s->init_sock, &h, env, n, NULL, 0);
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	return r;
}

/* Clones init into its new namespaces and waits for it to be built. */
static int
start_init(struct sup *s, char *why, size_t whylen, char *notes,
	   size_t noteslen)
{
	int sp[2], sync[2], r;
	unsigned long ns;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
	    pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	/* Test builds only: "pidns" and "netns" leave those namespaces. */
	ns = SANDBOX_NAMESPACES;
	if (s->cfg->off & SANDBOX_OFF_PIDNS)
		ns &= ~CLONE_NEWPID;
	if (s->cfg->off & SANDBOX_OFF_NETNS)
		ns &= ~CLONE_NEWNET;
	pid = (pid_t)syscall(SYS_clone, ns | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		/* Nothing of the supervisor's may stay open inside. */
		int a = fcntl(sp[1], F_DUPFD_CLOEXEC, 10);
		int b = fcntl(sync[0], F_DUPFD_CLOEXEC, 10);

		/* The supervisor's ends: init must see their hangups. */
		close(sp[0]);
		close(sync[1]);
		/* stderr is supervisor.log, a host file: /dev/null (fd 0)
		 * instead. */
		if (a < 0 || b < 0 || dup2(STDIN_FILENO, STDERR_FILENO) < 0 ||
		    dup3(a, 3, O_CLOEXEC) < 0 || dup3(b, 4, O_CLOEXEC) < 0 ||
		    (!(s->cfg->off & SANDBOX_OFF_CLOSE_FDS) &&
		     syscall(SYS_close_range, 5, ~0U, 0) < 0))
			_exit(1);
		init_main(s->cfg, 3, 4);
	}
	close(sp[1]);
	close(sync[0]);
	if (pid < 0) {
		r = -errno;
		snprintf(why, whylen, "cannot create the namespaces: %s",
			 strerror(-r));
		close(sp[0]);
		close(sync[1]);
		return r;
	}
	s->init_pid = pid;
	s->init_sock = sp[0];
	r = userns_write_maps(pid, s->cfg->policy->run_as_user,
			      s->cfg->policy->run_as_group, s->cfg->host_uid,
			      s->cfg->host_gid);
	if (r < 0)
		snprintf(why, whylen, "cannot map the sandbox user: %s",
			 strerror(-r));
	/* Init waits for the go: it starts nothing before its cgroup. */
	if (r == 0)
		r = watchdog_new(&s->cfg->limits, s->cfg->name, pid, s->ev,
				 &s->wd, why, whylen);
	if (r == 0 && write(sync[1], "g", 1) != 1)
		r = -errno;
	if (r == 0)
		r = send_ca(s, sync[1], why, whylen);
	close(sync[1]);
	return r < 0 ? r : 0;
}

static int
wait_init_ready(struct sup *s, char *why, size_t whylen, char *notes,
		size_t noteslen)
{
	struct pollfd p = { .fd = s->init_sock, .events = POLLIN };
	int n = poll(&p, 1, SUP_INIT_TIMEOUT_MS);
	int fds[FD_PASS_MAX];
	size_t nfds = FD_PASS_MAX;

	if (n == 0) {
		snprintf(why, whylen, "sandbox init did not start in time");
		return -ETIMEDOUT;
	}
	n = proto_recv(s->init_sock, &sup_msg, fds, &nfds);
	if (n <= 0) {
		snprintf(why, whylen, "sandbox init died while starting");
		return -ECHILD;
	}
	if (sup_msg.hdr.type == PROTO_OK && nfds != 3) {
		close_fds(fds, nfds);
		snprintf(why, whylen, "sandbox init sent no proxy sockets");
		return -EBADMSG;
	}
	if (sup_msg.hdr.type == PROTO_OK) {
		s->listen_fd = fds[0];
		s->dns_fd = fds[1];
		s->diag_fd = fds[2];
	}
	if (sup_msg.hdr.type != PROTO_OK) {
		snprintf(why, whylen, "%s",
			 sup_msg.nstrings ? sup_msg.strings[0] : "init failed");
		return -sup_msg.hdr.arg ?: -EIO;
	}
	snprintf(notes, noteslen, "%s",
		 sup_msg.nstrings ? sup_msg.strings[0] : "");
	return 0;
}

static void
proxy_log(void *ctx, const struct proxy_event *pe)
{
	struct sup *s = ctx;
	struct events_net n = {
		.allow = pe->allow,
		.closed = pe->closed,
		.host = pe->host,
		.port = pe->port,
		.binary = pe->binary,
		.pid = pe->pid,
		.policy = pe->policy,
		.reason = pe->reason,
		.method = pe->method,
		.path = pe->path,
		.bytes_in = pe->bytes_in,
		.bytes_out = pe->bytes_out,
		.duration_ms = pe->duration_ms,
	};

	events_network(s->ev, &n);
}

static const char *
synthetic_name(void *ctx, uint32_t addr)
{
	struct sup *s = ctx;

	return dns_table_name(s->dns, addr);
}

/*
 * The DNS stub: names the policy could allow get a synthetic address,
 * every other name NXDOMAIN, logged as a denial.
 */
static void
dns_serve(struct sup *s)
{
	uint8_t q[DNS_REPLY_MAX], a[DNS_REPLY_MAX];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(s->dns_fd, q, sizeof(q), 0,
				     (struct sockaddr *)&from, &flen);
		struct dns_query query;
		struct dns_decision d;
		size_t alen;

		if (n < 0)
			return;
		dns_parse_query(q, (size_t)n, &query);
		if (dns_answer(&query, s->policy, s->dns, a, sizeof(a), &alen,
			       &d) < 0)
			continue;
		sendto(s->dns_fd, a, alen, 0, (struct sockaddr *)&from, flen);
		/* One event per refused lookup: resolvers ask for A and AAAA
		 * together; the AAAA twin is not logged. */
		if (d.reason && d.qtype != DNS_TYPE_AAAA) {
			struct events_net ev = { .host = d.name,
						 .reason = d.reason };

			events_network(s->ev, &ev);
		}
	}
}

/* Asks init for a capture listener on each policy port not yet held. */
static void
request_captures(struct sup *s)
{
	static uint8_t asked[65536 / 8];
	const struct policy *p = s->policy;

	for (size_t i = 0; i < p->nnetworks; i++) {
		const struct policy_network *net = &p->networks[i];

		for (size_t j = 0; j < net->nendpoints; j++) {
			const struct policy_endpoint *ep = &net->endpoints[j];

			for (size_t k = 0; k < ep->nports; k++) {
				uint16_t port = ep->ports[k];
				struct proto_hdr h = { .type = PROTO_LISTEN,
						       .arg = port };

				if (asked[port / 8] & (1 << (port % 8)))
					continue;
				asked[port / 8] |= (uint8_t)(1 << (port % 8));
				proto_send(s->init_sock, &h, NULL, 0, NULL, 0);
			}
		}
	}
}

/* The sandbox-writable places, where code is not what it claims to be. */
static void
writable_prefixes(struct sup *s)
{
	static const char *const fixed[] = { "/sandbox", "/tmp", "/dev/shm" };
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		s->writable[n++] = fixed[i];
	for (size_t i = 0;
	     i < s->policy->read_write.n && n < ARRAY_SIZE(s->writable) - 1;
	     i++)
		if (!streq(s->policy->read_write.v[i], "/dev/null"))
			s->writable[n++] = s->policy->read_write.v[i];
	s->writable[n] = NULL;
}

static int
start_network(struct sup *s)
{
	struct proxy_config pc = {
		.init_pid = s->init_pid,
		.diagfd = s->diag_fd,
		.writable = s->writable,
		.connect_to = s->cfg->connect_to,
		.nconnect_to = s->cfg->nconnect_to,
		.synthetic_name = synthetic_name,
		.creds = s->creds,
		.ca = s->ca,
		.upstream_ctx = s->upstream_ctx,
		.log = proxy_log,
		.ctx = s,
		.off = s->cfg->off,
	};
	int r;

	writable_prefixes(s);
	r = dns_table_new(&s->dns);
	if (r == 0)
		r = ep_add(s, s->dns_fd);
	if (r == 0)
		r = proxy_new(&pc, s->policy, &s->px);
	if (r == 0)
		r = proxy_add_listener(s->px, s->listen_fd, false);
	if (r == 0) {
		s->proxy_epfd = proxy_fd(s->px);
		r = ep_add(s, s->proxy_epfd);
	}
	if (r == 0)
		request_captures(s);
	return r;
}

/*
 * From here on a bug in a parser must not be able to write outside the
 * state directory or start a program. The proxy's worker thread already
 * runs: it stays outside the Landlock domain, which binds only the
 * calling thread and the threads it starts later (TLS inspection),
 * because a domain may not read /proc/<pid>/fd of processes outside it,
 * and identifying a caller needs that. The seccomp filter covers every
 * thread.
 */
static int
confine_supervisor(struct sup *s, char *why, size_t whylen)
{
	char finding[256];
	int r;

	r = selfconfine_apply(s->cfg, finding, sizeof(finding), why, whylen);
	if (r == 0 && *finding) {
		log_warn("%s", finding);
		events_lifecycle(s->ev, "config", finding);
	}
	return r;
}

static struct client *
client_by_fd(struct sup *s, int fd)
{
	for (size_t i = 0; i < SUP_MAX_CLIENTS; i++)
		if (s->clients[i].fd == fd)
			return &s->clients[i];
	return NULL;
}

static struct client *
client_by_id(struct sup *s, uint32_t id)
{
	for (size_t i = 0; i < SUP_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0 && s->clients[i].id == id)
			return &s->clients[i];
	return NULL;
}

static void
client_reply(struct client *c, uint32_t type, int32_t arg, const char *msg,
	     int fd)
{
	struct proto_hdr h = { .type = type, .arg = arg };
	char *strings[1] = { (char *)msg };

	proto_send(c->fd, &h, strings, msg ? 1 : 0, fd >= 0 ? &fd : NULL,
		   fd >= 0 ? 1 : 0);
}

/* The CLI is gone: its process gets a hangup, as from a closed terminal. */
static void
client_drop(struct sup *s, struct client *c)
{
	if (c->running) {
		struct proto_hdr h = { .type = PROTO_KILL,
				       .id = c->id,
				       .arg = SIGHUP };

		proto_send(s->init_sock, &h, NULL, 0, NULL, 0);
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->first && !s->cfg->keep)
		s->stopping = true;
	c->fd = -1;
	c->running = false;
}

static void
accept_client(struct sup *s)
{
	struct client *c = client_by_fd(s, -1);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(s->ctl, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* Only the user who made the sandbox (or root) may drive it. */
	if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != geteuid() && cred.uid != 0) || ep_add(s, fd) < 0) {
		close(fd);
		return;
	}
	*c = (struct client){ .fd = fd, .id = ++s->next_id };
}

static void
client_exec(struct sup *s, struct client *c, int *fds, size_t nfds)
{
	struct proto_hdr h = sup_msg.hdr;

	if (c->running || s->stopping) {
		client_reply(c, PROTO_ERROR, EBUSY, "already running", -1);
		return;
	}
	h.type = PROTO_SPAWN;
	h.id = c->id;
	if (proto_send(s->init_sock, &h, sup_msg.strings, sup_msg.nstrings, fds,
		       nfds) < 0) {
		client_reply(c, PROTO_ERROR, EIO, "sandbox init is gone", -1);
		return;
	}
	c->running = true;
	if (!s->first_taken) {
		s->first_taken = true;
		c->first = true;
	}
}

/*
 * A new revision, live: only network_policies may change. The old policy
 * stays in force unless the new one is swapped in whole; open tunnels it
 * no longer allows are closed (each with an event).
 */
static void
client_policy(struct sup *s, struct client *c)
{
	const char *text = sup_msg.nstrings == 2 ? sup_msg.strings[0] : NULL;
	const char *sha = sup_msg.nstrings == 2 ? sup_msg.strings[1] : "";
	struct policy_error err = { 0 };
	struct policy *p = NULL;
	const struct policy *old = s->policy;
	char why[300];

	if (!text || policy_parse(text, strlen(text), &p, &err) < 0) {
		snprintf(why, sizeof(why), "the policy does not load: %s",
			 text ? err.message : "no text");
	} else if (!policy_static_equal(old, p)) {
		snprintf(why, sizeof(why),
			 "filesystem_policy, landlock and process are fixed "
			 "when a sandbox is created: recreate the sandbox to "
			 "change them");
	} else {
		s->policy = p;
		writable_prefixes(s);
		proxy_set_policy(s->px, p);
		request_captures(s);
		if (old != s->cfg->policy)
			policy_free((struct policy *)old);
		events_policy(s->ev, sup_msg.hdr.arg, sha, "loaded", NULL);
		if (s->on_policy)
			s->on_policy(s->cfg, sup_msg.hdr.arg, true, NULL);
		client_reply(c, PROTO_OK, sup_msg.hdr.arg, NULL, -1);
		return;
	}
	policy_free(p);
	events_policy(s->ev, sup_msg.hdr.arg, sha, "refused", why);
	if (s->on_policy)
		s->on_policy(s->cfg, sup_msg.hdr.arg, false, why);
	client_reply(c, PROTO_ERROR, EINVAL, why, -1);
}

static void
client_request(struct sup *s, struct client *c)
{
	int fds[FD_PASS_MAX];
	size_t nfds = FD_PASS_MAX;
	int n = proto_recv(c->fd, &sup_msg, fds, &nfds);

	if (n == -EMSGSIZE)
		client_reply(c, PROTO_ERROR, EMFILE,
			     "the supervisor is out of file descriptors "
			     "(too many open connections)",
			     -1);
	if (n <= 0) {
		client_drop(s, c);
		return;
	}
	switch (sup_msg.hdr.type) {
	case PROTO_EXEC:
		client_exec(s, c, fds, nfds);
		break;
	case PROTO_SIGNAL:
		if (c->running) {
			struct proto_hdr h = { .type = PROTO_KILL,
					       .id = c->id,
					       .arg = sup_msg.hdr.arg };

			proto_send(s->init_sock, &h, NULL, 0, NULL, 0);
		}
		break;
	case PROTO_SHUTDOWN:
		s->stopping = true;
		s->cfg->keep = false;
		break;
	case PROTO_PING:
		client_reply(c, PROTO_OK, s->init_pid, s->cfg->name, -1);
		break;
	case PROTO_POLICY:
		client_policy(s, c);
		break;
	default:
		client_reply(c, PROTO_ERROR, EINVAL, "unknown request", -1);
	}
	close_fds(fds, nfds);
}

static void
init_message(struct sup *s)
{
	int fds[FD_PASS_MAX];
	size_t nfds = FD_PASS_MAX;
	int n = proto_recv(s->init_sock, &sup_msg, fds, &nfds);
	struct client *c;

	if (n == 0 || (n < 0 && n != -EBADMSG)) {
		s->stopping = true;
		return;
	}
	if (n > 0 && sup_msg.hdr.type == PROTO_LISTENING) {
		if (nfds == 1 && sup_msg.hdr.arg > 0 &&
		    proxy_add_listener(s->px, fds[0], true) == 0)
			nfds = 0; /* the proxy keeps it */
		else
			log_error("no capture listener for port %d: %s",
				  sup_msg.hdr.arg, strerror(-sup_msg.hdr.arg));
		close_fds(fds, nfds);
		return;
	}
	c = n > 0 ? client_by_id(s, sup_msg.hdr.id) : NULL;
	if (c && sup_msg.hdr.type == PROTO_STARTED) {
		c->pid = sup_msg.hdr.arg;
		client_reply(c, PROTO_STARTED, c->pid, NULL,
			     nfds ? fds[0] : -1);
		events_process(s->ev, "start", c->pid, -1);
	} else if (c && (sup_msg.hdr.type == PROTO_EXITED ||
			 sup_msg.hdr.type == PROTO_ERROR)) {
		client_reply(c, sup_msg.hdr.type, sup_msg.hdr.arg,
			     sup_msg.nstrings ? sup_msg.strings[0] : NULL, -1);
		if (sup_msg.hdr.type == PROTO_EXITED)
			events_process(s->ev, "exit", c->pid, sup_msg.hdr.arg);
		c->running = false;
		if (c->first && !s->cfg->keep)
			s->stopping = true;
	}
	close_fds(fds, nfds);
}

/*
 * Ends the sandbox: init (and with it every process inside) is killed
 * first, the state is removed while the kernel tears the namespaces down,
 * and clients learn that everything is done when their sockets close.
 */
__attribute__((noreturn)) static void
shutdown_sandbox(struct sup *s, const char *why)
{
	bool remove = !s->cfg->keep;

	if (s->init_pid > 0)
		kill(s->init_pid, SIGKILL);
	events_lifecycle(s->ev, remove ? "delete" : "stop", why);
	if (s->cfg->protect_workspace)
		rootfs_remove_placeholders(s->cfg->dir, s->cfg->workspace);
	if (remove)
		rm_rf(s->cfg->dir);
	if (s->on_exit)
		s->on_exit(s->cfg, remove, why);
	for (size_t i = 0; i < SUP_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			close(s->clients[i].fd);
	if (s->init_pid > 0)
		waitpid(s->init_pid, NULL, 0);
	watchdog_free(s->wd);
	_exit(0);
}

static void
handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			char reason[256] = "";
			int status;

			if (waitpid(s->init_pid, &status, WNOHANG) !=
			    s->init_pid)
				continue;
			s->init_pid = 0;
			snprintf(reason, sizeof(reason),
				 "sandbox init ended unexpectedly (status "
				 "0x%x)",
				 status);
			shutdown_sandbox(s, reason);
		} else {
			shutdown_sandbox(s, "the supervisor was told to stop");
		}
	}
}

__attribute__((noreturn)) static void
serve(struct sup *s)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(s->epfd, evs, ARRAY_SIZE(evs), -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == s->ctl)
				accept_client(s);
			else if (fd == s->sigfd)
				handle_signals(s);
			else if (fd == s->init_sock)
				init_message(s);
			else if (fd == s->proxy_epfd)
				proxy_dispatch(s->px);
			else if (fd == s->dns_fd)
				dns_serve(s);
			else if (s->wd && fd == watchdog_fd(s->wd))
				watchdog_tick(s->wd);
			else if (client_by_fd(s, fd))
				client_request(s, client_by_fd(s, fd));
		}
		if (s->stopping)
			shutdown_sandbox(s, NULL);
	}
}

static int
setup_loop(struct sup *s)
{
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->sigfd < 0 || s->epfd < 0)
		return -errno;
	s->ctl = proto_control_socket(s->cfg->dir, true);
	if (s->ctl < 0)
		return s->ctl;
	r = ep_add(s, s->ctl);
	if (r == 0)
		r = ep_add(s, s->sigfd);
	return r;
}

/* Standard descriptors to /dev/null, messages to <dir>/supervisor.log. */
static void
detach_stdio(const char *dir, int keep, unsigned off)
{
	_cleanup_free_ char *logpath = xasprintf("%s/supervisor.log", dir);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int logfd;

	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	if (keep != 3) {
		dup2(keep, 3);
		close(keep);
	}
	if (!(off & SANDBOX_OFF_CLOSE_FDS))
		syscall(SYS_close_range, 4, ~0U, 0);
	logfd =
	    open(logpath,
		 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (logfd >= 0) {
		log_set_fd(logfd);
		/* What libraries write to stderr (a sanitizer's report, glibc's
		 * abort message) goes to the same file, not to nowhere. */
		dup2(logfd, STDERR_FILENO);
	}
}

/* The start event: what the build noted, and the limits in force. */
static void
log_start(struct sup *s, const char *notes)
{
	char limits[512], msg[2048];

	watchdog_describe(s->wd, limits, sizeof(limits));
	snprintf(msg, sizeof(msg), "%s%s%s", notes, *notes ? "; " : "", limits);
	events_lifecycle(s->ev, "start", msg);
}

/* Operator mappings change where the proxy dials: say so once, at start. */
static void
log_connect_to(struct sup *s)
{
	for (size_t i = 0; i < s->cfg->nconnect_to; i++) {
		const struct proxy_connect_to *m = &s->cfg->connect_to[i];
		char msg[512];

		snprintf(msg, sizeof(msg),
			 "connect-to %s:%u -> %s:%u (operator setting, "
			 "trusted)",
			 m->host, m->port, m->addr, m->to_port);
		events_lifecycle(s->ev, "config", msg);
	}
}

/*
 * Each tunnel holds two descriptors (four more while bytes flow): the
 * soft limit goes up to the hard one, and root lifts the hard one too.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (geteuid() == 0 && rl.rlim_max < SUP_ROOT_NOFILE)
		rl.rlim_max = SUP_ROOT_NOFILE;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 &&
	    getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
report(int fd, int err, const char *text)
{
	char head[32];

	snprintf(head, sizeof(head), "%d %d\n", err, (int)getpid());
	write_full(fd, head, strlen(head));
	write_full(fd, text, strlen(text));
	close(fd);
}

__attribute__((noreturn)) static void
supervisor_run(struct sandbox_config *cfg, supervisor_exit_fn on_exit,
	       supervisor_policy_fn on_policy, int ready)
{
	static struct sup s;
	char why[512] = "", notes[1024] = "";
	int r;

	s = (struct sup){ .cfg = cfg,
			  .on_exit = on_exit,
			  .on_policy = on_policy,
			  .init_sock = -1,
			  .policy = cfg->policy,
			  .proxy_epfd = -1,
			  .dns_fd = -1,
			  .diag_fd = -1,
			  .listen_fd = -1 };
	for (size_t i = 0; i < SUP_MAX_CLIENTS; i++)
		s.clients[i].fd = -1;
	umask(077);
	detach_stdio(cfg->dir, ready, cfg->off);
	ready = 3;
	s.ev = events_open(cfg->dir, cfg->name);
	r = setup_loop(&s);
	if (r < 0)
		snprintf(why, sizeof(why), "cannot serve control.sock: %s",
			 strerror(-r));
	if (r == 0)
		r = start_init(&s, why, sizeof(why), notes, sizeof(notes));
	if (r == 0)
		r = wait_init_ready(&s, why, sizeof(why), notes, sizeof(notes));
	if (r == 0)
		r = ep_add(&s, s.init_sock);
	if (r == 0)
		r = ep_add(&s, watchdog_fd(s.wd));
	if (r == 0) {
		/* After init is cloned: the sandbox keeps the usual limit. */
		raise_fd_limit();
		r = load_creds(&s, why, sizeof(why));
		if (r == 0)
			r = start_network(&s);
		if (r == 0)
			r = confine_supervisor(&s, why, sizeof(why));
		if (r < 0 && !*why)
			snprintf(why, sizeof(why), "cannot start the proxy: %s",
				 strerror(-r));
	}
	if (r < 0) {
		events_lifecycle(s.ev, "fail", why);
		report(ready, r, why);
		if (s.init_pid > 0) {
			kill(s.init_pid, SIGKILL);
			waitpid(s.init_pid, NULL, 0);
		}
		watchdog_free(s.wd);
		_exit(1);
	}
	log_start(&s, notes);
	log_connect_to(&s);
	report(ready, 0, notes);
	selfconfine_test_attacks(s.ev);
	serve(&s);
}

static int
read_report(int fd, pid_t *ret_pid, char *why, size_t whylen, char *notes,
	    size_t noteslen)
{
	char buf[2048];
	size_t len = 0;
	ssize_t n;
	int err, pid;

	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (sscanf(buf, "%d %d", &err, &pid) != 2) {
		snprintf(why, whylen, "the supervisor died while starting");
		return -ECHILD;
	}
	snprintf(err < 0 ? why : notes, err < 0 ? whylen : noteslen, "%s",
		 strchr(buf, '\n') ? strchr(buf, '\n') + 1 : "");
	*ret_pid = pid;
	return err;
}

int
supervisor_start(struct sandbox_config *cfg, supervisor_exit_fn on_exit,
		 supervisor_policy_fn on_policy, pid_t *ret_pid, char *why,
		 size_t whylen, char *notes, size_t noteslen)
{
	int ready[2], r;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	/*
	 * One fork and a new session: the supervisor has no terminal and
	 * outlives the CLI (it is reparented when the CLI exits). The CLI
	 * does not wait for it; a zombie left behind lasts as long as the
	 * CLI does.
	 */
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		if (!(cfg->off & SANDBOX_OFF_SETSID) && setsid() < 0)
			_exit(1);
		supervisor_run(cfg, on_exit, on_policy, ready[1]);
	}
	close(ready[1]);
	r = pid < 0
		? -errno
		: read_report(ready[0], ret_pid, why, whylen, notes, noteslen);
	close(ready[0]);
	return r;
}
