/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the event log (every kind of event, rotation) and for
 * the JSON reader that brig logs reads it with.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/jsonread.h"
#include "common/util.h"
#include "sandbox/events.h"
#include "tap.h"

#define TEST_LOG_MAX (64 * 1024 * 1024)
#define TEST_LINES_MAX 4096

static void
eq(long long got, long long want, const char *name)
{
	tap_ok(got == want, "%s (got %lld, want %lld)", name, got, want);
}

static void
eq_str(const char *got, const char *want, const char *name)
{
	tap_ok(streq(got, want), "%s (got '%s', want '%s')", name,
	       got ? got : "(null)", want ? want : "(null)");
}

static char *
make_dir(void)
{
	char tmpl[] = "/tmp/brig-test-events-XXXXXX";

	if (!mkdtemp(tmpl))
		abort();
	return xstrdup(tmpl);
}

/* Reads <dir>/<name>; NULL when it does not exist. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	char *text = NULL;

	*len = 0;
	if (read_file_at(AT_FDCWD, path, TEST_LOG_MAX, &text, len) < 0)
		return NULL;
	return text;
}

/* The lines of one file, each parsed; -1 when a line is not an object
 * or the file does not end with a newline (a split event). */
static int
parse_lines(char *text, size_t len, struct jsonread_obj *objs, size_t max)
{
	size_t n = 0;
	char *p = text, *end = text + len;

	if (len && text[len - 1] != '\n')
		return -1;
	while (p < end && n < max) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (jsonread_parse(p, (size_t)(nl - p), &objs[n]) < 0)
			return -1;
		n++;
		p = nl + 1;
	}
	return (int)n;
}

static void
free_objs(struct jsonread_obj *objs, int n)
{
	for (int i = 0; i < n; i++)
		jsonread_free(&objs[i]);
}

/* Parses the only line of <dir>/events.jsonl, then empties the file. */
static int
last_event(const char *dir, struct jsonread_obj *o)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, EVENTS_FILE);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if (read_file_at(AT_FDCWD, path, TEST_LOG_MAX, &text, &len) < 0)
		return -1;
	r = len && text[len - 1] == '\n' && !memchr(text, '\n', len - 1)
		? jsonread_parse(text, len - 1, o)
		: -1;
	if (truncate(path, 0) < 0)
		return -1;
	return r;
}

static int64_t
int_of(const struct jsonread_obj *o, const char *key)
{
	int64_t v = -12345;

	jsonread_int(o, key, &v);
	return v;
}

static bool
is_null(const struct jsonread_obj *o, const char *key)
{
	const struct jsonread_field *f = jsonread_get(o, key);

	return f && f->type == JSONREAD_NULL;
}

/* --- Every kind of event ------------------------------------------------ */

static void
check_common(const struct jsonread_obj *o, int class_uid, const char *what)
{
	char name[128];

	snprintf(name, sizeof(name), "%s: class_uid", what);
	eq(int_of(o, "class_uid"), class_uid, name);
	snprintf(name, sizeof(name), "%s: category_uid is class / 1000", what);
	eq(int_of(o, "category_uid"), class_uid / 1000, name);
	snprintf(name, sizeof(name), "%s: time in ms, recent", what);
	tap_ok(int_of(o, "time") > 1700000000000LL, "%s", name);
	snprintf(name, sizeof(name), "%s: source and sandbox", what);
	tap_ok(streq(jsonread_str(o, "source"), "supervisor") &&
		   streq(jsonread_str(o, "sandbox"), "box-1"),
	       "%s", name);
}

