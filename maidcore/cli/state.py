"""What every command shares: the settings (built lazily, so ``--help`` never fails on bad settings) and extensions."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from maidcore.extensions import ExtensionError, Extensions
from maidcore.platform import Platform
from maidcore.settings import ConfigFileError, Settings, mask_url, settings_class

T = TypeVar("T")


@dataclass
class CliState:
    extensions: Extensions | None = None
    data_dir: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    def get_extensions(self) -> Extensions:
        if self.extensions is None:
            self.extensions = Extensions.load()
        return self.extensions

    def settings(self, **overrides: Any) -> Settings:
        """The effective settings: ``MAIDCORE_*`` env over ``maidcore.toml``, with command-line overrides on top."""
        if self._settings is None or overrides:
            values = {**self.overrides, **overrides}
            if self.data_dir is not None:
                values["data_dir"] = self.data_dir
            try:
                cls = settings_class(self.get_extensions().settings_sections())
            except ExtensionError as exc:
                raise click.ClickException(str(exc)) from None
            try:
                settings = cls(**values)
            except ConfigFileError as exc:
                raise click.ClickException(str(exc)) from None
            except ValidationError as exc:
                problems = [_problem(e, cls) for e in exc.errors()]
                where = f"invalid settings (MAIDCORE_* variables or {_config_path()})"
                if len(problems) == 1:  # one bad setting: one line
                    raise click.ClickException(f"{where}: {problems[0].strip()}") from None
                lines = "\n".join(problems)
                raise click.ClickException(f"{where}:\n{lines}") from None
            if overrides:
                return settings
            self._settings = settings
        return self._settings


_SECRET_PARTS = ("token", "key", "secret", "password")


def _problem(error: Any, cls: type[Settings]) -> str:
    """One settings error: the dotted field, what is wrong, and the value given (never a secret's)."""
    field = ".".join(str(p) for p in error["loc"])
    text = f"  {field}: {error['msg']}"
    if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
        sections = ", ".join(sorted(cls.sections())) or "none"
        text += (
            f" (neither a core setting nor the section of a loaded extension; extension sections: {sections};"
            " see `maidcore extensions`)"
        )
    given = error.get("input")
    if given is None or isinstance(given, dict) or any(part in field.lower() for part in _SECRET_PARTS):
        return text
    return f"{text} (got {mask_url(given) if isinstance(given, str) else given!r})"


def _config_path() -> str:
    return os.environ.get("MAIDCORE_CONFIG", "maidcore.toml")


pass_state = click.make_pass_decorator(CliState, ensure=True)


@asynccontextmanager
async def storage_platform(state: CliState) -> AsyncIterator[Platform]:
    """A platform with only its storage open: commands that read and write records directly."""
    platform = Platform(state.settings(), extensions=state.get_extensions())
    try:
        await platform.open_storage()
    except ExtensionError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield platform
    finally:
        await platform.close()


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run one async command body to completion."""
    return asyncio.run(coro_fn())  # type: ignore[arg-type]
