/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fdutil.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/paths.h"
#include "common/util.h"
#include "tap.h"

/*
 * TAP_EQ_INT evaluates its arguments twice, which would run a call with
 * side effects twice; this evaluates them once.
 */
static void
eq(long long got, long long want, const char *name)
{
	tap_ok(got == want, "%s (got %lld, want %lld)", name, got, want);
}

static void
eq_str(const char *got, const char *want, const char *name)
{
	tap_ok(streq(got, want), "%s (got '%s', want '%s')", name,
	       got ? got : "(null)", want);
}

static bool
exists(const char *base, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", base, name);
	struct stat st;

	return lstat(p, &st) == 0;
}

static void
test_buf_limit(void)
{
	struct buf b = BUF_INIT(8);

	eq_str(buf_str(&b), "", "an empty buffer is an empty string");
	eq(buf_append(&b, "abcd", 4), 0, "append 4 of 8");
	eq(buf_puts(&b, "efgh"), 0, "append up to the cap");
	eq(buf_puts(&b, "i"), -E2BIG, "one byte past the cap is -E2BIG");
	eq(b.len, 8, "a refused append changes nothing");
	tap_ok(b.data[8] == '\0', "the data stays NUL-terminated");
	eq_str(buf_str(&b), "abcdefgh", "contents");
	buf_reset(&b);
	eq(buf_printf(&b, "%d-%s", 12345, "abcd"), -E2BIG,
	   "printf past the cap is -E2BIG");
	eq(b.len, 0, "and leaves the buffer as it was");
	eq(buf_printf(&b, "%d-%s", 42, "ab"), 0, "printf within the cap");
	eq_str(buf_str(&b), "42-ab", "printf output");
	buf_free(&b);
}

static void
test_buf_misc(void)
{
	struct buf b = BUF_INIT(1 << 20);
	char *p;

	for (int i = 0; i < 1000; i++)
		buf_puts(&b, "0123456789");
	eq(b.len, 10000, "the buffer grows to 10000 bytes");
	tap_ok(b.data[b.len] == '\0', "grown data is NUL-terminated");
	eq(buf_append(&b, "x", SIZE_MAX), -E2BIG, "a huge append is refused");
	p = buf_steal(&b);
	tap_ok(p && strlen(p) == 10000 && b.data == NULL && b.len == 0,
	       "buf_steal hands over the data");
	free(p);
	b = BUF_INIT(0);
	p = buf_steal(&b);
	eq_str(p, "", "stealing an empty buffer gives an empty string");
	free(p);
}

static void
test_parse_u64(void)
{
	uint64_t v = 0;

	eq(parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0,
	   "UINT64_MAX parses");
	tap_ok(v == UINT64_MAX, "to UINT64_MAX");
	eq(parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE,
	   "UINT64_MAX + 1 is -ERANGE");
	eq(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE,
	   "a long number is -ERANGE");
	eq(parse_u64("12a", 0, 100, &v), -EINVAL, "trailing junk is -EINVAL");
	eq(parse_u64("", 0, 100, &v), -EINVAL, "empty is -EINVAL");
	eq(parse_u64(NULL, 0, 100, &v), -EINVAL, "NULL is -EINVAL");
	eq(parse_u64("-1", 0, 100, &v), -EINVAL, "a sign is -EINVAL");
	eq(parse_u64(" 1", 0, 100, &v), -EINVAL, "a space is -EINVAL");
	eq(parse_u64("0x10", 0, 100, &v), -EINVAL, "hex is -EINVAL");
	eq(parse_u64("101", 0, 100, &v), -ERANGE, "above max is -ERANGE");
	eq(parse_u64("4", 5, 100, &v), -ERANGE, "below min is -ERANGE");
	v = 7;
	parse_u64("1000", 0, 100, &v);
	eq(v, 7, "a failed parse leaves the result alone");
	eq(parse_u64("100", 5, 100, &v), 0, "max itself parses");
	eq(parse_u64("5", 5, 100, &v), 0, "min itself parses");
	eq(v, 5, "to 5");
}

static void
test_parse_duration(void)
{
	uint64_t v = 0;

	eq(parse_duration("5m", &v), 0, "5m parses");
	eq(v, 300, "5m is 300 s");
	parse_duration("2h", &v);
	eq(v, 7200, "2h is 7200 s");
	parse_duration("10", &v);
	eq(v, 10, "10 is 10 s");
	parse_duration("30s", &v);
	eq(v, 30, "30s is 30 s");
	parse_duration("1d", &v);
	eq(v, 86400, "1d is 86400 s");
	eq(parse_duration("x", &v), -EINVAL, "x is -EINVAL");
	eq(parse_duration("m", &v), -EINVAL, "a bare unit is -EINVAL");
	eq(parse_duration("", &v), -EINVAL, "empty is -EINVAL");
	eq(parse_duration("5w", &v), -EINVAL, "an unknown unit is -EINVAL");
	eq(parse_duration("5mm", &v), -EINVAL, "two units are -EINVAL");
	eq(parse_duration("-5m", &v), -EINVAL, "a negative is -EINVAL");
	eq(parse_duration("999999999999999999d", &v), -ERANGE,
	   "an overflowing duration is -ERANGE");
}