static void
test_lifecycle_and_process(const char *dir, struct events *ev)
{
	struct jsonread_obj o;

	events_lifecycle(ev, "start", "landlock ABI 4");
	tap_ok(last_event(dir, &o) == 0, "lifecycle start is one JSON line");
	check_common(&o, 6002, "lifecycle");
	eq(int_of(&o, "activity_id"), 3, "start is activity 3");
	eq(int_of(&o, "severity_id"), 1, "start is informational");
	eq_str(jsonread_str(&o, "message"), "landlock ABI 4", "message");
	jsonread_free(&o);

	events_lifecycle(ev, "fail", "cannot mount /proc");
	tap_ok(last_event(dir, &o) == 0, "lifecycle fail is one JSON line");
	eq(int_of(&o, "severity_id"), 3, "a failure is medium");
	jsonread_free(&o);

	events_process(ev, "start", 4242, -1);
	tap_ok(last_event(dir, &o) == 0, "process start is one JSON line");
	check_common(&o, 1007, "process");
	eq(int_of(&o, "pid"), 4242, "process pid");
	eq_str(jsonread_str(&o, "activity_name"), "launch", "launch");
	jsonread_free(&o);

	events_process(ev, "exit", 4242, 3 << 8);
	tap_ok(last_event(dir, &o) == 0, "process exit is one JSON line");
	eq(int_of(&o, "exit_code"), 3, "exit code from the wait status");
	jsonread_free(&o);

	events_process(ev, "exit", 4243, SIGKILL);
	tap_ok(last_event(dir, &o) == 0, "a killed process is one JSON line");
	eq(int_of(&o, "signal"), SIGKILL, "signal from the wait status");
	jsonread_free(&o);
}

static void
test_network_deny(const char *dir, struct events *ev)
{
	struct events_net n = { .allow = false,
				.host = "api.github.com",
				.port = 443,
				.binary = "/usr/bin/curl",
				.pid = 77,
				.reason = "no_endpoint" };
	struct jsonread_obj o;

	events_network(ev, &n);
	tap_ok(last_event(dir, &o) == 0, "a denial is one JSON line");
	check_common(&o, 4001, "denial");
	eq_str(jsonread_str(&o, "action"), "deny", "action deny");
	eq(int_of(&o, "severity_id"), 3, "a denial is medium");
	eq(int_of(&o, "activity_id"), 5, "a denial is Refuse");
	eq_str(jsonread_str(&o, "host"), "api.github.com", "host");
	eq(int_of(&o, "port"), 443, "port");
	eq_str(jsonread_str(&o, "binary"), "/usr/bin/curl", "binary");
	eq(int_of(&o, "pid"), 77, "pid");
	tap_ok(is_null(&o, "policy"), "no policy is null");
	eq_str(jsonread_str(&o, "reason"), "no_endpoint", "reason");
	tap_ok(!jsonread_get(&o, "bytes_in"), "no counters on a decision");
	jsonread_free(&o);
}

static void
test_network_http_and_close(const char *dir, struct events *ev)
{
	struct events_net n = { .allow = true,
				.host = "example.com",
				.port = 80,
				.binary = "/usr/bin/python3",
				.pid = 78,
				.policy = "pypi",
				.method = "GET",
				.path = "/simple/x?token=hunter2#frag" };
	struct jsonread_obj o;

	events_network(ev, &n);
	tap_ok(last_event(dir, &o) == 0, "an HTTP decision is one JSON line");
	check_common(&o, 4002, "http");
	eq(int_of(&o, "activity_id"), 3, "GET is HTTP activity 3");
	eq(int_of(&o, "severity_id"), 1, "an allow is informational");
	eq_str(jsonread_str(&o, "policy"), "pypi", "policy name");
	eq_str(jsonread_str(&o, "path"), "/simple/x", "the query is not kept");
	jsonread_free(&o);

	n.closed = true;
	n.bytes_in = 5120;
	n.bytes_out = 312;
	n.duration_ms = 1530;
	n.reason = "revoked";
	events_network(ev, &n);
	tap_ok(last_event(dir, &o) == 0, "a close is one JSON line");
	check_common(&o, 4001, "close");
	eq(int_of(&o, "activity_id"), 2, "a close is activity Close");
	tap_ok(int_of(&o, "bytes_in") == 5120 &&
		   int_of(&o, "bytes_out") == 312 &&
		   int_of(&o, "duration_ms") == 1530,
	       "bytes each way and duration");
	jsonread_free(&o);
}

/* Host and binary come from inside the sandbox: nothing in them may
 * break a line, make it invalid, or make it long. */
