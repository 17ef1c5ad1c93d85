/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages for people, on stderr: "brig: what failed: why". Library layers
 * return errors; only the CLI and the supervisor call these.
 */
#pragma once

#include <stdarg.h>

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and returns -err so callers can write "return log_errno(r, ...)". */
int log_errno(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Messages go to this descriptor (the supervisor points it at its log). */
void log_set_fd(int fd);
/* Silences log_info (for -q and for scripts). */
void log_set_quiet(int quiet);
