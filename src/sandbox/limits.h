/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-sandbox resource limits: tasks, memory, CPUs and open files
 * (sandbox create --pids --memory --cpus --files). Two backends, chosen
 * when the sandbox is created: a cgroup v2 child of the caller's own
 * cgroup where the caller may make one (cgroup.c), and otherwise rlimits
 * that init sets before anything runs inside, with the supervisor's
 * watchdog for what rlimits cannot see (watchdog.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds of the options; a value outside them is a usage error. */
#define LIMITS_PIDS_MIN 8
#define LIMITS_PIDS_MAX 4194304 /* the kernel's PID_MAX_LIMIT */
#define LIMITS_MEMORY_MIN (32ULL << 20)
#define LIMITS_MEMORY_MAX (1ULL << 50)
#define LIMITS_FILES_MIN 16
#define LIMITS_FILES_MAX 1048576 /* fs.nr_open's default */
#define LIMITS_CPUS_MAX_MILLI (4096ULL * 1000)

/* Defaults: what node, npm, git and compilers live with. */
#define LIMITS_DEFAULT_PIDS 1024
#define LIMITS_DEFAULT_PIDS_PER_CPU 32
#define LIMITS_DEFAULT_MEMORY_CAP (8ULL << 30)
#define LIMITS_DEFAULT_FILES 4096

/*
 * Tasks init may start beyond the limit, so that `sandbox exec` still
 * works while a fork bomb holds every slot the limit allows.
 */
#define LIMITS_INIT_RESERVE 16

#define LIMITS_PATH_MAX 512
#define LIMITS_TEXT_MAX 160

enum limits_backend {
	LIMITS_RLIMIT,
	LIMITS_CGROUP,
};

struct sandbox_limits {
	uint64_t pids; /* tasks (processes and threads) in the sandbox */
	uint64_t memory; /* bytes, the whole sandbox */
	uint64_t cpus_milli; /* thousandths of a CPU; 0 means all */
	uint64_t files; /* open files, per process */
	/* --memory was given: with rlimits, each process's address space
	 * (RLIMIT_AS) is capped at it too. */
	bool memory_per_process;
	enum limits_backend backend;
	/* The cgroup backend: the caller's cgroup directory, where the
	 * sandbox's own cgroup is made. */
	char cgroup_parent[LIMITS_PATH_MAX];
	/* Why cgroup v2 is not the backend, for the start event. */
	char note[LIMITS_PATH_MAX];
};

/*
 * A size: digits and an optional binary suffix K, M, G or T (any case,
 * "KiB" and "KB" read the same). 0, -EINVAL (not a size) or -ERANGE.
 */
int limits_parse_size(const char *s, uint64_t *ret);
/* A CPU count such as "2" or "1.5" (at most 3 decimals), > 0, in
 * thousandths. 0, -EINVAL or -ERANGE. */
int limits_parse_cpus(const char *s, uint64_t *ret_milli);

/* What host the defaults are computed for. */
struct limits_host {
	uint64_t ram; /* bytes of physical memory */
	long ncpus; /* CPUs this process may run on */
	uint64_t nofile_max; /* hard RLIMIT_NOFILE */
	uint64_t nproc_max; /* hard RLIMIT_NPROC */
};

/* Fills every limit left 0 with its default for host h. */
void limits_defaults(struct sandbox_limits *l, const struct limits_host *h);
/* This host: physical memory, CPUs, the hard RLIMIT_NOFILE. */
void limits_host(struct limits_host *h);

/*
 * Whether init, which cannot raise a hard rlimit, can set these: -EPERM
 * with why when a value is above the caller's hard limit.
 */
int limits_check_rlimits(const struct sandbox_limits *l, char *why,
			 size_t whylen);

/* "256 MiB", "1.5 GiB", "512 KiB", "100 bytes". */
void limits_format_bytes(uint64_t n, char *out, size_t len);
/* "1.5", "2": a CPU count from thousandths. */
void limits_format_cpus(uint64_t milli, char *out, size_t len);
/* "pids 64, memory 256 MiB, cpus all, files 4096". */
void limits_describe(const struct sandbox_limits *l, char *out, size_t len);
const char *limits_backend_name(enum limits_backend b);

/*
 * In init, before anything runs inside: its own task limit (the limit
 * plus LIMITS_INIT_RESERVE) and, for --cpus without cgroups, its CPU
 * affinity, which every process inside inherits. -errno.
 */
int limits_apply_init(const struct sandbox_limits *l);
/* In each process init starts, before execve: the per-process rlimits. */
int limits_apply_process(const struct sandbox_limits *l);