static void
test_network_hostile(const char *dir, struct events *ev)
{
	char *host = xmalloc(5001);
	struct events_net n = { .host = host,
				.binary = "/sandbox/\xff\xfe\n{\"x\":1}\x1b[2J",
				.method = "BREW" };
	const struct jsonread_field *f;
	struct jsonread_obj o;

	memset(host, 'a', 5000);
	host[5000] = '\0';
	events_network(ev, &n);
	free(host);
	tap_ok(last_event(dir, &o) == 0,
	       "hostile strings still make one JSON line");
	f = jsonread_get(&o, "host");
	tap_ok(f && f->len <= 1024, "a long host is cut");
	tap_ok(
	    streq(jsonread_str(&o, "binary"), "/sandbox/??\n{\"x\":1}\x1b[2J"),
	    "invalid UTF-8 replaced, the rest escaped and kept");
	eq(int_of(&o, "activity_id"), 99, "an unknown method is Other");
	jsonread_free(&o);
}

static void
test_policy_events(const char *dir, struct events *ev)
{
	struct jsonread_obj o;

	events_policy(ev, 3, "0123456789abcdef", "loaded", NULL);
	tap_ok(last_event(dir, &o) == 0, "a policy change is one JSON line");
	check_common(&o, 5019, "policy");
	eq(int_of(&o, "policy_rev"), 3, "revision");
	eq_str(jsonread_str(&o, "status"), "loaded", "status");
	tap_ok(!jsonread_get(&o, "error"), "no error when loaded");
	jsonread_free(&o);

	events_policy(ev, 4, "fedcba", "refused", "static section changed");
	tap_ok(last_event(dir, &o) == 0, "a refusal is one JSON line");
	eq(int_of(&o, "severity_id"), 3, "a refusal is medium");
	eq_str(jsonread_str(&o, "error"), "static section changed", "error");
	jsonread_free(&o);
}

static void
test_event_kinds(void)
{
	_cleanup_free_ char *dir = make_dir();
	struct events *ev = events_open(dir, "box-1");

	test_lifecycle_and_process(dir, ev);
	test_network_deny(dir, ev);
	test_network_http_and_close(dir, ev);
	test_network_hostile(dir, ev);
	test_policy_events(dir, ev);
	events_close(ev);
	rm_rf(dir);
}

/* --- Rotation ----------------------------------------------------------- */

/* Reads .3, .2, .1 and the current file; checks that every file is
 * whole lines within the limit and the messages count up by one. */
static int
check_rotated(const char *dir, size_t limit, int *first, int *last)
{
	static struct jsonread_obj objs[TEST_LINES_MAX];
	int prev = -1, total = 0;

	for (int i = EVENTS_KEEP; i >= 0; i--) {
		_cleanup_free_ char *name =
		    i ? xasprintf("%s.%d", EVENTS_FILE, i)
		      : xstrdup(EVENTS_FILE);
		size_t len;
		_cleanup_free_ char *text = slurp(dir, name, &len);
		int n = text ? parse_lines(text, len, objs, TEST_LINES_MAX) : 0;

		if (n < 0 || (len > limit && n > 1))
			return -1;
		for (int k = 0; k < n; k++) {
			int64_t seq = int_of(&objs[k], "pid");

			if (prev >= 0 && seq != prev + 1)
				return -1;
			if (prev < 0)
				*first = (int)seq;
			prev = (int)seq;
		}
		total += n;
		free_objs(objs, n);
	}
	*last = prev;
	return total;
}

static bool
exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	struct stat st;

	return lstat(p, &st) == 0;
}

static void
test_rotation_keeps_all(void)
{
	_cleanup_free_ char *dir = make_dir();
	struct events *ev;
	int first = -1, last = -1;

	events_set_max_bytes(4096);
	ev = events_open(dir, "box-1");
	for (int i = 0; i < 60; i++)
		events_process(ev, "start", i, -1);
	events_close(ev);
	tap_ok(exists(dir, EVENTS_FILE ".1") && exists(dir, EVENTS_FILE ".2"),
	       "the log rotated");
	eq(check_rotated(dir, 4096, &first, &last), 60,
	   "no event lost or split while nothing was dropped");
	tap_ok(first == 0 && last == 59, "order kept (first %d, last %d)",
	       first, last);
	rm_rf(dir);
}

