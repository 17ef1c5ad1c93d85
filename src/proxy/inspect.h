/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTPS inspection of one tunnel (DESIGN.md section 6): TLS terminated
 * with a leaf of the sandbox's CA, a verified TLS connection upstream, and
 * every request on the kept-alive connection read, checked and rewritten
 * (placeholders to real values), every response scrubbed (real values to
 * placeholders). Inspected tunnels are few (API calls that carry
 * credentials), so each runs in a thread of its own with blocking I/O;
 * plain tunnels stay on the epoll loop with splice.
 *
 * Plain-text HTTP to an endpoint that sets allow_uninspected_credentials
 * is run the same way, without the TLS on either side.
 */
#pragma once

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "proxy/proxy.h"

struct creds;

#define INSPECT_IO_MAX (64 * 1024)
#define INSPECT_TIMEOUT_S 300

struct inspect_job {
	int client_fd, upstream_fd; /* connected; the job owns them */
	char host[256];
	uint16_t port;
	SSL_CTX *leaf; /* a reference the job frees */
	SSL_CTX *upstream; /* shared, not freed */
	const struct creds *creds;
	bool body_rewrite; /* request_body_credential_rewrite: true */
	/* allow_uninspected_credentials: true, so placeholders are resolved
	 * in plain text too (the value then crosses the network in clear). */
	bool plain_credentials;
	/* The client's bytes already read by the loop (an absolute-form
	 * request, rewritten to origin form), taken before any new ones.
	 * Set only for plain text; the job frees it. */
	struct buf early;
	unsigned off; /* PROXY_OFF_*, test builds only */
	struct proxy_event ev; /* who and where, for the events */
	char binary[1024];
	char policy[128];
	void (*log)(void *ctx, const struct proxy_event *ev);
	void *ctx;
	int64_t started_ms;
	/* Called once the thread is done with client_fd, before it closes. */
	void (*done)(void *entry);
	void *entry;
};

/* Runs the job in a detached thread; frees it when done. */
int inspect_start(struct inspect_job *job);
