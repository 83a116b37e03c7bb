"""``maidcore serve``: run the platform until SIGINT/SIGTERM, then stop everything it started."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

import maidcore
from maidcore import installs, metrics
from maidcore.cli.logfmt import configure
from maidcore.cli.state import CliState, pass_state
from maidcore.cli.status import describe_storage, runtime_file, status_file
from maidcore.datadir_lock import DataDirBusy, DataDirLock
from maidcore.extensions import ExtensionError
from maidcore.heap import freeze_after_start
from maidcore.listen import cannot_listen
from maidcore.platform import Platform, PlatformError
from maidcore.supervisor import (
    Supervisor,
    SupervisorError,
    check_parent,
    child_status_file,
    end_with_parent,
    lease_plan,
    refuse_local_mode,
    refuse_sqlite,
    shard_plan,
    stop_grace,
)

log = logging.getLogger("maidcore.serve")

#: Sample plugins installed on the demo server of a local mode (the emulator's demo guild).
EXAMPLES_DIR = Path(maidcore.__file__).resolve().parent.parent / "examples"


def example_bundles(root: Path = EXAMPLES_DIR) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file()) if root.is_dir() else []


#: Examples the demo has offered on this data directory (relative to it): each is installed once, so one the
#: user uninstalled stays uninstalled across restarts.
DEMO_FILE = "demo.json"


def _example_id(bundle: Path) -> str:
    try:
        return str(json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["id"])
    except (OSError, ValueError, KeyError, TypeError):
        return bundle.name


async def install_demo(platform: Platform, guild_id: str, root: Path = EXAMPLES_DIR) -> list[str]:
    """Install each example plugin not offered before on the demo server, with all it requests.

    Returns the examples installed on the demo server now (offered earlier and kept, or new).
    """
    record_file = platform.data_dir / DEMO_FILE
    try:
        offered = set(json.loads(record_file.read_text(encoding="utf-8")).get("offered", []))
    except (OSError, ValueError, AttributeError):
        offered = set()
    existing = {i.plugin_id for i in await platform.records.list_installs(server_id=guild_id)}
    done = []
    for bundle in example_bundles(root):
        plugin_id = _example_id(bundle)
        if plugin_id in offered:
            continue
        if plugin_id in existing:  # installed before the demo kept a record: leave it as it is
            offered.add(plugin_id)
            continue
        try:
            record = await installs.install(platform, bundle, guild_id, installs.ALL)
        except installs.InstallError as exc:
            log.warning("demo: example %s not installed: %s", bundle.name, exc)
            continue
        offered.add(plugin_id)
        done.append(record.plugin_id)
    record_file.write_text(json.dumps({"offered": sorted(offered)}), encoding="utf-8")
    present = sorted((existing | set(done)) & offered)
    fields = {"guild_id": guild_id, "installed_now": ",".join(done), "plugins": ",".join(present)}
    log.info("demo plugins", extra=fields)
    return present


def _web_url(web_runner: Any, host: str) -> str:
    """The address the API actually listens on (``web.port = 0`` picks a free port)."""
    for address in web_runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return f"http://{host}:{address[1]}"
    return f"http://{host}"


async def start_web(platform: Platform) -> Any:
    """Serve ``maidcore.web.create_app(platform)`` on ``settings.web``; returns the runner to clean up."""
    from aiohttp import web

    from maidcore.web import create_app

    app = create_app(platform)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = platform.settings.web.host, platform.settings.web.port
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        fix = "set web.port (MAIDCORE_WEB__PORT; 0 picks a free port) or serve with --no-web"
        raise cannot_listen("the web console and API", host, port, exc, fix) from None
    return runner


async def _write_status(platform: Platform, path: Path, interval: float = 2.0) -> None:
    """Keep ``<data_dir>/status.json`` current so ``maidcore status`` works without the web API too."""
    database: dict[str, Any] | None = None
    beats = 0
    while True:
        stats = platform.runner.stats() if platform.runner is not None else {}
        if beats % 15 == 0:  # the database's size moves slowly: ask every 30 s
            database = await describe_storage(platform.storage)
        beats += 1
        data = {"updated_at": datetime.now(UTC).isoformat(), **stats, **({"database": database} if database else {})}
        if platform.cluster is not None:
            data["cluster"] = platform.cluster.status()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        tmp.replace(path)
        await asyncio.sleep(interval)


async def serve(
    state: CliState,
    *,
    unsafe_no_isolation: bool,
    web_enabled: bool,
    ready: asyncio.Event | None = None,
    exiting: bool = False,
    child: tuple[int, int] | None = None,
    human: bool = True,
):
    """Start, wait for a stop signal, stop. Raises ``PlatformError`` when the platform cannot start.

    Raises ``DataDirBusy``, having touched nothing, when another server holds the data directory.
    ``exiting``: the process ends after this returns (the CLI), so signals are ignored once stopped.
    ``child``: ``(parent pid, index)`` of a process of ``serve --processes``: the parent holds the lock.
    ``human``: also print where to open the emulator and the API (off for ``--log-format json``,
    whose stderr holds only JSON lines; the "maidcore serving" line carries both addresses).
    """
    settings = state.settings()
    if child is not None:
        end_with_parent()  # before the check, so a parent dying in between still ends this child
        check_parent(settings.data_dir, child[0])
        await _serve(state, settings, unsafe_no_isolation, web_enabled, ready, exiting, human, child[1])
        return
    with DataDirLock(settings.data_dir):
        await _serve(state, settings, unsafe_no_isolation, web_enabled, ready, exiting, human)


async def _serve(
    state: CliState,
    settings: Any,
    unsafe_no_isolation: bool,
    web_enabled: bool,
    ready: asyncio.Event | None,
    exiting: bool,
    human: bool = True,
    child_index: int | None = None,
) -> None:
    platform = Platform(settings, extensions=state.get_extensions(), unsafe_no_isolation=unsafe_no_isolation or None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    web_runner = None
    marker = runtime_file(platform.data_dir) if child_index is None else None  # the supervisor writes its own
    status_path = (
        status_file(platform.data_dir) if child_index is None else child_status_file(settings.data_dir, child_index)
    )
    try:
        # a stop signal during start-up (a shard that cannot connect, a service that does not answer) stops the
        # node there: start-up is cancelled and the platform closed, instead of the signal waiting for a start
        # that may never end (a --processes child then outlived its parent's SIGKILL)
        starting = asyncio.ensure_future(platform.start())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            log.info("stopping during start-up (signal received)")
            return
        stopped.cancel()
        starting.result()
        if settings.gc_freeze and exiting:  # a process of its own: what start-up built lives as long as it does
            freeze_after_start()
        if web_enabled:
            web_runner = await start_web(platform)
        info: dict[str, Any] = {"pid": os.getpid(), "started_at": datetime.now(UTC).isoformat()}
        if web_runner is not None:
            info["web"] = _web_url(web_runner, settings.web.host)
        local = platform.local
        if local is not None:
            info["local"] = local.name
            if local.url:
                info["emulator"] = local.url
            # one node of a cluster installs the demo for all (they share the records), one child of --processes
            cluster = platform.cluster
            first = await cluster.once("demo-install", 60) if cluster is not None else child_index in (None, 0)
            if local.demo_server_id and first:
                info["demo_plugins"] = await install_demo(platform, local.demo_server_id)
        if marker is not None:
            marker.write_text(json.dumps(info), encoding="utf-8")
        log.info(
            "maidcore serving",
            extra={
                "data_dir": str(platform.data_dir),
                **{layer: name for layer, name in platform.chosen.items()},
                **{k: v for k, v in info.items() if k in ("web", "emulator")},
            },
        )
        if local is not None and human and child_index in (None, 0):  # one line per node, not per process
            demo = info.get("demo_plugins")
            extra = f" (demo: {', '.join(demo) or 'no example plugins found'})" if demo is not None else ""
            where = f"open {local.url}" if local.url else "running"
            click.echo(f"{local.name}: {where}{extra}", err=True)
        if web_runner is not None and human:
            click.echo(f"web console and API: {info['web']}/ (sign in with Discord)", err=True)
        if ready is not None:
            ready.set()
        status_task = asyncio.create_task(_write_status(platform, status_path), name="maidcore-status-file")
        live_gauges = None
        if child_index is not None and metrics.multiprocess_dir() is not None:  # --processes: /metrics sums children
            live_gauges = asyncio.create_task(metrics.publish_live(str(child_index)), name="maidcore-live-gauges")
        await stop.wait()
        status_task.cancel()
        if live_gauges is not None:
            live_gauges.cancel()
        log.info("stopping (signal received)")
    finally:
        # the signal handlers stay until everything is closed: a second Ctrl-C must not cut the cleanup short
        for path in (marker, status_path):
            if path is not None:
                path.unlink(missing_ok=True)
        if web_runner is not None:
            await web_runner.cleanup()
        await platform.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
            if exiting:
                signal.signal(sig, signal.SIG_IGN)  # the process exits now; a late signal changes nothing
        log.info("stopped")


@click.command("serve")
@click.option(
    "--unsafe-no-isolation",
    is_flag=True,
    help="allow a non-isolating sandbox backend (process) with a real Discord token: plugins get NO isolation",
)
@click.option("--sandbox", "sandbox", metavar="NAME", help="sandbox backend to use (overrides settings)")
@click.option("--no-web", is_flag=True, help="do not serve the web console and API")
@click.option("--log-format", type=click.Choice(["kv", "json"]), default="kv", show_default=True)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    default="INFO",
    show_default=True,
)
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="serving processes on this machine (one event loop each, the node's shards split among them)",
)
@click.option("--supervised-by", type=int, hidden=True)
@click.option("--child-index", type=int, default=0, hidden=True)
@pass_state
def serve_command(
    state: CliState,
    unsafe_no_isolation: bool,
    sandbox: str | None,
    no_web: bool,
    log_format: str,
    log_level: str,
    processes: int,
    supervised_by: int | None,
    child_index: int,
) -> None:
    """Run every configured layer, the runner and the installed plugins until SIGINT/SIGTERM.

    When the event source runs in local mode (no Discord token: the emulator stands
    in for Discord), its page is printed, and with `discord.demo` on every plugin
    under examples/ is installed on the demo guild.
    """
    configure(log_format, log_level)
    if sandbox:
        state.overrides["sandbox_backend"] = sandbox
    try:
        _serve_command(
            state, unsafe_no_isolation, sandbox, no_web, log_format, log_level, processes, supervised_by, child_index
        )
    except click.ClickException as exc:
        if log_format != "json":
            raise
        # with --log-format json stderr holds only JSON lines: the reason is one more, not click's "Error: …" text
        if not isinstance(exc, _Logged):
            log.error("maidcore cannot start: %s", exc.format_message())
        raise click.exceptions.Exit(exc.exit_code) from None


class _Logged(click.ClickException):
    """A start-up error the serve log already holds."""


def _serve_command(
    state: CliState,
    unsafe_no_isolation: bool,
    sandbox: str | None,
    no_web: bool,
    log_format: str,
    log_level: str,
    processes: int,
    supervised_by: int | None,
    child_index: int,
) -> None:
    state.settings()  # bad settings end here, in one clear message (a ClickException), before anything starts
    if processes > 1 and supervised_by is None:
        forwarded = ["--log-format", log_format, "--log-level", log_level]
        forwarded += [flag for flag, on in (("--unsafe-no-isolation", unsafe_no_isolation), ("--no-web", no_web)) if on]
        forwarded += ["--sandbox", sandbox] if sandbox else []
        _supervise(state, processes, forwarded, web=not no_web)
        return
    child = (supervised_by, child_index) if supervised_by is not None else None
    try:
        asyncio.run(
            serve(
                state,
                unsafe_no_isolation=unsafe_no_isolation,
                web_enabled=not no_web,
                exiting=True,
                human=log_format != "json",
                child=child,
            )
        )
    except click.ClickException:
        raise
    except DataDirBusy as exc:  # one line, and nothing of the running server touched
        raise click.ClickException(str(exc)) from None
    except (PlatformError, ExtensionError) as exc:
        log.error("maidcore cannot start: %s", exc)
        raise _Logged(str(exc)) from None
    except Exception as exc:  # a layer failed in a way it did not explain: keep the traceback in the log
        log.error("maidcore stopped on an unexpected error", exc_info=True)
        raise _Logged(f"{type(exc).__name__}: {exc}") from None


def _supervise(state: CliState, processes: int, serve_args: list[str], *, web: bool) -> None:
    """The parent of ``--processes N``: hold the data directory, run and watch the children."""
    settings = state.settings()
    discord = settings.section("discord") if "discord" in settings.sections() else None
    storage = settings.section("storage") if "storage" in settings.sections() else None
    try:
        refuse_sqlite(getattr(storage, "database_url", None))
        refuse_local_mode(getattr(discord, "token", None), getattr(discord, "emulator_url", None))
        node_id: str | None = None
        if settings.cluster.url:  # each child a cluster node: shards by lease, failover between siblings
            from maidcore.cluster.node import default_node_id

            count, plan = getattr(discord, "shard_count", None), lease_plan(processes)
            node_id = settings.cluster.node_id or default_node_id()
        else:
            count, plan = shard_plan(
                getattr(discord, "shard_ids", None), getattr(discord, "shard_count", None), processes
            )
        with DataDirLock(settings.data_dir):
            Supervisor(
                Path(settings.data_dir).expanduser(),
                plan,
                count,
                serve_args,
                web_port=settings.web.port if web else None,
                node_id=node_id,
                stop_grace_seconds=stop_grace(settings.runner.shutdown_grace_seconds),
            ).run()
    except (SupervisorError, DataDirBusy) as exc:
        raise click.ClickException(str(exc)) from None


COMMANDS = (serve_command,)
