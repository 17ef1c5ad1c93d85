/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's event log: <dir>/events.jsonl, one JSON object per line
 * with OCSF class numbers (DESIGN.md section 9). Written by the supervisor
 * only, outside the sandbox; never holds a secret or a request body.
 *
 * When a write would take events.jsonl past EVENTS_MAX_BYTES, it becomes
 * events.jsonl.1 (.1 becomes .2, and so on up to EVENTS_KEEP; the oldest
 * goes) and a new events.jsonl takes the event. An event is never split
 * between files, and each is one write(2).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EVENTS_FILE "events.jsonl"
/* Size at which events.jsonl is rotated. */
#define EVENTS_MAX_BYTES (8 * 1024 * 1024)
/* Rotated files kept: events.jsonl.1 (newest) to .EVENTS_KEEP (oldest). */
#define EVENTS_KEEP 3
/* The longest line the writer makes; string values are cut to fit. */
#define EVENTS_LINE_MAX (64 * 1024)

/* OCSF class numbers of the events written here. */
enum {
	EVENTS_CLASS_PROCESS = 1007,
	EVENTS_CLASS_FINDING = 2004,
	EVENTS_CLASS_NETWORK = 4001,
	EVENTS_CLASS_HTTP = 4002,
	EVENTS_CLASS_CONFIG = 5019,
	EVENTS_CLASS_LIFECYCLE = 6002,
};

struct events;

/* Never fails: a log that cannot open makes every emit a no-op. */
struct events *events_open(const char *dir, const char *sandbox);
void events_close(struct events *ev);
/*
 * For tests: rotate past n bytes instead of EVENTS_MAX_BYTES (0 restores
 * it). Applies to every open log.
 */
void events_set_max_bytes(size_t n);

/* Application Lifecycle (6002): "start", "stop", "delete", "fail". */
void events_lifecycle(struct events *ev, const char *activity,
		      const char *message);
/* Process Activity (1007): "start" or "exit" (status is a wait status). */
void events_process(struct events *ev, const char *activity, pid_t pid,
		    int status);

/*
 * One network decision, or the close of a connection that was allowed.
 * Strings may be NULL; host and binary come from inside the sandbox and
 * are cleaned (cut, invalid UTF-8 replaced) before they are written.
 */
struct events_net {
	bool allow; /* "allow" or "deny" */
	bool closed; /* a close: the counters below are set */
	const char *host; /* as asked for: CONNECT target or Host */
	int port;
	const char *binary; /* path inside the sandbox; NULL: unknown */
	pid_t pid; /* 0: unknown */
	const char *policy; /* name of the policy that matched; NULL: none */
	const char *reason; /* a short code: "no_endpoint", "ssrf_loopback" */
	const char *method; /* HTTP method when known: HTTP Activity */
	const char *path; /* its path; the query is never written */
	uint64_t bytes_in; /* toward the sandbox */
	uint64_t bytes_out; /* from the sandbox */
	uint64_t duration_ms;
};

/*
 * Network Activity (4001) for a CONNECT or a TCP connection and for every
 * close; HTTP Activity (4002) for a decision whose method is known.
 * Denials are severity medium.
 */
void events_network(struct events *ev, const struct events_net *n);
/*
 * Device Config State Change (5019): policy revision rev, its sha256, a
 * status ("loaded", "refused", ...) and, for a refusal, why.
 */
void events_policy(struct events *ev, int64_t rev, const char *sha256,
		   const char *status, const char *error);
/*
 * Detection Finding (2004): a resource limit was hit. limit is "pids" or
 * "memory"; pid (inside the sandbox, 0 when none) and binary name the
 * process that was killed, when one was; message is the line for people:
 * "limit memory: killed pid 42 (/usr/bin/python3), 512 MiB in use of
 * 512 MiB".
 */
void events_limit(struct events *ev, const char *limit, pid_t pid,
		  const char *binary, const char *message);
