/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The egress proxy (DESIGN.md section 4): one epoll loop in the
 * supervisor, fed by listeners made inside the sandbox's network
 * namespace. Every connection goes through one pipeline: identify the
 * caller, match the policy, resolve and check every address, dial, relay
 * with splice(2), and record the decision.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy/policy.h"

struct creds;
struct tls_ca;
struct ssl_ctx_st;

#define PROXY_MAX_CONNS 16384
#define PROXY_MAX_CONNECT_TO 64
#define PROXY_CONNECT_TIMEOUT_MS 10000
#define PROXY_HEAD_TIMEOUT_MS 10000
#define PROXY_IDLE_TIMEOUT_MS (60 * 60 * 1000)

/*
 * The proxy's walls that a test build may switch off (BRIG_TEST_DISABLE,
 * see src/sandbox/switches.c); always 0 in a normal build.
 */
#define PROXY_OFF_SSRF 0x20000 /* every address allowed, every spelling */
#define PROXY_OFF_HOST_CHECK 0x40000 /* Host, SNI and target may differ */
#define PROXY_OFF_IDENT 0x80000 /* writable code counts; one holder will do */
#define PROXY_OFF_CRED_BINDING 0x100000 /* values go to any host */
#define PROXY_OFF_SCRUB 0x200000 /* responses keep real values */
#define PROXY_OFF_LEAK_CHECK 0x400000 /* real values may go out */
#define PROXY_OFF_LIMITS 0x800000 /* no head timeout, no connection budget */

/* One decision or one close, for the event log. */
struct proxy_event {
	bool allow;
	bool closed;
	const char *host;
	uint16_t port;
	const char *binary;
	pid_t pid;
	const char *policy;
	const char *reason;
	const char *method;
	const char *path;
	uint64_t bytes_in, bytes_out, duration_ms;
};

/* An operator's --connect-to HOST:PORT:ADDR:PORT: trusted, loopback too. */
struct proxy_connect_to {
	char host[256];
	uint16_t port;
	char addr[64];
	uint16_t to_port;
};

struct proxy_config {
	pid_t init_pid; /* host pid of sandbox init */
	int diagfd; /* NETLINK_SOCK_DIAG inside the sandbox */
	const char *const *writable; /* sandbox-writable path prefixes */
	const struct proxy_connect_to *connect_to;
	size_t nconnect_to;
	/* Names the DNS stub handed out synthetic addresses for. */
	const char *(*synthetic_name)(void *ctx, uint32_t addr);
	void (*log)(void *ctx, const struct proxy_event *ev);
	void *ctx;
	/* HTTPS inspection, for sandboxes with credentials (else NULL). */
	const struct creds *creds;
	struct tls_ca *ca;
	struct ssl_ctx_st *upstream_ctx;
	unsigned off; /* PROXY_OFF_* */
};

struct proxy;

/* The proxy's own epoll descriptor is proxy_fd(); poll it for input. */
int proxy_new(const struct proxy_config *cfg, const struct policy *p,
	      struct proxy **ret);
int proxy_fd(const struct proxy *px);
/* An explicit proxy listener (CONNECT, absolute-form) or a capture one. */
int proxy_add_listener(struct proxy *px, int fd, bool capture);
/* Handles whatever is ready, without blocking. */
void proxy_dispatch(struct proxy *px);
/*
 * Swaps the policy (the caller keeps the old one alive until this
 * returns) and closes open tunnels that it no longer allows, logging each.
 */
void proxy_set_policy(struct proxy *px, const struct policy *p);
/* Parses "HOST:PORT:ADDR:PORT" (ADDR may be [v6]). */
int proxy_parse_connect_to(const char *s, struct proxy_connect_to *ret);
size_t proxy_open_conns(const struct proxy *px);
