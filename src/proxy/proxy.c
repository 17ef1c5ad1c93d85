/* SPDX-License-Identifier: Apache-2.0 */
#include "proxy/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/parse.h"
#include "common/util.h"
#include "policy/match.h"
#include "proxy/http.h"
#include "proxy/ident.h"
#include "proxy/inspect.h"
#include "proxy/creds.h"
#include "proxy/tls.h"
#include "proxy/tls_peek.h"

#define PROXY_MAX_ADDRS 8
#define PROXY_PIPE_SIZE (256 * 1024)
#define PROXY_SPLICE_CHUNK (256 * 1024)
#define PROXY_REPLY_MAX 4096
#define PROXY_FD_RESERVE 128
#define PROXY_MAX_LISTENERS 1024

enum side_kind { SIDE_LISTENER, SIDE_CLIENT, SIDE_UPSTREAM, SIDE_WAKE };

struct conn;

/* What an epoll event points at. */
struct side {
	enum side_kind kind;
	int fd;
	bool capture; /* listeners only */
	struct conn *c;
	uint32_t events; /* what is registered now */
};

/* One direction of a tunnel: bytes wait in a pipe between two sockets. */
struct flow {
	int pipe[2];
	size_t pending; /* in the pipe */
	bool eof; /* the reading side is done */
	bool shut; /* the writing side was shut down */
	uint64_t bytes;
};

/* Who called: each holder's executable and ancestors, for re-checks. */
struct caller_exe {
	char *exe;
	bool tainted;
	bool injected;
	uint8_t holder;
};

enum conn_state {
	ST_HEAD,
	ST_IDENT,
	ST_RESOLVE,
	ST_CONNECT,
	ST_SEND,
	ST_TUNNEL
};

struct conn {
	struct proxy *px;
	uint32_t id;
	enum conn_state state;
	struct side client, upstream;
	bool capture; /* came through transparent capture */
	bool connect; /* CONNECT: answer 200 once dialed */
	bool direct; /* --connect-to: trusted, no SSRF check */
	char *head; /* request head being read */
	size_t hlen;
	struct buf out; /* rewritten head (and body bytes) for upstream */
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;
	char method[16];
	pid_t pid;
	char *binary;
	char policy[128];
	const struct policy_endpoint *endpoint;
	struct caller_exe *callers;
	size_t ncallers;
	/* Set: denied for this once its caller is known, to name it. */
	const char *deny_reason;
	struct sockaddr_storage addrs[PROXY_MAX_ADDRS];
	size_t naddrs, next_addr;
	struct flow up, down; /* up: to the upstream; down: to the client */
	int64_t started_ms, deadline_ms;
	/* A pass-through tunnel waiting for the client's first bytes (see
	 * hello_check); the head timeout runs once some have come. */
	bool hello;
	int64_t hello_deadline_ms;
	bool refused; /* its one event was a denial: no close event */
	bool dead;
	struct conn *prev, *next;
};

/* A name to resolve off the loop, and its answer. */
/*
 * Work that blocks or reads /proc at length, done by the worker thread so
 * that the loop never waits: resolving a name, or finding who holds a
 * socket (which costs as much as the sandbox has descriptors).
 */
enum job_kind { JOB_RESOLVE, JOB_IDENT };

struct job {
	enum job_kind kind;
	uint32_t conn_id;
	char host[HTTP_HOST_MAX + 1];
	uint16_t port;
	int err;
	struct sockaddr_storage addrs[PROXY_MAX_ADDRS];
	size_t naddrs;
	/* JOB_IDENT: the connection's two ends in, the callers out. */
	struct sockaddr_storage peer, local;
	struct caller_exe *callers;
	size_t ncallers;
	pid_t pid;
	char *binary;
	struct job *next;
};

/*
 * An inspected tunnel, run by its own thread: kept here so that a policy
 * that no longer allows it can end it (by shutting its client socket).
 */
struct inspected {
	struct proxy *px;
	struct conn who; /* host, port and callers; no descriptors */
	int client_fd;
	struct inspected *next;
};

struct proxy {
	struct proxy_config cfg;
	struct inspected *inspected; /* under lock */
	const struct policy *policy;
	int epfd, timerfd;
	struct side timer, wake;
	struct conn *conns, *dead;
	size_t nconns;
	/* Connections the descriptor limit leaves room for, with a reserve
	 * so that control.sock and the sandbox's own work never starve. */
	size_t max_conns;
	struct side *listeners[PROXY_MAX_LISTENERS];
	size_t nlisteners;
	bool paused; /* listeners off after EMFILE, until the next tick */
	uint32_t next_id;
	/* The resolver thread: getaddrinfo blocks, the loop must not. */
	pthread_t resolver;
	pthread_mutex_t lock;
	pthread_mutex_t diag_lock;
	pthread_cond_t cond;
	struct job *todo, *done;
};

static int
side_watch(struct proxy *px, struct side *s, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = s };
	int op = s->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (s->fd < 0 || (s->events == events && events))
		return 0;
	if (!events && !s->events)
		return 0;
	if (!events) {
		s->events = 0;
		return epoll_ctl(px->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	}
	s->events = events;
	return epoll_ctl(px->epfd, op, s->fd, &e);
}

static void
log_conn(struct conn *c, bool allow, bool closed, const char *reason)
{
	struct proxy_event ev = {
		.allow = allow,
		.closed = closed,
		.host = c->host[0] ? c->host : NULL,
		.port = c->port,
		.binary = c->binary,
		.pid = c->pid,
		.policy = c->policy[0] ? c->policy : NULL,
		.reason = reason,
		.method = c->method[0] && !c->connect ? c->method : NULL,
	};

	if (closed) {
		ev.bytes_in = c->down.bytes;
		ev.bytes_out = c->up.bytes;
		ev.duration_ms =
		    (uint64_t)(clock_ms(CLOCK_MONOTONIC) - c->started_ms);
	}
	if (c->px->cfg.log)
		c->px->cfg.log(c->px->cfg.ctx, &ev);
}

static void
flow_close(struct flow *f)
{
	for (int i = 0; i < 2; i++)
		if (f->pipe[i] >= 0)
			close(f->pipe[i]);
	f->pipe[0] = f->pipe[1] = -1;
}

