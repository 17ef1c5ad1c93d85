/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/watchdog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/util.h"
#include "proxy/ident.h"
#include "sandbox/cgroup.h"

#define WATCHDOG_EXE_MAX 1024
#define WATCHDOG_MSG_MAX 1024
/* The most processes one tick looks at (36 bytes each). */
#define WATCHDOG_MAX_PROCS (256 * 1024)

/* One process of the sandbox at one tick. */
struct sample {
	pid_t pid; /* host pid */
	uint64_t anon; /* resident anonymous bytes */
	bool killed;
};

struct watchdog {
	struct sandbox_limits l;
	pid_t init_pid;
	struct events *ev;
	int tfd;
	char cgroup[LIMITS_PATH_MAX]; /* empty with rlimits */
	long page;
	int procfd; /* /proc */
	/* With rlimits: the processes, sized for the pids limit. */
	pid_t *pids;
	struct sample *s;
	size_t max;
	struct watchdog_episode pids_ep, mem_ep;
	int skip; /* ticks to let pass: far from every limit */
	uint64_t oom_kills; /* memory.events oom_kill, last seen */
};

enum watchdog_step
watchdog_episode(struct watchdog_episode *ep, int64_t now_ms, uint64_t hits)
{
	if (hits) {
		if (ep->active) {
			ep->more += hits;
			ep->last_ms = now_ms;
			return WATCHDOG_NONE;
		}
		*ep = (struct watchdog_episode){ .active = true,
						 .last_ms = now_ms };
		return WATCHDOG_START;
	}
	if (!ep->active || now_ms - ep->last_ms < WATCHDOG_QUIET_MS)
		return WATCHDOG_NONE;
	ep->active = false;
	return ep->more ? WATCHDOG_END : WATCHDOG_NONE;
}

