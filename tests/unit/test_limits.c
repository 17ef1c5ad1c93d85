/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the resource limits: options, cgroup files, episodes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sandbox/cgroup.h"
#include "sandbox/limits.h"
#include "sandbox/watchdog.h"
#include "tap.h"

static void
size_is(const char *s, int want_r, unsigned long long want)
{
	uint64_t v = 0;
	int r = limits_parse_size(s, &v);

	tap_ok(r == want_r && (r < 0 || v == want),
	       "size '%s': %d %llu (want %d %llu)", s, r, (unsigned long long)v,
	       want_r, want);
}

static void
test_sizes(void)
{
	size_is("0", 0, 0);
	size_is("4096", 0, 4096);
	size_is("512M", 0, 512ULL << 20);
	size_is("512m", 0, 512ULL << 20);
	size_is("2G", 0, 2ULL << 30);
	size_is("2GiB", 0, 2ULL << 30);
	size_is("2gb", 0, 2ULL << 30);
	size_is("64K", 0, 64ULL << 10);
	size_is("1T", 0, 1ULL << 40);
	size_is("16777215T", 0, 16777215ULL << 40);
	size_is("16777216T", -ERANGE, 0);
	size_is("18446744073709551615", 0, 18446744073709551615ULL);
	size_is("18446744073709551616", -ERANGE, 0);
	size_is("123456789012345678901234567890", -ERANGE, 0);
	size_is("", -EINVAL, 0);
	size_is("M", -EINVAL, 0);
	size_is("-1G", -EINVAL, 0);
	size_is("1.5G", -EINVAL, 0);
	size_is("1X", -EINVAL, 0);
	size_is("1GG", -EINVAL, 0);
	size_is("1 G", -EINVAL, 0);
	size_is("1Gi ", -EINVAL, 0);
	size_is("1P", -EINVAL, 0);
}

static void
cpus_is(const char *s, int want_r, unsigned long long want)
{
	uint64_t v = 0;
	int r = limits_parse_cpus(s, &v);

	tap_ok(r == want_r && (r < 0 || v == want),
	       "cpus '%s': %d %llu (want %d %llu)", s, r, (unsigned long long)v,
	       want_r, want);
}

static void
test_cpus(void)
{
	cpus_is("1", 0, 1000);
	cpus_is("1.5", 0, 1500);
	cpus_is("0.25", 0, 250);
	cpus_is(".5", 0, 500);
	cpus_is("2.125", 0, 2125);
	cpus_is("0.001", 0, 1);
	cpus_is("4096", 0, 4096000);
	cpus_is("4096.001", -ERANGE, 0);
	cpus_is("0", -ERANGE, 0);
	cpus_is("0.000", -ERANGE, 0);
	cpus_is("1.2345", -ERANGE, 0);
	cpus_is("99999999", -ERANGE, 0);
	cpus_is("", -EINVAL, 0);
	cpus_is(".", -EINVAL, 0);
	cpus_is("1.", -EINVAL, 0);
	cpus_is("-1", -EINVAL, 0);
	cpus_is("1,5", -EINVAL, 0);
	cpus_is("1.5x", -EINVAL, 0);
	cpus_is("all", -EINVAL, 0);
}

static void
test_defaults(void)
{
	struct limits_host small = { .ram = 2ULL << 30,
				     .ncpus = 2,
				     .nofile_max = 1024 };
	struct limits_host big = { .ram = 256ULL << 30,
				   .ncpus = 64,
				   .nofile_max = 1 << 20 };
	struct sandbox_limits l = { 0 };

	limits_defaults(&l, &small);
	TAP_EQ_INT(l.pids, LIMITS_DEFAULT_PIDS, "defaults: 1024 tasks");
	TAP_EQ_INT(l.memory, 1ULL << 30, "defaults: half of 2 GiB");
	TAP_EQ_INT(l.files, 1024, "defaults: files under the hard limit");
	TAP_EQ_INT(l.cpus_milli, 0, "defaults: all CPUs");
	tap_ok(!l.memory_per_process, "defaults: no per-process memory cap");
	l = (struct sandbox_limits){ 0 };
	limits_defaults(&l, &big);
	TAP_EQ_INT(l.pids, 64 * LIMITS_DEFAULT_PIDS_PER_CPU,
		   "defaults: tasks grow with the CPUs");
	TAP_EQ_INT(l.memory, 8ULL << 30, "defaults: memory at most 8 GiB");
	TAP_EQ_INT(l.files, LIMITS_DEFAULT_FILES, "defaults: 4096 files");
	big.nproc_max = 1000;
	l = (struct sandbox_limits){ 0 };
	limits_defaults(&l, &big);
	TAP_EQ_INT(l.pids, 1000 - LIMITS_INIT_RESERVE,
		   "defaults: tasks and init's reserve under the hard limit");
	l = (struct sandbox_limits){ .pids = 64, .memory = 256 << 20 };
	limits_defaults(&l, &big);
	tap_ok(l.pids == 64 && l.memory == 256 << 20,
	       "defaults: given values stay");
}

