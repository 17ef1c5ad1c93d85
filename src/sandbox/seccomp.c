/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_filter.h"

int
seccomp_install(void)
{
	struct sock_fprog prog = {
		.len = sizeof(seccomp_filter_bpf) / sizeof(struct sock_filter),
		.filter = (struct sock_filter *)seccomp_filter_bpf,
	};

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}