static void
test_rotation_drops_oldest(void)
{
	_cleanup_free_ char *dir = make_dir();
	struct events *ev;
	int first = -1, last = -1, n;

	events_set_max_bytes(1000);
	ev = events_open(dir, "box-1");
	for (int i = 0; i < 500; i++)
		events_process(ev, "start", i, -1);
	events_close(ev);
	tap_ok(exists(dir, EVENTS_FILE ".3") && !exists(dir, EVENTS_FILE ".4"),
	       "EVENTS_KEEP rotated files, no more");
	n = check_rotated(dir, 1000, &first, &last);
	tap_ok(n > 0, "every kept file is whole lines under the limit");
	tap_ok(last == 499 && first == 500 - n,
	       "the newest %d events are kept, in order (first %d, last %d)", n,
	       first, last);
	rm_rf(dir);
}

static void
test_rotation_big_event(void)
{
	_cleanup_free_ char *dir = make_dir();
	struct events *ev;
	size_t len;
	char msg[600];
	_cleanup_free_ char *cur = NULL, *old = NULL;

	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	events_set_max_bytes(300);
	ev = events_open(dir, "box-1");
	events_lifecycle(ev, "start", NULL);
	events_lifecycle(ev, "stop", msg);
	events_close(ev);
	old = slurp(dir, EVENTS_FILE ".1", &len);
	tap_ok(old && strstr(old, "\"start\"") && !strstr(old, "mmm"),
	       "the event that passes the limit does not go in the old file");
	cur = slurp(dir, EVENTS_FILE, &len);
	tap_ok(cur && strstr(cur, msg) && len > 300 && cur[len - 1] == '\n',
	       "an event larger than the limit goes whole into a new file");
	rm_rf(dir);
}

static void
test_rotation_reopen(void)
{
	_cleanup_free_ char *dir = make_dir();
	struct events *ev;

	events_set_max_bytes(2000);
	ev = events_open(dir, "box-1");
	for (int i = 0; i < 8; i++)
		events_process(ev, "start", i, -1);
	events_close(ev);
	tap_ok(!exists(dir, EVENTS_FILE ".1"), "under the limit: no rotation");
	ev = events_open(dir, "box-1");
	for (int i = 8; i < 16; i++)
		events_process(ev, "start", i, -1);
	events_close(ev);
	tap_ok(exists(dir, EVENTS_FILE ".1"),
	       "a reopened log counts what is already there");
	events_set_max_bytes(0);
	rm_rf(dir);
}

static void
test_unwritable_log(void)
{
	struct events *ev = events_open("/nonexistent/brig", "box-1");
	struct events_net n = { .host = "h" };

	events_lifecycle(ev, "start", NULL);
	events_network(ev, &n);
	events_policy(ev, 1, NULL, "loaded", NULL);
	events_close(ev);
	tap_ok(true, "a log that cannot open makes emits no-ops");
}

/* --- The JSON reader ------------------------------------------------------ */

static int
parse(const char *s, struct jsonread_obj *o)
{
	return jsonread_parse(s, strlen(s), o);
}

static int
parse_rc(const char *s)
{
	struct jsonread_obj o;
	int r = parse(s, &o);

	if (r == 0)
		jsonread_free(&o);
	return r;
}