/* Reads a small /proc file relative to /proc into buf: its length. */
static ssize_t
read_proc(const struct watchdog *w, const char *path, char *buf, size_t len)
{
	int fd = openat(w->procfd, path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t k;

	if (fd < 0)
		return -errno;
	while (n < len - 1 && (k = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Resident minus file-backed and shared pages, from statm. */
static uint64_t
read_anon(const struct watchdog *w, pid_t pid)
{
	unsigned long long size, res, shared;
	char path[32], text[256];

	snprintf(path, sizeof(path), "%d/statm", (int)pid);
	if (read_proc(w, path, text, sizeof(text)) <= 0 ||
	    sscanf(text, "%llu %llu %llu", &size, &res, &shared) != 3 ||
	    res < shared)
		return 0;
	return (uint64_t)(res - shared) * (uint64_t)w->page;
}

/*
 * What a process runs, for the event that names it: its executable, or
 * else its command name, as "comm:NAME". Once the supervisor is confined,
 * its Landlock domain hides the executable of a process in another domain
 * (the link is ptrace-guarded), and the comm, which the process may set
 * itself, only labels the event.
 */
static void
exe_of(const struct watchdog *w, pid_t pid, char *out, size_t len)
{
	char path[64], comm[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%d/exe", (int)pid);
	n = readlinkat(w->procfd, path, out, len - 1);
	if (n > 0) {
		out[n] = '\0';
		return;
	}
	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	n = read_proc(w, path, comm, sizeof(comm));
	if (n > 0 && comm[n - 1] == '\n')
		comm[--n] = '\0';
	snprintf(out, len, "%s%s", n > 0 ? "comm:" : "?", n > 0 ? comm : "");
}

/*
 * SIGKILL through a pidfd. The pid was measured a moment ago; once the
 * pidfd pins it, it must still name a process at least half that size,
 * so that a pid reused in between is never the one killed.
 */
static bool
kill_sample(const struct watchdog *w, const struct sample *s)
{
	int fd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	bool done = false;

	if (fd < 0)
		return false;
	if (read_anon(w, s->pid) >= s->anon / 2)
		done =
		    syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0;
	close(fd);
	return done;
}

static void log_limit(struct watchdog *w, const char *limit, pid_t pid,
		      const char *exe, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
log_limit(struct watchdog *w, const char *limit, pid_t pid, const char *exe,
	  const char *fmt, ...)
{
	char msg[WATCHDOG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	events_limit(w->ev, limit, pid, exe, msg);
}

static void
pids_step(struct watchdog *w, int64_t now, uint64_t tasks)
{
	if (watchdog_episode(&w->pids_ep, now, tasks >= w->l.pids) ==
	    WATCHDOG_START)
		log_limit(w, "pids", 0, NULL,
			  "limit pids: %llu tasks in use of %llu; new "
			  "processes are refused",
			  (unsigned long long)tasks,
			  (unsigned long long)w->l.pids);
}

/* The largest process not yet killed, never init (s[0]). */
static struct sample *
largest(struct watchdog *w, size_t n)
{
	struct sample *big = NULL;

	for (size_t i = 1; i < n; i++)
		if (!w->s[i].killed && (!big || w->s[i].anon > big->anon))
			big = &w->s[i];
	return big;
}

/* Kills the largest processes until the rest fit under the limit. */
static void
enforce_memory(struct watchdog *w, int64_t now, size_t n, uint64_t total)
{
	char exe[WATCHDOG_EXE_MAX] = "", used[32], max[32];
	uint64_t kills = 0, before = total;
	pid_t first = 0;
	struct sample *big;

	while (total > w->l.memory && (big = largest(w, n)) && big->anon) {
		char this_exe[WATCHDOG_EXE_MAX];
		pid_t inner = ident_inner_pid(big->pid);

		exe_of(w, big->pid, this_exe, sizeof(this_exe));
		big->killed = true;
		if (!kill_sample(w, big))
			continue;
		total -= big->anon;
		if (kills++ == 0) {
			first = inner;
			snprintf(exe, sizeof(exe), "%s", this_exe);
		}
	}
	limits_format_bytes(before, used, sizeof(used));
	limits_format_bytes(w->l.memory, max, sizeof(max));
	switch (watchdog_episode(&w->mem_ep, now, kills)) {
	case WATCHDOG_START:
		log_limit(w, "memory", first, exe,
			  "limit memory: killed pid %d (%s), %s in use of %s",
			  (int)first, exe, used, max);
		w->mem_ep.more = kills - 1;
		break;
	case WATCHDOG_END:
		log_limit(w, "memory", 0, NULL,
			  "limit memory: %llu more process%s killed before "
			  "the sandbox stayed under %s",
			  (unsigned long long)w->mem_ep.more,
			  w->mem_ep.more == 1 ? "" : "es", max);
		w->mem_ep.more = 0;
		break;
	case WATCHDOG_NONE:
		break;
	}
}

/*
 * Appends the pids of a children file to w->pids. Orphans are
 * reparented to init, so init's descendants are every process inside.
 */
static size_t
add_children(struct watchdog *w, const char *path, size_t n)
{
	static char text[65536];
	char *p = text, *end;

	if (read_proc(w, path, text, sizeof(text)) <= 0)
		return n;
	for (; *p && n < w->max; p = end) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		if (v > 0 && v <= INT32_MAX)
			w->pids[n++] = (pid_t)v;
	}
	return n;
}

/* Process i's threads (its task entries) and the children of each. */
static size_t
walk_tasks(struct watchdog *w, size_t i, size_t n, uint64_t *threads)
{
	char path[64];
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "%d/task", (int)w->pids[i]);
	fd = openat(w->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return n;
	}
	for (struct dirent *de; (de = readdir(d));) {
		char children[384];

		if (de->d_name[0] == '.')
			continue;
		(*threads)++;
		snprintf(children, sizeof(children), "%s/%s/children", path,
			 de->d_name);
		n = add_children(w, children, n);
	}
	closedir(d);
	return n;
}

static void
tick_rlimit(struct watchdog *w, int64_t now)
{
	uint64_t tasks = 0, total = 0;
	size_t n = 1;

	w->pids[0] = w->init_pid;
	for (size_t i = 0; i < n; i++) {
		struct sample *s = &w->s[i];

		n = walk_tasks(w, i, n, &tasks);
		s->pid = w->pids[i];
		s->anon = read_anon(w, s->pid);
		s->killed = false;
		total += s->anon;
	}
	pids_step(w, now, tasks);
	enforce_memory(w, now, n, total);
	/*
	 * A walk costs tens of microseconds per process (procfs), so a
	 * sandbox under half of both limits is looked at once a second.
	 */
	if (tasks * 2 < w->l.pids && total * 2 < w->l.memory)
		w->skip = WATCHDOG_RELAXED_TICKS;
}

static void
tick_cgroup(struct watchdog *w, int64_t now)
{
	uint64_t tasks = 0, kills = 0, used = 0;
	char u[32], max[32];

	if (cgroup_read_value(w->cgroup, "pids.current", NULL, &tasks) == 0)
		pids_step(w, now, tasks);
	if (cgroup_read_value(w->cgroup, "memory.events", "oom_kill", &kills) <
		0 ||
	    kills < w->oom_kills)
		return;
	cgroup_read_value(w->cgroup, "memory.current", NULL, &used);
	switch (watchdog_episode(&w->mem_ep, now, kills - w->oom_kills)) {
	case WATCHDOG_START:
		limits_format_bytes(used, u, sizeof(u));
		limits_format_bytes(w->l.memory, max, sizeof(max));
		log_limit(w, "memory", 0, NULL,
			  "limit memory: the kernel killed %llu process(es) "
			  "at memory.max, %s in use of %s",
			  (unsigned long long)(kills - w->oom_kills), u, max);
		break;
	case WATCHDOG_END:
		log_limit(w, "memory", 0, NULL,
			  "limit memory: %llu more process%s killed at "
			  "memory.max",
			  (unsigned long long)w->mem_ep.more,
			  w->mem_ep.more == 1 ? "" : "es");
		break;
	case WATCHDOG_NONE:
		break;
	}
	w->oom_kills = kills;
}

void
watchdog_tick(struct watchdog *w)
{
	uint64_t expirations;
	int64_t now = clock_ms(CLOCK_MONOTONIC);

	while (read(w->tfd, &expirations, sizeof(expirations)) > 0)
		;
	if (w->skip > 0) {
		w->skip--;
		return;
	}
	if (*w->cgroup)
		tick_cgroup(w, now);
	else
		tick_rlimit(w, now);
}

static int
start_timer(struct watchdog *w)
{
	struct itimerspec its = {
		.it_interval = { 0, WATCHDOG_PERIOD_MS * 1000000L },
		.it_value = { 0, WATCHDOG_PERIOD_MS * 1000000L },
	};

	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->tfd < 0 || timerfd_settime(w->tfd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int
watchdog_new(const struct sandbox_limits *l, const char *name, pid_t init_pid,
	     struct events *ev, struct watchdog **ret, char *why, size_t whylen)
{
	struct watchdog *w = xcalloc(1, sizeof(*w));
	int r = 0;

	w->tfd = -1;
	w->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	w->l = *l;
	w->init_pid = init_pid;
	w->ev = ev;
	w->page = sysconf(_SC_PAGESIZE);
	if (l->backend == LIMITS_CGROUP) {
		r = cgroup_create(l, name, init_pid, w->cgroup,
				  sizeof(w->cgroup), why, whylen);
	} else {
		/* Processes are at most the tasks init may have. */
		w->max = l->pids + LIMITS_INIT_RESERVE + 1;
		if (w->max > WATCHDOG_MAX_PROCS)
			w->max = WATCHDOG_MAX_PROCS;
		w->pids = xcalloc(w->max, sizeof(*w->pids));
		w->s = xcalloc(w->max, sizeof(*w->s));
	}
	if (r == 0 && (r = start_timer(w)) < 0)
		snprintf(why, whylen, "cannot start the limits' timer: %s",
			 strerror(-r));
	if (r < 0) {
		watchdog_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

int
watchdog_fd(const struct watchdog *w)
{
	return w->tfd;
}

void
watchdog_describe(const struct watchdog *w, char *out, size_t len)
{
	char lim[LIMITS_TEXT_MAX];

	limits_describe(&w->l, lim, sizeof(lim));
	if (*w->cgroup)
		snprintf(out, len, "limits: %s (cgroup2: %s)", lim, w->cgroup);
	else
		snprintf(out, len, "limits: %s (rlimit%s%s)", lim,
			 *w->l.note ? ": " : "", w->l.note);
}

void
watchdog_free(struct watchdog *w)
{
	if (!w)
		return;
	if (w->tfd >= 0)
		close(w->tfd);
	if (w->procfd >= 0)
		close(w->procfd);
	cgroup_remove(w->cgroup);
	free(w->pids);
	free(w->s);
	free(w);
}
