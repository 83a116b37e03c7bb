"""Hostile plugins (and one well-behaved one), written with the SDK.

Each hostile plugin attacks when it gets a ``message_create`` whose content is
``attack`` (or at import/boot), and reports what the sandbox let it do with
``ctx.discord.send_message`` so the test sees the evidence from inside the container.
"""

from __future__ import annotations

import json
from pathlib import Path

HEADER = """
import errno, json, os, socket, subprocess, sys, time
from mmo_maid_sdk import Plugin

plugin = Plugin()


def report(ctx, event, **facts):
    ctx.discord.send_message(channel_id=event["channel_id"], content=json.dumps(facts, sort_keys=True))


def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except BaseException as exc:
        return {"ok": False, "error": type(exc).__name__, "errno": getattr(exc, "errno", None)}

"""

FOOTER = """

if __name__ == "__main__":
    plugin.run()
"""

GOOD = """
@plugin.on_event("message_create")
def answer(ctx, event):
    ctx.discord.send_message(channel_id=event["channel_id"], content="good " + event["message_id"])
"""

HANDLERS: dict[str, str] = {
    "forkbomb": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    forked, failure = 0, None
    for _ in range(200):
        try:
            pid = os.fork()
        except OSError as exc:
            failure = errno.errorcode.get(exc.errno, str(exc.errno))
            break
        if pid == 0:  # every child keeps bombing until the pids limit stops it, then idles
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.5)
        forked += 1
    report(ctx, event, forked=forked, failure=failure)
""",
    "memhog": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    hoard = [bytearray(1024 * 1024 * 1024)]  # 1 GB, touched page by page
    for i in range(0, len(hoard[0]), 4096):
        hoard[0][i] = 1
    report(ctx, event, survived=True)
""",
    "cpuspin": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    while True:
        pass
