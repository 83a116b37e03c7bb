"""Records as JSON the API returns."""

from __future__ import annotations

from typing import Any

from maidcore.records import DeadLetter, DeniedCall, InstallRecord, PluginLog, VersionRecord


def version(record: VersionRecord, *, findings: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "plugin_id": record.plugin_id,
        "version": record.version,
        "status": record.status.value,
        "review_note": record.review_note,
        "submitted_at": record.submitted_at.isoformat(),
        "published_at": record.published_at.isoformat() if record.published_at else None,
        "errors": sum(1 for f in record.findings if f.get("severity") == "error"),
        "warnings": sum(1 for f in record.findings if f.get("severity") == "warning"),
    }
    if findings:
        data["findings"] = record.findings
        data["manifest"] = record.manifest
    return data


def install(record: InstallRecord) -> dict[str, Any]:
    return {
        "server_id": record.server_id,
        "plugin_id": record.plugin_id,
        "version": record.version,
        "granted": sorted(record.granted),
        "enabled": record.enabled,
        "pending_version": record.pending_version,
        "installed_at": record.installed_at.isoformat(),
    }


def log(entry: PluginLog) -> dict[str, Any]:
    return {
        "server_id": entry.server_id,
        "plugin_id": entry.plugin_id,
        "level": entry.level,
        "message": entry.message,
        "extra": entry.extra,
        "created_at": entry.created_at.isoformat(),
    }


def dead_letter(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "server_id": letter.server_id,
        "plugin_id": letter.plugin_id,
        "version": letter.version,
        "event_id": letter.event_id,
        "event": letter.event,
        "attempts": letter.attempts,
        "error": letter.error,
        "created_at": letter.created_at.isoformat(),
    }


def denied_call(call: DeniedCall) -> dict[str, Any]:
    return {
        "server_id": call.server_id,
        "plugin_id": call.plugin_id,
        "capability": call.capability,
        "count": call.count,
        "last_method": call.last_method,
        "first_at": call.first_at.isoformat(),
        "last_at": call.last_at.isoformat(),
        "dismissed": call.dismissed,
    }
