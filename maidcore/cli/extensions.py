"""``maidcore extensions``: what loaded, from which distribution, and which implementation serves each layer."""

from __future__ import annotations

import json

import click

from maidcore.cli.state import CliState, pass_state
from maidcore.extensions import LAYER_HOOKS, ExtensionError

_CHOICE_SETTING = {
    "event_source": "event_source",
    "sandbox_backend": "sandbox_backend",
    "storage_backend": "storage_backend",
    "rate_limiter": "rate_limiter",
}


def extensions_report(state: CliState) -> dict:
    """The data ``maidcore extensions`` prints."""
    exts = state.get_extensions()
    settings = state.settings()
    layers: dict[str, dict] = {}
    for layer in LAYER_HOOKS:
        try:
            registrations = exts.registrations(layer)
            error = None
        except ExtensionError as exc:
            registrations, error = [], str(exc)
        entry: dict = {"registered": {r.name: r.extension for r in registrations}}
        if layer in _CHOICE_SETTING:
            chosen = getattr(settings, _CHOICE_SETTING[layer])
            entry["chosen"] = chosen
            entry["chosen_from"] = entry["registered"].get(chosen)
        if error:
            entry["error"] = error
        layers[layer] = entry
    try:
        sections = {r.name: r.extension for r in exts.registrations("settings_section")}
    except ExtensionError as exc:
        sections = {"error": str(exc)}
    report = exts.report
    return {
        "loaded": [
            {"name": e.name, "module": e.module, "distribution": e.distribution, "version": e.version}
            for e in report.loaded
        ],
        "failed": [
            {"name": f.name, "value": f.value, "distribution": f.distribution, "error": f.error} for f in report.failed
        ],
        "blocked": report.blocked,
        "missing": report.missing,
        "layers": layers,
        "settings_sections": sections,
    }


@click.command("extensions")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.option("--tracebacks", is_flag=True, help="show the full traceback of failed extensions")
@pass_state
def extensions_command(state: CliState, as_json: bool, tracebacks: bool) -> None:
    """List loaded extensions, failures, and the implementation each layer uses."""
    data = extensions_report(state)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo("loaded:")
    for e in data["loaded"]:
        origin = f"{e['distribution']} {e['version']}" if e["distribution"] else "registered in-process"
        click.echo(f"  {e['name']:12} {e['module']}  ({origin})")
    if data["failed"]:
        click.echo("failed (skipped):")
        for f in data["failed"]:
            lines = [line for line in f["error"].strip().splitlines() if line.strip()]
            click.echo(f"  {f['name']:12} {f['value']}: {lines[-1] if lines else ''}")
            if tracebacks:
                click.echo("    " + f["error"].strip().replace("\n", "\n    "))
    if data["blocked"]:
        click.echo(f"not loaded (MAIDCORE_LOAD_EXTENSIONS / MAIDCORE_BLOCK_EXTENSIONS): {', '.join(data['blocked'])}")
    if data["missing"]:
        click.echo(f"named in MAIDCORE_LOAD_EXTENSIONS but not installed: {', '.join(data['missing'])}")
    click.echo("layers:")
    for layer, entry in data["layers"].items():
        registered = ", ".join(f"{n} ({ext})" for n, ext in entry["registered"].items()) or "none"
        if "chosen" in entry:
            mark = f"from {entry['chosen_from']}" if entry["chosen_from"] else "NOT REGISTERED"
            click.echo(f"  {layer:16} uses {entry['chosen']} ({mark}); registered: {registered}")
        else:
            click.echo(f"  {layer:16} all run: {registered}")
        if entry.get("error"):
            click.echo(f"  {'':16} error: {entry['error']}")
    sections = ", ".join(f"[{name}] ({ext})" for name, ext in data["settings_sections"].items()) or "none"
    click.echo(f"settings sections: {sections}")


COMMANDS = (extensions_command,)
