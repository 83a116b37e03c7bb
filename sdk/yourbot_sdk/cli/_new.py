"""``yourbot new`` and ``yourbot init``: write a plugin project whose own tests pass out of the box."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from . import UsageError, prog

TEMPLATES = {
    "basic": "message_create handler answering !ping with Pong! (ignores bots)",
    "cron": "two @plugin.cron tasks: daily_summary at 09:00 UTC and a 15-minute heartbeat",
    "slash": "/hello slash command",
    "welcome": "greets new members in a channel set with /welcome-channel (KV)",
}
PLUGIN_ID = re.compile(r"[a-z][a-z0-9_]{2,31}")


def _files(template: str) -> dict[str, str]:
    """Relative output path -> template text, common files first, then the template's own."""
    root = resources.files("yourbot_sdk") / "templates"
    out: dict[str, str] = {}
    for folder in ("_common", template):
        stack = [(root / folder, "")]
        while stack:
            node, prefix = stack.pop()
            for child in sorted(node.iterdir(), key=lambda c: c.name):
                if child.is_dir():
                    stack.append((child, f"{prefix}{child.name}/"))
                elif child.name.endswith(".tmpl"):
                    name = child.name[: -len(".tmpl")]
                    name = ".gitignore" if name == "gitignore" else name
                    out[prefix + name] = child.read_text(encoding="utf-8")
    return out


def render(plugin_id: str, template: str) -> dict[str, str]:
    name = plugin_id.replace("_", " ").title()
    values = {"plugin_id": plugin_id, "plugin_name": name, "template": template}
    return {
        path: re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text) for path, text in _files(template).items()
    }


def command_new(plugin_id: str | None, target: str | None, template: str, list_templates: bool) -> int:
    if list_templates:
        for key, text in TEMPLATES.items():
            print(f"{key:8} {text}")
        return 0
    if not plugin_id:
        raise UsageError(f"give the plugin id, e.g. `{prog()} new dice_roller`")
    if not PLUGIN_ID.fullmatch(plugin_id):
        raise UsageError(
            f"invalid plugin id {plugin_id!r}: 3-32 characters, a lowercase letter first, then a-z, 0-9 or _"
        )
    if template not in TEMPLATES:
        raise UsageError(f"unknown template {template!r}; choose one of {', '.join(TEMPLATES)}")
    dest = Path(target) if target else Path(plugin_id)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} already exists and is not an empty directory; pick another --target")
    files = render(plugin_id, template)
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"Created {dest}/ from template {template!r} ({len(files)} files). Next:")
    print(f"  cd {dest} && python -m pytest && {prog()} dev")
    return 0


def _ask(question: str, default: str) -> str:
    answer = input(f"{question} [{default}]: ").strip()
    return answer or default


def command_init() -> int:
    """Ask for the id, template and folder, then do what ``new`` does. Ctrl-D/Ctrl-C cancels (exit 1)."""
    print(f"[{prog()} init] Let's create a plugin.\n")
    default_id = re.sub(r"[^a-z0-9_]", "_", Path.cwd().name.lower()).strip("_") or "my_plugin"
    if not PLUGIN_ID.fullmatch(default_id):
        default_id = "my_plugin"
    try:
        while True:
            plugin_id = _ask("Plugin id (3-32 of a-z, 0-9, _; a letter first)", default_id)
            if PLUGIN_ID.fullmatch(plugin_id):
                break
            print(f"  {plugin_id!r} is not a valid id; try again")
        print("Templates:")
        names = list(TEMPLATES)
        for i, (key, text) in enumerate(TEMPLATES.items(), 1):
            print(f"  {i}. {key:8} {text}")
        while True:
            choice = _ask("Template (number or name)", "basic")
            template = names[int(choice) - 1] if choice.isdigit() and 1 <= int(choice) <= len(names) else choice
            if template in TEMPLATES:
                break
            print(f"  {choice!r} is not one of {', '.join(names)}; try again")
        target = _ask("Create it in", f"./{plugin_id}")
    except (EOFError, KeyboardInterrupt):
        print(f"\n[{prog()} init] cancelled.")
        return 1
    return command_new(plugin_id, target, template, False)
