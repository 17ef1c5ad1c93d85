"""A real coding agent inside a sandbox (issue 4): OpenCode, configured
with an OpenAI-compatible provider whose key is the sandbox's
placeholder, completes a request to a model server that accepts only the
real key. The server is ours, on 127.0.0.1 over HTTPS with a test CA,
reached as api.openai.test through --connect-to.

OpenCode comes from npm (package opencode-ai, a native binary in a
per-platform package) and is installed once into AGENTS_DIR by
scripts/agents, by the root pass of tests/run; the unprivileged pass
uses that install and skips when it is missing."""

import http.server
import json
import os
import platform
import shutil
import subprocess
import time

import pytest

import helpers
import netsupport
from helpers import ok
from netsupport import Log

AGENTS_DIR = os.environ.get("BRIG_AGENTS_DIR", "/opt/brig-agents")
INSTALLER = helpers.REPO / "scripts" / "agents"
HOST = "api.openai.test"
MODEL = "brig-test-model"
ANSWER = "brig-sandbox-ok"
KEY = "OPENAI_API_KEY"
NODE = "/usr/bin/node"

POLICY = """\
version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /lib, /proc, /dev/urandom, /app, /etc, /var/log,
              {agents}]
  read_write: [/sandbox, /tmp, /dev/null]
landlock:
  compatibility: best_effort
process:
  run_as_user: sandbox
  run_as_group: sandbox
network_policies:
  model:
    name: model
    endpoints:
      - host: {host}
        port: 443
    binaries:
      - path: {binary}
      - path: {node}
"""

# The agent's configuration, in the folder it runs in. Nothing in it is
# secret: the key is read from the environment, where it is the
# placeholder.
CONFIG = {
    "$schema": "https://opencode.ai/config.json",
    "autoupdate": False,
    "share": "disabled",
    "provider": {
        "brig": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "brig test model server",
            "options": {"baseURL": f"https://{HOST}/v1",
                        "apiKey": "{env:" + KEY + "}"},
            "models": {MODEL: {"name": "brig test model"}},
        },
    },
    "model": f"brig/{MODEL}",
}


# What OpenCode is told, beyond its configuration. It would fetch the
# model list from models.dev and look for updates (denied here, and not
# needed). Its file watcher and file finder are native libraries
# that the program (a Bun executable) unpacks into /tmp and loads from
# there: code from a place the sandbox can write, so brig rightly stops
# trusting the process, and its connections are then refused
# (binary_not_allowed) from the moment either is loaded.
AGENT_ENV = [
    "OPENCODE_DISABLE_AUTOUPDATE=1",
    "OPENCODE_DISABLE_MODELS_FETCH=1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD=1",
    "OPENCODE_DISABLE_SHARE=1",
    "OPENCODE_EXPERIMENTAL_DISABLE_FILEWATCHER=1",
    "OPENCODE_DISABLE_FFF=1",
]


# --- The agent ------------------------------------------------------------

def platform_package():
    arch = {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine())
    return f"opencode-linux-{arch}" if arch else None


def opencode_binary():
    """The native OpenCode program in AGENTS_DIR, or None. It is run by
    this path (not through the package's launcher), so that the policy
    can name exactly the program that talks to the model."""
    pkg = platform_package()
    if not pkg:
        return None
    for name in (pkg, pkg + "-baseline"):
        path = os.path.join(AGENTS_DIR, "node_modules", name, "bin",
                            "opencode")
        if os.access(path, os.X_OK):
            r = subprocess.run([path, "--version"], capture_output=True,
                               text=True, timeout=60)
            if r.returncode == 0:
                return path
    return None


def install():
    """Runs scripts/agents (quick when the pinned version is there);
    returns why it could not, or None."""
    if not shutil.which("npm"):
        return "no npm on this machine to install OpenCode with"
    if not INSTALLER.exists():
        return f"no {INSTALLER} to install OpenCode with"
    try:
        r = subprocess.run([str(INSTALLER)], capture_output=True,
                           text=True, timeout=600,
                           env=dict(os.environ, BRIG_AGENTS_DIR=AGENTS_DIR))
    except subprocess.TimeoutExpired:
        return "npm did not install OpenCode within 10 minutes"
    if r.returncode != 0:
        errors = [line for line in r.stderr.splitlines()
                  if line.startswith("npm error") and line[9:].strip()]
        return ("could not install OpenCode with npm (is the registry "
                "reachable?): " + (" / ".join(errors[:3]) or
                                   r.stderr.strip()[-300:] or
                                   f"exit {r.returncode}"))
    return None