static void
test_json_str(void)
{
	struct buf b = BUF_INIT(256);

	eq(json_str(&b, "a\"b\\c/d"), 0, "escape quote and backslash");
	eq_str(buf_str(&b), "\"a\\\"b\\\\c/d\"", "quote and backslash");
	buf_reset(&b);
	json_str(&b, "\n\t\r\x01\x1f\x7f");
	eq_str(buf_str(&b), "\"\\n\\t\\r\\u0001\\u001f\\u007f\"",
	       "control characters");
	buf_reset(&b);
	json_str(&b, "h\xc3\xa9");
	eq_str(buf_str(&b), "\"h\xc3\xa9\"", "UTF-8 passes through");
	buf_reset(&b);
	json_str(&b, NULL);
	eq_str(buf_str(&b), "\"\"", "NULL is an empty string");
	buf_free(&b);
	b = BUF_INIT(4);
	eq(json_str(&b, "abcdef"), -E2BIG, "a string past the cap is -E2BIG");
	buf_free(&b);
}

static void
test_json_kv(void)
{
	struct buf b = BUF_INIT(256);

	buf_puts(&b, "{");
	eq(json_kv_str(&b, "a", "x\"y"), 0, "kv_str");
	eq(json_kv_int(&b, "n", -5), 0, "kv_int");
	json_kv_int(&b, "big", INT64_MAX);
	eq(json_kv_bool(&b, "t", 1), 0, "kv_bool");
	json_kv_bool(&b, "f", 0);
	json_kv_str(&b, "z", NULL);
	json_key(&b, "arr");
	buf_puts(&b, "[");
	json_key(&b, NULL);
	buf_puts(&b, "1");
	json_key(&b, NULL);
	buf_puts(&b, "2]}");
	eq_str(buf_str(&b),
	       "{\"a\":\"x\\\"y\",\"n\":-5,\"big\":9223372036854775807,"
	       "\"t\":true,\"f\":false,\"z\":null,\"arr\":[1,2]}",
	       "an object with every kind of member");
	buf_free(&b);
}

static void
test_valid_name(void)
{
	char long_name[65];

	tap_ok(paths_valid_name("a") && paths_valid_name("web-1") &&
		   paths_valid_name("0abc"),
	       "plain names are valid");
	tap_ok(!paths_valid_name("") && !paths_valid_name(NULL) &&
		   !paths_valid_name("-a"),
	       "empty, NULL and a leading dash are not");
	tap_ok(!paths_valid_name("A") && !paths_valid_name("a_b") &&
		   !paths_valid_name("a.b") && !paths_valid_name("a/b") &&
		   !paths_valid_name("..") && !paths_valid_name("a b"),
	       "capitals, punctuation and slashes are not");
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	tap_ok(paths_valid_name(long_name), "63 characters are valid");
	long_name[63] = 'a';
	long_name[64] = '\0';
	tap_ok(!paths_valid_name(long_name), "64 are not");
}

static void
test_mkdir_p(const char *base)
{
	_cleanup_free_ char *deep = xasprintf("%s/mk/a/b/c", base);
	_cleanup_free_ char *file = xasprintf("%s/mk/file", base);
	_cleanup_free_ char *under = xasprintf("%s/mk/file/x", base);
	struct stat st;

	eq(mkdir_p(deep, 0700), 0, "mkdir_p makes a deep path");
	tap_ok(stat(deep, &st) == 0 && S_ISDIR(st.st_mode) &&
		   (st.st_mode & 0777) == 0700,
	       "it is a 0700 directory");
	eq(mkdir_p(deep, 0700), 0, "again, it exists already");
	eq(write_file_at(AT_FDCWD, file, "x", 0600), 0, "write a file");
	eq(mkdir_p(file, 0700), -ENOTDIR, "a file in the way is -ENOTDIR");
	eq(mkdir_p(under, 0700), -ENOTDIR, "a file as a parent is -ENOTDIR");
	eq(mkdir_p("", 0700), -EINVAL, "an empty path is -EINVAL");
}

static void
make_tree(const char *tree, const char *outside)
{
	_cleanup_free_ char *sub = xasprintf("%s/d/e", tree);
	_cleanup_free_ char *ro = xasprintf("%s/ro", tree);
	_cleanup_free_ char *link = xasprintf("%s/d/link", tree);
	_cleanup_free_ char *flink = xasprintf("%s/flink", tree);
	_cleanup_free_ char *target = xasprintf("%s/keep", outside);
	int dfd;

	if (mkdir_p(sub, 0700) < 0 || mkdir_p(ro, 0700) < 0 ||
	    mkdir_p(outside, 0700) < 0)
		abort();
	dfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	write_file_at(dfd, "d/e/f", "f", 0600);
	write_file_at(dfd, "ro/g", "g", 0600);
	close(dfd);
	write_file_at(AT_FDCWD, target, "keep", 0600);
	if (symlink(outside, link) < 0 || symlink(target, flink) < 0)
		abort();
	chmod(ro, 0500);
}

