"""Structured log lines for ``maidcore serve``: ``key=value`` (logfmt) or one JSON object per line.

Fields passed as ``extra=`` to a logging call become keys of the line, so a
log aggregator can filter on ``plugin_id=`` or ``server_id=`` without parsing text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    fields.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    return fields


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and not any(c in text for c in ' ="\n\t'):
        return text
    return json.dumps(text)


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=info logger=maidcore.platform msg="layer built" layer=storage_backend``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the same keys as ``KeyValueFormatter``."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


def show_progress() -> None:
    """Print ``maidcore.progress`` lines (long installs and builds) plainly on stderr: commands other than serve."""
    progress = logging.getLogger("maidcore.progress")
    if any(getattr(h, "_maidcore_progress", False) for h in progress.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._maidcore_progress = True  # type: ignore[attr-defined]
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False


def configure(fmt: str = "kv", level: str = "INFO") -> None:
    """Send every ``maidcore`` log line to stderr in ``fmt`` (``kv`` or ``json``)."""
    progress = logging.getLogger("maidcore.progress")
    for old in [h for h in progress.handlers if getattr(h, "_maidcore_progress", False)]:
        progress.removeHandler(old)  # serve: progress lines are ordinary log lines in the chosen format
    progress.propagate = True
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_maidcore", False):
            root.removeHandler(old)
    handler._maidcore = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    if root.level <= logging.INFO:
        for noisy in ("alembic", "discord.client", "discord.gateway", "aiohttp.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
