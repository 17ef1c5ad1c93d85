/* SPDX-License-Identifier: Apache-2.0 */
/* The system call filter every sandboxed process runs under. */
#pragma once

/*
 * Loads the filter on the calling thread (needs no_new_privs): default
 * allow, a deny list (DESIGN.md section 3), and death for foreign ABIs.
 */
int seccomp_install(void);