static void
test_read_types(void)
{
	struct jsonread_obj o;
	const struct jsonread_field *f;

	eq(parse(" {\"s\":\"x\", \"i\":-42, \"f\":1.5e3, \"t\":true,"
		 "\"n\":null, \"b\":false, \"big\":99999999999999999999}\n",
		 &o),
	   0, "an object of every value type");
	eq(o.n, 7, "seven fields");
	eq_str(jsonread_str(&o, "s"), "x", "string");
	eq(int_of(&o, "i"), -42, "integer");
	f = jsonread_get(&o, "f");
	tap_ok(f && f->type == JSONREAD_NUMBER && !f->is_int &&
		   streq(f->str, "1.5e3"),
	       "a fraction is a number, not an integer");
	f = jsonread_get(&o, "t");
	tap_ok(f && f->type == JSONREAD_BOOL && f->boolean, "true");
	tap_ok(is_null(&o, "n"), "null");
	f = jsonread_get(&o, "big");
	tap_ok(f && f->type == JSONREAD_NUMBER && !f->is_int,
	       "an integer past int64 is no integer");
	tap_ok(!jsonread_str(&o, "i"), "a number is not a string");
	tap_ok(!jsonread_get(&o, "missing"), "a missing key");
	jsonread_free(&o);
	eq(parse("{}", &o), 0, "an empty object");
	eq(o.n, 0, "no fields");
	jsonread_free(&o);
}

static void
test_read_escapes(void)
{
	struct jsonread_obj o;

	eq(parse("{\"k\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\"}", &o),
	   0, "escapes");
	tap_ok(streq(jsonread_str(&o, "k"),
		     "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80"),
	       "escapes decoded, a surrogate pair joined");
	jsonread_free(&o);
	eq(parse_rc("{\"k\":\"\\u0000\"}"), -EINVAL, "\\u0000 refused");
	eq(parse_rc("{\"k\\u0000\":1}"), -EINVAL, "\\u0000 in a key refused");
	eq(parse_rc("{\"k\":\"\\ud800\"}"), -EINVAL, "a lone high surrogate");
	eq(parse_rc("{\"k\":\"\\udc00\"}"), -EINVAL, "a lone low surrogate");
	eq(parse_rc("{\"k\":\"\\ud800\\u0041\"}"), -EINVAL,
	   "a high surrogate then no low one");
	eq(parse_rc("{\"k\":\"\\x41\"}"), -EINVAL, "an unknown escape");
	eq(parse_rc("{\"k\":\"\\u12\"}"), -EINVAL, "a short \\u escape");
	eq(parse_rc("{\"k\":\"a\nb\"}"), -EINVAL, "a raw control character");
	eq(parse_rc("{\"k\":\"\xc0\x80\"}"), -EINVAL, "an overlong encoding");
	eq(parse_rc("{\"k\":\"\xed\xa0\x80\"}"), -EINVAL,
	   "an encoded surrogate");
	eq(parse_rc("{\"k\":\"\xff\"}"), -EINVAL, "a byte that is no UTF-8");
	eq(jsonread_parse("{\"k\":\"a\0b\"}", 10, &o), -EINVAL,
	   "a NUL byte refused");
}

static bool
valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0, k; i < n; i += k) {
		k = jsonread_utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0)
			return false;
	}
	return true;
}

static void
test_read_limits(void)
{
	struct buf b = BUF_INIT(JSONREAD_MAX_INPUT * 2);
	const struct jsonread_field *f;
	struct jsonread_obj o;

	buf_puts(&b, "{\"k\":\"");
	for (int i = 0; i < JSONREAD_MAX_STRING + 100; i++)
		buf_puts(&b, i % 2 ? "\xc3\xa9" : "x");
	buf_puts(&b, "\",\"after\":1}");
	eq(jsonread_parse(b.data, b.len, &o), 0, "a long string is read");
	f = jsonread_get(&o, "k");
	tap_ok(f && f->truncated && f->len <= JSONREAD_MAX_STRING &&
		   f->len >= JSONREAD_MAX_STRING - 1 &&
		   strlen(f->str) == f->len,
	       "and capped at JSONREAD_MAX_STRING");
	tap_ok(f && valid_utf8(f->str, f->len),
	       "the cut falls between characters");
	eq(int_of(&o, "after"), 1, "fields after it are read");
	jsonread_free(&o);

	buf_reset(&b);
	buf_puts(&b, "{\"");
	for (int i = 0; i < JSONREAD_MAX_KEY + 1; i++)
		buf_puts(&b, "k");
	buf_puts(&b, "\":1}");
	eq(jsonread_parse(b.data, b.len, &o), -E2BIG, "a long key refused");

	buf_reset(&b);
	buf_puts(&b, "{");
	for (int i = 0; i <= JSONREAD_MAX_FIELDS; i++)
		buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	buf_puts(&b, "}");
	eq(jsonread_parse(b.data, b.len, &o), -E2BIG, "too many fields");

	buf_reset(&b);
	buf_puts(&b, "{\"k\":\"");
	while (b.len <= JSONREAD_MAX_INPUT)
		buf_puts(&b, "xxxxxxxxxxxxxxxx");
	buf_puts(&b, "\"}");
	eq(jsonread_parse(b.data, b.len, &o), -E2BIG, "a huge input refused");
	buf_free(&b);
}