""",
    "sleeper": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    time.sleep(10 ** 6)
""",
    "network": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    def connect(host, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((host, port))
            return "connected"
        finally:
            s.close()
    port = int(event["channel_name"])  # the host's loopback listener, told to the plugin
    results = {
        "outside": attempt(lambda: connect("192.0.2.1", 80)),
        "loopback": attempt(lambda: connect("127.0.0.1", port)),
        "dns": attempt(lambda: socket.getaddrinfo("example.com", 443)),
    }
    report(ctx, event, **results)
""",
    "envreader": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    pid1 = open("/proc/1/environ", "rb").read().split(b"\\0")
    report(ctx, event, environ=sorted(os.environ), pid1=sorted(e.split(b"=")[0].decode() for e in pid1 if e))
""",
    "writer": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    def write(path):
        with open(path, "a") as f:
            f.write("owned")
    def fill():
        n = 0
        with open("/tmp/fill", "wb") as f:
            while n < 256:
                f.write(b"x" * 1024 * 1024); f.flush(); n += 1
        return n
    results = {
        "root": attempt(lambda: write("/owned")),
        "etc": attempt(lambda: write("/etc/passwd")),
        "bundle": attempt(lambda: write("/plugin/__main__.py")),
        "tmp": attempt(fill),
    }
    os.remove("/tmp/fill")
    report(ctx, event, **results)
""",
    "snooper": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    host_path = event["channel_name"]  # a file on the host the test created
    results = {
        "pid1_environ": attempt(lambda: open("/proc/1/environ", "rb").read().decode(errors="replace")),
        "host_file": attempt(lambda: open(host_path).read()),
        "shadow": attempt(lambda: open("/etc/shadow").read()),
        "docker_sock": os.path.exists("/var/run/docker.sock"),
        "root_home": attempt(lambda: os.listdir("/root")),
    }
    report(ctx, event, **results)
""",
    "setuid": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    report(ctx, event, setuid=attempt(lambda: os.setuid(0)), setgid=attempt(lambda: os.setgid(0)), uid=os.getuid())
""",
    "spawner": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    def run():
        done = subprocess.run(["/bin/sh", "-c", "id -u; env | wc -l; cat /proc/net/dev | wc -l"],
                              capture_output=True, text=True, timeout=20)
        return done.stdout.split()
    report(ctx, event, child=attempt(run))
""",
    "printer": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    for _ in range(8):
        print("p" * (1024 * 1024))  # the SDK sends stray prints to stderr
    sys.stdout.write("q" * (4 * 1024 * 1024) + "\\n")
    os.write(1, b"r" * (1024 * 1024) + b"\\n")
    report(ctx, event, printed_mb=13)
""",
    "bigline": """
sys.stdout.write("m" * (3 * 1024 * 1024) + "\\n")  # megabytes on the real stdout before run(): one overlong line
sys.stdout.flush()
""",
    "garbage": """
sys.stdout.write("this is not JSON\\n")  # before run(): reaches the protocol stream
sys.stdout.flush()

@plugin.on_event("message_create")
def attack(ctx, event):
    report(ctx, event, alive=True)
""",
    "closer": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    os.closerange(0, 4096)  # the protocol stream included
    time.sleep(3600)
""",
    "bootexit": """
sys.stderr.write("leaving at boot\\n")
sys.exit(7)
""",
    "flooder": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    sent, error = 0, None
    for n in range(5000):
        try:
            ctx.discord.send_message(channel_id=event["channel_id"], content=f"flood {n}")
            sent += 1
        except Exception as exc:
            error = type(exc).__name__
            break
    ctx.log(json.dumps({"sent": sent, "error": error}), level="warning")  # discord actions are used up
""",
    "leaky": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    import leaky, tinywheel  # built from an sdist at install time; a plain wheel
    report(ctx, event, seen=leaky.SEEN, tiny=tinywheel.VALUE)
""",
    "mountinfo": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    for name in ("/proc/self/mountinfo", "/proc/self/mounts"):  # one message per line: messages are short
        for line in open(name).read().splitlines():
            report(ctx, event, source=name, line=line)
    report(ctx, event, cwd=os.getcwd(), plugin_file=os.path.realpath(__file__), sys_path=sys.path)
""",
    "setsid": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    read, write = os.pipe()
    if os.fork() == 0:  # a child that leaves the worker's session and group, then double-forks
        os.setsid()
        if os.fork() == 0:
            os.write(write, str(os.getpid()).encode())
            while True:
                time.sleep(1)
        os._exit(0)
    os.wait()
    grandchild = int(os.read(read, 32))
    report(ctx, event, grandchild=grandchild, its_session=os.getsid(grandchild), my_session=os.getsid(0))
""",
}

#: setup.py of the ``leaky`` sdist: what it would do on the host if a build ran there.
LEAKY_SETUP = """
import json, os
from setuptools import setup

seen = {"env": dict(os.environ)}
with open(MARKER, "w") as handle:  # a file at a host path: on the host, it would appear
    handle.write("setup.py ran here")
seen["marker_written"] = os.path.exists(MARKER)
for path in (SECRETS, "/proc/1/environ", "/var/run/docker.sock", "/root/.docker/config.json"):
    try:
        with open(path, "rb") as handle:
            seen[path] = handle.read(4096).decode("latin-1")
    except Exception as exc:
        seen[path] = type(exc).__name__
os.makedirs("leaky", exist_ok=True)
with open("leaky/__init__.py", "w") as handle:
    handle.write("SEEN = " + repr(seen) + "\\n")
setup(name="leaky", version="1.0", packages=["leaky"])
"""


def leaky_setup(marker: Path, secrets: Path) -> str:
    return f"MARKER = {str(marker)!r}\nSECRETS = {str(secrets)!r}\n" + LEAKY_SETUP


CAPABILITIES = ["discord:send_message"]


# --- raw protocol: plugins that speak JSON-RPC themselves (stdout before run() is the protocol stream) ---
RAW = """
def raw_lines():
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            os._exit(0)
        try:
            yield json.loads(line)
        except ValueError:
            continue


def raw_send(message):
    sys.stdout.buffer.write((json.dumps(message) + "\\n").encode())
    sys.stdout.buffer.flush()


def raw_attack():
    for message in raw_lines():
        params = message.get("params") or {}
        event = params.get("event") or {}
        if message.get("method") == "event.message_create" and event.get("content") == "attack":
            return params
"""

