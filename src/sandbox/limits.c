/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox/limits.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "common/parse.h"
#include "common/util.h"

/* The shift of a suffix (K 10, M 20, G 30, T 40), 0 for none, -1 bad. */
static int
size_shift(const char *s)
{
	static const char units[] = "KMGT";
	const char *u;

	if (!*s)
		return 0;
	u = strchr(units, toupper((unsigned char)*s));
	if (!u || !*u)
		return -1;
	s++;
	if (*s == 'i' || *s == 'I')
		s++;
	if (*s == 'B' || *s == 'b')
		s++;
	return *s ? -1 : 10 * (int)(u - units + 1);
}

int
limits_parse_size(const char *s, uint64_t *ret)
{
	char digits[24];
	size_t n = strspn(s, "0123456789");
	uint64_t v;
	int shift;

	if (n == 0 || n >= sizeof(digits))
		return n ? -ERANGE : -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	shift = size_shift(s + n);
	if (shift < 0)
		return -EINVAL;
	if (parse_u64(digits, 0, UINT64_MAX, &v) < 0)
		return -ERANGE;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

int
limits_parse_cpus(const char *s, uint64_t *ret_milli)
{
	size_t whole = strspn(s, "0123456789"), frac = 0;
	uint64_t v = 0;

	if (s[whole] == '.') {
		frac = strspn(s + whole + 1, "0123456789");
		if (frac == 0 || s[whole + 1 + frac])
			return -EINVAL;
	} else if (s[whole]) {
		return -EINVAL;
	}
	if (whole == 0 && frac == 0)
		return -EINVAL;
	if (frac > 3 || whole > 7)
		return -ERANGE;
	for (size_t i = 0; i < whole; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	v *= 1000;
	for (size_t i = 0, mul = 100; i < frac; i++, mul /= 10)
		v += (uint64_t)(s[whole + 1 + i] - '0') * mul;
	if (v == 0 || v > LIMITS_CPUS_MAX_MILLI)
		return -ERANGE;
	*ret_milli = v;
	return 0;
}

/*
 * Threads count as tasks: a build with a worker per CPU, each with a
 * dozen threads, needs room that grows with the machine. Init needs its
 * reserve under the hard limit it inherits.
 */
static uint64_t
default_pids(const struct limits_host *h)
{
	uint64_t n = (uint64_t)(h->ncpus > 0 ? h->ncpus : 1) *
		     LIMITS_DEFAULT_PIDS_PER_CPU;

	if (n < LIMITS_DEFAULT_PIDS)
		n = LIMITS_DEFAULT_PIDS;
	if (h->nproc_max && n + LIMITS_INIT_RESERVE > h->nproc_max)
		n = h->nproc_max > LIMITS_INIT_RESERVE
			? h->nproc_max - LIMITS_INIT_RESERVE
			: 0;
	return n < LIMITS_PIDS_MIN ? LIMITS_PIDS_MIN : n;
}

void
limits_defaults(struct sandbox_limits *l, const struct limits_host *h)
{
	if (!l->pids)
		l->pids = default_pids(h);
	if (!l->memory) {
		l->memory = h->ram / 2;
		if (l->memory > LIMITS_DEFAULT_MEMORY_CAP)
			l->memory = LIMITS_DEFAULT_MEMORY_CAP;
		if (l->memory < LIMITS_MEMORY_MIN)
			l->memory = LIMITS_MEMORY_MIN;
	}
	if (!l->files) {
		l->files = LIMITS_DEFAULT_FILES;
		if (h->nofile_max && l->files > h->nofile_max)
			l->files = h->nofile_max;
	}
}

void
limits_host(struct limits_host *h)
{
	struct sysinfo si;
	struct rlimit rl;
	cpu_set_t set;

	memset(h, 0, sizeof(*h));
	if (sysinfo(&si) == 0)
		h->ram = (uint64_t)si.totalram * si.mem_unit;
	h->ncpus = sched_getaffinity(0, sizeof(set), &set) == 0
		       ? CPU_COUNT(&set)
		       : sysconf(_SC_NPROCESSORS_ONLN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		h->nofile_max = rl.rlim_max;
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
		h->nproc_max = rl.rlim_max;
}

/* Whether v fits under resource's hard limit; says why not. */
static bool
under_hard(int resource, uint64_t v, const char *what, const char *ulimit,
	   char *why, size_t whylen)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0 || rl.rlim_max == RLIM_INFINITY ||
	    v <= rl.rlim_max)
		return true;
	snprintf(why, whylen,
		 "%s %llu is above this account's hard limit of %llu "
		 "('ulimit -H%s'), which the sandbox cannot raise",
		 what, (unsigned long long)v, (unsigned long long)rl.rlim_max,
		 ulimit);
	return false;
}

int
limits_check_rlimits(const struct sandbox_limits *l, char *why, size_t whylen)
{
	if (!under_hard(RLIMIT_NOFILE, l->files, "--files", "n", why, whylen))
		return -EPERM;
	if (!under_hard(RLIMIT_NPROC, l->pids + LIMITS_INIT_RESERVE,
			"--pids (plus init's reserve)", "u", why, whylen))
		return -EPERM;
	if (l->memory_per_process && l->backend == LIMITS_RLIMIT &&
	    !under_hard(RLIMIT_AS, l->memory, "--memory", "v", why, whylen))
		return -EPERM;
	return 0;
}

void
limits_format_bytes(uint64_t n, char *out, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	int u = -1;

	while (u < 3 && n >= (1024ULL << (10 * (u + 1))))
		u++;
	if (u < 0) {
		snprintf(out, len, "%llu bytes", (unsigned long long)n);
		return;
	}
	if (n % (1ULL << (10 * (u + 1))) == 0)
		snprintf(out, len, "%llu %s",
			 (unsigned long long)(n >> (10 * (u + 1))), units[u]);
	else
		snprintf(out, len, "%.1f %s",
			 (double)n / (double)(1ULL << (10 * (u + 1))),
			 units[u]);
}

void
limits_format_cpus(uint64_t milli, char *out, size_t len)
{
	int frac = (int)(milli % 1000);

	if (frac == 0)
		snprintf(out, len, "%llu", (unsigned long long)(milli / 1000));
	else if (frac % 100 == 0)
		snprintf(out, len, "%llu.%d",
			 (unsigned long long)(milli / 1000), frac / 100);
	else if (frac % 10 == 0)
		snprintf(out, len, "%llu.%02d",
			 (unsigned long long)(milli / 1000), frac / 10);
	else
		snprintf(out, len, "%llu.%03d",
			 (unsigned long long)(milli / 1000), frac);
}

void
limits_describe(const struct sandbox_limits *l, char *out, size_t len)
{
	char mem[32], cpus[32] = "all";

	limits_format_bytes(l->memory, mem, sizeof(mem));
	if (l->cpus_milli)
		limits_format_cpus(l->cpus_milli, cpus, sizeof(cpus));
	snprintf(out, len, "pids %llu, memory %s, cpus %s, files %llu",
		 (unsigned long long)l->pids, mem, cpus,
		 (unsigned long long)l->files);
}

const char *
limits_backend_name(enum limits_backend b)
{
	return b == LIMITS_CGROUP ? "cgroup2" : "rlimit";
}

static int
set_limit(int resource, uint64_t v)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

/* The first ceil(cpus) of the CPUs init may run on. */
static int
set_affinity(uint64_t milli)
{
	uint64_t want = (milli + 999) / 1000, got = 0;
	cpu_set_t allowed, set;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -errno;
	CPU_ZERO(&set);
	for (int cpu = 0; cpu < CPU_SETSIZE && got < want; cpu++) {
		if (CPU_ISSET(cpu, &allowed)) {
			CPU_SET(cpu, &set);
			got++;
		}
	}
	if (got == (uint64_t)CPU_COUNT(&allowed))
		return 0;
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

int
limits_apply_init(const struct sandbox_limits *l)
{
	int r = 0;

	/*
	 * Since Linux 5.14, RLIMIT_NPROC counts the tasks of a uid in one
	 * user namespace (ucounts): the sandbox's own, never the host
	 * user's other processes nor another sandbox's. It is set with
	 * cgroups too: it is what leaves init its reserve, since pids.max
	 * cannot tell init's forks from the others.
	 */
	if (l->pids)
		r = set_limit(RLIMIT_NPROC, l->pids + LIMITS_INIT_RESERVE);
	if (r == 0 && l->cpus_milli && l->backend == LIMITS_RLIMIT)
		r = set_affinity(l->cpus_milli);
	return r;
}

int
limits_apply_process(const struct sandbox_limits *l)
{
	int r = l->files ? set_limit(RLIMIT_NOFILE, l->files) : 0;

	if (r == 0 && l->pids)
		r = set_limit(RLIMIT_NPROC, l->pids);
	if (r == 0 && l->memory_per_process && l->memory &&
	    l->backend == LIMITS_RLIMIT)
		r = set_limit(RLIMIT_AS, l->memory);
	return r;
}
