"""The bytes of uploaded attachments, served at ``/_emulator/attachments/{id}/{name}``.

With a state file they are kept beside it (``attachments/<id>``, one file each, written
once when uploaded), so a message restored after a restart still has its files behind its
attachment URLs. The store is bounded: past :data:`ATTACHMENT_STORE_BYTES` the oldest
attachments (smallest snowflake) are dropped and their URLs answer 404, as an expired
CDN link would.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

#: Total bytes of attachments kept (on disk with a state file, else in memory); the oldest go first.
ATTACHMENT_STORE_BYTES = 64 * 1024 * 1024


def attachment_url(base_url: str, attachment_id: str, filename: str) -> str:
    """Where the emulator serves an attachment (its ``url`` and ``proxy_url``)."""
    return f"{base_url}/_emulator/attachments/{attachment_id}/{filename}"


def repoint(messages: dict[str, dict[str, dict]], base_url: str) -> int:
    """Point restored messages' attachment URLs at this run's address (the port may differ); returns how many moved."""
    moved = 0
    for channel in messages.values():
        for message in channel.values():
            for attachment in message.get("attachments") or []:
                url = attachment_url(base_url, attachment["id"], attachment.get("filename", "file"))
                if attachment.get("url") != url:
                    attachment["url"] = attachment["proxy_url"] = url
                    moved += 1
    return moved


class AttachmentStore:
    """Attachment id -> bytes, at most ``limit`` bytes in all."""

    def __init__(self, directory: Path | None = None, limit: int = ATTACHMENT_STORE_BYTES) -> None:
        self.directory = directory
        self.limit = limit
        self._memory: dict[str, bytes] = {}
        self._sizes: dict[str, int] = {}
        if directory is not None and directory.is_dir():
            for path in directory.iterdir():
                if path.name.isdigit() and path.is_file():
                    self._sizes[path.name] = path.stat().st_size
                elif path.suffix == ".tmp":
                    path.unlink(missing_ok=True)  # a write a crash cut short
            self._evict()

    def __contains__(self, attachment_id: object) -> bool:
        return attachment_id in self._sizes

    def __len__(self) -> int:
        return len(self._sizes)

    @property
    def size(self) -> int:
        return sum(self._sizes.values())

    def ids(self) -> list[str]:
        return sorted(self._sizes, key=int)

    def __setitem__(self, attachment_id: str, data: bytes) -> None:
        if not attachment_id.isdigit():
            raise ValueError(f"attachment id must be a snowflake, not {attachment_id!r}")
        if len(data) > self.limit:
            log.warning(
                "attachment %s (%d bytes) is larger than the store (%d bytes): not kept",
                attachment_id,
                len(data),
                self.limit,
            )
            return
        if self.directory is None:
            self._memory[attachment_id] = bytes(data)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{attachment_id}.tmp"
            tmp.write_bytes(data)
            tmp.replace(self.directory / attachment_id)
        self._sizes[attachment_id] = len(data)
        self._evict()

    def __getitem__(self, attachment_id: str) -> bytes:
        data = self.get(attachment_id)
        if data is None:
            raise KeyError(attachment_id)
        return data

    def get(self, attachment_id: str) -> bytes | None:
        if attachment_id not in self._sizes:
            return None
        if self.directory is None:
            return self._memory.get(attachment_id)
        try:
            return (self.directory / attachment_id).read_bytes()
        except OSError:
            return None

    def _evict(self) -> None:
        total = self.size
        for attachment_id in self.ids():
            if total <= self.limit:
                return
            total -= self._sizes.pop(attachment_id)
            self._memory.pop(attachment_id, None)
            if self.directory is not None:
                (self.directory / attachment_id).unlink(missing_ok=True)
