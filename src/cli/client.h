/* SPDX-License-Identifier: Apache-2.0 */
/* The CLI's side of control.sock: running a command in a sandbox. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Connects to <dir>/control.sock: fd or -errno. */
int client_connect(const char *dir);
/*
 * Runs argv (or a login shell when argv is NULL) in the sandbox behind
 * fd, forwarding the terminal or stdin/stdout/stderr. Returns the exit
 * code (128+signal when killed), or -errno with a message logged.
 */
int client_exec(int fd, char **argv, int argc);
/*
 * Pushes policy revision rev to the supervisor and waits (timeout_ms) for
 * it to be enforced: 0, -EINVAL with why when refused (the previous
 * revision stays in force), -ETIMEDOUT, or another -errno.
 */
int client_policy(int fd, int64_t rev, const char *text, const char *sha256,
		  int timeout_ms, char *why, size_t whylen);
/* Sends a request without payload and waits for the reply or EOF. */
int client_request(int fd, unsigned type);
/* Blocks until the supervisor closes the socket (it has finished). */
void client_wait_closed(int fd);
