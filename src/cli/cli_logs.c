/* SPDX-License-Identifier: Apache-2.0 */
/*
 * brig logs: a sandbox's events, for people or as stored. The log is
 * files (events.jsonl and its rotated copies) read without asking the
 * supervisor, so it outlives the supervisor and goes with the sandbox's
 * directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/jsonread.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/paths.h"
#include "common/util.h"
#include "sandbox/events.h"

#define LOGS_DEFAULT_LINES 200
#define LOGS_MAX_LINES 1000000
#define LOGS_READ_CHUNK (64 * 1024)
/* A rendered line: a handful of values of at most JSONREAD_MAX_STRING. */
#define LOGS_RENDER_MAX (4 * EVENTS_LINE_MAX)
/* How often a follow looks at the files when inotify is unavailable. */
#define LOGS_POLL_MS 100
/* With inotify, a look anyway this often, should a wakeup go missing. */
#define LOGS_IDLE_MS 1000
/* Attempts at opening the files with no rotation in between. */
#define LOGS_OPEN_TRIES 8
/* events.jsonl.EVENTS_KEEP .. .1, then events.jsonl. */
#define LOGS_NFILES (EVENTS_KEEP + 1)
#define LOGS_NAME_MAX 32

_Static_assert(EVENTS_LINE_MAX <= JSONREAD_MAX_INPUT,
	       "the reader must take every line the writer makes");

/* What --source selects, by the event's class. */
enum { SRC_SANDBOX = 1, SRC_SUPERVISOR = 2, SRC_OTHER = 4, SRC_ALL = 7 };

/* A line as stored, kept until it is known to be among the last N. */
struct line {
	char *text;
	size_t len;
};

struct logs {
	const char *name;
	bool follow, json, has_since;
	unsigned sources;
	int64_t since_ms;
	uint64_t lines;
	int min_level;

	int dirfd;
	bool live; /* following: lines are printed as they come */
	struct line *ring; /* the last lines that matched, before following */
	size_t ring_n, ring_cap, ring_head;
	uint64_t skipped; /* lines that are not JSON objects, with -o json */
};

/* One of the files being read, and the line it has not finished. */
struct logfile {
	dev_t dev;
	ino_t ino;
	struct buf part;
	int fd;
	bool overlong; /* dropping the rest of a line past EVENTS_LINE_MAX */
};

static const char logs_usage[] =
    "brig logs NAME [--tail] [--source sandbox|supervisor|all]\n"
    "                 [--since T] [-n N] [--level L] [-o json]";

static const char logs_help[] =
    "Usage: brig logs NAME [OPTIONS]\n\n"
    "Shows a sandbox's events, one line each: the time (UTC), the level,\n"
    "what happened and the details. A line that is not an event is shown\n"
    "as it is.\n\n"
    "  -f, --tail         keep going: show new events as they come\n"
    "  -s, --source S     sandbox (what ran inside did: connections,\n"
    "                     processes), supervisor (lifecycle, policy\n"
    "                     changes) or all (default)\n"
    "      --since T      only events since a duration ago (90s, 5m, 2h,\n"
    "                     1d) or an RFC 3339 time (2026-12-03T16:40:01Z)\n"
    "  -n, --lines N      the last N events before following (default 200)\n"
    "  -l, --level L      only events at level L or above: info, low,\n"
    "                     medium, high, critical\n"
    "  -o, --output F     table (default), or json: the lines as stored\n"
    "  -h, --help         show this help\n";

/* --- Options ------------------------------------------------------------ */

static int
set_follow(struct logs *L, const char *arg)
{
	L->follow = true;
	return 0;
}

static int
set_source(struct logs *L, const char *arg)
{
	static const struct {
		const char *name;
		unsigned mask;
	} srcs[] = { { "sandbox", SRC_SANDBOX },
		     { "supervisor", SRC_SUPERVISOR },
		     { "all", SRC_ALL } };

	for (size_t i = 0; i < ARRAY_SIZE(srcs); i++) {
		if (streq(srcs[i].name, arg)) {
			L->sources = srcs[i].mask;
			return 0;
		}
	}
	return -EINVAL;
}

/* ".123": milliseconds; digits past the third are dropped. */
static int
parse_fraction(const char **p, int64_t *ret_ms)
{
	int64_t scale = 100;
	const char *s = *p;

	if (*s != '.')
		return 0;
	if (!(*++s >= '0' && *s <= '9'))
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
		*ret_ms += (*s - '0') * scale;
	*p = s;
	return 0;
}