static void
side_close(struct proxy *px, struct side *s)
{
	if (s->fd < 0)
		return;
	side_watch(px, s, 0);
	close(s->fd);
	s->fd = -1;
}

/* Ends a connection; a tunnel that carried bytes gets its close event. */
static void
conn_free(struct conn *c, const char *close_reason)
{
	struct proxy *px = c->px;

	if (c->dead)
		return;
	/* Gone before its first bytes were judged: allowed, as its host
	 * and port were, and nothing went upstream. */
	if (c->hello && !c->refused && (c->state == ST_TUNNEL || close_reason))
		log_conn(c, true, false, NULL);
	if ((c->state == ST_TUNNEL || close_reason) && !c->refused)
		log_conn(c, true, true, close_reason);
	side_close(px, &c->client);
	side_close(px, &c->upstream);
	flow_close(&c->up);
	flow_close(&c->down);
	for (size_t i = 0; i < c->ncallers; i++)
		free(c->callers[i].exe);
	free(c->callers);
	free(c->head);
	free(c->binary);
	buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		px->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	px->nconns--;
	/* Freed once the current batch of events is done: a later event in
	 * it may still point at this connection's sides. */
	c->dead = true;
	c->next = px->dead;
	px->dead = c;
}

static void
reap_dead(struct proxy *px)
{
	while (px->dead) {
		struct conn *c = px->dead;

		px->dead = c->next;
		free(c);
	}
}

static struct conn *
conn_new(struct proxy *px, int fd, bool capture)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->px = px;
	c->id = ++px->next_id;
	c->capture = capture;
	c->client = (struct side){ .kind = SIDE_CLIENT, .fd = fd, .c = c };
	c->upstream = (struct side){ .kind = SIDE_UPSTREAM, .fd = -1, .c = c };
	c->up.pipe[0] = c->up.pipe[1] = -1;
	c->down.pipe[0] = c->down.pipe[1] = -1;
	c->out = BUF_INIT(HTTP_HEAD_MAX + PROXY_REPLY_MAX);
	c->started_ms = clock_ms(CLOCK_MONOTONIC);
	c->next = px->conns;
	if (px->conns)
		px->conns->prev = c;
	px->conns = c;
	px->nconns++;
	return c;
}

/* Best effort: the client is told, then the connection is gone. */
static void
reply_and_close(struct conn *c, struct buf *b)
{
	if (b->len)
		(void)!send(c->client.fd, b->data, b->len, MSG_NOSIGNAL);
	buf_free(b);
	conn_free(c, NULL);
}

/* The error a denial's body names: a credential refusal is its own
 * kind, as it is inside an inspected tunnel. */
static const char *
denial_error(int status, const char *reason)
{
	if (status != 403)
		return "upstream_failed";
	if (streq(reason, CREDS_SECRET_LEAK) ||
	    streq(reason, CREDS_ENDPOINT_MISMATCH))
		return reason;
	return "policy_denied";
}

static void
deny(struct conn *c, int status, const char *reason)
{
	struct buf b = BUF_INIT(PROXY_REPLY_MAX);

	log_conn(c, false, false, reason);
	/* A captured connection speaks no HTTP to us: it is just closed. */
	if (!c->capture)
		http_write_denial(&b, status, denial_error(status, reason),
				  c->host, c->port, c->binary, reason);
	reply_and_close(c, &b);
}

static void
reject(struct conn *c, int status, const char *why)
{
	struct buf b = BUF_INIT(PROXY_REPLY_MAX);

	log_conn(c, false, false, why);
	http_write_status(&b, status, why);
	reply_and_close(c, &b);
}

/* Keeps who called, so that a new policy can be checked against it. */
static void
keep_callers(const struct ident *id, struct caller_exe **ret, size_t *ret_n,
	     pid_t *pid, char **binary)
{
	struct caller_exe *v;
	size_t n = 0, k = 0;

	for (size_t h = 0; h < id->nholders; h++)
		n += id->holders[h].nchain;
	v = xcalloc(n, sizeof(*v));
	for (size_t h = 0; h < id->nholders; h++) {
		const struct ident_holder *hd = &id->holders[h];

		for (size_t i = 0; i < hd->nchain; i++)
			v[k++] = (struct caller_exe){
				.exe = xstrdup(hd->chain[i].exe),
				.tainted = hd->chain[i].tainted,
				.injected = hd->chain[i].injected,
				.holder = (uint8_t)h,
			};
	}
	*ret = v;
	*ret_n = k;
	*pid = id->holders[0].chain[0].nspid;
	*binary = xstrdup(id->holders[0].chain[0].exe);
}

/*
 * An executable in a writable place is only itself for a binary rule
 * that names its exact path, never for a glob; a process running code
 * injected from a writable place (LD_PRELOAD, memfd) is never anything.
 */
static bool
exact_rule(const struct policy_network *net, const char *exe)
{
	for (size_t i = 0; net && i < net->nbinaries; i++)
		if (streq(net->binaries[i].path, exe))
			return true;
	return false;
}

static bool
holder_allowed(const struct policy *p, const struct conn *c, uint8_t holder,
	       struct match_result *res)
{
	/* Test builds only: "ident" off lets writable code count. */
	bool trust_writable = c->px->cfg.off & PROXY_OFF_IDENT;
	const char *bins[IDENT_MAX_CHAIN];
	size_t n = 0;

	for (size_t i = 0; i < c->ncallers && n < IDENT_MAX_CHAIN; i++)
		if (c->callers[i].holder == holder)
			bins[n++] = c->callers[i].tainted && !trust_writable
					? ""
					: c->callers[i].exe;
	match_endpoint(p, c->host, c->port, bins, n, res);
	if (res->allowed)
		return true;
	for (size_t i = 0; i < c->ncallers; i++) {
		const char *exe = c->callers[i].exe;
		struct match_result r;

		if (c->callers[i].holder != holder || !c->callers[i].tainted)
			continue;
		match_endpoint(p, c->host, c->port, &exe, 1, &r);
		if (r.allowed && !c->callers[i].injected &&
		    exact_rule(r.network, exe)) {
			*res = r;
			return true;
		}
		/* Allowed but for where its code comes from: say so. */
		if (r.allowed)
			res->reason = c->callers[i].injected
					  ? "code_from_writable_path"
					  : "binary_in_writable_path";
	}
	return false;
}

