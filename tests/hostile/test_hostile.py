"""Hostile plugins beside a well-behaved one on one runner: each attack is contained and explained,
and the well-behaved plugin answers every event, none lost, none doubled (checked in ``Arena.attack``)."""

from __future__ import annotations

import errno
import json
import os

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def crashed_with(text: str):
    return lambda outcome: any("worker ended" in line and text in line for line in outcome.log)


def reported(outcome) -> bool:
    return bool(outcome.reports)


async def test_fork_bomb_stops_at_the_pids_limit(arena):
    outcome = await arena.attack("forkbomb", until=reported)
    (report,) = outcome.reports
    assert report["failure"] == "EAGAIN"
    assert report["forked"] < 32
    cpu, pids = await arena.cpu_and_pids("hostile_forkbomb")
    assert 1 < pids <= 32  # seen by the engine, not just by the plugin
    assert cpu <= 0.35  # the bombing children share the quarter CPU


async def test_memory_hog_is_oom_killed_and_restarted(arena):
    outcome = await arena.attack("memhog", until=crashed_with("OOM-killed (over the 64m memory limit)"))
    assert outcome.reports == []  # never survived its allocation
    assert arena.slot("hostile_memhog").restarts >= 1


async def test_cpu_spin_in_a_handler_is_dead_lettered_and_others_keep_running(arena):
    outcome = await arena.attack("cpuspin", good_events=20, until=lambda o: arena.slot("hostile_cpuspin").ready)
    await _sleep(1.0)  # the attack event reached the spinning handler
    cpu, _ = await arena.cpu_and_pids("hostile_cpuspin")
    assert 0.1 < cpu <= 0.35  # spinning, and held to its quarter of a CPU
    letters = []
    for _ in range(200):
        letters = await arena.dead_letters("hostile_cpuspin", outcome.server_id)
        if letters:
            break
        await _sleep(0.1)
    assert letters and "not acked within 4s" in letters[0].error


async def test_sleeping_forever_in_a_handler_is_dead_lettered(arena):
    outcome = await arena.attack("sleeper")
    letters = []
    for _ in range(200):
        letters = await arena.dead_letters("hostile_sleeper", outcome.server_id)
        if letters:
            break
        await _sleep(0.1)
    assert letters and "not acked within 4s" in letters[0].error


async def test_socket_connect_outside_and_to_host_loopback_fails(arena, loopback_listener):
    port = loopback_listener.getsockname()[1]
    outcome = await arena.attack("network", channel_name=str(port), until=reported)
    (report,) = outcome.reports
    assert report["outside"]["errno"] == errno.ENETUNREACH
    assert report["loopback"]["errno"] == errno.ECONNREFUSED  # the container's own loopback, not the host's
    assert report["dns"]["ok"] is False
    with pytest.raises(BlockingIOError):
        loopback_listener.accept()  # nothing ever reached the host


async def test_environment_holds_nothing_of_the_host(arena, monkeypatch):
    monkeypatch.setenv("MAIDCORE_HOSTILE_SECRET", "s3cret")
    outcome = await arena.attack("envreader", until=reported)
    (report,) = outcome.reports
    assert set(report["environ"]) <= {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "LC_CTYPE"}
    assert set(report["pid1"]) == {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH"}


async def test_writing_to_root_etc_and_the_bundle_fails_and_tmp_is_capped(arena):
    outcome = await arena.attack("writer", until=reported)
    (report,) = outcome.reports
    assert report["root"]["errno"] == errno.EROFS
    assert report["etc"]["errno"] in (errno.EROFS, errno.EACCES)
    assert report["bundle"]["errno"] in (errno.EROFS, errno.EACCES)  # owned by root, and mounted read-only
    assert report["tmp"]["errno"] == errno.ENOSPC


async def test_reading_proc_1_environ_and_host_paths_shows_nothing_of_the_host(arena, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    os.chmod(secret, 0o644)
    outcome = await arena.attack("snooper", channel_name=str(secret), until=reported)
    (report,) = outcome.reports
    assert report["host_file"]["errno"] == errno.ENOENT
    assert "MAIDCORE" not in report["pid1_environ"]["value"] and "HOME" not in report["pid1_environ"]["value"]
    assert report["shadow"]["ok"] is False
    assert report["docker_sock"] is False
    assert report["root_home"]["ok"] is False


async def test_setuid_zero_is_refused(arena):
    outcome = await arena.attack("setuid", until=reported)
    (report,) = outcome.reports
    assert report["setuid"]["errno"] == errno.EPERM
    assert report["setgid"]["errno"] == errno.EPERM
    assert report["uid"] == 65534


async def test_a_subprocess_is_as_confined_as_its_parent(arena):
    outcome = await arena.attack("spawner", until=reported)
    (report,) = outcome.reports
    uid, env_lines, netdev_lines = report["child"]["value"]
    assert uid == "65534"
    assert int(env_lines) <= 4  # the child inherits the same near-empty environment
    assert int(netdev_lines) == 3  # header (2 lines) + lo


async def test_printing_megabytes_stays_off_the_protocol_and_is_bounded(arena):
    outcome = await arena.attack("printer", until=reported)
    assert outcome.reports == [{"printed_mb": 13}]
    slot = arena.slot("hostile_printer")
    assert slot.restarts == 0


async def test_megabytes_on_the_real_stdout_are_a_protocol_violation(arena):
    await arena.attack("bigline", until=crashed_with("protocol violation: stdout line"))


async def test_a_non_json_line_is_ignored_and_logged(arena):
    outcome = await arena.attack(
        "garbage", until=lambda o: reported(o) and any("non-protocol stdout line" in line for line in o.log)
    )
    assert {"alive": True} in outcome.reports
    assert arena.slot("hostile_garbage").restarts == 0


async def test_closing_stdout_ends_the_worker_with_a_reason(arena):
    # with every descriptor closed the SDK sees EOF and exits; the runner reports it and restarts the worker
    # (the reason may go on with the worker's stderr, e.g. the mmo_maid_sdk import's DeprecationWarning)
    await arena.attack("closer", until=crashed_with("worker ended (exited normally (exit code 0)"))


async def test_exiting_at_boot_is_reported_and_parks_the_plugin(arena):
    outcome = await arena.attack(
        "bootexit", until=lambda o: any("parked" in line and "exit code 7" in line for line in o.log)
    )
    assert any("leaving at boot" in line for line in outcome.log)


async def test_flooding_host_calls_hits_the_rate_limit(arena):
    def summary(outcome):
        return next((json.loads(m) for m in outcome.plugin_logs if m.startswith('{"sent"')), None)

    outcome = await arena.attack("flooder", until=summary)
    report = summary(outcome)
    assert report["error"] == "RateLimitError"
    assert report["sent"] == 200  # the test's discord_actions_per_minute
    assert len(outcome.reports) == report["sent"]  # every message the host performed, and not one more


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
