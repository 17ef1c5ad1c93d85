/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor's side of the resource limits. A timer on the
 * supervisor's epoll loop samples the sandbox WATCHDOG_PERIOD_MS apart
 * (once a second while it is under half of every limit):
 * with rlimits, it sums the resident anonymous memory of every process
 * inside and SIGKILLs the largest while the sum is over the limit (an
 * rlimit only bounds one process), and notes when the tasks reach the
 * pids limit (a refused fork tells nobody); with cgroup v2, it reads the
 * cgroup's counters. Each limit hit is an event, one per episode.
 *
 * It reads /proc/<pid>/task (the directory), /proc/<pid>/task/<tid>/
 * children, /proc/<pid>/statm, and for a process it kills, status and
 * exe (or, with cgroups, the cgroup's pids.current, memory.current and
 * memory.events), and uses timerfd_create, timerfd_settime, pidfd_open
 * and pidfd_send_signal.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/events.h"
#include "sandbox/limits.h"

#define WATCHDOG_PERIOD_MS 200
/* Ticks skipped while the sandbox is under half of every limit. */
#define WATCHDOG_RELAXED_TICKS 4
/* An episode ends after this long under the limit. */
#define WATCHDOG_QUIET_MS 2000

struct watchdog;

/*
 * Starts watching init_pid's sandbox. With the cgroup backend, first
 * makes the sandbox's cgroup and moves init (which waits for the
 * supervisor's go) into it. -errno with why.
 */
int watchdog_new(const struct sandbox_limits *l, const char *name,
		 pid_t init_pid, struct events *ev, struct watchdog **ret,
		 char *why, size_t whylen);
/* The timer to poll for input. */
int watchdog_fd(const struct watchdog *w);
/* One sample: call when watchdog_fd is readable. */
void watchdog_tick(struct watchdog *w);
/* "cgroup2 (/sys/fs/cgroup/...)" or "rlimit", for the start event. */
void watchdog_describe(const struct watchdog *w, char *out, size_t len);
/* After init was reaped: removes the cgroup, frees. */
void watchdog_free(struct watchdog *w);

/* Episodes: the first hit is logged, the rest counted. */
struct watchdog_episode {
	bool active;
	int64_t last_ms; /* the last tick with a hit */
	uint64_t more; /* hits after the one logged */
};

enum watchdog_step {
	WATCHDOG_NONE,
	WATCHDOG_START, /* log this hit */
	WATCHDOG_END, /* the episode ended after ep->more unlogged hits */
};

/* A tick at now_ms that saw hits (0: under the limit). */
enum watchdog_step watchdog_episode(struct watchdog_episode *ep, int64_t now_ms,
				    uint64_t hits);