/* "Z", or "+hh:mm" / "-hh:mm": seconds east of UTC. */
static int
parse_offset(const char **p, int64_t *ret_secs)
{
	const char *s = *p;
	int sign = *s == '-' ? -1 : 1;

	if (*s == 'Z' || *s == 'z') {
		*p = s + 1;
		return 0;
	}
	if ((*s != '+' && *s != '-') || strlen(s) != 6 || s[3] != ':')
		return -EINVAL;
	for (int i = 1; i < 6; i++)
		if (i != 3 && !(s[i] >= '0' && s[i] <= '9'))
			return -EINVAL;
	*ret_secs = sign * (((s[1] - '0') * 10 + (s[2] - '0')) * 3600 +
			    ((s[4] - '0') * 10 + (s[5] - '0')) * 60);
	*p = s + 6;
	return 0;
}

/* "2026-12-03T16:40:01Z", with an optional fraction and offset. */
static int
parse_rfc3339(const char *s, int64_t *ret_ms)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t ms = 0, off = 0;
	time_t t;

	if (!p || parse_fraction(&p, &ms) < 0 || parse_offset(&p, &off) < 0 ||
	    *p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_ms = ((int64_t)t - off) * 1000 + ms;
	return 0;
}

static int
set_since(struct logs *L, const char *arg)
{
	uint64_t secs;

	if (parse_duration(arg, &secs) == 0) {
		if (secs > (uint64_t)clock_ms(CLOCK_REALTIME) / 1000)
			secs = (uint64_t)clock_ms(CLOCK_REALTIME) / 1000;
		L->since_ms = clock_ms(CLOCK_REALTIME) - (int64_t)secs * 1000;
	} else if (parse_rfc3339(arg, &L->since_ms) < 0) {
		return -EINVAL;
	}
	L->has_since = true;
	return 0;
}

static int
set_lines(struct logs *L, const char *arg)
{
	return parse_u64(arg, 0, LOGS_MAX_LINES, &L->lines);
}

/* OCSF severity_id: 1 informational to 5 critical (6 is fatal). */
static int
set_level(struct logs *L, const char *arg)
{
	static const char *const names[] = { "info", "low", "medium", "high",
					     "critical" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (streq(names[i], arg)) {
			L->min_level = (int)i + 1;
			return 0;
		}
	}
	return -EINVAL;
}

static int
set_output(struct logs *L, const char *arg)
{
	enum cli_output out;

	if (cli_parse_output(arg, &out) < 0 || out == CLI_OUT_YAML)
		return -EINVAL;
	L->json = out == CLI_OUT_JSON;
	return 0;
}

enum { OPT_SINCE = 256 };

static const struct option logs_opts[] = {
	{ "tail", no_argument, NULL, 'f' },
	{ "follow", no_argument, NULL, 'f' },
	{ "source", required_argument, NULL, 's' },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "lines", required_argument, NULL, 'n' },
	{ "level", required_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct logs_setter {
	int c;
	int (*set)(struct logs *L, const char *arg);
	const char *what;
} logs_setters[] = {
	{ 'f', set_follow, "--tail" },
	{ 's', set_source, "--source (sandbox, supervisor or all)" },
	{ OPT_SINCE, set_since,
	  "--since (a duration such as 5m, or an RFC 3339 time)" },
	{ 'n', set_lines, "-n (a count up to 1000000)" },
	{ 'l', set_level, "--level (info, low, medium, high or critical)" },
	{ 'o', set_output, "-o (table or json)" },
};

/* Fills L from argv; returns -1 with *ret set after help or an error. */
static int
logs_args(struct logs *L, int argc, char **argv, int *ret)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fs:n:l:o:h", logs_opts, NULL)) !=
	       -1) {
		const struct logs_setter *s = NULL;

		for (size_t i = 0; i < ARRAY_SIZE(logs_setters); i++)
			if (logs_setters[i].c == c)
				s = &logs_setters[i];
		if (c == 'h')
			*ret = cli_help(logs_help);
		else if (!s)
			*ret = cli_usage_error(logs_usage, "bad option");
		else if (s->set(L, optarg) < 0)
			*ret = cli_usage_error(logs_usage,
					       "invalid value '%s' for %s",
					       optarg, s->what);
		else
			continue;
		return -1;
	}
	if (optind + 1 != argc) {
		*ret =
		    cli_usage_error(logs_usage, "one sandbox name is required");
		return -1;
	}
	L->name = argv[optind];
	return 0;
}

