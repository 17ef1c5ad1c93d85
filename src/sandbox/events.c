/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/events.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/json.h"
#include "common/jsonread.h"
#include "common/util.h"

/*
 * Bytes of one string value. Escaping can make a byte six, and a network
 * event has at most ten such values, so a line stays under
 * EVENTS_LINE_MAX and no event is ever dropped for its size.
 */
#define EVENT_FIELD_MAX 1024
#define EVENT_OPEN_FLAGS \
	(O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW)

/* OCSF categories, activities and severities used here. */
enum {
	OCSF_CAT_SYSTEM = 1,
	OCSF_CAT_FINDINGS = 2,
	OCSF_CAT_NETWORK = 4,
	OCSF_CAT_DISCOVERY = 5,
	OCSF_CAT_APPLICATION = 6,
	OCSF_NET_OPEN = 1,
	OCSF_NET_CLOSE = 2,
	OCSF_NET_REFUSE = 5,
	OCSF_ACTION_ALLOWED = 1,
	OCSF_ACTION_DENIED = 2,
	OCSF_CONFIG_LOG = 1,
	OCSF_FINDING_CREATE = 1,
	OCSF_OTHER = 99,
	OCSF_SEV_INFO = 1,
	OCSF_SEV_MEDIUM = 3,
	OCSF_SEV_HIGH = 4,
};

struct events {
	/* Rotation and the write after it are one step, whichever thread
	 * (the proxy loop, a resolver) logs. */
	pthread_mutex_t lock;
	int dirfd;
	int fd;
	off_t size;
	char *sandbox;
};

static size_t events_max_bytes = EVENTS_MAX_BYTES;

void
events_set_max_bytes(size_t n)
{
	events_max_bytes = n ? n : EVENTS_MAX_BYTES;
}

struct events *
events_open(const char *dir, const char *sandbox)
{
	struct events *ev = xcalloc(1, sizeof(*ev));
	struct stat st;

	pthread_mutex_init(&ev->lock, NULL);
	ev->sandbox = xstrdup(sandbox);
	ev->fd = -1;
	ev->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ev->dirfd >= 0)
		ev->fd = openat(ev->dirfd, EVENTS_FILE, EVENT_OPEN_FLAGS, 0600);
	if (ev->fd >= 0 && fstat(ev->fd, &st) == 0)
		ev->size = st.st_size;
	return ev;
}

void
events_close(struct events *ev)
{
	if (!ev)
		return;
	closep(&ev->fd);
	closep(&ev->dirfd);
	pthread_mutex_destroy(&ev->lock);
	free(ev->sandbox);
	free(ev);
}

static void
rotated_name(char *out, size_t len, int i)
{
	snprintf(out, len, "%s.%d", EVENTS_FILE, i);
}

/*
 * Shifts .1 to .2 and so on (the oldest is replaced), moves the current
 * file to .1 and opens a new one. A reader that follows the log sees the
 * new name appear only after every byte of the old file was written.
 * When the new file cannot be made, the old one is put back, so the
 * event that is waiting still has somewhere to go.
 */
static void
events_rotate(struct events *ev)
{
	char from[32], to[32];
	int fd;

	for (int i = EVENTS_KEEP - 1; i >= 1; i--) {
		rotated_name(from, sizeof(from), i);
		rotated_name(to, sizeof(to), i + 1);
		if (renameat(ev->dirfd, from, ev->dirfd, to) < 0 &&
		    errno != ENOENT)
			return;
	}
	rotated_name(to, sizeof(to), 1);
	if (renameat(ev->dirfd, EVENTS_FILE, ev->dirfd, to) < 0)
		return;
	fd = openat(ev->dirfd, EVENTS_FILE, EVENT_OPEN_FLAGS, 0600);
	if (fd < 0) {
		renameat(ev->dirfd, to, ev->dirfd, EVENTS_FILE);
		return;
	}
	close(ev->fd);
	ev->fd = fd;
	ev->size = 0;
}

