"""The plugin runtime over real pipes: boot, dispatch, acks, on_ready, ticks, lifecycle, dashboards, shutdown."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

ECHO = """
@plugin.on_event("message_create")
def first(ctx, event):
    if event.get("content") == "boom":
        raise ValueError("boom")
    ctx.log(f"first {event.get('content')} server={ctx.server_id} request_id={ctx.request_id!r}")

@plugin.on_event("message_create")
def second(ctx, event):
    ctx.log(f"second {event.get('content')}")

@plugin.on_event("interaction_create")
def interaction(ctx, event):
    ctx.log(f"interaction request_id={ctx.request_id}")
"""


def test_a_maidcore_host_gets_plugin_register_once(spawn):
    """Booted with ``host_scheduler: true`` (a maidcore host), the SDK announces its handlers; the official
    wire has no such message, and a plain boot gets none (see the differential suite)."""
    proc = spawn(
        ECHO
        + """
@plugin.schedule(120)
def every_two_minutes(ctx):
    pass

@plugin.cron("0 9 * * 1-5")
def weekday_morning(ctx):
    pass

@plugin.on_dashboard("dashboard.stats")
def stats(ctx, params):
    return {}
"""
    )
    register = proc.boot()
    assert register["params"] == {
        "sdk_version": "0.11.0",
        "event_types": ["interaction_create", "message_create"],
        "schedules": [{"name": "every_two_minutes", "interval_seconds": 120}],
        "crons": [{"name": "weekday_morning", "spec": "0 9 * * 1-5"}],
        "dashboards": ["stats"],
    }
    proc.notify("host.boot", {"mode": "pool", "plugin_id": "other"})  # a second boot is ignored
    with pytest.raises(AssertionError):
        proc.wait_for(method="plugin.register", timeout=0.3)
    assert proc.shutdown() == 0


def test_messages_before_boot_are_ignored_and_not_acked(spawn):
    proc = spawn(ECHO)
    proc.event("message_create", {"content": "early"}, event_id="early")
    proc.boot()
    proc.event("message_create", {"content": "late"}, event_id="late")
    proc.wait_for(method="event.ack")
    assert proc.acked() == ["late"]
    assert not [line for line in proc.logs() if "early" in line]


def test_handlers_run_in_order_and_a_failure_is_reported_before_the_ack(spawn):
    proc = spawn(ECHO)
    proc.boot()
    proc.event("message_create", {"content": "boom"}, event_id=7)
    error_log = proc.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["level"] == "error")
    assert error_log["params"]["message"].startswith("Event handler error (message_create):\nTraceback")
    assert "ValueError: boom" in error_log["params"]["message"]
    second = proc.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["message"] == "second boom")
    fail = proc.wait_for(method="event.fail")
    assert fail["params"] == {"event_id": 7, "reason": "handler_exception", "error": "ValueError: boom"}
    ack = proc.wait_for(method="event.ack")
    assert ack["params"] == {"event_ids": [7]}
    order = [proc.messages.index(m) for m in (error_log, second, fail, ack)]
    assert order == sorted(order)


def test_events_without_handlers_are_acked_at_once(spawn):
    proc = spawn(ECHO)
    proc.boot()
    proc.event("reaction_add", {"emoji": "x"}, event_id="r1")
    assert proc.wait_for(method="event.ack")["params"] == {"event_id": "r1"}


def test_request_id_is_the_interaction_id_only_inside_interactions(spawn):
    proc = spawn(ECHO)
    proc.boot()
    proc.event("interaction_create", {"interaction_id": "300", "interaction_type": 2}, event_id=1)
    proc.event("message_create", {"content": "plain"}, event_id=2)
    proc.wait_until(lambda: len(proc.acked()) == 2, what="two acks")
    assert "interaction request_id=300" in proc.logs()
    assert "first plain server=5 request_id=''" in proc.logs()


def test_single_mode_deliveries_wait_for_on_ready(spawn):
    proc = spawn(
        ECHO
        + """
@plugin.on_ready
def ready(ctx):
    time.sleep(0.4)
    ctx.log(f"ready {ctx.server_id} {ctx.plugin_id} {ctx.version}")
"""
    )
    proc.boot()
    proc.event("message_create", {"content": "a"}, event_id=1)
    proc.event("message_create", {"content": "b"}, event_id=2)
    proc.wait_until(lambda: len(proc.acked()) == 2, what="two acks")
    logs = proc.logs()
    assert logs.count("ready 5 wire_test 1.2.3") == 1
    assert logs.index("ready 5 wire_test 1.2.3") < logs.index("first a server=5 request_id=''")


def test_pool_mode_runs_on_ready_once_per_server_before_its_first_delivery(spawn):
    proc = spawn(
        """
@plugin.on_ready()
def ready(ctx):
    time.sleep(0.2)
    ctx.log(f"ready {ctx.server_id}")

