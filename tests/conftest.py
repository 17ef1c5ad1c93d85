"""Fixtures for brig's end-to-end tests (tests/e2e) and its escape
battery (tests/escape). Every test gets its own state directory
(BRIG_STATE_DIR) and leaves no sandbox behind."""

import os
import socket
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "e2e"))

import helpers  # noqa: E402


def pytest_report_header(config):
    why = helpers.userns_problem()
    return [f"brig: {helpers.BRIG}",
            f"shared: {helpers.SHARED}",
            f"uid {os.getuid()}, Landlock ABI {helpers.landlock_abi()}, "
            f"user namespaces: {why or 'yes'}"]


@pytest.fixture(scope="session", autouse=True)
def brig_binary():
    if not os.access(helpers.BRIG, os.X_OK):
        pytest.exit(f"no brig binary at {helpers.BRIG} (set BRIG)", 1)


@pytest.fixture
def cli():
    """brig with a fresh state directory, for commands that make no
    sandbox (help, policy check, doctor)."""
    b = helpers.Brig()
    yield b
    b.cleanup()


@pytest.fixture
def brig():
    """brig with a fresh state directory; skips where sandboxes cannot
    run; deletes every sandbox the test made."""
    helpers.skip_without_userns()
    b = helpers.Brig()
    yield b
    b.cleanup()


@pytest.fixture(scope="module")
def module_brig():
    """Like brig, shared by one test module."""
    helpers.skip_without_userns()
    b = helpers.Brig()
    yield b
    b.cleanup()


@pytest.fixture(scope="module")
def box(module_brig):
    """A detached sandbox with the default policy, shared by one module
    for checks that only read or that write distinct files."""
    module_brig.create("box")
    return "box"


@pytest.fixture(scope="session")
def switches():
    """Whether this brig honours BRIG_TEST_DISABLE (built with
    -Dtest_switches=true); tests of one wall alone need it."""
    helpers.skip_without_userns()
    b = helpers.Brig()
    try:
        r = b("run", "--", "cat", "/proc/self/status",
              env={"BRIG_TEST_DISABLE": "seccomp"})
    finally:
        b.cleanup()
    helpers.ok(r)
    if "Seccomp:\t0" not in r.stdout:
        pytest.skip("brig was built without -Dtest_switches=true")
    return True


@pytest.fixture
def hold_server():
    """A loopback server that accepts connections and keeps them."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)
    held = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            held.append(c)

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
    for c in held:
        c.close()
