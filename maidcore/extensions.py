"""Extension loading and the typed facade over the plugin manager.

Every extension (the defaults included) is an entry point of the group
``maidcore``. Each one loads in its own ``try``: a broken extension is reported
with its traceback and skipped, so it can never take the host down;
``MAIDCORE_STRICT_EXTENSIONS=1`` re-raises instead (for extension authors).
``MAIDCORE_LOAD_EXTENSIONS`` (comma list) loads only the named entry points,
``MAIDCORE_BLOCK_EXTENSIONS`` skips the named ones.

Core code talks to extensions only through :class:`Extensions`, one typed method
per hook, never through ``pm.hook.<name>`` directly.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from maidcore import hookspecs
from maidcore.settings import SectionError, Settings, check_section, load_settings

T = TypeVar("T")

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel

    from maidcore.layers import (
        EventSource,
        LayerContext,
        LocalMode,
        RateLimiter,
        ReviewCheck,
        SandboxBackend,
        Storage,
    )
    from maidcore.platform import Platform

    Factory = Callable[[LayerContext[Any]], T]

log = logging.getLogger(__name__)

GROUP = hookspecs.PROJECT
LOAD_ENV = "MAIDCORE_LOAD_EXTENSIONS"
BLOCK_ENV = "MAIDCORE_BLOCK_EXTENSIONS"
STRICT_ENV = "MAIDCORE_STRICT_EXTENSIONS"

#: The layer kinds, as named in errors, settings and ``maidcore extensions``.
LAYER_HOOKS: Mapping[str, str] = {
    "event_source": "register_event_sources",
    "sandbox_backend": "register_sandbox_backends",
    "storage_backend": "register_storage",
    "rate_limiter": "register_rate_limiters",
    "review_check": "register_review_checks",
}
#: What may name a settings section at registration (``settings=``): layer factories and review checks.
TAKES_SETTINGS = frozenset({"event_source", "sandbox_backend", "storage_backend", "rate_limiter", "review_check"})
#: Everything registered through a ``register`` callback: the layers and the settings sections.
REGISTRATION_HOOKS: Mapping[str, str] = {
    **LAYER_HOOKS,
    "settings_section": "register_settings",
    "local_mode": "register_local_modes",
}


class ExtensionError(Exception):
    """An extension could not be loaded or registered something inconsistent."""


class DuplicateRegistration(ExtensionError):
    """Two extensions registered the same name for one layer."""


class UnknownImplementation(ExtensionError):
    """Settings chose a layer implementation no loaded extension registered."""


@dataclass(frozen=True)
class LoadedExtension:
    """An extension that loaded: its entry-point name, module and where it came from."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class FailedExtension:
    """An extension that was skipped; ``error`` holds the traceback (or the validation message)."""

    name: str
    value: str
    error: str
    distribution: str | None = None
    version: str | None = None

    @property
    def summary(self) -> str:
        """The last line of the traceback: the exception itself."""
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return lines[-1] if lines else self.error


@dataclass(frozen=True)
class Registration:
    """One implementation registered through a layer hook, and which extension registered it.

    ``settings`` names the settings section a layer factory is built with (``None``: none).
    """

    name: str
    obj: Any
    extension: str
    settings: str | None = None


@dataclass
class LoadReport:
    loaded: list[LoadedExtension] = field(default_factory=list)
    failed: list[FailedExtension] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # entry points skipped by the env vars
    missing: list[str] = field(default_factory=list)  # named in MAIDCORE_LOAD_EXTENSIONS, not installed


def hook_names() -> list[str]:
    """Every hook in ``maidcore.hookspecs``."""
    return sorted(
        name for name, obj in vars(hookspecs).items() if callable(obj) and hasattr(obj, f"{hookspecs.PROJECT}_spec")
    )