@plugin.on_ready
def broken(ctx):
    raise RuntimeError("not ready")

@plugin.on_event("message_create")
def on_message(ctx, event):
    ctx.log(f"event {ctx.server_id} {ctx.plugin_id} {ctx.version} {sorted(ctx.capabilities)}")
"""
    )
    proc.boot(mode="pool", capabilities=["storage:kv", "discord:send_message"])
    tenant_a = {
        "discord_srv_id": "111",
        "plugin_id": "p",
        "version": "2.0.0",
        "capabilities": ["storage:kv", "storage:sql"],
    }
    tenant_b = {"discord_srv_id": "222", "plugin_id": "p", "version": "2.0.1", "capabilities": ["discord:send_message"]}
    for i in range(3):
        proc.event("message_create", {}, event_id=f"a{i}", **tenant_a)
        proc.event("message_create", {}, event_id=f"b{i}", **tenant_b)
    proc.wait_until(lambda: len(proc.acked()) == 6, what="six acks")
    logs = proc.logs()
    assert logs.count("ready 111") == 1 and logs.count("ready 222") == 1
    assert logs.index("ready 111") < logs.index("event 111 p 2.0.0 ['storage:kv']")
    assert logs.index("ready 222") < logs.index("event 222 p 2.0.1 ['discord:send_message']")
    assert sum(line.startswith("on_ready error: Traceback") for line in logs) == 2


def test_schedule_and_cron_ticks_run_the_named_function(spawn):
    proc = spawn(
        """
@plugin.schedule(60)
def sweep(ctx):
    ctx.log(f"sweep {ctx.server_id}")

@plugin.cron("*/5 * * * *")
def report(ctx):
    raise KeyError("no report")
"""
    )
    proc.boot(mode="pool")
    tenant = {"discord_srv_id": "42", "plugin_id": "wire_test", "version": "1", "capabilities": []}
    proc.notify("schedule.tick", {"name": "sweep", "scheduled_at": "2026-01-01T00:01:00Z", **tenant})
    proc.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["message"] == "sweep 42")
    proc.notify("event.cron", {"name": "report", "spec": "*/5 * * * *", "event_id": "c1", **tenant})
    error = proc.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"]["level"] == "error")
    assert error["params"]["message"].startswith("Scheduled task error (report):\nTraceback")
    assert proc.wait_for(method="event.fail")["params"]["event_id"] == "c1"
    assert proc.wait_for(method="event.ack")["params"] == {"event_ids": ["c1"]}
    proc.notify("event.cron", {"event_id": "c2", "event": {"name": "report"}, **tenant})  # the official shape
    assert proc.wait_for(method="event.fail")["params"]["event_id"] == "c2"
    proc.notify("event.cron", {"name": "nope", "event_id": "c3", **tenant})  # no such function: acked, nothing runs
    proc.wait_until(lambda: "c3" in proc.acked(), what="the ack of c3")
    assert [m["params"]["event_id"] for m in proc.messages if m.get("method") == "event.fail"] == ["c1", "c2"]


def test_without_host_scheduler_single_mode_runs_schedules_in_process(spawn):
    body = """
@plugin.schedule(1)
def beat(ctx):
    ctx.log(f"beat {ctx.server_id}")
"""
    fallback = spawn(body)
    fallback.boot(host_scheduler=None)
    hosted = spawn(body)
    hosted.boot(host_scheduler=True)
    pool = spawn(body)
    pool.boot(mode="pool", host_scheduler=None)
    fallback.wait_for(lambda m: m.get("method") == "plugin.log" and m["params"].get("message") == "beat 5", timeout=5)
    time.sleep(0.3)
    assert "beat 5" not in hosted.logs()
    assert not [line for line in pool.logs() if line.startswith("beat")]


def test_lifecycle_hooks_run_with_the_named_servers_ctx(spawn):
    proc = spawn(
        """
@plugin.on_install
def installed(ctx):
    ctx.log(f"install {ctx.server_id}")

@plugin.on_enable()
def enabled(ctx):
    ctx.log(f"enable {ctx.server_id}")

@plugin.on_disable
def disabled(ctx):
    ctx.log(f"disable {ctx.server_id}")

@plugin.on_uninstall
def first_uninstall(ctx):
    ctx.log("replaced")

@plugin.on_uninstall
def uninstalled(ctx):
    ctx.log(f"uninstall {ctx.server_id}")
"""
    )
    proc.notify("host.install", {"lifecycle": "install"})  # before boot: ignored
    proc.boot()
    proc.notify("host.install", {"lifecycle": "install"})
    proc.notify("host.enable", {"type": "enable", "discord_srv_id": "77"})
    proc.notify("host.disable", {"lifecycle": "disable"})
    proc.notify("host.uninstall", {"lifecycle": "uninstall"})
    proc.wait_until(lambda: "uninstall 5" in proc.logs(), what="uninstall hook")
    proc.wait_until(lambda: len([x for x in proc.logs() if x.split()[0] in ("install", "enable", "disable")]) == 3)
    logs = proc.logs()
    assert logs.count("install 5") == 1
    assert "enable 77" in logs and "disable 5" in logs and "replaced" not in logs


def test_dashboard_requests_are_answered(spawn):
    proc = spawn(
        """