@pytest.fixture(scope="session")
def opencode():
    """The OpenCode program: root installs it (or checks the install)
    first; others use what is there."""
    if not platform_package():
        pytest.skip(f"OpenCode has no Linux build for {platform.machine()}")
    why = install() if os.getuid() == 0 else (
        f"OpenCode is not installed in {AGENTS_DIR}; the root pass of "
        f"tests/run installs it (scripts/agents)")
    path = opencode_binary()
    if not path:
        pytest.skip(why or f"npm installed opencode-ai, but no runnable "
                    f"{platform_package()} binary is in {AGENTS_DIR}")
    return path


# --- The model server -----------------------------------------------------

class ModelHandler(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat model that always says ANSWER, to
    callers with the real key only; every request is recorded."""

    protocol_version = "HTTP/1.1"

    def record(self, body=b""):
        self.server.requests.append({
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "authorization": self.headers.get("Authorization"),
            "body": body.decode(errors="replace"),
        })
        return self.headers.get("Authorization") == \
            f"Bearer {self.server.key}"

    def send_json(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self):
        self.send_json(401, {"error": {
            "message": "Incorrect API key provided", "type":
            "invalid_request_error", "code": "invalid_api_key"}})

    def do_GET(self):
        if not self.record():
            return self.refuse()
        if self.path.rstrip("/") != "/v1/models":
            return self.send_json(404, {"error": {"message": "not found"}})
        self.send_json(200, {"object": "list", "data": [
            {"id": MODEL, "object": "model", "created": 0,
             "owned_by": "brig"}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not self.record(body):
            return self.refuse()
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"error": {"message": "not found"}})
        try:
            req = json.loads(body)
        except ValueError:
            return self.send_json(400, {"error": {"message": "bad json"}})
        base = {"id": "chatcmpl-brig", "created": int(time.time()),
                "model": req.get("model", MODEL)}
        usage = {"prompt_tokens": 5, "completion_tokens": 3,
                 "total_tokens": 8}
        if not req.get("stream"):
            return self.send_json(200, dict(
                base, object="chat.completion", usage=usage, choices=[{
                    "index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": ANSWER}}]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base["object"] = "chat.completion.chunk"

        def event(data):
            line = f"data: {data}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        def delta(d, finish=None, **more):
            event(json.dumps(dict(base, choices=[{
                "index": 0, "delta": d, "finish_reason": finish}], **more)))

        delta({"role": "assistant", "content": ""})
        for i in range(0, len(ANSWER), 5):
            delta({"content": ANSWER[i:i + 5]})
        delta({}, "stop", usage=usage)
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def model_server():
    ca = netsupport.TestCA([HOST])
    server = netsupport.https_server(ca)
    server.RequestHandlerClass = ModelHandler
    server.key = "sk-real-" + helpers.unique("") + helpers.unique("")
    server.ca = ca
    yield server
    server.stop()
    ca.cleanup()


@pytest.fixture(scope="module")
def agent(module_brig, opencode, model_server, tmp_path_factory):
    """A sandbox with the provider (key: the model server's real one),
    a policy that lets OpenCode (and node, for the direct check) reach
    the model server, and OpenCode's configuration in /sandbox/work."""
    b = module_brig
    tmp = tmp_path_factory.mktemp("agent")
    b.env.pop(KEY, None)
    ok(b("provider", "create", "--name", "oc", "--type", "openai",
         "--credential", KEY, "--host", HOST,
         env={KEY: model_server.key}))
    policy = tmp / "agent.yaml"
    policy.write_text(POLICY.format(agents=AGENTS_DIR, host=HOST,
                                    binary=opencode, node=NODE))
    ca = tmp / "upstream-ca.pem"
    ca.write_text(model_server.ca.pem())
    name = "agent"
    b.create(name, "--provider", "oc", "--policy", policy,
             "--connect-to", f"{HOST}:443:127.0.0.1:{model_server.port}",
             "--upstream-ca", ca)
    ok(b("sandbox", "exec", name, "--", "mkdir", "-p", "/sandbox/work"))
    netsupport.put(b, name, "/sandbox/work/opencode.json",
                   json.dumps(CONFIG, indent=2))
    return name


def no_real_key_inside(brig, name, real):
    """Neither /sandbox (the agent's home: its sessions, logs and
    caches) nor /tmp holds the real key; read out as a tar stream, so
    that the key itself never goes in."""
    r = brig("sandbox", "exec", name, "--", "tar", "-c", "-f", "-", "-C",
             "/", "sandbox", "tmp", binary=True, timeout=60)
    assert r.returncode in (0, 1, 2), helpers.describe(r)
    assert len(r.stdout) > 10240, "tar read nothing"
    assert real.encode() not in r.stdout, "the real key in a file inside"


def no_real_key_logged(brig, name, real):
    out = ok(brig("logs", name, "-o", "json", "-n", "1000000",
                  "--source", "all"))
    assert real not in out, "the real key in an event"
    out = ok(brig("logs", name, "-n", "1000000", "--source", "all"))
    assert real not in out, "the real key in a log line"


# --- The tests ------------------------------------------------------------

def test_opencode_uses_placeholder(module_brig, agent, opencode,
                                   model_server):
    """OpenCode in a sandbox, holding only a placeholder, gets its answer
    from a model server that takes only the real key: the supervisor put
    the real key in on the way, and it is nowhere inside or in the log."""
    brig, name, real = module_brig, agent, model_server.key
    del model_server.requests[:]
    log = Log(brig, name)
    script = (
        'cd /sandbox/work && env > /sandbox/agent-env && '
        f'exec "$0" run --print-logs --log-level INFO '
        f'"Reply with the words the model gives you." </dev/null')
    r = brig("sandbox", "exec", name, "--", "env", *AGENT_ENV,
             "sh", "-c", script, opencode, timeout=150)
    assert real not in r.stdout + r.stderr, \
        "the real key in the agent's output" + helpers.describe(r)
    assert r.returncode == 0, ("the agent failed" + helpers.describe(r)
                               + "\n--- events\n" + "\n".join(
                                   json.dumps(e) for e in log.new()[-10:]))
    assert ANSWER in r.stdout, \
        "the agent did not print the model's answer" + helpers.describe(r)

    # The server saw the real key on every request, so the swap
    # happened and nothing else got through; the agent streams (SSE),
    # so the answer came back through the supervisor's re-chunking.
    seen = model_server.requests
    chats = [q for q in seen if q["method"] == "POST"
             and q["path"] == "/v1/chat/completions"]
    assert chats, f"the model server saw no chat request: {seen}"
    assert all(q["authorization"] == f"Bearer {real}" for q in seen), \
        [q["authorization"] for q in seen]
    assert all(q["host"] in (HOST, f"{HOST}:443") for q in seen), seen
    assert any(json.loads(q["body"]).get("stream") for q in chats)

    # The agent held only the placeholder.
    env = ok(brig("sandbox", "exec", name, "--", "cat", "/sandbox/agent-env"))
    values = dict(line.split("=", 1) for line in env.splitlines()
                  if "=" in line)
    assert values.get(KEY, "").startswith("brig-ph-"), values.get(KEY)
    assert real not in env
    placeholder = values[KEY]
    assert all(placeholder not in q["authorization"] for q in seen)

    # The decisions name the agent's own program, and no event holds
    # the real key.
    decisions = log.decisions(HOST, 443)
    assert decisions, "no decision for the model server"
    assert all((e["action"], e["binary"]) == ("allow", opencode)
               for e in decisions), decisions
    no_real_key_inside(brig, name, real)
    no_real_key_logged(brig, name, real)


NODE_CHECK = """\
const key = process.env.OPENAI_API_KEY, base = 'https://%s/v1';
const call = async (path, init) => {
  const r = await fetch(base + path, {...init, headers: {
    Authorization: 'Bearer ' + key, 'Content-Type': 'application/json'}});
  return {status: r.status, body: await r.json()};
};
(async () => console.log(JSON.stringify({
  key,
  models: await call('/models'),
  chat: await call('/chat/completions', {method: 'POST', body:
    JSON.stringify({model: '%s', messages: [{role: 'user', content: 'hi'}]})}),
})))().catch(e => { console.error(e); process.exit(1); });
""" % (HOST, MODEL)


def test_model_server_direct(module_brig, agent, model_server):
    """The same server's plain JSON answers (the model list, and a chat
    without streaming) reach node's fetch inside, which sends the
    placeholder; the server gets the real key."""
    if not os.access(NODE, os.X_OK):
        pytest.skip(f"no {NODE} on this machine")
    brig, name, real = module_brig, agent, model_server.key
    del model_server.requests[:]
    r = brig("sandbox", "exec", name, "--", NODE, "-e", NODE_CHECK)
    assert real not in r.stdout + r.stderr, helpers.describe(r)
    assert r.returncode == 0, helpers.describe(r)
    got = json.loads(r.stdout)
    assert got["key"].startswith("brig-ph-"), got
    assert got["models"]["status"] == 200, got
    assert [m["id"] for m in got["models"]["body"]["data"]] == [MODEL], got
    assert got["chat"]["status"] == 200, got
    msg = got["chat"]["body"]["choices"][0]["message"]["content"]
    assert msg == ANSWER, got
    seen = model_server.requests
    assert [(q["method"], q["path"]) for q in seen] == \
        [("GET", "/v1/models"), ("POST", "/v1/chat/completions")], seen
    assert all(q["authorization"] == f"Bearer {real}" for q in seen), \
        [q["authorization"] for q in seen]
    no_real_key_logged(brig, name, real)
