"""Build plugin bundles for review tests: a known-good plugin and ways to break it."""

from __future__ import annotations

import copy
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

BASE_MANIFEST: dict[str, Any] = {
    "id": "dice_roller",
    "name": "Dice Roller",
    "version": "1.0.0",
    "description": "Roll dice with /roll and count the rolls.",
    "author": "Jane",
    "capabilities_required": ["discord:send_message", "storage:kv"],
    "slash_commands": [
        {
            "name": "roll",
            "description": "Roll dice",
            "options": [{"type": 4, "name": "sides", "description": "Sides", "required": True}],
        }
    ],
    "cron": [{"name": "daily_summary", "spec": "0 9 * * *"}],
}

BASE_MAIN = """\
import re

from mmo_maid_sdk import Plugin

from dice import roll_value

plugin = Plugin()
WORD = re.compile(r"^!roll")


@plugin.on_slash_command("roll")
def roll(ctx, event):
    sides = event["options"][0]["value"] if event.get("options") else 6
    ctx.interaction.respond(content=str(roll_value(sides)))
    ctx.kv.increment("rolls")


@plugin.on_event("message_create")
def on_message(ctx, event):
    if event.get("author_bot"):
        return
    if WORD.match(event["content"]):
        ctx.discord.send_message(channel_id=event["channel_id"], content=str(roll_value(6)))


@plugin.cron("0 9 * * *")
def daily_summary(ctx):
    ctx.kv.get("rolls")


if __name__ == "__main__":
    plugin.run()
"""

BASE_FILES: dict[str, str] = {
    "__main__.py": BASE_MAIN,
    "dice.py": "import random\n\n\ndef roll_value(sides):\n    return random.randint(1, int(sides))\n",
    "requirements.txt": "mmo-maid-sdk>=0.5.5,<0.6\n",
}


def manifest(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE_MANIFEST)
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


DROP = object()


def write_plugin(
    root: Path,
    *,
    manifest_data: dict[str, Any] | None = None,
    manifest_text: str | None = None,
    files: dict[str, str | bytes | None] | None = None,
) -> Path:
    """The base plugin at ``root`` with a replaced manifest and files changed (``None`` removes one)."""
    root.mkdir(parents=True, exist_ok=True)
    contents: dict[str, str | bytes | None] = dict(BASE_FILES)
    contents["manifest.json"] = (
        manifest_text if manifest_text is not None else json.dumps(manifest_data or BASE_MANIFEST, indent=2)
    )
    contents.update(files or {})
    for rel, data in contents.items():
        if data is None:
            continue
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return root


def zip_dir(root: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    return dest


def base_entries() -> list[tuple[str, bytes]]:
    files = dict(BASE_FILES)
    files["manifest.json"] = json.dumps(BASE_MANIFEST)
    return [(name, text.encode()) for name, text in files.items()]


def make_zip(dest: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]], *, base: bool = True) -> Path:
    """A zip with the base plugin's files (unless ``base=False``) and the given raw entries."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (base_entries() if base else []) + entries:
            zf.writestr(name, data)
    return dest


def special_entry(name: str, mode: int) -> zipfile.ZipInfo:
    """A zip entry whose Unix mode makes it a symlink, device, FIFO..."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (mode | 0o777) << 16
    return info


SYMLINK = stat.S_IFLNK
CHARDEV = stat.S_IFCHR


def patch_entry(path: Path, name: str, *, flags: int | None = None, file_size: int | None = None) -> None:
    """Rewrite header fields of one entry in place (what a hostile zip tool would write)."""
    import struct

    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        entry = bytes(data[pos + 46 : pos + 46 + name_len]).decode()
        if entry == name:
            local = struct.unpack_from("<I", data, pos + 42)[0]
            if flags is not None:
                struct.pack_into("<H", data, pos + 8, flags)
                struct.pack_into("<H", data, local + 6, flags)
            if file_size is not None:
                struct.pack_into("<I", data, pos + 24, file_size)
                struct.pack_into("<I", data, local + 22, file_size)
            path.write_bytes(bytes(data))
            return
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise KeyError(name)
