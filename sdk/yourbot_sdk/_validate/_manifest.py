"""manifest.json against contract §2: fields, capabilities, slash commands, proxy domains, cron, dashboards."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from ..spec import commands as _commands
from ..spec import manifest as _rules
from ..spec.capabilities import CAPABILITY_PATTERN
from ._catalogue import CAPABILITY_KEYS, CATALOGUE, LEGACY_NAMES
from ._dashboard import check_dashboard_manifest, dashboard_methods
from ._findings import Finding, error, info, warning

__all__ = ["WIDGET_WIDTHS", "check_dashboard_manifest", "dashboard_methods"]  # re-exported: their old home

M = "manifest.json"
ID_RE = re.compile(_rules.PLUGIN_ID_PATTERN)
CAP_RE = re.compile(CAPABILITY_PATTERN)
NAME_RE = re.compile(_commands.COMMAND_NAME_PATTERN)
SEMVER_RE = re.compile(_rules.SEMVER_PATTERN)
LABEL_RE = re.compile(_rules.HOSTNAME_LABEL_PATTERN)
PERMISSIONS_RE = re.compile(r"^\d{1,20}$")
PLACEHOLDERS = _rules.PLACEHOLDER_DESCRIPTIONS
RESERVED = _commands.RESERVED_COMMAND_NAMES
KNOWN_KEYS = _rules.KNOWN_KEYS
WIDGET_WIDTHS = _rules.DASHBOARD_WIDTHS


def manifest_problem(bundle: Any) -> str | None:
    """Why manifest.json could not be read (``None`` when it parsed); works on any ``BundleView``."""
    problem = getattr(bundle, "manifest_problem", None)
    if problem is not None or hasattr(bundle, "manifest_problem"):
        return problem
    text = bundle.text(M)
    if text is None:
        return "missing"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"manifest.json is not valid JSON: {exc.msg} at line {exc.lineno}"
    return None if isinstance(data, dict) else "manifest.json must hold a JSON object"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _nonempty_str(v: Any, limit: int | None = None) -> bool:
    return isinstance(v, str) and v.strip() != "" and (limit is None or len(v) <= limit)


def check_fields(bundle: Any) -> list[Finding]:
    """Required fields, types and constraints of §2.1 (not capabilities, commands, domains or cron)."""
    problem = manifest_problem(bundle)
    if problem == "missing":
        return []  # the layout check reports it
    if problem:
        return [error("manifest_invalid", problem, M)]
    m = bundle.manifest
    out: list[Finding] = []
    bad = lambda msg: out.append(error("manifest_invalid", msg, M))  # noqa: E731
    pid = m.get("id")
    if "id" not in m:
        bad('"id" is required: the plugin id, e.g. "dice_roller"')
    elif not isinstance(pid, str) or not ID_RE.match(pid):
        bad(f'"id" {pid!r} must match ^[a-z][a-z0-9_]{{2,31}}$ (lowercase letter, then 2-31 of a-z 0-9 _)')
    if not _nonempty_str(m.get("name")):
        bad('"name" is required: a non-empty display name')
    version = m.get("version")
    if not _nonempty_str(version):
        bad('"version" is required: a non-empty string such as "1.0.0"')
    elif not SEMVER_RE.match(version):
        out.append(warning("version_not_semver", f'"version" {version!r} is not MAJOR.MINOR.PATCH (e.g. "1.0.0")', M))
    desc = m.get("description")
    if desc is None or (isinstance(desc, str) and not desc.strip()):
        out.append(
            warning("description_missing", '"description" is empty: the marketplace shows no text for the plugin', M)
        )
    elif not isinstance(desc, str):
        bad('"description" must be a string saying what the plugin does')
    else:
        if len(desc) > 2000:
            out.append(
                warning("description_too_long", f'"description" is {len(desc)} characters; the first 2000 are shown', M)
            )
        lowered = desc.lower()
        hit = next((p for p in PLACEHOLDERS if re.search(rf"\b{re.escape(p)}\b", lowered)), None)
        if hit:
            out.append(
                warning(
                    "description_placeholder",
                    f'"description" still holds placeholder text ({hit!r}); describe the plugin',
                    M,
                )
            )
    if "author" in m and not isinstance(m["author"], str):
        bad('"author" must be a string')
    if "icon_url" in m:
        url = m["icon_url"]
        if not isinstance(url, str) or not re.match(r"^https://[^\s/?#]+[^\s]*$", url):
            out.append(warning("icon_url_ignored", f'"icon_url" {url!r} is not an https:// URL; no icon is shown', M))
    if "tags" in m and (not isinstance(m["tags"], list) or not all(isinstance(t, str) for t in m["tags"])):
        out.append(warning("tags_ignored", '"tags" is not a list of strings; it is ignored', M))
    for key in sorted(set(m) - KNOWN_KEYS):
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; it is ignored"
        out.append(warning("manifest_unknown_key", f"unknown manifest key {key!r}{hint}", M))
    return out


def check_capabilities(bundle: Any) -> list[Finding]:
    """Capability lists under any of the four keys (their union counts): unknown names are errors,
    legacy keys and names warnings."""
    if manifest_problem(bundle):
        return []
    out: list[Finding] = []
    seen: set[str] = set()
    for key in CAPABILITY_KEYS:
        if key not in bundle.manifest:
            continue
        raw = bundle.manifest[key]
        if key != "capabilities_required":
            out.append(
                warning(
                    "legacy_capability_key",
                    f'capabilities are (also) under the legacy key "{key}"; move them to "capabilities_required"',
                    M,
                )
            )
        if not isinstance(raw, list):
            out.append(error("manifest_invalid", f'"{key}" must be a list of capability names', M))
            continue
        listed: set[str] = set()
        for cap in raw:
            if not isinstance(cap, str):
                out.append(error("manifest_invalid", f'"{key}" entries must be strings, not {cap!r}', M))
                continue
            if cap in listed:
                out.append(
                    warning("capability_duplicate", f'capability "{cap}" is listed twice in "{key}"; keep one', M)
                )
                continue
            listed.add(cap)
            if cap in seen:
                continue  # already judged under an earlier key
            seen.add(cap)
            out.extend(_capability_findings(cap))
    return out


def _capability_findings(cap: str) -> list[Finding]:
    if cap in CATALOGUE:
        if cap == "events:message_content":
            return [
                info(
                    "capability_no_effect",
                    "events:message_content grants nothing: every plugin receives message text",
                    M,
                )
            ]
        return []
    if cap in LEGACY_NAMES:
        return [
            warning("legacy_capability_name", f'"{cap}" is a legacy capability name and grants nothing; remove it', M)
        ]
    close = difflib.get_close_matches(cap.lower(), sorted(CATALOGUE), n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else f"known capabilities: {', '.join(sorted(CATALOGUE))}"
    shape = "" if CAP_RE.match(cap) else " (names look like area:action, lowercase)"
    return [error("unknown_capability", f'unknown capability "{cap}"{shape}; {hint}', M)]


def _check_choices(opt: dict, where: str, out: list[Finding]) -> None:
    choices = opt.get("choices")
    if choices is None:
        return
    otype = opt.get("type")
    if otype not in (3, 4, 10):
        out.append(error("slash_invalid", f"{where}: choices are only allowed on option types 3, 4 and 10", M))
        return
    if not isinstance(choices, list):
        out.append(error("slash_invalid", f"{where}: choices must be a list of {{name, value}}", M))
        return
    if len(choices) > 25:
        out.append(error("slash_invalid", f"{where}: {len(choices)} choices; at most 25", M))
    for i, choice in enumerate(choices):
        cw = f"{where} choice {i + 1}"
        if not isinstance(choice, dict):
            out.append(error("slash_invalid", f"{cw}: must be an object {{name, value}}", M))
            continue
        if not _nonempty_str(choice.get("name"), 100):
            out.append(error("slash_invalid", f"{cw}: name must be 1-100 characters", M))
        value = choice.get("value")
        if otype == 3 and not (isinstance(value, str) and len(value) <= 100):
            out.append(
                error("slash_invalid", f"{cw}: value must be a string of at most 100 characters (string option)", M)
            )
        elif otype == 4 and not _is_int(value):
            out.append(error("slash_invalid", f"{cw}: value must be an integer (integer option), not {value!r}", M))
        elif otype == 10 and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            out.append(error("slash_invalid", f"{cw}: value must be a number (number option), not {value!r}", M))


def _check_options(options: Any, where: str, parent_type: int | None, out: list[Finding]) -> None:
    if not isinstance(options, list):
        out.append(error("slash_invalid", f"{where}: options must be a list", M))
        return
    if len(options) > 25:
        out.append(error("slash_invalid", f"{where}: {len(options)} options; at most 25", M))
    names: set[str] = set()
    seen_optional = False
    kinds = set()
    for i, opt in enumerate(options):
        ow = f"{where} option {i + 1}"
        if not isinstance(opt, dict):
            out.append(error("slash_invalid", f"{ow}: must be an object", M))
            continue
        name = opt.get("name")
        if isinstance(name, str):
            ow = f'{where} option "{name}"'
        otype = opt.get("type")
        if not _is_int(otype) or not 1 <= otype <= 11:
            out.append(error("slash_invalid", f"{ow}: type must be an integer 1-11, not {otype!r}", M))
            otype = None
        if not isinstance(name, str) or not NAME_RE.match(name):
            out.append(error("slash_invalid", f"{ow}: name {name!r} must match ^[-_a-z0-9]{{1,32}}$", M))
        elif name in names:
            out.append(error("slash_invalid", f'{ow}: two options are named "{name}" here; names must be unique', M))
        else:
            names.add(name)
        if not _nonempty_str(opt.get("description"), 100):
            out.append(error("slash_invalid", f"{ow}: description must be 1-100 characters", M))
        if otype is not None:
            kinds.add(otype in (1, 2))
            if parent_type == 2 and otype != 1:
                out.append(
                    error("slash_invalid", f"{ow}: a sub-command group (type 2) may only hold sub-commands (type 1)", M)
                )
            if parent_type == 1 and otype in (1, 2):
                out.append(error("slash_invalid", f"{ow}: a sub-command (type 1) may only hold option types 3-11", M))
        required = opt.get("required", False)
        if not isinstance(required, bool):
            out.append(error("slash_invalid", f"{ow}: required must be true or false", M))
        elif required and otype in (1, 2):
            out.append(error("slash_invalid", f"{ow}: required is not allowed on sub-commands and groups", M))
        elif required and seen_optional:
            out.append(error("slash_invalid", f"{ow}: required options must come before optional ones; move it up", M))
        elif not required and otype not in (1, 2):
            seen_optional = True
        _check_choices(opt, ow, out)
        if "options" in opt:
            if otype in (1, 2):
                _check_options(opt["options"], ow, otype, out)
            else:
                out.append(error("slash_invalid", f"{ow}: only sub-commands (1) and groups (2) hold options", M))
    if kinds == {True, False}:
        out.append(error("slash_invalid", f"{where}: mixes sub-commands with plain options; use one or the other", M))


def check_slash_commands(bundle: Any) -> list[Finding]:
    """§2.2: names, descriptions, option types and nesting, choices, ordering, duplicates, reserved names."""
    if manifest_problem(bundle) or "slash_commands" not in bundle.manifest:
        return []
    commands = bundle.manifest["slash_commands"]
    if not isinstance(commands, list):
        return [error("slash_invalid", '"slash_commands" must be a list of command objects', M)]
    out: list[Finding] = []
    names: set[str] = set()
    for i, cmd in enumerate(commands):
        where = f"slash command {i + 1}"
        if not isinstance(cmd, dict):
            out.append(error("slash_invalid", f"{where}: must be an object with name and description", M))
            continue
        name = cmd.get("name")
        if isinstance(name, str):
            where = f'slash command "{name}"'
        if not isinstance(name, str) or not NAME_RE.match(name):
            hint = f' (try "{name.lower()}")' if isinstance(name, str) and NAME_RE.match(name.lower()) else ""
            out.append(error("slash_invalid", f"{where}: name {name!r} must match ^[-_a-z0-9]{{1,32}}${hint}", M))
        elif name in RESERVED:
            out.append(
                error("slash_reserved_name", f'{where}: "/{name}" is reserved by the platform; pick another name', M)
            )
        elif name in names:
            out.append(error("slash_invalid", f"{where}: declared twice; command names must be unique", M))
        else:
            names.add(name)
        if not _nonempty_str(cmd.get("description"), 100):
            out.append(error("slash_invalid", f"{where}: description must be 1-100 characters", M))
        perms = cmd.get("default_member_permissions")
        if perms is not None and not (isinstance(perms, str) and PERMISSIONS_RE.match(perms)):
            out.append(
                error("slash_invalid", f'{where}: default_member_permissions must be a bitfield string like "8"', M)
            )
        if "options" in cmd:
            _check_options(cmd["options"], where, None, out)
    return out


def domain_problem(domain: Any) -> str | None:
    """Why ``domain`` is not a bare DNS hostname, or ``None`` (``spec.manifest.hostname_problem``)."""
    return _rules.hostname_problem(domain)


# One normaliser of proxy hosts: the spec's (review, runtime and tier shift all read it).
normalised_domain = _rules.normalised_domain
proxy_domains = _rules.proxy_domains


def check_proxy_domains(bundle: Any) -> list[Finding]:
    """§2.3: bare host names; other spellings of a host are read as that host, unusable entries ignored."""
    if manifest_problem(bundle) or "proxy_domains_requested" not in bundle.manifest:
        return []
    domains = bundle.manifest["proxy_domains_requested"]
    if not isinstance(domains, list):
        return [error("manifest_invalid", '"proxy_domains_requested" must be a list of host names', M)]
    out = []
    seen = set()
    for d in domains:
        host, problem = normalised_domain(d)
        if problem:
            out.append(warning("proxy_domain_ignored", f"proxy domain {d!r} {problem}; it allows nothing", M))
            continue
        if host != d:
            out.append(warning("proxy_domain_normalised", f"proxy domain {d!r} is read as {host!r}; list it so", M))
        if host in seen:
            out.append(warning("proxy_domain_duplicate", f"proxy domain {host!r} is listed twice", M))
        seen.add(host)
    return out