BOUNDS_HANDLERS: dict[str, str] = {
    "deaf": RAW
    + """
params = raw_attack()
server = params["discord_srv_id"]
raw_send({"jsonrpc": "2.0", "id": "put", "method": "kv.put",
          "params": {"discord_srv_id": server, "key": "big", "value": "x" * 60000}})
time.sleep(0.5)
n = 0
while True:  # ask for the 60 kB value again and again and never read an answer
    for _ in range(16):
        n += 1
        raw_send({"jsonrpc": "2.0", "id": n, "method": "kv.get", "params": {"discord_srv_id": server, "key": "big"}})
    time.sleep(0.01)
""",
    "deepnest": """
sys.stdout.write('{"jsonrpc": "2.0", "method": "plugin.log", "params": ' + "[" * 200000 + "]" * 200000 + "}\\n")
sys.stdout.flush()
""",
    "badbytes": """
os.write(1, b"\\xff\\xfe not text\\n")
os.write(1, b'{"jsonrpc": "2.0", "method": "plugin.log", "params": {"message": "\\xc3\\x28"}}\\n')
os.write(1, b"\\x00" * 5000 + b"\\n" + b'{"jsonrpc": "2.0", "method": 5, "id": []}\\n' + b'[{"jsonrpc": "2.0"}]\\n')


@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    ctx.log("NUL \\x00 and a lone surrogate \\ud800 in one line")
    ctx.log("the line after the malformed one")
    report(ctx, event, alive=True)
""",
    "garbageflood": RAW
    + """
raw_attack()
lines = b"not a protocol line\\n" * 64
while True:  # non-protocol lines on the protocol stream, as fast as the host takes them
    os.write(1, lines)
""",
    "stderrflood": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    lines = b"a line on stderr\\n" * 64
    while True:  # stderr lines, as fast as the host takes them (the SDK points fd 1 there too)
        os.write(2, lines)
""",
    "stuck": """
@plugin.on_event("message_create")
def attack(ctx, event):
    time.sleep(3600)  # every handler hangs: its worker's queue fills up
""",
    "inflight": RAW
    + """
params = raw_attack()
server, channel = params["discord_srv_id"], params["event"]["channel_id"]
for n in range(100):
    raw_send({"jsonrpc": "2.0", "id": n, "method": "discord.send_message",
              "params": {"discord_srv_id": server, "channel_id": channel, "content": "slow %d" % n}})
codes = {}
answered = 0
for message in raw_lines():
    if message.get("id") in range(100):
        answered += 1
        error = message.get("error")
        code = ((error or {}).get("data") or {}).get("code", "ok") if error else "ok"
        codes[code] = codes.get(code, 0) + 1
        if answered == 100:
            break
raw_send({"jsonrpc": "2.0", "method": "plugin.log",
          "params": {"discord_srv_id": server, "message": json.dumps({"codes": codes})}})
raw_send({"jsonrpc": "2.0", "method": "event.ack", "params": {"event_id": params["event_id"]}})
for message in raw_lines():
    pass
""",
    "logflood": """
@plugin.on_event("message_create")
def attack(ctx, event):
    if event["content"] != "attack":
        return
    for n in range(3000):
        ctx.log("flood %d " % n + "y" * 200)
    time.sleep(2.5)  # the bucket refills: the next line is stored, with the report of what was not
    ctx.log("after the flood")
    report(ctx, event, flooded=3000)
""",
}
HANDLERS.update(BOUNDS_HANDLERS)


def write_plugin(root: Path, plugin_id: str, body: str, files: dict[str, str] | None = None) -> Path:
    """A bundle directory for ``plugin_id`` with ``body`` between the SDK header and ``plugin.run()``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {}).items():
        (root / name).write_text(text)
    manifest = {
        "id": plugin_id,
        "name": plugin_id.replace("_", " ").title(),
        "version": "1.0.0",
        "description": f"Hostile-suite plugin {plugin_id}.",
        "capabilities_required": CAPABILITIES,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "__main__.py").write_text(HEADER + body + FOOTER)
    return root
