"""``Plugin``: the registry of handlers a plugin declares with decorators (contract §3)."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: keep typing out of the plugin process
    from collections.abc import Callable
    from typing import Any, TypeVar

    from ._cron import CronSpec

    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Plugin"]

_COMMAND_NAME = re.compile(r"[-_a-z0-9]{1,32}")

#: Set by ``mmo_maid_sdk.pytest_plugin`` and the ``mmo`` CLI: ``run()`` returns at once.
no_run = False


def _bare_or_called(register: Callable[[F], F], fn: Any) -> Any:
    """Support both ``@plugin.on_ready`` and ``@plugin.on_ready()``."""
    if fn is None:
        return register
    if not callable(fn):
        raise ValueError(f"expected a function to decorate, got {fn!r}")
    return register(fn)


def _match_filter(kind: str, custom_id: str | None, prefix: str | None) -> tuple[str | None, str | None]:
    if (custom_id is None) == (prefix is None):
        raise ValueError(
            f"{kind} takes exactly one of custom_id=... or prefix=..., got custom_id={custom_id!r}, prefix={prefix!r}"
        )
    return custom_id, prefix


class Plugin:
    """Declare handlers with the decorators, then call ``run()`` from ``__main__.py``.

    Construction only creates empty registries: no I/O, no threads, no environment reads.
    """

    def __init__(self) -> None:
        self._event_handlers: dict[str, list[Callable[..., Any]]] = {}
        self._ready_handlers: list[Callable[..., Any]] = []
        self._schedules: dict[str, tuple[Callable[..., Any], int]] = {}
        self._crons: dict[str, tuple[Callable[..., Any], CronSpec]] = {}
        self._dashboards: dict[str, Callable[..., Any]] = {}
        self._lifecycle: dict[str, Callable[..., Any]] = {}
        self._ran = False

    # -- events -----------------------------------------------------------------------

    def _add(self, event_type: str, handler: Callable[..., Any]) -> None:
        self._event_handlers.setdefault(event_type, []).append(handler)

    def on_ready(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` once per (process, server) before any other handler for that server."""

        def register(f: F) -> F:
            self._ready_handlers.append(f)
            return f

        return _bare_or_called(register, fn)

    def on_event(self, event_type: str) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for every event of ``event_type``."""
        if not isinstance(event_type, str):
            raise ValueError(f"on_event takes an event type name such as 'message_create', got {event_type!r}")

        def register(f: F) -> F:
            self._add(event_type, f)
            return f

        return register

    def on_slash_command(self, command_name: str) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for the slash command ``command_name`` (root name, exact match)."""
        if not isinstance(command_name, str) or not _COMMAND_NAME.fullmatch(command_name):
            import warnings

            warnings.warn(
                f"slash command name {command_name!r} can never match: names are 1-32 of a-z, 0-9, '-' and '_'",
                UserWarning,
                stacklevel=2,
            )

        def register(f: F) -> F:
            def slash_filter(ctx: Any, event: dict[str, Any]) -> Any:
                if event.get("interaction_type") == 2 and event.get("command_name") == command_name:
                    return f(ctx, event)
                return None

            slash_filter.__wrapped__ = f  # type: ignore[attr-defined]
            self._add("interaction_create", slash_filter)
            return f

        return register

    def _interaction(self, kind: str, interaction_type: int, custom_id: str | None, prefix: str | None):
        custom_id, prefix = _match_filter(kind, custom_id, prefix)

        def register(f: F) -> F:
            def interaction_filter(ctx: Any, event: dict[str, Any]) -> Any:
                if event.get("interaction_type") != interaction_type:
                    return None
                value = event.get("custom_id") or ""
                if (custom_id is not None and value == custom_id) or (
                    prefix is not None and isinstance(value, str) and value.startswith(prefix)
                ):
                    return f(ctx, event)
                return None

            interaction_filter.__wrapped__ = f  # type: ignore[attr-defined]
            self._add("interaction_create", interaction_filter)
            return f

        return register

    def on_component(self, custom_id: str | None = None, *, prefix: str | None = None) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for component clicks matching ``custom_id`` exactly or starting with ``prefix``."""
        return self._interaction("on_component", 3, custom_id, prefix)

    def on_modal_submit(self, custom_id: str | None = None, *, prefix: str | None = None) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for modal submits (values in ``event["modal_values"]``)."""
        return self._interaction("on_modal_submit", 5, custom_id, prefix)

    # -- schedules ----------------------------------------------------------------------

    def _check_task_name(self, name: str) -> None:
        if name in self._schedules or name in self._crons:
            raise ValueError(f"a @schedule/@cron task named {name!r} already exists; task names must be unique")

    def schedule(self, interval_seconds: int) -> Callable[[F], F]:
        """Run ``fn(ctx)`` every ``interval_seconds`` (the host ticks at most once a minute)."""
        if isinstance(interval_seconds, bool) or not isinstance(interval_seconds, int) or interval_seconds < 1:
            raise ValueError(f"schedule interval_seconds must be an int >= 1, got {interval_seconds!r}")

        def register(f: F) -> F:
            self._check_task_name(f.__name__)
            self._schedules[f.__name__] = (f, interval_seconds)
            return f

        return register

    def cron(self, spec: str) -> Callable[[F], F]:
        """Run ``fn(ctx)`` at each UTC minute matching the 5-field ``spec``; list it in manifest ``cron``."""
        from ._cron import CronSpec

        parsed = CronSpec(spec)

        def register(f: F) -> F:
            self._check_task_name(f.__name__)
            self._crons[f.__name__] = (f, parsed)
            return f

        return register

    # -- dashboards and lifecycle ---------------------------------------------------------

    def on_dashboard(self, method_name: str) -> Callable[[F], F]:
        """Answer the dashboard request ``dashboard.<method_name>`` with ``fn(ctx, params) -> dict``."""
        if not isinstance(method_name, str) or not method_name:
            raise ValueError(f"on_dashboard takes a method name such as 'stats', got {method_name!r}")
        name = method_name[len("dashboard.") :] if method_name.startswith("dashboard.") else method_name

        def register(f: F) -> F:
            self._dashboards[name] = f
            return f

        return register

    def _lifecycle_decorator(self, hook: str, fn: Any) -> Any:
        def register(f: F) -> F:
            self._lifecycle[hook] = f
            return f

        return _bare_or_called(register, fn)

    def on_install(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server installs the plugin."""
        return self._lifecycle_decorator("install", fn)

    def on_enable(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server enables the plugin."""
        return self._lifecycle_decorator("enable", fn)

    def on_disable(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server disables the plugin."""
        return self._lifecycle_decorator("disable", fn)

    def on_uninstall(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server uninstalls the plugin."""
        return self._lifecycle_decorator("uninstall", fn)

    # -- running ------------------------------------------------------------------------

    def run(self) -> None:
        """Serve the host over stdin/stdout until shutdown; never returns in production.

        Returns ``None`` at once in no-run mode (``MMO_SDK_NO_RUN=1``, the pytest plugin, ``mmo dev``).
        """
        import os

        if no_run or os.environ.get("MMO_SDK_NO_RUN") == "1":
            return None
        if self._ran:
            raise RuntimeError("Plugin.run() was already called; call it once, at the end of __main__.py")
        self._ran = True
        from ._transport import serve

        serve(self)
        return None

    def _registration(self) -> dict[str, Any]:
        from . import __version__

        return {
            "sdk_version": __version__,
            "event_types": sorted(t for t, hs in self._event_handlers.items() if hs),
            "schedules": [{"name": n, "interval_seconds": i} for n, (_, i) in self._schedules.items()],
            "crons": [{"name": n, "spec": c.spec} for n, (_, c) in self._crons.items()],
            "dashboards": sorted(self._dashboards),
        }

    def __repr__(self) -> str:
        return f"<Plugin events={sorted(self._event_handlers)} schedules={sorted(self._schedules)}>"