@plugin.on_dashboard("stats")
def stats(ctx, params):
    return {"value": 3, "server": ctx.server_id, "params": params}

@plugin.on_dashboard("broken")
def broken(ctx, params):
    raise ValueError("no data yet")
"""
    )
    proc.boot()
    proc.request("d1", "dashboard.stats", {"discord_srv_id": "5", "values": {"a": 1}})
    assert proc.wait_for(lambda m: m.get("id") == "d1")["result"] == {
        "value": 3,
        "server": "5",
        "params": {"discord_srv_id": "5", "values": {"a": 1}},
    }
    proc.request(2, "dashboard.broken", {"discord_srv_id": "5"})
    assert proc.wait_for(lambda m: m.get("id") == 2)["result"] == {"error": "no data yet"}
    proc.request(3, "dashboard.missing", {"discord_srv_id": "5"})
    assert proc.wait_for(lambda m: m.get("id") == 3)["error"] == {"message": "unknown method: dashboard.missing"}
    proc.request(4, "host.frobnicate", {})
    assert proc.wait_for(lambda m: m.get("id") == 4)["error"] == {"message": "unknown method: host.frobnicate"}


def test_shutdown_lets_a_running_handler_finish_and_flushes_its_ack(spawn):
    proc = spawn(
        """
@plugin.on_event("message_create")
def slow(ctx, event):
    time.sleep(0.5)
    ctx.log("finished")
"""
    )
    proc.boot()
    proc.event("message_create", {}, event_id="s1")
    time.sleep(0.1)
    start = time.monotonic()
    assert proc.shutdown() == 0
    assert time.monotonic() - start < 4
    proc.wait_until(lambda: "s1" in proc.acked(), what="ack flushed before exit")
    assert "finished" in proc.logs()


def test_stdin_eof_exits_with_status_zero(spawn):
    proc = spawn(ECHO)
    proc.boot()
    proc.close_stdin()
    assert proc.proc.wait(timeout=5) == 0


def test_stray_output_never_reaches_the_protocol_stream(spawn):
    proc = spawn(
        """
import os
print("printed before run()")

@plugin.on_event("message_create")
def noisy(ctx, event):
    print("print() in a handler")
    sys.stdout.write("sys.stdout.write in a handler\\n")
    os.write(1, b"os.write(1) in a handler\\n")
    ctx.log(f"stdin reads {sys.stdin.read()!r}")
""".replace("import os", "import os, sys")
    )
    proc.boot()
    proc.event("message_create", {}, event_id=1)
    proc.wait_for(method="event.ack")
    assert proc.stray == ["printed before run()"]
    assert "stdin reads ''" in proc.logs()
    assert proc.shutdown() == 0
    time.sleep(0.1)
    for text in ("print() in a handler", "sys.stdout.write in a handler", "os.write(1) in a handler"):
        assert text in proc.stderr


def test_run_twice_raises_and_no_run_mode_returns(tmp_path):
    script = tmp_path / "twice.py"
    script.write_text(
        "import os\nfrom mmo_maid_sdk import Plugin\nplugin = Plugin()\n"
        "os.environ['MMO_SDK_NO_RUN'] = '1'\n"
        "assert plugin.run() is None\n"
        "print('returned')\n"
        "from mmo_maid_sdk import _plugin\nplugin._ran = True\ndel os.environ['MMO_SDK_NO_RUN']\n"
        "try:\n    plugin.run()\nexcept RuntimeError as exc:\n    print('RuntimeError', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "returned"
    assert out.stdout.splitlines()[1].startswith("RuntimeError Plugin.run() was already called")


def test_importing_the_sdk_has_no_side_effects(tmp_path):
    script = """
import os, sys, threading
reads = []
class Env(dict):
    def __getitem__(self, k):
        reads.append(k); return super().__getitem__(k)
    def get(self, k, d=None):
        reads.append(k); return super().get(k, d)
    def __contains__(self, k):
        reads.append(k); return super().__contains__(k)
os.environ = Env(os.environ)
fds = sorted(os.listdir('/proc/self/fd'))
import mmo_maid_sdk, mmo_maid_sdk.testing, mmo_maid_sdk.events, mmo_maid_sdk.cli
plugin = mmo_maid_sdk.Plugin()
assert sorted(os.listdir('/proc/self/fd')) == fds, 'file descriptors changed'
assert threading.active_count() == 1, 'a thread was started'
assert 'pytest' not in sys.modules, 'pytest was imported'
assert reads == [], f'environment read: {reads}'
print('clean')
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "clean", out.stderr