static void
test_rm_rf(const char *base)
{
	_cleanup_free_ char *tree = xasprintf("%s/tree", base);
	_cleanup_free_ char *outside = xasprintf("%s/outside", base);

	make_tree(tree, outside);
	eq(rm_rf(tree), 0, "rm_rf a tree with symlinks out of it");
	tap_ok(!exists(base, "tree"), "the tree is gone");
	tap_ok(exists(base, "outside/keep"),
	       "the file behind a symlink to a directory is still there");
	eq(rm_rf(tree), 0, "rm_rf of a missing path is 0");
}

static void
test_read_file(const char *base)
{
	_cleanup_free_ char *path = xasprintf("%s/data", base);
	_cleanup_free_ char *data = NULL;
	struct buf b = BUF_INIT(1 << 20);
	size_t len = 0;

	for (int i = 0; i < 2000; i++)
		buf_puts(&b, "0123456789");
	write_file_at(AT_FDCWD, path, buf_str(&b), 0600);
	eq(read_file_at(AT_FDCWD, path, 20000, &data, &len), 0,
	   "read a file exactly at the limit");
	tap_ok(len == 20000 && data && data[len] == '\0' &&
		   memcmp(data, b.data, len) == 0,
	       "all of it, NUL-terminated");
	free(TAKE_PTR(data));
	eq(read_file_at(AT_FDCWD, path, 19999, &data, &len), -EFBIG,
	   "one byte past the limit is -EFBIG");
	tap_ok(data == NULL, "and returns nothing");
	write_file_at(AT_FDCWD, path, "", 0600);
	eq(read_file_at(AT_FDCWD, path, 10, &data, &len), 0, "an empty file");
	tap_ok(data && data[0] == '\0' && len == 0, "reads as empty");
	free(TAKE_PTR(data));
	eq(read_file_at(AT_FDCWD, "/nonexistent/x", 10, &data, &len), -ENOENT,
	   "a missing file is -ENOENT");
	buf_free(&b);
}

static bool
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void
test_fd_passing(void)
{
	int sv[2], p[2], got[FD_PASS_MAX] = { -1, -1, -1, -1 };
	size_t n = FD_PASS_MAX;
	char msg[16] = { 0 };

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(p, O_CLOEXEC) < 0)
		abort();
	eq(send_msg_fds(sv[0], "hello", 5, p, 2), 5, "send 5 bytes, 2 fds");
	eq(recv_msg_fds(sv[1], msg, sizeof(msg), got, &n), 5, "receive them");
	eq_str(msg, "hello", "the bytes arrive");
	eq(n, 2, "two descriptors arrive");
	tap_ok(same_file(got[0], p[0]) && same_file(got[1], p[1]),
	       "they are the pipe's two ends");
	tap_ok((fcntl(got[0], F_GETFD) & FD_CLOEXEC) &&
		   (fcntl(got[1], F_GETFD) & FD_CLOEXEC),
	       "received descriptors are O_CLOEXEC");
	close_fds(got, n);
	tap_ok(got[0] == -1 && got[1] == -1, "close_fds resets them");
	eq(send_msg_fds(sv[0], "x", 1, p, FD_PASS_MAX + 1), -EINVAL,
	   "too many descriptors is -EINVAL");
	send_msg_fds(sv[0], "0123456789", 10, p, 2);
	n = FD_PASS_MAX;
	eq(recv_msg_fds(sv[1], msg, 4, got, &n), -EMSGSIZE,
	   "a datagram longer than the buffer is -EMSGSIZE");
	close_fds(p, 2);
	close_fds(sv, 2);
}

static void
test_write_full(void)
{
	int p[2];
	char out[8] = { 0 };

	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	eq(write_full(p[1], "abc", 3), 0, "write_full to a pipe");
	eq(read(p[0], out, sizeof(out)), 3, "the reader gets 3 bytes");
	eq_str(out, "abc", "the bytes");
	close(p[0]);
	eq(write_full(-1, "x", 1), -EBADF, "a bad descriptor is -EBADF");
	close(p[1]);
}

/* Raw bytes (a hostile binary path) must not make the output invalid. */
static void
test_json_utf8(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\xe2\x82\xac", "\"\xe2\x82\xac\"" },
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
		{ "a\xff"
		  "b",
		  "\"a\\ufffdb\"" },
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" }, /* overlong '/' */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "end\xc3", "\"end\\ufffd\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT(256);

		json_str(&b, cases[i].in);
		tap_ok(strcmp(buf_str(&b), cases[i].out) == 0,
		       "json_str: UTF-8 case %zu", i);
		buf_free(&b);
	}
}

int main(void);
int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *base =
	    xasprintf("%s/brig-common-XXXXXX", tmp && *tmp ? tmp : "/tmp");

	if (!mkdtemp(base))
		abort();
	test_buf_limit();
	test_buf_misc();
	test_parse_u64();
	test_parse_duration();
	test_json_str();
	test_json_utf8();
	test_json_kv();
	test_valid_name();
	test_mkdir_p(base);
	test_rm_rf(base);
	test_read_file(base);
	test_fd_passing();
	test_write_full();
	rm_rf(base);
	return tap_done();
}
