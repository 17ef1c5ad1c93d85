/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The supervisor's own system call filter: an allow list, EPERM for the
 * rest, death for foreign ABIs. Like the sandbox's (seccomp_rules.h), it
 * depends on nothing but the architecture, so seccomp_gen compiles it to
 * BPF at build time.
 */
#pragma once

#include <seccomp.h>

/* A filter context holding every rule; the caller releases it. */
int selfconfine_rules_build(scmp_filter_ctx *ret);
