"""``maidcore review`` and ``maidcore marketplace ...``: the review pipeline and installs, on the local records.

These match the HTTP API route for route and work without a running server;
a running ``maidcore serve`` on the same data directory picks install
changes up within ``install_poll_seconds``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from maidcore.cli.state import CliState, pass_state, run, storage_platform
from maidcore.marketplace import publishing, review, upgrades
from maidcore.marketplace.errors import MarketplaceError, Refused
from maidcore.marketplace.findings import from_dict, render
from maidcore.marketplace.versions import latest_published
from maidcore.platform import Platform
from maidcore.records import VersionStatus
from maidcore.web import serialize

T = TypeVar("T")


def _with_platform(state: CliState, fn: Callable[[Platform], Awaitable[T]]) -> T:
    async def body() -> T:
        async with storage_platform(state) as platform:
            platform.review_checks = platform.extensions.review_checks(platform.settings)
            return await fn(platform)

    try:
        return run(body)
    except Refused as exc:
        for finding in exc.findings:
            click.echo(render(finding), err=True)
        raise click.ClickException(str(exc)) from None
    except MarketplaceError as exc:
        raise click.ClickException(str(exc)) from None


def _emit(data: Any, as_json: bool, text: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, indent=None) if as_json else text(data))


def _caps(values: tuple[str, ...]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


json_option = click.option("--json", "as_json", is_flag=True, help="print JSON")


@click.command("review")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--previous",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="previous version's directory, for the tier-shift check",
)
@json_option
@pass_state
def review_command(state: CliState, path: Path, previous: Path | None, as_json: bool) -> None:
    """Run intake and every review check on a zip or plugin directory; submits nothing.

    Exits 1 when any finding is an error, 0 otherwise.
    """
    checks = state.get_extensions().review_checks(state.settings())
    report = review.review_path(checks, path, previous)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        for finding in report.findings:
            click.echo(render(finding))
        errors = sum(1 for f in report.findings if f.severity.value == "error")
        click.echo(f"{len(report.findings)} finding(s), {errors} error(s): would be {report.status.value}", err=True)
    sys.exit(0 if report.ok else 1)


@click.group("marketplace")
def marketplace_group() -> None:
    """Upload, review, publish and install plugins (the HTTP API's operations, on local records)."""


def _version_text(v: dict) -> str:
    lines = [f"{v['plugin_id']} {v['version']}: {v['status']}" + (f" ({v['review_note']})" if v["review_note"] else "")]
    lines += [render(from_dict(f)) for f in v.get("findings", [])]
    return "\n".join(lines)


@marketplace_group.command("upload")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--developer", required=True, help="the developer the plugin belongs to")
@json_option
@pass_state
def upload_command(state: CliState, path: Path, developer: str, as_json: bool) -> None:
    """Submit a zip or plugin directory for review."""
    record = _with_platform(state, lambda p: review.submit(p, developer, path, is_admin=True))
    _emit(serialize.version(record), as_json, _version_text)
    if record.status == VersionStatus.REJECTED:
        sys.exit(1)


@marketplace_group.command("reviews")
@click.option(
    "--status", default=VersionStatus.NEEDS_HUMAN_REVIEW.value, type=click.Choice([s.value for s in VersionStatus])
)
@json_option
@pass_state
def reviews_command(state: CliState, status: str, as_json: bool) -> None:
    """Versions in a status (default: waiting for human review)."""

    async def body(p: Platform) -> list[dict]:
        out = []
        for plugin in await p.records.list_plugins():
            out += [serialize.version(v) for v in await p.records.list_versions(plugin.plugin_id) if v.status == status]
        return out

    rows = _with_platform(state, body)
    _emit(rows, as_json, lambda rs: "\n".join(_version_text(r) for r in rs) or f"no version is {status}")


@marketplace_group.command("show")
@click.argument("plugin_id")
@click.argument("version")
@json_option
@pass_state
def show_command(state: CliState, plugin_id: str, version: str, as_json: bool) -> None:
    """A version's status and review findings."""
    record = _with_platform(state, lambda p: review.get_version(p, plugin_id, version))
    _emit(serialize.version(record), as_json, _version_text)


def _decide(
    state: CliState, plugin_id: str, version: str, reviewer: str, note: str, approve: bool, as_json: bool
) -> None:
    record = _with_platform(
        state, lambda p: review.human_review(p, plugin_id, version, reviewer=reviewer, approve=approve, note=note)
    )
    _emit(serialize.version(record, findings=False), as_json, _version_text)


@marketplace_group.command("approve")
@click.argument("plugin_id")
@click.argument("version")
@click.option("--note", default="", help="why (shown to the developer)")
@click.option("--reviewer", default="cli", show_default=True)
@json_option
@pass_state
def approve_command(state: CliState, plugin_id: str, version: str, note: str, reviewer: str, as_json: bool) -> None:
    """Approve a version waiting for human review."""
    _decide(state, plugin_id, version, reviewer, note, True, as_json)


@marketplace_group.command("reject")
@click.argument("plugin_id")
@click.argument("version")
@click.option("--note", required=True, help="what the developer must change")
@click.option("--reviewer", default="cli", show_default=True)
@json_option
@pass_state
def reject_command(state: CliState, plugin_id: str, version: str, note: str, reviewer: str, as_json: bool) -> None:
    """Reject a version waiting for human review."""
    _decide(state, plugin_id, version, reviewer, note, False, as_json)


@marketplace_group.command("publish")
@click.argument("plugin_id")
@click.argument("version")
@json_option
@pass_state
def publish_command(state: CliState, plugin_id: str, version: str, as_json: bool) -> None:
    """Publish an approved version and roll it out to installed servers."""
    result = _with_platform(state, lambda p: publishing.publish(p, plugin_id, version))
    _emit(
        result.as_dict(),
        as_json,
        lambda d: (
            f"published {d['plugin_id']} {d['version']}; upgraded on {len(d['upgraded'])} server(s), "
            f"waiting for approval on {len(d['pending'])}"
        ),
    )


def _listing_text(rows: list[dict]) -> str:
    out = []
    for r in rows:
        caps = ", ".join(f"{c['capability']} ({c['tier']})" for c in r["capabilities"]) or "none"
        out.append(f"{r['plugin_id']} {r['version']} — {r['name']}: {r['description']}\n  capabilities: {caps}")
    return "\n".join(out) or "no published plugin"


@marketplace_group.command("list")
@json_option
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """Published plugins and the capabilities an installer approves."""
    from maidcore.web.routes import _listing

    async def body(p: Platform) -> list[dict]:
        out = []
        for plugin in await p.records.list_plugins():
            latest = await latest_published(p.records, plugin.plugin_id)
            if latest is not None:
                out.append(_listing(latest))
        return out

    _emit(_with_platform(state, body), as_json, _listing_text)


def _install_text(d: dict) -> str:
    line = f"{d['plugin_id']} {d['version']} on server {d['server_id']}: granted {', '.join(d['granted']) or 'nothing'}"
    if d.get("pending_version"):
        line += f" (upgrade to {d['pending_version']} waiting for approval)"
    return line


@marketplace_group.command("install")
@click.argument("server_id")
@click.argument("plugin_id")
@click.option(
    "--approve", "approve", multiple=True, help="a capability shown by `marketplace list` (repeat, or comma-separate)"
)
@click.option("--version", default=None, help="default: the latest published")
@json_option
@pass_state
def install_command(
    state: CliState, server_id: str, plugin_id: str, approve: tuple[str, ...], version: str | None, as_json: bool
) -> None:
    """Install a published plugin on a server with the capabilities approved (all it shows, or some).

    Capabilities left out stay blocked until granted; calls needing them become permission requests.
    """
    record = _with_platform(
        state, lambda p: upgrades.install_published(p, server_id, plugin_id, _caps(approve), version)
    )
    _emit(serialize.install(record), as_json, _install_text)


@marketplace_group.command("grant")
@click.argument("server_id")
@click.argument("plugin_id")
@click.option(
    "--capability", "caps", multiple=True, required=True, help="capability to grant (repeat, or comma-separate)"
)
@json_option
@pass_state
def grant_command(state: CliState, server_id: str, plugin_id: str, caps: tuple[str, ...], as_json: bool) -> None:
    """Grant capabilities; approving a pending upgrade's new ones upgrades it live."""
    record = _with_platform(state, lambda p: upgrades.grant(p, server_id, plugin_id, _caps(caps)))
    _emit(serialize.install(record), as_json, _install_text)


@marketplace_group.command("upgrades")
@click.argument("server_id", required=False)
@json_option
@pass_state
def upgrades_command(state: CliState, server_id: str | None, as_json: bool) -> None:
    """Pending upgrade requests and the new capabilities each needs."""
    rows = _with_platform(state, lambda p: upgrades.upgrade_requests(p, server_id=server_id))

    def text(rs: list[dict]) -> str:
        return (
            "\n".join(
                f"server {r['server_id']}: {r['plugin_id']} {r['version']} → {r['pending_version']} needs "
                + ", ".join(f"{c['capability']} ({c['tier']})" for c in r["new_capabilities"])
                for r in rs
            )
            or "no pending upgrade"
        )

    _emit(rows, as_json, text)


@marketplace_group.command("decline")
@click.argument("server_id")
@click.argument("plugin_id")
@json_option
@pass_state
def decline_command(state: CliState, server_id: str, plugin_id: str, as_json: bool) -> None:
    """Decline a pending upgrade; the server keeps its version."""
    record = _with_platform(state, lambda p: upgrades.decline(p, server_id, plugin_id))
    _emit(serialize.install(record), as_json, _install_text)


@marketplace_group.command("uninstall")
@click.argument("server_id")
@click.argument("plugin_id")
@json_option
@pass_state
def uninstall_command(state: CliState, server_id: str, plugin_id: str, as_json: bool) -> None:
    """Uninstall a plugin from a server."""
    record = _with_platform(state, lambda p: upgrades.uninstall(p, server_id, plugin_id))
    _emit(serialize.install(record), as_json, lambda d: f"uninstalled {d['plugin_id']} from server {d['server_id']}")


@marketplace_group.command("logs")
@click.argument("plugin_id")
@click.option("--server", "server_id", default=None)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@json_option
@pass_state
def logs_command(state: CliState, plugin_id: str, server_id: str | None, limit: int, as_json: bool) -> None:
    """A plugin's logs, newest first."""
    rows = _with_platform(state, lambda p: p.records.list_logs(plugin_id=plugin_id, server_id=server_id, limit=limit))
    data = [serialize.log(e) for e in rows]
    _emit(
        data,
        as_json,
        lambda rs: (
            "\n".join(f"{r['created_at']} {r['server_id']} {r['level'].upper()} {r['message']}" for r in rs)
            or "no log entries"
        ),
    )


@marketplace_group.command("dead-letters")
@click.argument("plugin_id")
@click.option("--server", "server_id", default=None)
@json_option
@pass_state
def dead_letters_command(state: CliState, plugin_id: str, server_id: str | None, as_json: bool) -> None:
    """Events given up on after every redelivery."""
    rows = _with_platform(state, lambda p: p.records.list_dead_letters(plugin_id=plugin_id, server_id=server_id))
    data = [serialize.dead_letter(d) for d in rows]
    _emit(
        data,
        as_json,
        lambda rs: (
            "\n".join(
                f"#{r['id']} {r['server_id']} event {r['event_id']} after {r['attempts']}: {r['error']}" for r in rs
            )
            or "no dead letters"
        ),
    )


COMMANDS = (review_command, marketplace_group)
