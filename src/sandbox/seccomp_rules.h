/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system call filter's rules, built with libseccomp. They depend on
 * nothing but the architecture, so seccomp_gen compiles them to BPF at
 * build time and the sandbox loads the result (seccomp.c): libseccomp's
 * compilation took 0.7 ms of every start.
 */
#pragma once

#include <seccomp.h>

/* A filter context holding every rule; the caller releases it. */
int seccomp_rules_build(scmp_filter_ctx *ret);