/* --- Rendering ---------------------------------------------------------- */

/*
 * Text for a terminal: control characters (C0, DEL, C1) and bytes that
 * are not UTF-8 become '?', so that no event can move the cursor or
 * change the terminal's settings. Tabs and newlines become spaces.
 */
static void
put_clean(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k) {
		k = jsonread_utf8_len(p + i, n - i);
		if (k == 1 && (p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
			buf_puts(b, " ");
		else if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
			 (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
			buf_puts(b, "?");
		else
			buf_append(b, p + i, k);
		k = k ? k : 1;
	}
}

static void
put_str(struct buf *b, const char *s)
{
	put_clean(b, s, strlen(s));
}

static void
put_tag(struct buf *b, const char *tag)
{
	buf_printf(b, "%-6s ", tag);
}

static int64_t
get_int(const struct jsonread_obj *o, const char *key, int64_t fallback)
{
	int64_t v;

	return jsonread_int(o, key, &v) == 0 ? v : fallback;
}

/* Levels by OCSF severity_id; an unknown one reads as informational. */
static int
event_level(const struct jsonread_obj *o)
{
	int64_t sev = get_int(o, "severity_id", 1);

	return sev >= 1 && sev <= 6 ? (int)sev : 1;
}

static void
put_time(struct buf *b, const struct jsonread_obj *o)
{
	int64_t ms = get_int(o, "time", -1);
	time_t t = (time_t)(ms / 1000);
	char s[32];
	struct tm tm;

	if (ms < 0 || !gmtime_r(&t, &tm) ||
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		buf_printf(b, "%-24s", "-");
	else
		buf_printf(b, "%s.%03dZ", s, (int)(ms % 1000));
}

/* "curl -> api.github.com:443", "curl -> [::1]:80 GET /x". */
static void
put_endpoint(const struct jsonread_obj *o, struct buf *b)
{
	const char *bin = jsonread_str(o, "binary");
	const char *host = jsonread_str(o, "host");
	const char *method = jsonread_str(o, "method");
	const char *path = jsonread_str(o, "path");
	const char *base = bin ? strrchr(bin, '/') : NULL;
	bool v6 = host && strchr(host, ':');

	put_str(b, base && base[1] ? base + 1 : bin ? bin : "?");
	buf_puts(b, v6 ? " -> [" : " -> ");
	put_str(b, host ? host : "?");
	buf_puts(b, v6 ? "]" : "");
	/* A name lookup has no port yet. */
	if (get_int(o, "port", 0) > 0)
		buf_printf(b, ":%" PRId64, get_int(o, "port", 0));
	if (method) {
		buf_puts(b, " ");
		put_str(b, method);
		buf_puts(b, " ");
		put_str(b, path ? path : "/");
	}
}

/* " (policy none: no_endpoint)" */
static void
put_verdict(const struct jsonread_obj *o, struct buf *b)
{
	const char *policy = jsonread_str(o, "policy");
	const char *reason = jsonread_str(o, "reason");

	buf_puts(b, " (policy ");
	put_str(b, policy ? policy : "none");
	if (reason) {
		buf_puts(b, ": ");
		put_str(b, reason);
	}
	buf_puts(b, ")");
}

/* " (5120 bytes in, 312 out, 1530 ms; revoked)" */
static void
put_counters(const struct jsonread_obj *o, struct buf *b)
{
	const char *reason = jsonread_str(o, "reason");

	buf_printf(b, " (%" PRId64 " bytes in, %" PRId64 " out, %" PRId64 " ms",
		   get_int(o, "bytes_in", 0), get_int(o, "bytes_out", 0),
		   get_int(o, "duration_ms", 0));
	if (reason) {
		buf_puts(b, "; ");
		put_str(b, reason);
	}
	buf_puts(b, ")");
}

static void
render_network(const struct jsonread_obj *o, struct buf *b)
{
	const char *action = jsonread_str(o, "action");
	bool closed = get_int(o, "class_uid", 0) == EVENTS_CLASS_NETWORK &&
		      get_int(o, "activity_id", 0) == 2;

	put_tag(b, closed                   ? "CLOSE"
		   : streq(action, "allow") ? "ALLOW"
		   : streq(action, "deny")  ? "DENY"
					    : "NET");
	put_endpoint(o, b);
	if (closed)
		put_counters(o, b);
	else
		put_verdict(o, b);
}

static void
render_process(const struct jsonread_obj *o, struct buf *b)
{
	int64_t pid = get_int(o, "pid", 0), v;

	if (get_int(o, "activity_id", 0) == 1) {
		put_tag(b, "EXEC");
		buf_printf(b, "pid %" PRId64 " started", pid);
		return;
	}
	put_tag(b, "EXIT");
	buf_printf(b, "pid %" PRId64 " ", pid);
	if (jsonread_int(o, "exit_code", &v) == 0)
		buf_printf(b, "exited with code %" PRId64, v);
	else if (jsonread_int(o, "signal", &v) == 0)
		buf_printf(b, "killed by signal %" PRId64, v);
	else
		buf_puts(b, "ended");
}

static void
render_lifecycle(const struct jsonread_obj *o, struct buf *b)
{
	static const struct {
		const char *activity, *tag, *text;
	} acts[] = {
		{ "start", "START", "sandbox started" },
		{ "stop", "STOP", "sandbox stopped" },
		{ "delete", "DELETE", "sandbox deleted" },
		{ "fail", "FAIL", "sandbox failed" },
	};
	const char *act = jsonread_str(o, "activity_name");
	const char *msg = jsonread_str(o, "message");
	size_t i = 0;

	while (i < ARRAY_SIZE(acts) && !streq(acts[i].activity, act))
		i++;
	put_tag(b, i < ARRAY_SIZE(acts) ? acts[i].tag : "APP");
	put_str(b, i < ARRAY_SIZE(acts) ? acts[i].text : "sandbox event");
	if (msg) {
		buf_puts(b, ": ");
		put_str(b, msg);
	}
}

/* "rev 3 loaded (sha256 0123456789ab)", "rev 4 refused: why" */
static void
render_policy(const struct jsonread_obj *o, struct buf *b)
{
	const char *sha = jsonread_str(o, "sha256");
	const char *status = jsonread_str(o, "status");
	const char *error = jsonread_str(o, "error");

	put_tag(b, "POLICY");
	buf_printf(b, "rev %" PRId64 " ", get_int(o, "policy_rev", 0));
	put_str(b, status ? status : "changed");
	if (sha) {
		buf_puts(b, " (sha256 ");
		put_clean(b, sha, strnlen(sha, 12));
		buf_puts(b, ")");
	}
	if (error) {
		buf_puts(b, ": ");
		put_str(b, error);
	}
}

static void
render_finding(const struct jsonread_obj *o, struct buf *b)
{
	const char *msg = jsonread_str(o, "message");

	put_tag(b, jsonread_str(o, "limit") ? "LIMIT" : "ALERT");
	put_str(b, msg ? msg : "detection finding");
}

static void
render_other(const struct jsonread_obj *o, struct buf *b)
{
	const char *act = jsonread_str(o, "activity_name");
	const char *msg = jsonread_str(o, "message");

	put_tag(b, "EVENT");
	buf_printf(b, "class %" PRId64, get_int(o, "class_uid", 0));
	if (act) {
		buf_puts(b, " ");
		put_str(b, act);
	}
	if (msg) {
		buf_puts(b, ": ");
		put_str(b, msg);
	}
}

/* Each class: whose doing it records (for --source), and its line. */
static const struct renderer {
	int64_t class_uid;
	unsigned source;
	void (*render)(const struct jsonread_obj *o, struct buf *b);
} renderers[] = {
	{ EVENTS_CLASS_NETWORK, SRC_SANDBOX, render_network },
	{ EVENTS_CLASS_HTTP, SRC_SANDBOX, render_network },
	{ EVENTS_CLASS_PROCESS, SRC_SANDBOX, render_process },
	{ EVENTS_CLASS_FINDING, SRC_SANDBOX, render_finding },
	{ EVENTS_CLASS_LIFECYCLE, SRC_SUPERVISOR, render_lifecycle },
	{ EVENTS_CLASS_CONFIG, SRC_SUPERVISOR, render_policy },
}, other_renderer = { 0, SRC_OTHER, render_other };

static const struct renderer *
renderer_for(const struct jsonread_obj *o)
{
	int64_t cls = get_int(o, "class_uid", -1);

	for (size_t i = 0; i < ARRAY_SIZE(renderers); i++)
		if (renderers[i].class_uid == cls)
			return &renderers[i];
	return &other_renderer;
}

/* "2026-12-03T16:40:01.123Z WARN DENY   curl -> ..." */
static void
render_event(const struct jsonread_obj *o, const struct renderer *r,
	     struct buf *b)
{
	static const char *const labels[] = { "INFO", "INFO", "LOW", "WARN",
					      "HIGH", "CRIT", "CRIT" };

	put_time(b, o);
	buf_printf(b, " %-4s ", labels[event_level(o)]);
	r->render(o, b);
}

/* --- Selecting and printing ---------------------------------------------- */

static bool
event_wanted(const struct logs *L, const struct jsonread_obj *o,
	     const struct renderer *r)
{
	if (!(L->sources & r->source) || event_level(o) < L->min_level)
		return false;
	return !L->has_since || get_int(o, "time", -1) >= L->since_ms;
}

/* Prints one chosen line: rendered for people, or as stored. */
static void
print_line(const struct logs *L, const char *line, size_t len)
{
	struct buf out = BUF_INIT(LOGS_RENDER_MAX);
	struct jsonread_obj o;

	if (L->json) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		return;
	}
	if (jsonread_parse(line, len, &o) < 0) {
		put_clean(&out, line, len);
	} else {
		render_event(&o, renderer_for(&o), &out);
		jsonread_free(&o);
	}
	puts(buf_str(&out));
	buf_free(&out);
}

/*
 * Whether a line is shown: an event that passes the filters or, for
 * people, a line that is no event. The latter are counted for -o json.
 */
static bool
line_wanted(struct logs *L, const char *line, size_t len)
{
	struct jsonread_obj o;
	bool want;

	if (jsonread_parse(line, len, &o) < 0) {
		L->skipped += L->json;
		return !L->json;
	}
	want = event_wanted(L, &o, renderer_for(&o));
	jsonread_free(&o);
	return want;
}

/* Keeps the last L->lines lines; only those are rendered, at the end. */
static void
keep(struct logs *L, const char *line, size_t len)
{
	struct line *slot;

	if (L->ring_n < L->lines && L->ring_n == L->ring_cap) {
		L->ring_cap = L->ring_cap ? L->ring_cap * 2 : 256;
		if (L->ring_cap > L->lines)
			L->ring_cap = L->lines;
		L->ring = xrealloc(L->ring, L->ring_cap * sizeof(*L->ring));
	}
	if (L->ring_n < L->lines) {
		slot = &L->ring[L->ring_n++];
	} else {
		slot = &L->ring[L->ring_head];
		L->ring_head = (L->ring_head + 1) % L->ring_n;
		free(slot->text);
	}
	slot->text = xmalloc(len);
	memcpy(slot->text, line, len);
	slot->len = len;
}

static void
ring_flush(struct logs *L)
{
	for (size_t i = 0; i < L->ring_n; i++) {
		struct line *l = &L->ring[(L->ring_head + i) % L->ring_n];

		print_line(L, l->text, l->len);
		free(l->text);
	}
	free(L->ring);
	L->ring = NULL;
	L->ring_n = L->ring_cap = L->ring_head = 0;
}

static void
logs_line(struct logs *L, const char *line, size_t len)
{
	if (len == 0 || !line_wanted(L, line, len))
		return;
	if (L->live)
		print_line(L, line, len);
	else if (L->lines > 0)
		keep(L, line, len);
}

/* --- Reading the files ---------------------------------------------------- */

static void
logfile_init(struct logfile *f)
{
	*f = (struct logfile){ .fd = -1, .part = BUF_INIT(EVENTS_LINE_MAX) };
}

static void
logfile_close(struct logfile *f)
{
	closep(&f->fd);
	f->fd = -1;
	buf_free(&f->part);
	f->overlong = false;
}

static bool
logfile_same(const struct logfile *f, const struct stat *st)
{
	return f->fd >= 0 && f->dev == st->st_dev && f->ino == st->st_ino;
}

/* O_NONBLOCK so that a FIFO put in the file's place cannot hang us. */
static int
logfile_open(const struct logs *L, struct logfile *f, const char *name)
{
	int fd = openat(L->dirfd, name,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

static void
rotated_name(char *out, size_t len, int i)
{
	snprintf(out, len, "%s.%d", EVENTS_FILE, i);
}

/*
 * A line longer than any the writer makes: what fits is handled as one
 * line (it is no JSON object, so it shows raw or is counted), the rest up
 * to the next newline is dropped.
 */
static void
logfile_overlong(struct logs *L, struct logfile *f, const char *p, size_t k)
{
	size_t room = f->part.limit - f->part.len;

	buf_append(&f->part, p, k < room ? k : room);
	logs_line(L, buf_str(&f->part), f->part.len);
	buf_reset(&f->part);
	f->overlong = true;
}

static void
logfile_feed(struct logs *L, struct logfile *f, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!f->overlong && buf_append(&f->part, p, k) < 0)
			logfile_overlong(L, f, p, k);
		if (nl) {
			if (!f->overlong)
				logs_line(L, buf_str(&f->part), f->part.len);
			buf_reset(&f->part);
			f->overlong = false;
			k++;
		}
		p += k;
		n -= k;
	}
}

/* Reads to the end; a line not ended yet waits in f->part. */
static int
logfile_read(struct logs *L, struct logfile *f)
{
	static char chunk[LOGS_READ_CHUNK];

	while (f->fd >= 0) {
		ssize_t n = read(f->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		logfile_feed(L, f, chunk, (size_t)n);
	}
	return 0;
}

/* A file that will not grow again: its unended last line counts. */
static int
logfile_finish(struct logs *L, struct logfile *f)
{
	int r = logfile_read(L, f);

	if (!f->overlong && f->part.len)
		logs_line(L, buf_str(&f->part), f->part.len);
	logfile_close(f);
	return r;
}

/* Whether events.jsonl is still the file f has open (or still absent). */
static bool
still_current(const struct logs *L, const struct logfile *f)
{
	struct stat st;

	if (fstatat(L->dirfd, EVENTS_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT && f->fd < 0;
	return logfile_same(f, &st);
}

static int
open_once(const struct logs *L, struct logfile *f)
{
	char name[LOGS_NAME_MAX];
	int r = logfile_open(L, &f[EVENTS_KEEP], EVENTS_FILE);

	for (int i = 1; i <= EVENTS_KEEP && (r == 0 || r == -ENOENT); i++) {
		rotated_name(name, sizeof(name), i);
		r = logfile_open(L, &f[EVENTS_KEEP - i], name);
	}
	return r == -ENOENT ? 0 : r;
}

/*
 * Opens events.jsonl.3 .. .1 and events.jsonl into f[0..EVENTS_KEEP],
 * with no rotation in between: the current file is opened first and must
 * still be the current one once the others are open, since every rotation
 * replaces it.
 */
static int
open_set(const struct logs *L, struct logfile *f)
{
	for (int tries = 0; tries < LOGS_OPEN_TRIES; tries++) {
		int r = open_once(L, f);

		if (r == 0 && still_current(L, &f[EVENTS_KEEP]))
			return 0;
		for (int i = 0; i < LOGS_NFILES; i++)
			logfile_close(&f[i]);
		if (r < 0)
			return r;
	}
	return -EAGAIN;
}

/* --- Following ----------------------------------------------------------- */

/*
 * More than one rotation passed between two looks: the files between
 * the one that was being read (old) and the new current one (cur), in
 * order. When old is gone altogether, every rotated file is newer.
 */
static void
read_passed(struct logs *L, const struct logfile *old,
	    const struct logfile *cur)
{
	int k_old = EVENTS_KEEP + 1, k_new = 0;
	char name[LOGS_NAME_MAX];
	struct logfile mid;
	struct stat st;

	for (int i = 1; i <= EVENTS_KEEP; i++) {
		rotated_name(name, sizeof(name), i);
		if (fstatat(L->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (logfile_same(old, &st))
			k_old = i;
		if (logfile_same(cur, &st))
			k_new = i;
	}
	for (int i = k_old - 1; i > k_new; i--) {
		logfile_init(&mid);
		rotated_name(name, sizeof(name), i);
		if (logfile_open(L, &mid, name) == 0)
			logfile_finish(L, &mid);
		logfile_close(&mid);
	}
}

/*
 * Reads what was appended. When events.jsonl has become a new file, the
 * old one is read to its end first: the writer renames it only after its
 * last write, so nothing is missed, and the new file is read from its
 * start, so nothing is repeated. Returns 1 when it moved to a new file.
 */
static int
follow_step(struct logs *L, struct logfile *cur)
{
	struct logfile next;
	struct stat st;
	int r = logfile_read(L, cur);

	if (r < 0)
		return r;
	logfile_init(&next);
	r = logfile_open(L, &next, EVENTS_FILE);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	st = (struct stat){ .st_dev = next.dev, .st_ino = next.ino };
	if (logfile_same(cur, &st)) {
		logfile_close(&next);
		return 0;
	}
	if (cur->fd >= 0) {
		r = logfile_read(L, cur);
		read_passed(L, cur, &next);
		logfile_finish(L, cur);
	}
	logfile_close(cur);
	*cur = next;
	return r < 0 ? r : 1;
}

/* Directory changes wake the follow; -1 means look every LOGS_POLL_MS. */
static int
watch_dir(const char *dir)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd >= 0 &&
	    inotify_add_watch(fd, dir,
			      IN_MODIFY | IN_CREATE | IN_MOVED_TO |
				  IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
				  IN_MOVE_SELF | IN_ONLYDIR) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void
drain(int fd)
{
	char b[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(fd, b, sizeof(b)) > 0)
		;
}

/* SIGINT, SIGTERM and SIGHUP end a follow cleanly, through poll. */
static int
signal_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* The sandbox's directory was removed: the log ends with it. */
static bool
dir_gone(const struct logs *L)
{
	struct stat st;

	return fstat(L->dirfd, &st) < 0 || st.st_nlink == 0;
}

static int
follow(struct logs *L, const char *dir, struct logfile *cur)
{
	_cleanup_close_ int sig = signal_fd(), ino = watch_dir(dir);
	struct pollfd p[2] = { { .fd = sig, .events = POLLIN },
			       { .fd = ino, .events = POLLIN } };
	int r;

	if (sig < 0)
		return sig;
	for (;;) {
		bool gone = dir_gone(L);

		while ((r = follow_step(L, cur)) > 0)
			;
		if (r < 0 || fflush(stdout) != 0)
			return r < 0 ? r : -EIO;
		if (gone)
			return 0;
		r = poll(p, ino >= 0 ? 2 : 1,
			 ino >= 0 ? LOGS_IDLE_MS : LOGS_POLL_MS);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0 && p[0].revents)
			return 0;
		if (r > 0 && ino >= 0 && p[1].revents)
			drain(ino);
	}
}

/* --- The verb ------------------------------------------------------------ */

static int
logs_show(struct logs *L, const char *dir)
{
	struct logfile f[LOGS_NFILES];
	int r;

	for (int i = 0; i < LOGS_NFILES; i++)
		logfile_init(&f[i]);
	r = open_set(L, f);
	if (r < 0)
		return log_errno(r, "cannot open the events of '%s'", L->name);
	for (int i = 0; i < EVENTS_KEEP && r == 0; i++)
		r = logfile_finish(L, &f[i]);
	if (r == 0)
		r = logfile_read(L, &f[EVENTS_KEEP]);
	ring_flush(L);
	L->live = true;
	if (r == 0 && L->follow)
		r = follow(L, dir, &f[EVENTS_KEEP]);
	for (int i = 0; i < LOGS_NFILES; i++)
		logfile_close(&f[i]);
	if (L->skipped)
		log_warn("%" PRIu64 " lines of '%s' are not JSON objects, "
			 "skipped",
			 L->skipped, L->name);
	if (r < 0)
		return log_errno(r, "cannot read the events of '%s'", L->name);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

int
cmd_logs(struct cli *cli, int argc, char **argv)
{
	struct logs L = { .sources = SRC_ALL,
			  .lines = LOGS_DEFAULT_LINES,
			  .min_level = 1,
			  .dirfd = -1 };
	_cleanup_free_ char *dir = NULL;
	int r = 0;

	if (logs_args(&L, argc, argv, &r) < 0)
		return r;
	if (cli_state_dir(cli) < 0)
		return EXIT_FAIL;
	if (paths_valid_name(L.name)) {
		dir = paths_sandbox_dir(cli->state_dir, L.name);
		L.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (L.dirfd < 0 && (!dir || errno == ENOENT)) {
		log_error("no sandbox named '%s'", L.name);
		return EXIT_FAIL;
	}
	if (L.dirfd < 0)
		return log_errno(-errno, "cannot open '%s'", dir), EXIT_FAIL;
	r = logs_show(&L, dir);
	close(L.dirfd);
	return r < 0 ? EXIT_FAIL : 0;
}
