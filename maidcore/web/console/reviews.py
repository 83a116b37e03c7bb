"""The reviewer queue: versions waiting for a person, read with their findings, code, diff and tier changes.

A reviewer sees the bundle's files highlighted (Pygments, server-side), the
unified diff of every file against the last published version, and the
capability, tier and host changes that sent the version here; the note they
write with approve or reject is what the developer reads on the version's page.
"""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path
from typing import Any

from aiohttp import web
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer, TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

from maidcore.marketplace import review
from maidcore.marketplace.versions import latest_published, version_key
from maidcore.records import VersionRecord, VersionStatus
from maidcore.web.console import pages, security
from maidcore.web.console.hints import FIX_HINTS
from maidcore.web.console.servers import capability_diff

routes = web.RouteTableDef()

MAX_SHOWN_BYTES = 256 * 1024  # per file; longer files are cut with a note
SKIP_PARTS = frozenset({"__pycache__", ".git"})


def _platform(request: web.Request) -> Any:
    return request.app[security.PLATFORM]


def read_files(root: Path) -> dict[str, str | None]:
    """Relative path → text (``None`` for binary files), sorted with manifest.json and __main__.py first."""
    out: dict[str, str | None] = {}
    if not root.is_dir():
        return out
    for path in sorted(root.rglob("*")):
        if not path.is_file() or SKIP_PARTS & set(path.parts):
            continue
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        try:
            out[rel] = data[:MAX_SHOWN_BYTES].decode("utf-8") + (
                f"\n… cut: the file has {len(data):,} bytes" if len(data) > MAX_SHOWN_BYTES else ""
            )
        except UnicodeDecodeError:
            out[rel] = None
    first = ("manifest.json", "__main__.py")
    return dict(
        sorted(out.items(), key=lambda kv: (kv[0] not in first, first.index(kv[0]) if kv[0] in first else 0, kv[0]))
    )


def highlighted(name: str, text: str, anchor: str) -> Markup:
    """A file as highlighted HTML with a numbered anchor per line (``#<anchor>-<line>``)."""
    try:
        lexer = get_lexer_for_filename(name, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    formatter = HtmlFormatter(cssclass="code", linenos="inline", lineanchors=anchor, anchorlinenos=True)
    return Markup(highlight(text, lexer, formatter))


def file_diffs(old: dict[str, str | None], new: dict[str, str | None]) -> list[dict[str, Any]]:
    """Per file: added, removed or changed, with a highlighted unified diff; unchanged files left out."""
    out = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if name in old and name in new and before == after:
            continue
        state = "added" if name not in old else "removed" if name not in new else "changed"
        if (before is None and name in old) or (after is None and name in new):
            out.append({"name": name, "state": state, "html": None, "binary": True, "plus": 0, "minus": 0})
            continue
        lines = list(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                fromfile=f"a/{name}",
                tofile=f"b/{name}",
                n=3,
            )
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        plus = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
        minus = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
        html = Markup(highlight(text, DiffLexer(stripnl=False), HtmlFormatter(cssclass="code diff")))
        out.append({"name": name, "state": state, "html": html, "binary": False, "plus": plus, "minus": minus})
    return out


async def _previous(platform: Any, record: VersionRecord) -> VersionRecord | None:
    """The version this one would replace: the greatest published version below it."""
    older = [
        v
        for v in await platform.records.list_versions(record.plugin_id)
        if v.status == VersionStatus.PUBLISHED and version_key(v.version) < version_key(record.version)
    ]
    return max(older, key=lambda v: version_key(v.version), default=None)


@routes.get("/review")
@pages.page
async def queue(request: web.Request) -> web.Response:
    """Reviewers and platform admins: versions waiting for a person, and recent decisions."""
    pages.reviewer(request)
    platform = _platform(request)
    waiting, decided = [], []
    for plugin in await platform.records.list_plugins():
        for v in await platform.records.list_versions(plugin.plugin_id):
            if v.status == VersionStatus.NEEDS_HUMAN_REVIEW:
                previous = await _previous(platform, v)
                waiting.append({"record": v, "developer": plugin.developer, "diff": capability_diff(previous, v)})
            elif v.review_note and v.status in (
                VersionStatus.APPROVED,
                VersionStatus.REJECTED,
                VersionStatus.PUBLISHED,
            ):
                decided.append({"record": v, "developer": plugin.developer})
    waiting.sort(key=lambda item: item["record"].submitted_at)
    decided.sort(key=lambda item: item["record"].submitted_at, reverse=True)
    return pages.render(request, "review_queue.html", title="Review queue", waiting=waiting, decided=decided[:20])


@routes.get("/review/{plugin_id}/{version}")
@pages.page
async def review_page(request: web.Request) -> web.Response:
    """Reviewers and platform admins: one version with findings, highlighted files and the diff."""
    pages.reviewer(request)
    platform = _platform(request)
    record = await review.get_version(platform, request.match_info["plugin_id"], request.match_info["version"])
    plugin = await platform.records.get_plugin(record.plugin_id)
    previous = await _previous(platform, record)
    new_files = await asyncio.to_thread(read_files, await platform.bundles.bundle_dir(record))
    old_files = await asyncio.to_thread(read_files, await platform.bundles.bundle_dir(previous)) if previous else {}
    anchors = {name: f"f{i}" for i, name in enumerate(new_files)}
    files = [
        {
            "name": name,
            "anchor": anchors[name],
            "html": highlighted(name, text, anchors[name]) if text is not None else None,
            "size": len(text or ""),
        }
        for name, text in new_files.items()
    ]
    findings = [{**f, "anchor": anchors.get(f.get("path") or "")} for f in record.findings]
    current = await latest_published(platform.records, record.plugin_id)
    return pages.render(
        request,
        "review.html",
        title=f"Review {record.plugin_id} {record.version}",
        record=record,
        developer=plugin.developer if plugin else "?",
        previous=previous,
        current=current,
        diff=capability_diff(previous, record),
        findings=findings,
        hints=FIX_HINTS,
        files=files,
        file_diffs=await asyncio.to_thread(file_diffs, old_files, new_files) if previous else [],
        decidable=record.status in (VersionStatus.NEEDS_HUMAN_REVIEW, VersionStatus.SUBMITTED),
    )


async def _decide(request: web.Request, approve: bool) -> web.Response:
    who = pages.reviewer(request)
    pid, version = request.match_info["plugin_id"], request.match_info["version"]
    note = str((await pages.form(request)).get("note", "")).strip()
    if not approve and not note:
        raise ValueError("write a note: rejecting needs one telling the developer what to change")
    await review.human_review(_platform(request), pid, version, reviewer=who.name, approve=approve, note=note[:2000])
    verdict = "approved" if approve else "rejected"
    return pages.redirect("/review", flash=("ok", f"{pid} {version} {verdict}; the developer sees your note."))


@routes.post("/review/{plugin_id}/{version}/approve")
@pages.action(lambda r: f"/review/{r.match_info['plugin_id']}/{r.match_info['version']}")
async def approve(request: web.Request) -> web.Response:
    return await _decide(request, True)


@routes.post("/review/{plugin_id}/{version}/reject")
@pages.action(lambda r: f"/review/{r.match_info['plugin_id']}/{r.match_info['version']}")
async def reject(request: web.Request) -> web.Response:
    return await _decide(request, False)