/* One write per event: O_APPEND keeps lines whole between writers. */
static void
event_end(struct events *ev, struct buf *b)
{
	if (buf_puts(b, "}\n") == 0 && ev->fd >= 0) {
		pthread_mutex_lock(&ev->lock);
		if (ev->size > 0 &&
		    (size_t)ev->size + b->len > events_max_bytes)
			events_rotate(ev);
		if (write_full(ev->fd, b->data, b->len) == 0)
			ev->size += (off_t)b->len;
		pthread_mutex_unlock(&ev->lock);
	}
	buf_free(b);
}

/*
 * Writes at most EVENT_FIELD_MAX bytes of s, cut at a character, with
 * every byte that is not UTF-8 replaced by '?': hosts and binary paths
 * come from inside the sandbox, and every line must stay JSON that any
 * reader accepts.
 */
static int
event_kv_text(struct buf *b, const char *key, const char *s, size_t len)
{
	char out[EVENT_FIELD_MAX + 1];
	size_t n = 0;

	if (!s)
		return json_kv_str(b, key, NULL);
	for (size_t i = 0, k; i < len; i += k) {
		k = jsonread_utf8_len((const unsigned char *)s + i, len - i);
		if (n + (k ? k : 1) > EVENT_FIELD_MAX)
			break;
		if (k == 0) {
			out[n++] = '?';
			k = 1;
		} else {
			memcpy(out + n, s + i, k);
			n += k;
		}
	}
	out[n] = '\0';
	return json_kv_str(b, key, out);
}

static int
event_kv(struct buf *b, const char *key, const char *s)
{
	return event_kv_text(b, key, s, s ? strlen(s) : 0);
}

static void
event_begin(struct events *ev, struct buf *b, int class_uid, int category,
	    int activity_id, const char *activity, int severity)
{
	buf_puts(b, "{");
	json_kv_int(b, "time", clock_ms(CLOCK_REALTIME));
	json_kv_int(b, "class_uid", class_uid);
	json_kv_int(b, "category_uid", category);
	json_kv_int(b, "activity_id", activity_id);
	json_kv_str(b, "activity_name", activity);
	json_kv_int(b, "severity_id", severity);
	json_kv_str(b, "source", "supervisor");
	event_kv(b, "sandbox", ev->sandbox);
}

void
events_lifecycle(struct events *ev, const char *activity, const char *message)
{
	static const struct {
		const char *name;
		int id;
	} ids[] = {
		{ "start", 3 }, { "stop", 4 }, { "delete", 2 }, { "fail", 99 }
	};
	struct buf b = BUF_INIT(EVENTS_LINE_MAX);
	int id = OCSF_OTHER;

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (streq(ids[i].name, activity))
			id = ids[i].id;
	event_begin(ev, &b, EVENTS_CLASS_LIFECYCLE, OCSF_CAT_APPLICATION, id,
		    activity,
		    id == OCSF_OTHER ? OCSF_SEV_MEDIUM : OCSF_SEV_INFO);
	if (message)
		event_kv(&b, "message", message);
	event_end(ev, &b);
}

void
events_process(struct events *ev, const char *activity, pid_t pid, int status)
{
	struct buf b = BUF_INIT(EVENTS_LINE_MAX);
	bool start = streq(activity, "start");

	event_begin(ev, &b, EVENTS_CLASS_PROCESS, OCSF_CAT_SYSTEM,
		    start ? 1 : 2, start ? "launch" : "terminate",
		    OCSF_SEV_INFO);
	json_kv_int(&b, "pid", pid);
	if (!start && WIFEXITED(status))
		json_kv_int(&b, "exit_code", WEXITSTATUS(status));
	else if (!start && WIFSIGNALED(status))
		json_kv_int(&b, "signal", WTERMSIG(status));
	event_end(ev, &b);
}

