/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's event log: <dir>/events.jsonl, one JSON object per line
 * with OCSF class numbers (DESIGN.md section 9). Written by the supervisor
 * only, outside the sandbox; never holds a secret or a request body.
 */
#pragma once

#include <sys/types.h>

struct events;

/* Never fails: a log that cannot open makes every emit a no-op. */
struct events *events_open(const char *dir, const char *sandbox);
/* Application Lifecycle (6002): "start", "stop", "delete", "fail". */
void events_lifecycle(struct events *ev, const char *activity,
		      const char *message);
/* Process Activity (1007): "start" or "exit" (status is a wait status). */
void events_process(struct events *ev, const char *activity, pid_t pid,
		    int status);
