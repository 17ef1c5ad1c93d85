"""Attacks on caller identity: code that passes for a binary the policy
allows. The proxy names its caller by /proc/<pid>/exe of every process
holding the socket, and takes code in a place the sandbox can write
(/tmp, /sandbox, a memfd) for what it is: not the binary it copies.

The proof ("ident") lets such code count as its path says and lets one
allowed holder of the socket decide; the request then reaches the
test's server."""

import base64
import uuid

import pytest

import netkit
from escape import attack, run, verdict
from netsupport import EchoHTTPServer


CURL_TO = "curl -sS --max-time 10 http://allowed.test{path}"


@pytest.fixture(scope="module")
def http():
    s = EchoHTTPServer()
    yield s
    s.stop()


def opts(tmp_path, http, *binaries):
    p = netkit.policy(tmp_path, ([("allowed.test", 80)], list(binaries)))
    return ["--policy", p, *netkit.connect_to("allowed.test", 80, http.port)]


def new_path():
    return "/id-" + uuid.uuid4().hex[:10]


def reached(http, path):
    return bool(netkit.seen_by(http, path))


def denied_for(r, reason):
    """The proxy's 403 body, printed by the client, names REASON."""
    assert f'"reason":"{reason}"' in r.stdout, r.stdout + r.stderr


@attack("ident")
def test_copy_of_curl_in_tmp(brig, off, tmp_path, http):
    """Runs a copy of curl from /tmp where a glob allows /tmp/curl-*:
    whatever the sandbox writes there can be made to match."""
    path = new_path()
    r = run(brig, off, "cp /usr/bin/curl /tmp/curl-copy && /tmp/curl-copy "
            + CURL_TO.format(path=path)[4:],
            *opts(tmp_path, http, netkit.CURL, "/tmp/curl-*"))
    verdict(off, reached(http, path), r)
    if not off:
        denied_for(r, "binary_in_writable_path")


@attack("ident")
def test_copy_of_curl_in_workspace(brig, off, tmp_path, http):
    """Runs a copy of curl from /sandbox where a glob allows
    /sandbox/curl-*: the workspace is the agent's to write."""
    path = new_path()
    r = run(brig, off, "cp /usr/bin/curl /sandbox/curl-copy && "
            "/sandbox/curl-copy " + CURL_TO.format(path=path)[4:],
            *opts(tmp_path, http, netkit.CURL, "/sandbox/curl-*"))
    verdict(off, reached(http, path), r)
    if not off:
        denied_for(r, "binary_in_writable_path")


RENAMED = r"""cp "$(readlink -f /usr/bin/python3)" /sandbox/tools/curl &&
/sandbox/tools/curl -c '
import sys, urllib.request
print(urllib.request.urlopen("http://allowed.test" + sys.argv[1],
                             timeout=10).read().decode())' {path}"""


@attack("ident")
def test_other_program_renamed_to_allowed_name(brig, off, tmp_path, http):
    """Puts python under an allowed name (/sandbox/tools/curl): a rule
    for a tools folder would then let any program through."""
    path = new_path()
    r = run(brig, off, "mkdir -p /sandbox/tools && "
            + RENAMED.format(path=path),
            *opts(tmp_path, http, netkit.CURL, "/sandbox/tools/*"))
    verdict(off, reached(http, path), r)
    if not off:
        assert "403" in r.stderr, r.stderr


@attack("ident")
def test_ld_preload_from_tmp(brig, off, tmp_path, http):
    """Runs the real curl with a library preloaded from /tmp: the
    process is curl by its executable, but runs the agent's code."""
    lib = base64.b64encode(netkit.shared_library(tmp_path)).decode()
    path = new_path()
    r = run(brig, off, "base64 -d > /tmp/x.so && LD_PRELOAD=/tmp/x.so "
            + CURL_TO.format(path=path),
            *opts(tmp_path, http, netkit.CURL), input=lib)
    verdict(off, reached(http, path), r)
    if not off:
        denied_for(r, "code_from_writable_path")


MEMFD_PRELOAD = r"""
import base64, os, sys
fd = os.memfd_create("x.so", 0)
os.write(fd, base64.b64decode(sys.stdin.read()))
os.set_inheritable(fd, True)
env = dict(os.environ, LD_PRELOAD=f"/proc/self/fd/{fd}")
os.execve("/usr/bin/curl", ["curl", "-sS", "--max-time", "10",
                            "http://allowed.test" + sys.argv[1]], env)
"""