/* HTTP Activity's activity ids are its methods. */
static int
http_activity(const char *method, const char **ret_name)
{
	static const struct {
		const char *method, *name;
	} ids[] = {
		{ "CONNECT", "connect" }, { "DELETE", "delete" },
		{ "GET", "get" },         { "HEAD", "head" },
		{ "OPTIONS", "options" }, { "POST", "post" },
		{ "PUT", "put" },         { "TRACE", "trace" },
		{ "PATCH", "patch" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		if (streq(ids[i].method, method)) {
			*ret_name = ids[i].name;
			return (int)i + 1;
		}
	}
	*ret_name = "other";
	return OCSF_OTHER;
}

static void
net_begin(struct events *ev, struct buf *b, const struct events_net *n)
{
	/* A real value sent from inside means it leaked: a finding. */
	int sev = n->allow                          ? OCSF_SEV_INFO
		  : streq(n->reason, "secret_leak") ? OCSF_SEV_HIGH
						    : OCSF_SEV_MEDIUM;
	const char *name;
	int id;

	if (n->method && !n->closed) {
		id = http_activity(n->method, &name);
		event_begin(ev, b, EVENTS_CLASS_HTTP, OCSF_CAT_NETWORK, id,
			    name, sev);
		return;
	}
	id = n->closed  ? OCSF_NET_CLOSE
	     : n->allow ? OCSF_NET_OPEN
			: OCSF_NET_REFUSE;
	name = n->closed ? "close" : n->allow ? "open" : "refuse";
	event_begin(ev, b, EVENTS_CLASS_NETWORK, OCSF_CAT_NETWORK, id, name,
		    sev);
}

void
events_network(struct events *ev, const struct events_net *n)
{
	struct buf b = BUF_INIT(EVENTS_LINE_MAX);

	net_begin(ev, &b, n);
	json_kv_str(&b, "action", n->allow ? "allow" : "deny");
	json_kv_int(&b, "action_id",
		    n->allow ? OCSF_ACTION_ALLOWED : OCSF_ACTION_DENIED);
	event_kv(&b, "host", n->host);
	json_kv_int(&b, "port", n->port);
	event_kv(&b, "binary", n->binary);
	json_kv_int(&b, "pid", n->pid);
	event_kv(&b, "policy", n->policy);
	event_kv(&b, "reason", n->reason);
	if (n->method)
		event_kv(&b, "method", n->method);
	/* A query string can carry a token; the path was scrubbed of real
	 * values by the proxy before it got here. */
	if (n->path)
		event_kv_text(&b, "path", n->path, strcspn(n->path, "?#"));
	if (n->closed) {
		json_kv_int(&b, "bytes_in", (int64_t)n->bytes_in);
		json_kv_int(&b, "bytes_out", (int64_t)n->bytes_out);
		json_kv_int(&b, "duration_ms", (int64_t)n->duration_ms);
	}
	event_end(ev, &b);
}

void
events_policy(struct events *ev, int64_t rev, const char *sha256,
	      const char *status, const char *error)
{
	struct buf b = BUF_INIT(EVENTS_LINE_MAX);

	event_begin(ev, &b, EVENTS_CLASS_CONFIG, OCSF_CAT_DISCOVERY,
		    OCSF_CONFIG_LOG, "log",
		    error ? OCSF_SEV_MEDIUM : OCSF_SEV_INFO);
	json_kv_int(&b, "policy_rev", rev);
	event_kv(&b, "sha256", sha256);
	event_kv(&b, "status", status);
	if (error)
		event_kv(&b, "error", error);
	event_end(ev, &b);
}

void
events_limit(struct events *ev, const char *limit, pid_t pid,
	     const char *binary, const char *message)
{
	struct buf b = BUF_INIT(EVENTS_LINE_MAX);

	event_begin(ev, &b, EVENTS_CLASS_FINDING, OCSF_CAT_FINDINGS,
		    OCSF_FINDING_CREATE, "create", OCSF_SEV_MEDIUM);
	event_kv(&b, "limit", limit);
	if (pid > 0)
		json_kv_int(&b, "pid", pid);
	if (binary)
		event_kv(&b, "binary", binary);
	event_kv(&b, "message", message);
	event_end(ev, &b);
}