def _env_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _strict(environ: Mapping[str, str]) -> bool:
    return environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class Extensions:
    """The plugin manager behind a typed facade; build it with :meth:`load`."""

    def __init__(self, *, strict: bool = False) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self.report = LoadReport()

    # --- loading ---------------------------------------------------------------

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        entry_points_: Iterable[EntryPoint] | None = None,
        strict: bool | None = None,
    ) -> Extensions:
        """Load the ``maidcore`` entry points allowed by the environment, then run ``check_pending``."""
        environ = os.environ if environ is None else environ
        self = cls(strict=_strict(environ) if strict is None else strict)
        only = _env_list(environ.get(LOAD_ENV))
        blocked = set(_env_list(environ.get(BLOCK_ENV)) or ())
        eps = list(entry_points(group=GROUP) if entry_points_ is None else entry_points_)
        seen: set[str] = set()
        for ep in eps:
            if ep.name in seen:
                continue  # the same distribution visible twice on sys.path
            seen.add(ep.name)
            if (only is not None and ep.name not in only) or ep.name in blocked:
                self.report.blocked.append(ep.name)
                continue
            self._load_entry_point(ep)
        if only is not None:
            self.report.missing = [name for name in only if name not in seen]
            for name in self.report.missing:
                log.warning("extension %r is named in %s but no such entry point is installed", name, LOAD_ENV)
        self.check_pending()
        return self

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        dist_name = dist.name if dist is not None else None
        dist_version = dist.version if dist is not None else None
        try:
            module = ep.load()
            self.pm.register(module, name=ep.name)
        except Exception:
            if self.pm.has_plugin(ep.name):  # pluggy may have added some hooks before the one that failed
                self.pm.unregister(name=ep.name)
            if self.strict:
                raise
            failure = FailedExtension(ep.name, ep.value, traceback.format_exc(), dist_name, dist_version)
            self.report.failed.append(failure)
            log.warning(
                "extension %r (%s) failed to load and was skipped: %s (see `maidcore extensions --tracebacks`)",
                ep.name,
                ep.value,
                failure.summary,
            )
            log.debug("traceback of extension %r:\n%s", ep.name, failure.error)
            return
        self.report.loaded.append(LoadedExtension(ep.name, ep.value, dist_name, dist_version))

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register an in-process extension (a module or object with ``@hookimpl`` methods); tests use this."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:
            raise ExtensionError(f"extension {name or plugin!r} is already registered")
        module = getattr(plugin, "__name__", type(plugin).__qualname__)
        self.report.loaded.append(LoadedExtension(registered, module))
        return registered

    def check_pending(self) -> None:
        """Fail loudly on a hook implementation that matches no hook (a misspelt name would never be called).

        Strict mode raises ``PluginValidationError``; otherwise the offending
        extension is unregistered and reported as failed.
        """
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                if self.strict:
                    raise
                name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
                known = ", ".join(hook_names())
                message = f"{exc} (known hooks: {known})"
                self.pm.unregister(exc.plugin)
                self.report.loaded = [e for e in self.report.loaded if e.name != name]
                self.report.failed.append(FailedExtension(name, getattr(exc.plugin, "__name__", name), message))
                log.error("extension %r was skipped: %s", name, message)

    @property
    def names(self) -> list[str]:
        """Names of the registered extensions."""
        return [name for name, _ in self.pm.list_name_plugin()]

    # --- calling hooks one implementation at a time ------------------------------

    def _impls(self, hook_name: str) -> Iterator[tuple[str, Callable[..., Any], tuple[str, ...]]]:
        """Each implementation of a hook in pluggy's call order, with its extension name and wanted arguments."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                continue
            yield impl.plugin_name, impl.function, tuple(impl.argnames)

    def _call_each(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        for ext, fn, argnames in self._impls(hook_name):
            yield ext, fn(**{a: kwargs[a] for a in argnames})

    def registrations(self, layer: str) -> list[Registration]:
        """What ``layer`` (a key of ``REGISTRATION_HOOKS``) has registered, in call order; duplicates are an error."""
        hook_name = REGISTRATION_HOOKS[layer]
        found: dict[str, Registration] = {}

        for ext, fn, argnames in self._impls(hook_name):

            def register(name: str, obj: Any, /, *, settings: str | None = None, _ext: str = ext) -> None:
                if not isinstance(name, str) or not name:
                    raise ExtensionError(f"extension {_ext!r} registered a {layer} with an empty or non-string name")
                if settings is not None and layer not in TAKES_SETTINGS:
                    raise ExtensionError(f"extension {_ext!r}: a {layer} takes no settings= (layers and checks do)")
                if name in found:
                    raise DuplicateRegistration(
                        f"{layer} {name!r} is registered by both extension {found[name].extension!r} and "
                        f"extension {_ext!r}; block one with {BLOCK_ENV}={_ext}"
                    )
                found[name] = Registration(name, obj, _ext, settings)

            before = set(found)
            try:
                fn(**{a: register for a in argnames if a == "register"})
            except ExtensionError:
                raise
            except Exception:
                if self.strict:
                    raise
                for name in set(found) - before:  # nothing half-registered survives
                    del found[name]
                self._hook_failed(ext, hook_name)
        return list(found.values())

    def _hook_failed(self, ext: str, hook_name: str) -> None:
        """Report an extension whose hook raised (once per extension and hook); its other hooks still count."""
        error = traceback.format_exc()
        value = f"{hook_name}()"
        if not any(f.name == ext and f.value == value for f in self.report.failed):
            self.report.failed.append(FailedExtension(ext, value, error))
            log.warning(
                "extension %r failed in %s and was skipped there: %s", ext, hook_name, error.strip().splitlines()[-1]
            )

    def _named(self, layer: str) -> dict[str, Any]:
        return {r.name: r.obj for r in self.registrations(layer)}

    # --- the typed facade ------------------------------------------------------

    def settings_sections(self) -> dict[str, type[BaseModel]]:
        """Settings sections by name (``register_settings``); a bad name or model is an error naming the extension."""
        sections = {}
        for registration in self.registrations("settings_section"):
            try:
                check_section(registration.name, registration.obj)
            except SectionError as exc:
                raise ExtensionError(f"extension {registration.extension!r}: {exc}") from None
            sections[registration.name] = registration.obj
        return sections

    def event_sources(self) -> dict[str, Factory[EventSource]]:
        """Event source factories by name (``register_event_sources``)."""
        return self._named("event_source")

    def sandbox_backends(self) -> dict[str, Factory[SandboxBackend]]:
        """Sandbox backend factories by name (``register_sandbox_backends``)."""
        return self._named("sandbox_backend")

    def storage(self) -> dict[str, Factory[Storage]]:
        """Storage factories by name (``register_storage``)."""
        return self._named("storage_backend")

    def rate_limiters(self) -> dict[str, Factory[RateLimiter]]:
        """Rate limiter factories by name (``register_rate_limiters``)."""
        return self._named("rate_limiter")

    def local_modes(self) -> dict[str, Factory[LocalMode | None]]:
        """Local-mode factories by the event source they stand in for (``register_local_modes``)."""
        return self._named("local_mode")

    def review_checks(self, settings: Settings | None = None) -> dict[str, ReviewCheck]:
        """Review checks by code prefix (``register_review_checks``); all of them run on every review.

        A check registered with ``settings="section"`` is returned bound to that section of
        ``settings`` (called ``check(bundle, previous, settings=<section>)``); without
        ``settings`` the effective ones are read from the environment and ``maidcore.toml``.
        """
        checks: dict[str, ReviewCheck] = {}
        for registration in self.registrations("review_check"):
            if registration.settings is None:
                checks[registration.name] = registration.obj
                continue
            if settings is None:
                settings = load_settings(self)
            if registration.settings not in type(settings).sections():
                raise ExtensionError(
                    f"review check {registration.name!r} of extension {registration.extension!r} reads settings "
                    f"section {registration.settings!r}, which no loaded extension registers"
                )
            section = getattr(settings, registration.settings)
            checks[registration.name] = functools.partial(registration.obj, settings=section)
        return checks

    def add_commands(self, cli: click.Group) -> None:
        """Let every extension add its commands (``register_commands``); a failing one is reported and skipped."""
        for ext, fn, argnames in self._impls("register_commands"):
            try:
                fn(**{a: cli for a in argnames if a == "cli"})
            except Exception:
                if self.strict:
                    raise
                self._hook_failed(ext, "register_commands")

    async def startup(self, platform: Platform) -> None:
        """Run every ``maidcore_startup`` implementation, awaiting coroutine results; errors propagate."""
        for _ext, result in self._call_each("maidcore_startup", platform=platform):
            if inspect.isawaitable(result):
                await result

    async def shutdown(self, platform: Platform) -> None:
        """Run every ``maidcore_shutdown`` implementation; one failing is logged and the others still run."""
        for ext, fn, argnames in self._impls("maidcore_shutdown"):
            try:
                result = fn(**{a: platform for a in argnames if a == "platform"})
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("extension %r failed in maidcore_shutdown", ext)

    # --- choosing --------------------------------------------------------------

    def choose(self, layer: str, name: str) -> Registration:
        """The implementation of ``layer`` registered as ``name``; the error lists the registered names."""
        registrations = {r.name: r for r in self.registrations(layer)}
        if name not in registrations:
            available = ", ".join(sorted(registrations)) or "none (no loaded extension registers one)"
            hint = ""
            if self.report.failed:
                hint = "; failed extensions: " + ", ".join(f.name for f in self.report.failed)
            raise UnknownImplementation(f"unknown {layer} {name!r}: registered ones are {available}{hint}")
        return registrations[name]
