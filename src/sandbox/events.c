/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/events.h"

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/json.h"
#include "common/util.h"

#define EVENT_MAX_BYTES 8192

/* OCSF classes, categories and severities used here. */
enum {
	OCSF_PROCESS_ACTIVITY = 1007,
	OCSF_APP_LIFECYCLE = 6002,
	OCSF_CAT_SYSTEM = 1,
	OCSF_CAT_APPLICATION = 6,
	OCSF_SEV_INFO = 1,
	OCSF_SEV_MEDIUM = 3,
};

struct events {
	int fd;
	char *sandbox;
};

struct events *
events_open(const char *dir, const char *sandbox)
{
	struct events *ev = xcalloc(1, sizeof(*ev));
	_cleanup_free_ char *path = xasprintf("%s/events.jsonl", dir);

	ev->fd = open(
	    path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	ev->sandbox = xstrdup(sandbox);
	return ev;
}

static void
event_begin(struct events *ev, struct buf *b, int class_uid, int category,
	    int activity_id, const char *activity, int severity)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	buf_puts(b, "{");
	json_kv_int(b, "time",
		    (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	json_kv_int(b, "class_uid", class_uid);
	json_kv_int(b, "category_uid", category);
	json_kv_int(b, "activity_id", activity_id);
	json_kv_str(b, "activity_name", activity);
	json_kv_int(b, "severity_id", severity);
	json_kv_str(b, "source", "supervisor");
	json_kv_str(b, "sandbox", ev->sandbox);
}

/* One write per event: O_APPEND keeps lines whole between writers. */
static void
event_end(struct events *ev, struct buf *b)
{
	if (buf_puts(b, "}\n") == 0 && ev->fd >= 0)
		write_full(ev->fd, b->data, b->len);
	buf_free(b);
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
	struct buf b = BUF_INIT(EVENT_MAX_BYTES);
	int id = 99;

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (streq(ids[i].name, activity))
			id = ids[i].id;
	event_begin(ev, &b, OCSF_APP_LIFECYCLE, OCSF_CAT_APPLICATION, id,
		    activity, id == 99 ? OCSF_SEV_MEDIUM : OCSF_SEV_INFO);
	if (message)
		json_kv_str(&b, "message", message);
	event_end(ev, &b);
}

void
events_process(struct events *ev, const char *activity, pid_t pid, int status)
{
	struct buf b = BUF_INIT(EVENT_MAX_BYTES);
	bool start = streq(activity, "start");

	event_begin(ev, &b, OCSF_PROCESS_ACTIVITY, OCSF_CAT_SYSTEM,
		    start ? 1 : 2, start ? "launch" : "terminate",
		    OCSF_SEV_INFO);
	json_kv_int(&b, "pid", pid);
	if (!start && WIFEXITED(status))
		json_kv_int(&b, "exit_code", WEXITSTATUS(status));
	else if (!start && WIFSIGNALED(status))
		json_kv_int(&b, "signal", WTERMSIG(status));
	event_end(ev, &b);
}