static void
test_read_nesting(void)
{
	struct buf b = BUF_INIT(4096);
	struct jsonread_obj o;

	eq(parse("{\"a\":[1,{\"b\":[true,null,\"x\"]}],\"c\":2}", &o), 0,
	   "shallow nesting is skipped");
	tap_ok(jsonread_get(&o, "a") &&
		   jsonread_get(&o, "a")->type == JSONREAD_NESTED &&
		   int_of(&o, "c") == 2,
	       "as a nested field, and later fields are read");
	jsonread_free(&o);

	buf_puts(&b, "{\"a\":");
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "[");
	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "]");
	buf_puts(&b, "}");
	eq(jsonread_parse(b.data, b.len, &o), -E2BIG, "deep nesting refused");
	buf_reset(&b);
	buf_puts(&b, "{\"a\":");
	for (int i = 1; i < JSONREAD_MAX_DEPTH; i++)
		buf_puts(&b, "{\"b\":");
	buf_puts(&b, "1");
	for (int i = 1; i < JSONREAD_MAX_DEPTH; i++)
		buf_puts(&b, "}");
	buf_puts(&b, "}");
	eq(jsonread_parse(b.data, b.len, &o), 0, "JSONREAD_MAX_DEPTH is fine");
	jsonread_free(&o);
	buf_free(&b);
}

static void
test_read_malformed(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"[]",
		"\"s\"",
		"1",
		"{",
		"{\"a\"}",
		"{\"a\":}",
		"{\"a\":1,}",
		"{a:1}",
		"{\"a\":1}x",
		"{\"a\":01}",
		"{\"a\":-}",
		"{\"a\":1.}",
		"{\"a\":1e}",
		"{\"a\":tru}",
		"{\"a\":nul}",
		"{\"a\":\"x}",
		"{\"a\":1 \"b\":2}",
		"{\"a\":1,\"a\":2}",
		"{\"a\":[1,]}",
		"{\"a\":{\"b\"}}",
		"{\"a\":[}",
		"{\"a\":'x'}",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		eq(parse_rc(bad[i]), -EINVAL, bad[i]);
}

static void
test_utf8_len(void)
{
	static const struct {
		const char *s;
		size_t want;
	} cases[] = {
		{ "a", 1 },
		{ "\xc3\xa9", 2 },
		{ "\xe2\x82\xac", 3 },
		{ "\xf0\x9f\x98\x80", 4 },
		{ "\xc1\xbf", 0 },
		{ "\xe0\x9f\xbf", 0 },
		{ "\xed\xa0\x80", 0 },
		{ "\xf4\x90\x80\x80", 0 },
		{ "\xf5", 0 },
		{ "\x80", 0 },
		{ "\xe2\x82", 0 },
		{ "\xc3\x28", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char name[64];

		snprintf(name, sizeof(name), "utf8 case %zu", i);
		eq((long long)jsonread_utf8_len(
		       (const unsigned char *)cases[i].s, strlen(cases[i].s)),
		   (long long)cases[i].want, name);
	}
}

int
main(void)
{
	test_event_kinds();
	test_rotation_keeps_all();
	test_rotation_drops_oldest();
	test_rotation_big_event();
	test_rotation_reopen();
	test_unwritable_log();
	test_read_types();
	test_read_escapes();
	test_read_limits();
	test_read_nesting();
	test_read_malformed();
	test_utf8_len();
	return tap_done();
}