/* Every holder of the socket must be allowed; the first decides the name. */
static bool
callers_allowed(const struct policy *p, const struct conn *c,
		struct match_result *res)
{
	/* Test builds only: with "ident" off, one allowed holder will do. */
	bool one = c->px->cfg.off & PROXY_OFF_IDENT;
	uint8_t nholders = 0;

	for (size_t i = 0; i < c->ncallers; i++)
		if (c->callers[i].holder >= nholders)
			nholders = c->callers[i].holder + 1;
	for (uint8_t h = 0; h < nholders; h++) {
		struct match_result r;
		bool ok = holder_allowed(p, c, h, &r);

		if (!ok || h == 0 || one)
			*res = r;
		if (ok && one)
			return true;
		if (!ok && !one)
			return false;
	}
	return nholders > 0 && !one;
}

static int
ident_run(struct proxy *px, const struct sockaddr_storage *peer,
	  const struct sockaddr_storage *local, struct ident *id)
{
	unsigned long inode;
	int r;

	/* One sock_diag socket serves the loop and the worker: a request
	 * and its answer must not interleave with another's. */
	pthread_mutex_lock(&px->diag_lock);
	r = ident_socket_inode(px->cfg.diagfd, peer, local, &inode);
	pthread_mutex_unlock(&px->diag_lock);
	return r < 0 ? r
		     : ident_holders(px->cfg.init_pid, inode, px->cfg.writable,
				     id);
}

static int
conn_ends(struct conn *c, struct sockaddr_storage *peer,
	  struct sockaddr_storage *local)
{
	socklen_t plen = sizeof(*peer), llen = sizeof(*local);

	if (getpeername(c->client.fd, (struct sockaddr *)peer, &plen) < 0 ||
	    getsockname(c->client.fd, (struct sockaddr *)local, &llen) < 0)
		return -errno;
	return 0;
}

static void *
resolver_main(void *arg)
{
	static struct ident id; /* this thread's alone */
	struct proxy *px = arg;

	for (;;) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
		struct addrinfo *res = NULL;
		struct job *j;
		uint64_t one = 1;
		char port[8];

		pthread_mutex_lock(&px->lock);
		while (!px->todo)
			pthread_cond_wait(&px->cond, &px->lock);
		j = px->todo;
		px->todo = j->next;
		pthread_mutex_unlock(&px->lock);

		if (j->kind == JOB_IDENT) {
			j->err = ident_run(px, &j->peer, &j->local, &id);
			if (j->err == 0)
				keep_callers(&id, &j->callers, &j->ncallers,
					     &j->pid, &j->binary);
		} else {
			snprintf(port, sizeof(port), "%u", j->port);
			j->err = getaddrinfo(j->host, port, &hints, &res);
			for (struct addrinfo *a = res;
			     a && j->naddrs < PROXY_MAX_ADDRS; a = a->ai_next)
				memcpy(&j->addrs[j->naddrs++], a->ai_addr,
				       a->ai_addrlen);
			if (res)
				freeaddrinfo(res);
		}

		pthread_mutex_lock(&px->lock);
		j->next = px->done;
		px->done = j;
		pthread_mutex_unlock(&px->lock);
		(void)!write(px->wake.fd, &one, sizeof(one));
	}
	return NULL;
}

static void dial_next(struct conn *c);
static void identified(struct conn *c, struct job *j);

