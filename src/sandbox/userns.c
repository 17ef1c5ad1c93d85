/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/fdutil.h"
#include "common/util.h"

#define ROOT_HOST_UID_BASE 2147000000u
#define ROOT_HOST_UID_COUNT 400000u

static int
write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	return write_file_at(AT_FDCWD, path, text, 0);
}

int
userns_write_maps(pid_t pid, uid_t inside_uid, gid_t inside_gid, uid_t host_uid,
		  gid_t host_gid)
{
	char map[64];
	int r = 0;

	if (geteuid() != 0)
		r = write_proc(pid, "setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", inside_uid, host_uid);
	if (r == 0)
		r = write_proc(pid, "uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", inside_gid, host_gid);
	if (r == 0)
		r = write_proc(pid, "gid_map", map);
	return r;
}

uid_t
userns_root_host_uid(long long sandbox_id)
{
	return ROOT_HOST_UID_BASE +
	       (uid_t)((unsigned long long)sandbox_id % ROOT_HOST_UID_COUNT);
}