static void
test_format(void)
{
	struct sandbox_limits l = { .pids = 64,
				    .memory = 256ULL << 20,
				    .files = 4096 };
	char out[LIMITS_TEXT_MAX];

	limits_format_bytes(256ULL << 20, out, sizeof(out));
	tap_ok(strcmp(out, "256 MiB") == 0, "bytes: '%s'", out);
	limits_format_bytes(3ULL << 29, out, sizeof(out));
	tap_ok(strcmp(out, "1.5 GiB") == 0, "bytes: '%s'", out);
	limits_format_bytes(1000, out, sizeof(out));
	tap_ok(strcmp(out, "1000 bytes") == 0, "bytes: '%s'", out);
	limits_format_bytes(2048, out, sizeof(out));
	tap_ok(strcmp(out, "2 KiB") == 0, "bytes: '%s'", out);
	limits_format_cpus(1500, out, sizeof(out));
	tap_ok(strcmp(out, "1.5") == 0, "cpus: '%s'", out);
	limits_format_cpus(2000, out, sizeof(out));
	tap_ok(strcmp(out, "2") == 0, "cpus: '%s'", out);
	limits_format_cpus(250, out, sizeof(out));
	tap_ok(strcmp(out, "0.25") == 0, "cpus: '%s'", out);
	limits_format_cpus(2125, out, sizeof(out));
	tap_ok(strcmp(out, "2.125") == 0, "cpus: '%s'", out);
	limits_describe(&l, out, sizeof(out));
	tap_ok(strcmp(out, "pids 64, memory 256 MiB, cpus all, files 4096") ==
		   0,
	       "describe: '%s'", out);
	tap_ok(strcmp(limits_backend_name(LIMITS_CGROUP), "cgroup2") == 0 &&
		   strcmp(limits_backend_name(LIMITS_RLIMIT), "rlimit") == 0,
	       "backend names");
}

static const char mountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "25 22 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
    "26 25 0:23 / /sys/fs/cgroup ro shared:8 - tmpfs tmpfs ro,mode=755\n"
    "27 26 0:24 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate\n"
    "28 26 0:25 / /sys/fs/cgroup/memory rw shared:10 - cgroup cgroup "
    "rw,memory\n";

static void
dir_is(const char *mi, const char *self, int want_r, const char *want)
{
	char out[LIMITS_PATH_MAX] = "";
	int r = cgroup_find_dir(mi, self, out, sizeof(out));

	tap_ok(r == want_r && (r < 0 || strcmp(out, want) == 0),
	       "cgroup dir: %d '%s' (want %d '%s')", r, out, want_r,
	       want ? want : "");
}

static void
test_cgroup_dir(void)
{
	char small[16];

	dir_is(mountinfo, "4:memory:/x\n0::/\n", 0, "/sys/fs/cgroup/unified");
	dir_is(mountinfo, "0::/user.slice/user-1000.slice/app.service\n", 0,
	       "/sys/fs/cgroup/unified/user.slice/user-1000.slice/"
	       "app.service");
	dir_is(mountinfo, "4:memory:/x\n", -ENOENT, NULL);
	dir_is(mountinfo, "0::\n", -ENOENT, NULL);
	dir_is(mountinfo, "10:0::/a\n", -ENOENT, NULL);
	dir_is("27 26 0:24 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
	       "0::/a/b\n", 0, "/sys/fs/cgroup/a/b");
	/* A container's mount of a sub-tree: its root is a path. */
	dir_is("27 26 0:24 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 "
	       "cgroup2 rw\n",
	       "0::/kubepods/pod1/c1\n", 0, "/sys/fs/cgroup/c1");
	dir_is("27 26 0:24 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 "
	       "cgroup2 rw\n",
	       "0::/kubepods/pod10\n", -ENOENT, NULL);
	dir_is("27 26 0:24 / /sys/fs/cgroup rw - cgroup cgroup rw,pids\n",
	       "0::/\n", -ENOENT, NULL);
	dir_is("27 26 0:24 / /a\\040b rw - cgroup2 cgroup2 rw\n", "0::/\n",
	       -ENOENT, NULL);
	dir_is("garbage\n\n - \n", "0::/\n", -ENOENT, NULL);
	tap_ok(cgroup_find_dir(mountinfo, "0::/a/long/path\n", small,
			       sizeof(small)) == -ENAMETOOLONG,
	       "cgroup dir: a path that does not fit is refused");
}