/* The operator's mapping for host:port, if any: trusted as given. */
static bool
connect_to(struct conn *c)
{
	const struct proxy_config *cfg = &c->px->cfg;

	for (size_t i = 0; i < cfg->nconnect_to; i++) {
		const struct proxy_connect_to *m = &cfg->connect_to[i];
		struct sockaddr_in *v4 = (void *)&c->addrs[0];
		struct sockaddr_in6 *v6 = (void *)&c->addrs[0];

		if (strcasecmp(m->host, c->host) || m->port != c->port)
			continue;
		memset(&c->addrs[0], 0, sizeof(c->addrs[0]));
		if (inet_pton(AF_INET, m->addr, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET;
			v4->sin_port = htons(m->to_port);
		} else if (inet_pton(AF_INET6, m->addr, &v6->sin6_addr) == 1) {
			v6->sin6_family = AF_INET6;
			v6->sin6_port = htons(m->to_port);
		} else {
			continue;
		}
		c->naddrs = 1;
		c->direct = true;
		return true;
	}
	return false;
}

/* Keeps the addresses the SSRF rules allow; denies when none is left. */
static bool
check_addrs(struct conn *c, const struct sockaddr_storage *addrs, size_t n)
{
	const char *why = "no_address";

	c->naddrs = 0;
	for (size_t i = 0; i < n; i++) {
		const char *r = NULL;

		if ((c->px->cfg.off & PROXY_OFF_SSRF) ||
		    match_addr_allowed(c->endpoint,
				       (const struct sockaddr *)&addrs[i], &r))
			c->addrs[c->naddrs++] = addrs[i];
		else
			why = r;
	}
	if (!c->naddrs)
		deny(c, 403, why);
	return c->naddrs > 0;
}

static void
queue_job(struct conn *c, struct job *j)
{
	struct proxy *px = c->px;

	j->conn_id = c->id;
	side_watch(px, &c->client, 0);
	pthread_mutex_lock(&px->lock);
	j->next = px->todo;
	px->todo = j;
	pthread_cond_signal(&px->cond);
	pthread_mutex_unlock(&px->lock);
}

static void
resolve(struct conn *c)
{
	struct sockaddr_storage lit = { 0 };
	struct sockaddr_in *v4 = (void *)&lit;
	struct sockaddr_in6 *v6 = (void *)&lit;
	struct job *j;

	if (connect_to(c))
		return dial_next(c);
	if (inet_pton(AF_INET, c->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(c->port);
	} else if (inet_pton(AF_INET6, c->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(c->port);
	}
	if (lit.ss_family) {
		if (check_addrs(c, &lit, 1))
			dial_next(c);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_RESOLVE;
	j->port = c->port;
	snprintf(j->host, sizeof(j->host), "%s", c->host);
	c->state = ST_RESOLVE;
	queue_job(c, j);
}

static struct conn *
conn_by_id(struct proxy *px, uint32_t id)
{
	for (struct conn *c = px->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void
resolved(struct proxy *px)
{
	struct job *done;
	uint64_t n;

	(void)!read(px->wake.fd, &n, sizeof(n));
	pthread_mutex_lock(&px->lock);
	done = px->done;
	px->done = NULL;
	pthread_mutex_unlock(&px->lock);
	while (done) {
		struct job *j = done;
		struct conn *c = conn_by_id(px, j->conn_id);

		done = j->next;
		if (c && c->state == ST_RESOLVE && j->kind == JOB_RESOLVE) {
			if (j->err)
				deny(c, 502, "name_not_resolved");
			else if (check_addrs(c, j->addrs, j->naddrs))
				dial_next(c);
		} else if (c && c->state == ST_IDENT && j->kind == JOB_IDENT) {
			identified(c, j);
		}
		for (size_t i = 0; i < j->ncallers; i++)
			free(j->callers[i].exe);
		free(j->callers);
		free(j->binary);
		free(j);
	}
}

static void tunnel_update(struct conn *c);

static void
start_tunnel(struct conn *c)
{
	c->state = ST_TUNNEL;
	c->deadline_ms = clock_ms(CLOCK_MONOTONIC) + PROXY_IDLE_TIMEOUT_MS;
	tunnel_update(c);
}

/* Sends what must reach the upstream before the tunnel starts. */
static void
flush_out(struct conn *c)
{
	while (c->out.len) {
		ssize_t n =
		    send(c->upstream.fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			c->state = ST_SEND;
			side_watch(c->px, &c->upstream, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_free(c, "upstream_closed");
			return;
		}
		memmove(c->out.data, c->out.data + n, c->out.len - (size_t)n);
		c->out.len -= (size_t)n;
		c->up.bytes += (uint64_t)n;
	}
	start_tunnel(c);
}

/*
 * Whether a connection must be opened up: a credential may travel to this
 * endpoint (bound to it, or bound to nothing), and the endpoint does not
 * say tls: skip. A plain-text request is opened up only where the
 * endpoint sets allow_uninspected_credentials. Everything else is passed
 * through untouched.
 */
static bool
must_inspect(const struct conn *c)
{
	const struct proxy_config *cfg = &c->px->cfg;
	bool absolute = !c->connect && !c->capture;

	if (!cfg->creds || !c->endpoint || c->endpoint->tls == POLICY_TLS_SKIP)
		return false;
	if (absolute ? !c->endpoint->allow_uninspected_credentials
		     : !cfg->ca || !cfg->upstream_ctx || c->out.len)
		return false;
	for (size_t i = 0; i < cfg->creds->n; i++)
		if (creds_bound_to(&cfg->creds->v[i], c->host, c->port))
			return true;
	return false;
}

static void
inspected_done(void *arg)
{
	struct inspected *e = arg, **p;

	pthread_mutex_lock(&e->px->lock);
	for (p = &e->px->inspected; *p && *p != e; p = &(*p)->next)
		;
	if (*p)
		*p = e->next;
	pthread_mutex_unlock(&e->px->lock);
	for (size_t i = 0; i < e->who.ncallers; i++)
		free(e->who.callers[i].exe);
	free(e->who.callers);
	free(e);
}

static struct inspected *
inspected_add(struct conn *c)
{
	struct inspected *e = xcalloc(1, sizeof(*e));

	e->px = c->px;
	e->who.px = c->px;
	snprintf(e->who.host, sizeof(e->who.host), "%s", c->host);
	e->who.port = c->port;
	e->who.callers = TAKE_PTR(c->callers);
	e->who.ncallers = c->ncallers;
	c->ncallers = 0;
	e->client_fd = c->client.fd;
	pthread_mutex_lock(&c->px->lock);
	e->next = c->px->inspected;
	c->px->inspected = e;
	pthread_mutex_unlock(&c->px->lock);
	return e;
}

/* Hands both sockets to an inspection thread; the loop forgets them. */
static void
inspect(struct conn *c)
{
	struct inspect_job *j = xcalloc(1, sizeof(*j));
	bool absolute = !c->connect && !c->capture;

	if (!absolute && tls_leaf_ctx(c->px->cfg.ca, c->host, &j->leaf) < 0) {
		free(j);
		return conn_free(c, "no_leaf_certificate");
	}
	snprintf(j->host, sizeof(j->host), "%s", c->host);
	j->port = c->port;
	j->upstream = c->px->cfg.upstream_ctx;
	j->creds = c->px->cfg.creds;
	j->body_rewrite = c->endpoint->request_body_credential_rewrite;
	j->plain_credentials = c->endpoint->allow_uninspected_credentials;
	/* The head the loop read, in origin form, and any body after it. */
	j->early = c->out;
	c->out = BUF_INIT(c->out.limit);
	j->off = c->px->cfg.off;
	j->log = c->px->cfg.log;
	j->ctx = c->px->cfg.ctx;
	snprintf(j->binary, sizeof(j->binary), "%s",
		 c->binary ? c->binary : "");
	snprintf(j->policy, sizeof(j->policy), "%s", c->policy);
	j->ev = (struct proxy_event){ .host = j->host,
				      .port = j->port,
				      .binary = j->binary,
				      .pid = c->pid,
				      .policy = j->policy };
	side_watch(c->px, &c->client, 0);
	side_watch(c->px, &c->upstream, 0);
	j->entry = inspected_add(c);
	j->done = inspected_done;
	j->client_fd = TAKE_FD(c->client.fd);
	j->upstream_fd = TAKE_FD(c->upstream.fd);
	c->state = ST_SEND; /* no close event: the thread logs its own */
	if (inspect_start(j) < 0) {
		inspected_done(j->entry);
		close(j->client_fd);
		close(j->upstream_fd);
		SSL_CTX_free(j->leaf);
		buf_free(&j->early);
		free(j);
	}
	conn_free(c, NULL);
}

/*
 * Whether a tunnel passed through uninspected must first show what its
 * client asks for: a TLS session for another name than the target's would
 * reach a host the policy never allowed (domain fronting). Plain requests
 * are checked by their Host header instead, and inspected tunnels by the
 * TLS handshake itself.
 */
static bool
must_check_hello(const struct conn *c, bool inspected)
{
	return (c->connect || c->capture) && !inspected &&
	       !(c->px->cfg.off & PROXY_OFF_HOST_CHECK);
}

static void hello_start(struct conn *c);

/*
 * The one decision event of an allowed connection, once it is dialed; for
 * a tunnel whose first bytes are checked, once they are.
 */
static void
connected(struct conn *c)
{
	bool inspected = must_inspect(c);
	bool check = must_check_hello(c, inspected);

	if (!check)
		log_conn(c, true, false, NULL);
	if (c->connect) {
		struct buf b = BUF_INIT(PROXY_REPLY_MAX);

		http_write_status(&b, 200, NULL);
		if (send(c->client.fd, b.data, b.len, MSG_NOSIGNAL) !=
		    (ssize_t)b.len) {
			buf_free(&b);
			conn_free(c, "client_closed");
			return;
		}
		buf_free(&b);
	}
	if (inspected)
		return inspect(c);
	if (check)
		return hello_start(c);
	flush_out(c);
}

static void
dial_next(struct conn *c)
{
	while (c->next_addr < c->naddrs) {
		struct sockaddr_storage *sa = &c->addrs[c->next_addr++];
		socklen_t len = sa->ss_family == AF_INET
				    ? sizeof(struct sockaddr_in)
				    : sizeof(struct sockaddr_in6);
		int one = 1;
		int fd = socket(sa->ss_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		side_close(c->px, &c->upstream);
		c->upstream.fd = fd;
		if (connect(fd, (struct sockaddr *)sa, len) == 0)
			return connected(c);
		if (errno == EINPROGRESS) {
			c->state = ST_CONNECT;
			c->deadline_ms = clock_ms(CLOCK_MONOTONIC) +
					 PROXY_CONNECT_TIMEOUT_MS;
			side_watch(c->px, &c->upstream, EPOLLOUT);
			return;
		}
	}
	deny(c, 502, "upstream_unreachable");
}

static void
connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 ||
	    err)
		return dial_next(c);
	side_watch(c->px, &c->upstream, 0);
	connected(c);
}

static void
decide_for(struct conn *c)
{
	struct match_result res;

	if (c->deny_reason)
		return deny(c, 403, c->deny_reason);
	if (!callers_allowed(c->px->policy, c, &res))
		return deny(c, 403, res.reason ? res.reason : "denied");
	snprintf(c->policy, sizeof(c->policy), "%s",
		 res.policy_name ? res.policy_name : "");
	c->endpoint = res.endpoint;
	/* A plain request is seen whole: a placeholder in it for a host its
	 * credential is not bound to goes no further, resolved or not. */
	if (!c->connect && !c->capture &&
	    creds_misbound(c->px->cfg.creds, c->host, c->port, c->out.data,
			   c->out.len))
		return deny(c, 403, CREDS_ENDPOINT_MISMATCH);
	resolve(c);
}

/* Who called is found off the loop; the decision resumes in identified. */
static void
decide(struct conn *c)
{
	struct job *j;

	if (c->ncallers)
		return decide_for(c);
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_IDENT;
	if (conn_ends(c, &j->peer, &j->local) < 0) {
		free(j);
		return deny(c, 403, c->deny_reason ?: "caller_unknown");
	}
	c->state = ST_IDENT;
	c->deadline_ms = clock_ms(CLOCK_MONOTONIC) + PROXY_CONNECT_TIMEOUT_MS;
	queue_job(c, j);
}

/*
 * A denial that names its caller. Who called is found off the loop, as
 * for any decision: the loop's thread is inside the supervisor's Landlock
 * domain, which may not read the sandbox's /proc/<pid>/fd (selfconfine.c).
 */
static void
deny_named(struct conn *c, const char *reason)
{
	c->deny_reason = reason;
	side_watch(c->px, &c->client, 0);
	decide(c);
}

static void
identified(struct conn *c, struct job *j)
{
	/* Out of descriptors is the proxy's trouble, not a policy's. */
	if (j->err == -EMFILE || j->err == -ENFILE || j->err == -ENOMEM)
		return deny(c, 503, "proxy_out_of_resources");
	if (j->err < 0)
		return deny(c, 403, c->deny_reason ?: "caller_unknown");
	c->callers = TAKE_PTR(j->callers);
	c->ncallers = j->ncallers;
	j->ncallers = 0;
	c->pid = j->pid;
	c->binary = TAKE_PTR(j->binary);
	decide_for(c);
}

/* Headers that speak to the proxy, not to the origin, are dropped. */
static bool
hop_header(const struct http_header *h)
{
	/* Upgrade too: a protocol switch (h2c, websocket) would turn the
	 * one request this connection carries into a tunnel of its own. */
	static const char *const drop[] = {
		"proxy-connection", "proxy-authorization",
		"connection",       "keep-alive",
		"upgrade",          "te"
	};

	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		if (h->name.len == strlen(drop[i]) &&
		    !strncasecmp(h->name.p, drop[i], h->name.len))
			return true;
	return false;
}

/*
 * An absolute-form request goes upstream in origin form, one request per
 * connection (Connection: close), so a second request on the same client
 * connection cannot reach another host through this tunnel.
 */
static int
rewrite_absolute(struct conn *c, const struct http_request *r, size_t hlen)
{
	struct buf *b = &c->out;
	int e =
	    buf_printf(b, "%.*s %.*s%s%.*s HTTP/1.1\r\n", (int)r->method.len,
		       r->method.p, (int)(r->path.len ? r->path.len : 1),
		       r->path.len ? r->path.p : "/", r->has_query ? "?" : "",
		       (int)r->query.len, r->has_query ? r->query.p : "");

	for (size_t i = 0; e == 0 && i < r->nheaders; i++)
		if (!hop_header(&r->headers[i]))
			e = buf_printf(
			    b, "%.*s: %.*s\r\n", (int)r->headers[i].name.len,
			    r->headers[i].name.p, (int)r->headers[i].value.len,
			    r->headers[i].value.p);
	if (e == 0)
		e = buf_puts(b, "Connection: close\r\n\r\n");
	/* Body bytes that came with the head follow it. */
	if (e == 0 && c->hlen > hlen)
		e = buf_append(b, c->head + hlen, c->hlen - hlen);
	return e;
}

static void
head_parsed(struct conn *c, const struct http_request *r, size_t hlen)
{
	snprintf(c->method, sizeof(c->method), "%.*s", (int)r->method.len,
		 r->method.p);
	snprintf(c->host, sizeof(c->host), "%s", r->host);
	c->port = r->port;
	if (r->form == HTTP_FORM_ORIGIN)
		return reject(c, 400, "not_a_proxy_request");
	c->connect = r->form == HTTP_FORM_AUTHORITY;
	/*
	 * An absolute-form request must name one host in its URI and its
	 * Host header (domain fronting). CONNECT's Host is not checked:
	 * clients such as Node's send the proxy's own address there, and
	 * what the tunnel carries is checked by its target (and, when
	 * inspected, by SNI and the inner Host).
	 */
	if (!c->connect && !(c->px->cfg.off & PROXY_OFF_HOST_CHECK) &&
	    http_check_host(r) < 0)
		return deny_named(c, "host_mismatch");
	/* Bytes a client sent after CONNECT's head go through the tunnel. */
	if (c->connect && c->hlen > hlen &&
	    buf_append(&c->out, c->head + hlen, c->hlen - hlen) < 0)
		return reject(c, 431, "too_much_early_data");
	if (!c->connect && rewrite_absolute(c, r, hlen) < 0)
		return reject(c, 431, "head_too_large");
	/* A plain request never carries a real value out. */
	if (c->px->cfg.creds &&
	    creds_contains_secret(c->px->cfg.creds, c->head, c->hlen))
		return deny_named(c, CREDS_SECRET_LEAK);
	free(c->head);
	c->head = NULL;
	side_watch(c->px, &c->client, 0);
	decide(c);
}

static void
read_head(struct conn *c)
{
	static struct http_request req;
	ssize_t n;
	int r;

	if (!c->head)
		c->head = xmalloc(HTTP_HEAD_MAX + 1);
	n = recv(c->client.fd, c->head + c->hlen, HTTP_HEAD_MAX - c->hlen, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0)
		return conn_free(c, NULL);
	c->hlen += (size_t)n;
	r = http_parse_request(c->head, c->hlen, &req);
	if (r == 0 && c->hlen >= HTTP_HEAD_MAX)
		r = -E2BIG, req.reject_status = 431;
	if (r < 0)
		return reject(c, req.reject_status ? req.reject_status : 400,
			      r == -E2BIG ? "head_too_large" : "bad_request");
	if (r > 0)
		head_parsed(c, &req, (size_t)r);
}

/* Moves what it can from a socket into a flow's pipe; -1 on error. */
static int
flow_fill(struct flow *f, int from)
{
	ssize_t n;

	if (f->eof || f->pending >= PROXY_PIPE_SIZE)
		return 0;
	/* Pipes are made when bytes first flow: an idle tunnel holds two
	 * descriptors, not six, and so does one whose client has gone. */
	if (f->pipe[0] < 0) {
		char c;
		ssize_t k = recv(from, &c, 1, MSG_PEEK | MSG_DONTWAIT);

		if (k == 0)
			f->eof = true;
		if (k <= 0)
			return k < 0 && errno != EAGAIN ? -1 : 0;
		if (pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
			return -1;
		fcntl(f->pipe[0], F_SETPIPE_SZ, PROXY_PIPE_SIZE);
	}
	n = splice(from, NULL, f->pipe[1], NULL, PROXY_SPLICE_CHUNK,
		   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0)
		f->pending += (size_t)n;
	else if (n == 0)
		f->eof = true;
	else if (errno != EAGAIN && errno != EINTR)
		return -1;
	return 0;
}

/* Moves what the pipe holds to a socket; shuts it at the end; -1 on error. */
static int
flow_drain(struct flow *f, int to)
{
	if (f->pending) {
		ssize_t n = splice(f->pipe[0], NULL, to, NULL, f->pending,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

		if (n > 0) {
			f->pending -= (size_t)n;
			f->bytes += (uint64_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (f->eof && !f->pending && !f->shut) {
		shutdown(to, SHUT_WR); /* half-close travels on */
		f->shut = true;
	}
	return 0;
}

static uint32_t
side_events(const struct flow *in, const struct flow *out)
{
	uint32_t ev = 0;

	if (!in->eof && in->pending < PROXY_PIPE_SIZE)
		ev |= EPOLLIN;
	if (out->pending)
		ev |= EPOLLOUT;
	return ev;
}

static void
tunnel_update(struct conn *c)
{
	if (c->up.shut && c->down.shut)
		return conn_free(c, NULL);
	side_watch(c->px, &c->client, side_events(&c->up, &c->down));
	side_watch(c->px, &c->upstream, side_events(&c->down, &c->up));
}

static void hello_read(struct conn *c);

static void
tunnel_io(struct conn *c, struct side *s, uint32_t ev)
{
	bool client = s == &c->client;
	struct flow *in = client ? &c->up : &c->down;
	struct flow *out = client ? &c->down : &c->up;
	int r = 0;

	/* The client's first bytes are read, not spliced, until judged;
	 * what the server sends meanwhile flows (it may speak first). */
	if (client && c->hello && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return hello_read(c);
	if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
		r = flow_fill(in, s->fd);
	if (r == 0 && (ev & (EPOLLOUT | EPOLLERR)))
		r = flow_drain(out, s->fd);
	/* Data just read may go out on the other side at once. */
	if (r == 0)
		r = flow_drain(in, client ? c->upstream.fd : c->client.fd);
	if (r < 0)
		return conn_free(c, NULL);
	c->deadline_ms = c->hello_deadline_ms ? c->hello_deadline_ms
					      : clock_ms(CLOCK_MONOTONIC) +
						    PROXY_IDLE_TIMEOUT_MS;
	tunnel_update(c);
}

/* The tunnel's one event is this denial; the client is just closed, as
 * it already speaks TLS (or whatever it speaks) to the upstream. */
static void
hello_refuse(struct conn *c, const char *reason)
{
	log_conn(c, false, false, reason);
	c->refused = true;
	conn_free(c, NULL);
}

/*
 * Judges what the client has sent so far (in c->out): true once it is
 * decided, the connection refused or its bytes on their way upstream.
 *
 * A ClientHello without SNI, and bytes that are not TLS, go through: the
 * policy allowed this host and port, and without a name there is nothing
 * to disagree with. A client that dials an IP literal sends no SNI.
 */
static bool
hello_check(struct conn *c)
{
	char sni[TLS_HOST_MAX + 2];
	int r = tls_peek_sni((const uint8_t *)c->out.data, c->out.len, sni,
			     sizeof(sni));

	if (r == -EAGAIN) {
		if (c->out.len && !c->hello_deadline_ms &&
		    !(c->px->cfg.off & PROXY_OFF_LIMITS))
			c->hello_deadline_ms =
			    clock_ms(CLOCK_MONOTONIC) + PROXY_HEAD_TIMEOUT_MS;
		return false;
	}
	if (r == 1 && !tls_sni_matches(sni, c->host))
		return hello_refuse(c, "sni_mismatch"), true;
	if (r < 0)
		return hello_refuse(c, "bad_client_hello"), true;
	log_conn(c, true, false, NULL);
	c->hello = false;
	c->hello_deadline_ms = 0;
	side_watch(c->px, &c->client, 0); /* flush_out may have to wait */
	flush_out(c);
	return true;
}

static void
hello_start(struct conn *c)
{
	/* Early data after CONNECT's head is the start of it. */
	c->hello = true;
	if (c->out.limit < TLS_PEEK_INPUT_MAX)
		c->out.limit = TLS_PEEK_INPUT_MAX;
	if (!hello_check(c))
		start_tunnel(c);
}

static void
hello_read(struct conn *c)
{
	uint8_t tmp[TLS_PEEK_RECORD_MAX];
	size_t room = c->out.limit - c->out.len;
	ssize_t n =
	    recv(c->client.fd, tmp, room < sizeof(tmp) ? room : sizeof(tmp), 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0)
		return conn_free(c, NULL);
	if (n == 0 && c->out.len)
		return hello_refuse(c, "bad_client_hello"); /* cut short */
	if (n == 0) {
		/* Closed without a byte: its half-close travels on. */
		c->up.eof = true;
		log_conn(c, true, false, NULL);
		c->hello = false;
		c->hello_deadline_ms = 0;
		if (flow_drain(&c->up, c->upstream.fd) < 0)
			return conn_free(c, NULL);
		return tunnel_update(c);
	}
	/* Cannot fail: tls_peek_sni answers before the limit. */
	if (buf_append(&c->out, tmp, (size_t)n) < 0)
		return hello_refuse(c, "bad_client_hello");
	if (!hello_check(c)) {
		c->deadline_ms = c->hello_deadline_ms ? c->hello_deadline_ms
						      : c->deadline_ms;
		tunnel_update(c);
	}
}

/* A captured connection: the synthetic address it dialed names the host. */
static void
captured(struct conn *c)
{
	struct sockaddr_storage local = { 0 };
	socklen_t len = sizeof(local);
	const struct sockaddr_in *v4 = (const void *)&local;
	const char *name = NULL;

	if (getsockname(c->client.fd, (struct sockaddr *)&local, &len) == 0 &&
	    local.ss_family == AF_INET) {
		c->port = ntohs(v4->sin_port);
		if (c->px->cfg.synthetic_name)
			name = c->px->cfg.synthetic_name(
			    c->px->cfg.ctx, ntohl(v4->sin_addr.s_addr));
	}
	if (!name)
		return deny(c, 403, "unknown_address");
	snprintf(c->host, sizeof(c->host), "%s", name);
	decide(c);
}

/* Out of descriptors: stop accepting until the next tick, not spin. */
static void
pause_listeners(struct proxy *px)
{
	for (size_t i = 0; i < px->nlisteners; i++)
		side_watch(px, px->listeners[i], 0);
	px->paused = true;
}

static void
resume_listeners(struct proxy *px)
{
	if (!px->paused)
		return;
	for (size_t i = 0; i < px->nlisteners; i++)
		side_watch(px, px->listeners[i], EPOLLIN);
	px->paused = false;
}

/* Refused for the proxy's own limit, and told so (not a policy denial). */
static void
at_capacity(int fd, bool capture)
{
	struct buf b = BUF_INIT(PROXY_REPLY_MAX);

	if (!capture && http_write_status(&b, 503, "proxy_at_capacity") == 0)
		(void)!send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	buf_free(&b);
	close(fd);
}

static void
accept_all(struct proxy *px, struct side *l)
{
	for (;;) {
		int one = 1;
		int fd =
		    accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			pause_listeners(px);
			return;
		}
		if (fd < 0)
			return;
		if (px->nconns >= px->max_conns &&
		    !(px->cfg.off & PROXY_OFF_LIMITS)) {
			at_capacity(fd, l->capture);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = conn_new(px, fd, l->capture);
		if (l->capture) {
			captured(c);
		} else {
			if (!(px->cfg.off & PROXY_OFF_LIMITS))
				c->deadline_ms =
				    c->started_ms + PROXY_HEAD_TIMEOUT_MS;
			side_watch(px, &c->client, EPOLLIN);
		}
	}
}

static void
expire(struct proxy *px)
{
	int64_t now = clock_ms(CLOCK_MONOTONIC);
	uint64_t ticks;

	(void)!read(px->timerfd, &ticks, sizeof(ticks));
	resume_listeners(px);
	for (struct conn *c = px->conns, *next; c; c = next) {
		next = c->next;
		if (!c->deadline_ms || c->deadline_ms > now)
			continue;
		if (c->state == ST_HEAD)
			reject(c, 408, "head_timeout");
		else if (c->state == ST_CONNECT || c->state == ST_RESOLVE)
			deny(c, 504, "upstream_timeout");
		else if (c->state == ST_IDENT)
			deny(c, 503, "identification_timeout");
		else if (c->state == ST_TUNNEL && c->hello_deadline_ms)
			hello_refuse(c, "hello_timeout");
		else if (c->state == ST_TUNNEL)
			conn_free(c, "idle_timeout");
	}
}

static void
conn_event(struct conn *c, struct side *s, uint32_t ev)
{
	switch (c->state) {
	case ST_HEAD:
		read_head(c);
		break;
	case ST_CONNECT:
		connect_done(c);
		break;
	case ST_SEND:
		flush_out(c);
		break;
	case ST_TUNNEL:
		tunnel_io(c, s, ev);
		break;
	case ST_IDENT:
	case ST_RESOLVE:
		break;
	}
}

void
proxy_dispatch(struct proxy *px)
{
	struct epoll_event evs[64];
	int n = epoll_wait(px->epfd, evs, ARRAY_SIZE(evs), 0);

	for (int i = 0; i < n; i++) {
		struct side *s = evs[i].data.ptr;

		if (s == &px->timer)
			expire(px);
		else if (s == &px->wake)
			resolved(px);
		else if (s->kind == SIDE_LISTENER)
			accept_all(px, s);
		else if (!s->c->dead && s->fd >= 0)
			conn_event(s->c, s, evs[i].events);
	}
	reap_dead(px);
}

void
proxy_set_policy(struct proxy *px, const struct policy *p)
{
	px->policy = p;
	for (struct conn *c = px->conns, *next; c; c = next) {
		struct match_result res;

		next = c->next;
		if (c->state == ST_HEAD || !c->ncallers)
			continue;
		if (callers_allowed(p, c, &res)) {
			c->endpoint = res.endpoint;
			continue;
		}
		/* Revoked: the tunnel closes, and says why. */
		conn_free(c, "policy_revoked");
	}
	reap_dead(px);
	/* An inspected tunnel's thread sees its client go and ends. */
	pthread_mutex_lock(&px->lock);
	for (struct inspected *e = px->inspected; e; e = e->next) {
		struct match_result res;

		if (!callers_allowed(p, &e->who, &res))
			shutdown(e->client_fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&px->lock);
}

static int
add_side(struct proxy *px, struct side *s, int fd)
{
	*s = (struct side){ .kind = SIDE_WAKE, .fd = fd };
	return side_watch(px, s, EPOLLIN) < 0 ? -errno : 0;
}

/* Each connection holds two descriptors (four more while bytes flow). */
static size_t
conn_budget(void)
{
	struct rlimit rl;
	size_t n = PROXY_MAX_CONNS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur > PROXY_FD_RESERVE * 2
			? (rl.rlim_cur - PROXY_FD_RESERVE) / 2
			: 1;
	return n < PROXY_MAX_CONNS ? n : PROXY_MAX_CONNS;
}

int
proxy_new(const struct proxy_config *cfg, const struct policy *p,
	  struct proxy **ret)
{
	struct itimerspec tick = { .it_interval = { 0, 250 * 1000000 },
				   .it_value = { 0, 250 * 1000000 } };
	struct proxy *px = xcalloc(1, sizeof(*px));
	int r;

	px->cfg = *cfg;
	px->policy = p;
#ifdef BRIG_TEST_SWITCHES
	http_test_any_ipv4 = cfg->off & PROXY_OFF_SSRF;
#endif
	px->max_conns = conn_budget();
	pthread_mutex_init(&px->lock, NULL);
	pthread_mutex_init(&px->diag_lock, NULL);
	pthread_cond_init(&px->cond, NULL);
	px->epfd = epoll_create1(EPOLL_CLOEXEC);
	px->timerfd =
	    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	r = px->epfd < 0 || px->timerfd < 0 ? -errno : 0;
	if (r == 0)
		r = timerfd_settime(px->timerfd, 0, &tick, NULL) < 0 ? -errno
								     : 0;
	if (r == 0)
		r = add_side(px, &px->timer, px->timerfd);
	if (r == 0)
		r = add_side(px, &px->wake,
			     eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (r == 0)
		r = -pthread_create(&px->resolver, NULL, resolver_main, px);
	if (r < 0)
		return r;
	*ret = px;
	return 0;
}

int
proxy_fd(const struct proxy *px)
{
	return px->epfd;
}

int
proxy_add_listener(struct proxy *px, int fd, bool capture)
{
	struct side *s = xcalloc(1, sizeof(*s));

	*s = (struct side){ .kind = SIDE_LISTENER,
			    .fd = fd,
			    .capture = capture };
	return side_watch(px, s, EPOLLIN) < 0 ? -errno : 0;
}

size_t
proxy_open_conns(const struct proxy *px)
{
	return px->nconns;
}

static int
parse_port(const char *s, size_t n, uint16_t *ret)
{
	char tmp[8];
	uint64_t v;

	if (n == 0 || n >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (parse_u64(tmp, 1, 65535, &v) < 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int
proxy_parse_connect_to(const char *s, struct proxy_connect_to *ret)
{
	const char *c1 = strchr(s, ':'), *c2, *addr, *end;
	size_t alen;

	/* Names are compared as they are: a pattern would never match. */
	if (!c1 || c1 == s || (size_t)(c1 - s) >= sizeof(ret->host) ||
	    memchr(s, '*', (size_t)(c1 - s)))
		return -EINVAL;
	c2 = strchr(c1 + 1, ':');
	if (!c2 || parse_port(c1 + 1, (size_t)(c2 - c1 - 1), &ret->port) < 0)
		return -EINVAL;
	addr = c2 + 1;
	end = *addr == '[' ? strchr(addr, ']') : strrchr(addr, ':');
	if (!end)
		return -EINVAL;
	if (*addr == '[') {
		alen = (size_t)(end - addr - 1);
		addr++;
		end++;
	} else {
		alen = (size_t)(end - addr);
	}
	if (*end != ':' || alen == 0 || alen >= sizeof(ret->addr) ||
	    parse_port(end + 1, strlen(end + 1), &ret->to_port) < 0)
		return -EINVAL;
	snprintf(ret->host, sizeof(ret->host), "%.*s", (int)(c1 - s), s);
	snprintf(ret->addr, sizeof(ret->addr), "%.*s", (int)alen, addr);
	return 0;
}
