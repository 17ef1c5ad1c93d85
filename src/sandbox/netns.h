/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox's network namespace, set up by init while it still holds
 * capabilities there (DESIGN.md section 4): lo up, the synthetic range
 * made local to lo, and unprivileged binds on every port (inside this
 * namespace only) so that init can open capture listeners later.
 */
#pragma once

#include <stdint.h>

/* 198.18.0.0/15: the synthetic addresses the DNS stub hands out. */
#define NETNS_SYNTH_NET 0xc6120000u
#define NETNS_SYNTH_PREFIX 15
#define NETNS_PROXY_PORT 3128
#define NETNS_DNS_PORT 53

/* Fills why on failure. */
int netns_setup(char *why, size_t whylen);
/* A TCP listener (non-blocking, CLOEXEC) on addr:port, host byte order. */
int netns_listen_tcp(uint32_t addr, uint16_t port);
/* A UDP socket bound on addr:port. */
int netns_bind_udp(uint32_t addr, uint16_t port);
