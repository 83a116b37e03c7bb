"""The plugin manifest (SDK contract §2) as a pydantic model.

``load_manifest`` is the one way the platform reads a ``manifest.json``: it
returns the model and the warnings (unknown keys, legacy capability keys and
names), or raises ``ManifestError`` whose lines each name a field and say what
is wrong with it. ``schemas/manifest.schema.json`` is generated from this model
(``maidcore schema manifest``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from yourbot_sdk.spec import commands as _commands
from yourbot_sdk.spec.capabilities import CAPABILITY_KEYS, CAPABILITY_PATTERN
from yourbot_sdk.spec.capabilities import declared_capabilities as spec_declared_capabilities
from yourbot_sdk.spec.commands import COMMAND_NAME_PATTERN, RESERVED_COMMAND_NAMES
from yourbot_sdk.spec.cron import MAX_CRON_ENTRIES, cron_spec_problem
from yourbot_sdk.spec.manifest import PLACEHOLDER_DESCRIPTIONS, PLUGIN_ID_PATTERN, hostname_problem, normalised_domain

from maidcore import capabilities

# The patterns, reserved names and cron rules `yourbot validate` checks are defined once, in
# ``yourbot_sdk.spec``; this model applies them (and is what ``schemas/manifest.schema.json`` shows).
__all__ = [
    "CAPABILITY_PATTERN",
    "COMMAND_NAME_PATTERN",
    "PLUGIN_ID_PATTERN",
    "RESERVED_COMMANDS",
    "Manifest",
    "ManifestError",
    "declared_capabilities",
    "hostname_problem",
    "json_schema",
    "load_manifest",
    "read_manifest",
    "schema_text",
]

RESERVED_COMMANDS: frozenset[str] = RESERVED_COMMAND_NAMES


class ManifestError(ValueError):
    """The manifest is invalid; ``problems`` holds ``(field, message)`` pairs, ``str()`` one line each."""

    def __init__(self, problems: list[tuple[str, str]], source: str = "manifest.json") -> None:
        self.problems = problems
        self.source = source
        lines = "\n".join(f"  {field}: {message}" for field, message in problems)
        super().__init__(f"{source} is invalid:\n{lines}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


_TEXT = _commands.MAX_DESCRIPTION  # names and descriptions of commands, options and choices
_TYPES = sorted(_commands.OPTION_TYPES)
_CHOICE_TYPES = sorted(_commands.CHOICE_TYPES)


class Choice(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=_TEXT)]
    value: str | int | float


class CommandOption(_Strict):
    """One slash-command option (§2.2); sub-commands and groups nest ``options``."""

    model_config = ConfigDict(extra="allow")  # min_value, max_length, channel_types… go to Discord unchanged

    type: Annotated[int, Field(ge=_TYPES[0], le=_TYPES[-1], description="1 sub-command … 11 attachment")]
    name: Annotated[str, Field(pattern=COMMAND_NAME_PATTERN)]
    description: Annotated[str, Field(min_length=1, max_length=_TEXT)]
    required: bool = False
    choices: Annotated[list[Choice] | None, Field(max_length=_commands.MAX_CHOICES)] = None
    options: Annotated[list[CommandOption] | None, Field(max_length=_commands.MAX_OPTIONS)] = None

    @model_validator(mode="after")
    def _shape(self) -> CommandOption:
        if self.type in (1, 2) and "required" in self.model_fields_set:
            raise ValueError(f"'required' is not allowed on a sub-command or group (type {self.type})")
        if self.choices is not None:
            if self.type not in _CHOICE_TYPES:
                kinds = ", ".join(map(str, _CHOICE_TYPES[:-1])) + f" and {_CHOICE_TYPES[-1]}"
                raise ValueError(f"choices are allowed only on types {kinds}, not type {self.type}")
            for choice in self.choices:
                _check_choice(self.type, choice)
        if self.type in (1, 2):
            allowed = {1} if self.type == 2 else set(range(3, 12))
            for child in self.options or ():
                if child.type not in allowed:
                    kinds = "sub-commands (type 1)" if self.type == 2 else "options of types 3-11"
                    raise ValueError(f"a type {self.type} option may hold only {kinds}, not type {child.type}")
        elif self.options:
            raise ValueError(f"nested options are allowed only on types 1 and 2, not type {self.type}")
        _check_options(self.options or [])
        return self


def _check_choice(option_type: int, choice: Choice) -> None:
    value = choice.value
    if option_type == 3 and not (isinstance(value, str) and len(value) <= _TEXT):
        raise ValueError(f"choice {choice.name!r}: value must be a string of at most {_TEXT} characters")
    if option_type == 4 and not (isinstance(value, int) and not isinstance(value, bool)):
        raise ValueError(f"choice {choice.name!r}: value must be an integer")
    if option_type == 10 and (isinstance(value, (str, bool))):
        raise ValueError(f"choice {choice.name!r}: value must be a number")


def _check_options(options: list[CommandOption]) -> None:
    names = [o.name for o in options]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"option names must be unique among siblings; repeated: {', '.join(dupes)}")
    seen_optional = False
    for option in options:
        if option.type in (1, 2):
            continue
        if not option.required:
            seen_optional = True
        elif seen_optional:
            raise ValueError(f"required option {option.name!r} must come before the optional ones")


class SlashCommand(_Strict):
    """A top-level slash command (§2.2)."""

    name: Annotated[str, Field(pattern=COMMAND_NAME_PATTERN)]
    description: Annotated[str, Field(min_length=1, max_length=_TEXT)]
    options: Annotated[list[CommandOption], Field(max_length=_commands.MAX_OPTIONS)] = Field(default_factory=list)
    default_member_permissions: str | None = None

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_COMMANDS:
            raise ValueError(f"{name!r} is reserved by the platform; choose another command name")
        return name

    @field_validator("default_member_permissions")
    @classmethod
    def _bitfield(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError(f"must be a permission bitfield as a decimal string, got {value!r}")
        return value

    @model_validator(mode="after")
    def _options(self) -> SlashCommand:
        _check_options(self.options)
        return self


class CronEntry(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="the @plugin.cron function name")]
    spec: str

    @field_validator("spec")
    @classmethod
    def _spec(cls, spec: str) -> str:
        problem = cron_spec_problem(spec)
        if problem:
            raise ValueError(problem)
        return spec


class Manifest(BaseModel):
    """``manifest.json`` (§2.1). Unknown top-level keys are kept and reported as warnings."""

    model_config = ConfigDict(
        extra="allow",
        title="maidcore plugin manifest",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    id: Annotated[str, Field(pattern=PLUGIN_ID_PATTERN, description="the plugin id registered on the platform")]
    name: Annotated[str, Field(min_length=1, description="marketplace display name")]
    version: Annotated[str, Field(min_length=1, description="MAJOR.MINOR.PATCH recommended")]
    description: Annotated[str, Field(description="what the plugin does; 2000 characters are shown")] = ""
    author: str | None = None
    capabilities_required: list[Annotated[str, Field(pattern=CAPABILITY_PATTERN)]] = Field(
        default_factory=list, description="capabilities from the catalogue (SDK contract §7)"
    )
    slash_commands: list[SlashCommand] = Field(default_factory=list)
    proxy_domains_requested: list[str] = Field(
        default_factory=list, description="host names; other spellings (a URL, a port) are read as their host"
    )
    cron: Annotated[list[CronEntry], Field(max_length=MAX_CRON_ENTRIES)] = Field(default_factory=list)
    icon_url: Annotated[str | None, Field(pattern=r"^https://\S+$")] = None
    tags: list[str] = Field(default_factory=list)
    dashboard_manifest: dict[str, Any] | str | None = Field(
        default=None, description="the dashboard itself, or the name of a bundled JSON file holding it"
    )

    @field_validator("capabilities_required")
    @classmethod
    def _capabilities(cls, caps: list[str]) -> list[str]:
        unknown = [c for c in caps if c not in capabilities.CATALOGUE and c not in capabilities.LEGACY_NAMES]
        if unknown:
            raise ValueError(
                f"unknown capabilit{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; "
                f"known: {', '.join(sorted(capabilities.CATALOGUE))}"
            )
        return caps

    @model_validator(mode="after")
    def _commands_and_cron(self) -> Manifest:
        for key, names in (
            ("slash_commands", [c.name for c in self.slash_commands]),
            ("cron", [c.name for c in self.cron]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{key}: names must be unique; repeated: {', '.join(dupes)}")
        return self

    # --- what the platform reads -------------------------------------------------

    @property
    def unknown_keys(self) -> list[str]:
        return sorted((self.model_extra or {}).keys())

    def effective_capabilities(self) -> frozenset[str]:
        """Declared capabilities (legacy names dropped) plus the auto-added ones (§2.1)."""
        return capabilities.effective(
            self.capabilities_required,
            slash_commands=bool(self.slash_commands),
            proxy_domains=bool(self.proxy_domains_requested),
        )


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before") or str(part).startswith(("function-", "constrained-")):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "manifest"


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')}, got {got!r}"
    if kind == "extra_forbidden":
        return "is not an allowed key here"
    if kind == "value_error":
        return str(ctx.get("error") or error["msg"]).removeprefix("Value error, ")
    msg = error["msg"]
    if kind.endswith("_type") or kind in {"too_short", "too_long", "string_too_short", "string_too_long"}:
        return f"{msg[0].lower()}{msg[1:]}, got {json.dumps(got, default=str)[:80]}"
    return f"{msg[0].lower()}{msg[1:]}"


def declared_capabilities(manifest: dict[str, Any]) -> list[str]:
    """Capabilities under all four ``CAPABILITY_KEYS`` (legacy ones included): their union, as the official SDK reads.

    The raw-dict reading the runner uses for stored versions; ``load_manifest`` applies the same rule.
    """
    return spec_declared_capabilities(manifest)


def load_manifest(data: Any, *, source: str = "manifest.json") -> tuple[Manifest, list[str]]:
    """Validate parsed manifest data; return the model and warnings, or raise ``ManifestError``."""
    if not isinstance(data, dict):
        raise ManifestError([("manifest", f"must be a JSON object, got {type(data).__name__}")], source)
    data = dict(data)
    warnings: list[str] = []
    present = [key for key in CAPABILITY_KEYS if key in data]
    if present:
        for key in present:
            if key != "capabilities_required":
                warnings.append(f"{key}: legacy capability key; rename it to capabilities_required")
        if present != ["capabilities_required"]:
            wrong = next((key for key in present if not isinstance(data[key], list)), None)
            # the union of every key (official SDK); a key that is no list is handed on so the model names it
            union = list(dict.fromkeys(c for key in present for c in data[key]))  # declared order kept
            data["capabilities_required"] = data[wrong] if wrong else union
            for other in present:
                if other != "capabilities_required":
                    data.pop(other)
    warnings += _relax(data)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        problems = [(_field_path(tuple(e["loc"])), _message(e)) for e in exc.errors()]
        raise ManifestError(problems, source) from None
    for key in manifest.unknown_keys:
        warnings.append(f"{key}: unknown key, ignored")
    if not manifest.description.strip():
        warnings.append("description: empty; the marketplace shows no text for the plugin")
    for cap in manifest.capabilities_required:
        if cap in capabilities.LEGACY_NAMES:
            warnings.append(f"capabilities_required: {cap} is a legacy name and grants nothing")
    lowered = manifest.description.lower()
    if any(p in lowered for p in PLACEHOLDER_DESCRIPTIONS):
        warnings.append("description: looks like placeholder text; describe what the plugin does")
    return manifest, warnings


def _relax(data: dict[str, Any]) -> list[str]:
    """Accept what the official platform publishes (docs/review.md, "Relaxed"): fix or drop in place, and say so."""
    warnings = []
    if data.get("description") is None:
        data["description"] = ""
    if isinstance(data.get("description"), str) and len(data["description"]) > 2000:
        warnings.append(f"description: {len(data['description'])} characters; the first 2000 are shown")
    icon = data.get("icon_url")
    if icon is not None and not (isinstance(icon, str) and re.match(r"^https://\S+$", icon)):
        warnings.append(f"icon_url: {icon!r} is not an https:// URL; no icon is shown")
        del data["icon_url"]
    tags = data.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        warnings.append("tags: not a list of strings; ignored")
        del data["tags"]
    caps = data.get("capabilities_required")
    if isinstance(caps, list) and len(set(map(str, caps))) < len(caps):
        warnings.append("capabilities_required: duplicates removed")
        data["capabilities_required"] = list(dict.fromkeys(caps))
    domains = data.get("proxy_domains_requested")
    if isinstance(domains, list):
        kept = []
        for entry in domains:
            host, problem = normalised_domain(entry)
            if problem:
                warnings.append(f"proxy_domains_requested: {entry!r} {problem}; it allows nothing")
            elif host not in kept:
                if host != entry:
                    warnings.append(f"proxy_domains_requested: {entry!r} is read as {host!r}")
                kept.append(host)
        data["proxy_domains_requested"] = kept
    return warnings


def read_manifest(bundle_dir: Path) -> tuple[Manifest, list[str]]:
    """Read and validate ``<bundle_dir>/manifest.json``."""
    path = Path(bundle_dir) / "manifest.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([("manifest.json", f"is missing from {bundle_dir}")], str(path)) from None
    except UnicodeDecodeError as exc:
        raise ManifestError([("manifest", f"must be UTF-8 ({exc.reason} at byte {exc.start})")], str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([("manifest", f"is not valid JSON: {exc.msg} at line {exc.lineno}")], str(path)) from None
    return load_manifest(data, source=str(path))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``manifest.json`` published as ``schemas/manifest.schema.json``."""
    schema = Manifest.model_json_schema()
    schema["description"] = (
        "manifest.json of a maidcore / mmo-maid-sdk plugin (SDK contract §2). "
        "Legacy capability keys (capabilities_requested, requested_capabilities, capabilities) are "
        "accepted with a warning; unknown keys are reported, never rejected."
    )
    schema["properties"]["capabilities_required"]["items"]["enum"] = sorted(
        {*capabilities.CATALOGUE, *capabilities.LEGACY_NAMES}
    )
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