static void
test_cgroup_files(void)
{
	const char events[] = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n";
	char out[64];
	uint64_t v = 99;

	tap_ok(cgroup_has_word("cpuset cpu io memory pids\n", "cpu"),
	       "controllers: cpu");
	tap_ok(cgroup_has_word("cpuset cpu io memory pids\n", "pids"),
	       "controllers: pids, last");
	tap_ok(!cgroup_has_word("cpuset io memory\n", "cpu"),
	       "controllers: cpuset is not cpu");
	tap_ok(!cgroup_has_word("hugetlb\n", "memory"),
	       "controllers: memory missing");
	tap_ok(!cgroup_has_word("", "pids"), "controllers: none");
	cgroup_format_cpu_max(1500, out, sizeof(out));
	tap_ok(strcmp(out, "150000 100000") == 0, "cpu.max: '%s'", out);
	cgroup_format_cpu_max(1, out, sizeof(out));
	tap_ok(strcmp(out, "100 100000") == 0, "cpu.max: '%s'", out);
	tap_ok(cgroup_read_key(events, "oom_kill", &v) == 0 && v == 2,
	       "memory.events: oom_kill");
	tap_ok(cgroup_read_key(events, "oom", &v) == 0 && v == 3,
	       "memory.events: oom is not oom_kill");
	tap_ok(cgroup_read_key(events, "max", &v) == 0 && v == 12,
	       "memory.events: max");
	TAP_EQ_INT(cgroup_read_key(events, "min", &v), -ENOENT,
		   "memory.events: a missing key");
	TAP_EQ_INT(cgroup_read_key("max x\n", "max", &v), -EBADMSG,
		   "pids.events: a bad value");
	TAP_EQ_INT(cgroup_read_key("max \n", "max", &v), -EBADMSG,
		   "pids.events: an empty value");
}

static void
test_episodes(void)
{
	struct watchdog_episode ep = { 0 };

	TAP_EQ_INT(watchdog_episode(&ep, 1000, 0), WATCHDOG_NONE,
		   "episode: nothing under the limit");
	TAP_EQ_INT(watchdog_episode(&ep, 1200, 1), WATCHDOG_START,
		   "episode: the first hit is logged");
	TAP_EQ_INT(watchdog_episode(&ep, 1400, 2), WATCHDOG_NONE,
		   "episode: later hits are counted");
	TAP_EQ_INT(watchdog_episode(&ep, 1600, 0), WATCHDOG_NONE,
		   "episode: a short pause does not end it");
	TAP_EQ_INT(watchdog_episode(&ep, 2000, 1), WATCHDOG_NONE,
		   "episode: hits again within it");
	TAP_EQ_INT(ep.more, 3, "episode: three more hits");
	TAP_EQ_INT(watchdog_episode(&ep, 2000 + WATCHDOG_QUIET_MS, 0),
		   WATCHDOG_END, "episode: ends after the quiet time");
	TAP_EQ_INT(watchdog_episode(&ep, 9000, 1), WATCHDOG_START,
		   "episode: a new one is logged again");
	TAP_EQ_INT(ep.more, 0, "episode: the new one counts from 0");
	TAP_EQ_INT(watchdog_episode(&ep, 9000 + WATCHDOG_QUIET_MS, 0),
		   WATCHDOG_NONE, "episode: one hit alone ends quietly");
}

int main(void);
int
main(void)
{
	test_sizes();
	test_cpus();
	test_defaults();
	test_format();
	test_cgroup_dir();
	test_cgroup_files();
	test_episodes();
	return tap_done();
}