@attack("ident")
def test_memfd_library_in_curl(brig, off, tmp_path, http):
    """Runs curl with a library that lives only in a memfd (no file on
    any disk): code that no path check would ever see."""
    lib = base64.b64encode(netkit.shared_library(tmp_path)).decode()
    path = new_path()
    r = brig("run", *opts(tmp_path, http, netkit.CURL), "--", "python3",
             "-c", MEMFD_PRELOAD, path, input=lib, env=env(off))
    verdict(off, reached(http, path), r)
    if not off:
        denied_for(r, "code_from_writable_path")


# The receiver: a program the policy does not name, started first, that
# waits on a unix socket for a connection made by someone else.
RECEIVER = r"""
import os, socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind("/tmp/handoff.sock")
srv.listen(1)
c, _ = srv.accept()
_, fds, _, _ = socket.recv_fds(c, 10, 1)
s = socket.socket(fileno=fds[0])
s.sendall(("GET http://allowed.test" + sys.argv[1] +
           " HTTP/1.1\r\nHost: allowed.test\r\n\r\n").encode())
out = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    out += chunk
print(out.decode("latin-1"))
c.close()
"""

# The giver: the allowed python, a sibling (not an ancestor) of the
# receiver. It connects to the proxy, hands the socket over, and keeps
# its own copy until the receiver is done.
GIVER = r"""
import os, socket, time
for _ in range(500):
    if os.path.exists("/tmp/handoff.sock"):
        break
    time.sleep(0.01)
u = socket.socket(socket.AF_UNIX)
u.connect("/tmp/handoff.sock")
s = socket.create_connection(("127.0.0.1", 3128))
socket.send_fds(u, [b"x"], [s.fileno()])
u.recv(1)
"""


@attack("ident")
def test_socket_handed_to_denied_binary(brig, off, tmp_path, http):
    """An allowed python connects to the proxy and hands the socket
    (SCM_RIGHTS) to a program the policy denies, which speaks on it."""
    path = new_path()
    r = brig("run", *opts(tmp_path, http, netkit.PYTHON), "--", "sh", "-c",
             'cp "$(readlink -f /usr/bin/python3)" /tmp/py-copy && '
             '{ /tmp/py-copy -c "$0" "$2" & } && python3 -c "$1" && wait',
             RECEIVER, GIVER, path, env=env(off))
    verdict(off, reached(http, path), r)
    if not off:
        assert '"reason":"binary_not_allowed"' in r.stdout, \
            r.stdout + r.stderr


def test_argv0_is_not_identity(brig, tmp_path, http):
    """python started with argv[0] /usr/bin/curl is still python: the
    proxy reads the executable, never the command line."""
    path = new_path()
    script = ("import os, sys; os.execv(sys.argv[1], ['/usr/bin/curl', "
              "'-c', 'import urllib.request as u; u.urlopen("
              "\"http://allowed.test" + path + "\", timeout=10)'])")
    r = brig("run", *opts(tmp_path, http, netkit.CURL), "--", "python3",
             "-c", script, netkit.PYTHON)
    assert r.returncode != 0 and "403" in r.stderr, r.stdout + r.stderr
    assert not reached(http, path)


MEMFD_EXEC = r"""
import os, sys
fd = os.memfd_create("curl", 0)
os.write(fd, open("/usr/bin/curl", "rb").read())
os.execve(fd, ["/usr/bin/curl", "-sS", "--max-time", "10",
               "http://allowed.test" + sys.argv[1]], dict(os.environ))
"""


def test_memfd_copy_of_curl(brig, tmp_path, http):
    """A copy of curl run from a memfd (fexecve) is not /usr/bin/curl:
    its executable is the memfd, which no rule names."""
    path = new_path()
    r = brig("run", *opts(tmp_path, http, netkit.CURL, "/**"), "--",
             "python3", "-c", MEMFD_EXEC, path)
    assert not reached(http, path), r.stdout + r.stderr
    assert '"reason":"binary_' in r.stdout, r.stdout + r.stderr


def test_symlink_to_other_program(brig, tmp_path, http):
    """A symlink with an allowed name (/sandbox/curl-link) to python
    runs python, and the proxy sees python."""
    path = new_path()
    r = run(brig, "", 'ln -s "$(readlink -f /usr/bin/python3)" '
            "/sandbox/curl-link && /sandbox/curl-link -c 'import "
            "urllib.request as u; u.urlopen(\"http://allowed.test"
            + path + "\", timeout=10)'",
            *opts(tmp_path, http, netkit.CURL, "/sandbox/curl-*"))
    assert r.returncode != 0 and "403" in r.stderr, r.stdout + r.stderr
    assert not reached(http, path)


def env(off):
    from escape import env_for
    return env_for(off)
