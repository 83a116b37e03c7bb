"""Write small plugin bundles for tests."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

MAIN = """from mmo_maid_sdk import Plugin

plugin = Plugin()


@plugin.on_event("message_create")
def on_message(ctx, event):
    if not event["author_bot"] and event["content"] == "!ping":
        ctx.discord.send_message(channel_id=event["channel_id"], content="Pong!")


if __name__ == "__main__":
    plugin.run()
"""


def write_plugin(root: Path, plugin_id: str = "pinger", version: str = "1.0.0", **manifest) -> Path:
    """A plugin directory with a manifest (``manifest`` keys override) and an SDK ``__main__.py``."""
    root.mkdir(parents=True, exist_ok=True)
    data = {
        "id": plugin_id,
        "name": plugin_id.title(),
        "version": version,
        "description": "Answers !ping with Pong!",
        "capabilities_required": ["discord:send_message", "storage:kv", "discord:ban_members"],
        **manifest,
    }
    (root / "manifest.json").write_text(json.dumps(data))
    (root / "__main__.py").write_text(MAIN)
    return root


def zip_plugin(source: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return target
