"""``maidcore config`` (effective settings, secrets masked) and ``maidcore schema`` (published JSON schemas)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from maidcore.cli.state import CliState, pass_state


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def to_toml(data: dict[str, Any], table: str = "") -> str:
    """Settings as TOML; unset (``None``) values are shown as comments, since TOML has no null."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            tables.append((f"{table}.{_toml_key(key)}" if table else _toml_key(key), value))
        elif value is None:
            lines.append(f"# {_toml_key(key)} = (unset)")
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    text = "\n".join(lines) + ("\n" if lines else "")
    for name, sub in tables:
        text += f"\n[{name}]\n" + to_toml(sub, name)
    return text


@click.command("config")
@click.option("--format", "fmt", type=click.Choice(["toml", "json"]), default="toml", show_default=True)
@pass_state
def config_command(state: CliState, fmt: str) -> None:
    """Print the effective settings (env over maidcore.toml over defaults), secrets and URL passwords masked."""
    data = state.settings().masked()
    click.echo(json.dumps(data, indent=2) if fmt == "json" else to_toml(data), nl=fmt == "json")


@click.group("schema")
def schema_group() -> None:
    """Published JSON schemas."""


@schema_group.command("manifest")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="write to FILE instead of stdout")
@click.option("--check", is_flag=True, help="exit 1 if --output differs from the generated schema")
def schema_manifest(output: Path | None, check: bool) -> None:
    """The JSON schema of manifest.json, generated from maidcore.manifest.Manifest."""
    from maidcore.manifest import schema_text

    if check and output is None:  # it printed the schema and passed, checking nothing
        raise click.UsageError("--check compares a file with the schema: name it with -o FILE")
    text = schema_text()
    if output is None:
        click.echo(text, nl=False)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            raise click.ClickException(f"{output} is out of date: run `maidcore schema manifest -o {output}`")
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")


COMMANDS = (config_command, schema_group)
