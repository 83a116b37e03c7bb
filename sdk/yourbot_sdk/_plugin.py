"""``Plugin``: the registry of handlers a plugin declares with decorators.

Construction only creates empty registries (no I/O, no threads, no environment reads); all
runtime work happens in ``run()``. The registries keep the official SDK's attribute names and
shapes (``_event_handlers``, ``_dashboard_handlers``, ``_scheduled_tasks``, ``_cron_tasks``,
``_lifecycle_handlers``, ``_ws_handlers``) because plugin test suites reach into them.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Plugin"]

#: WebSocket handler kinds and the event types that carry them.
WS_KINDS = {"ws_message": "message", "ws_open": "open", "ws_closed": "close"}

#: Set by the pytest plugin and the CLI: ``run()`` returns at once.
no_run = False


def _bare_or_called(register: Callable[[F], F], fn: Any) -> Any:
    """Support ``@plugin.on_ready`` and also ``@plugin.on_ready()``."""
    if fn is None:
        return register
    if not callable(fn):
        raise ValueError(f"expected a function to decorate, got {fn!r}")
    return register(fn)


class Plugin:
    """Declare handlers with the decorators, then call ``run()`` at the end of ``__main__.py``."""

    def __init__(self) -> None:
        self._event_handlers: dict[str, list[Callable[..., Any]]] = {}
        self._ready_handlers: list[Callable[..., Any]] = []
        self._dashboard_handlers: dict[str, Callable[..., Any]] = {}
        self._scheduled_tasks: list[tuple[Callable[..., Any], int]] = []
        self._cron_tasks: list[tuple[Callable[..., Any], Any]] = []
        self._lifecycle_handlers: dict[str, Callable[..., Any]] = {}
        self._ws_handlers: dict[str, dict[str, list[Callable[..., Any]]]] = {}
        self._ran = False

    # -- events -------------------------------------------------------------------------------

    def _add(self, event_type: str, handler: Callable[..., Any]) -> None:
        self._event_handlers.setdefault(event_type, []).append(handler)

    def on_ready(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` once per (process, server) before other handlers for that server."""

        def register(f: F) -> F:
            self._ready_handlers.append(f)
            return f

        return _bare_or_called(register, fn)

    def on_event(self, event_type: str) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for every event of ``event_type`` (``"message_create"``, ``"cron"``...)."""

        def register(f: F) -> F:
            self._add(event_type, f)
            return f

        return register

    def on_slash_command(self, command_name: str) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for the slash command ``command_name`` (root name, exact match).

        ``validate`` reports names that can never match (uppercase, spaces...); registering them is allowed.
        """

        def register(f: F) -> F:
            def filtered_handler(ctx: Any, event: dict[str, Any]) -> Any:
                if event.get("interaction_type") == 2 and event.get("command_name") == command_name:
                    return f(ctx, event)
                return None

            filtered_handler.__wrapped__ = f  # type: ignore[attr-defined]
            self._add("interaction_create", filtered_handler)
            return f

        return register

    def _interaction(self, interaction_type: int, custom_id: str | None, prefix: str | None) -> Callable[[F], F]:
        def register(f: F) -> F:
            def filtered_handler(ctx: Any, event: dict[str, Any]) -> Any:
                if event.get("interaction_type") != interaction_type:
                    return None
                value = event.get("custom_id") or ""
                if (custom_id is not None and value == custom_id) or (
                    prefix is not None and isinstance(value, str) and value.startswith(prefix)
                ):
                    return f(ctx, event)
                return None

            filtered_handler.__wrapped__ = f  # type: ignore[attr-defined]
            self._add("interaction_create", filtered_handler)
            return f

        return register

    def on_component(self, custom_id: str | None = None, *, prefix: str | None = None) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for component clicks with ``custom_id`` exactly, or starting with ``prefix``."""
        if (custom_id is None) == (prefix is None):
            raise ValueError("on_component requires exactly one of custom_id= or prefix=")
        return self._interaction(3, custom_id, prefix)

    def on_modal_submit(self, custom_id: str | None = None, *, prefix: str | None = None) -> Callable[[F], F]:
        """Run ``fn(ctx, event)`` for modal submits (field values in ``event["modal_values"]``)."""
        if (custom_id is None) == (prefix is None):
            raise ValueError("on_modal_submit requires exactly one of custom_id or prefix=")
        return self._interaction(5, custom_id, prefix)

    # -- WebSockets ---------------------------------------------------------------------------

    def _register_ws(self, name: str, kind: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._ws_handlers.setdefault(name, {}).setdefault(kind, []).append(fn)
        return fn

    def _ws_decorator(self, name: str, kind: str) -> Callable[[F], F]:
        def register(f: F) -> F:
            self._register_ws(name, kind, f)
            return f

        return register

    def on_ws_message(self, name: str) -> Callable[[F], F]:
        """Run ``fn(ctx, msg)`` for each frame of connection ``name`` (``"prefix*"`` matches many; exact wins).

        ``msg`` is ``{name, conn_id, data, binary, reason, will_reconnect}``; binary data is base64.
        """
        return self._ws_decorator(name, "message")

    def on_ws_open(self, name: str) -> Callable[[F], F]:
        """Run ``fn(ctx)`` when the platform has (re)opened connection ``name``."""
        return self._ws_decorator(name, "open")

    def on_ws_close(self, name: str) -> Callable[[F], F]:
        """Run ``fn(ctx, info)`` when connection ``name`` closed; ``info`` is ``{reason, will_reconnect}``."""
        return self._ws_decorator(name, "close")

    def _match_ws_keys(self, name: str) -> list[str]:
        """Handler keys for a connection name: the exact one if registered, else every matching ``"prefix*"``."""
        if name in self._ws_handlers:
            return [name]
        return [k for k in self._ws_handlers if k.endswith("*") and name.startswith(k[:-1])]

    # -- schedules ------------------------------------------------------------------------------

    def schedule(self, interval_seconds: int) -> Callable[[F], F]:
        """Run ``fn(ctx)`` every ``interval_seconds`` (single-server processes; prefer ``@plugin.cron``)."""

        interval = int(interval_seconds)

        def register(f: F) -> F:
            self._scheduled_tasks.append((f, interval))
            return f

        return register

    def cron(self, spec: str) -> Callable[[F], F]:
        """Run ``fn(ctx)`` each UTC minute matching ``spec``; list ``{"spec", "name": fn.__name__}`` in the manifest."""
        from .spec.cron import CronSpec

        parsed = CronSpec(spec)

        def register(f: F) -> F:
            self._cron_tasks.append((f, parsed))
            return f

        return register

    def _task(self, name: str) -> Callable[..., Any] | None:
        """The ``@schedule``/``@cron`` function called ``name`` (crons first), or ``None``."""
        for fn, _ in (*self._cron_tasks, *self._scheduled_tasks):
            if getattr(fn, "__name__", None) == name:
                return fn
        return None

    # -- dashboards and lifecycle -------------------------------------------------------------

    def on_dashboard(self, method_name: str) -> Callable[[F], F]:
        """Answer the dashboard request ``dashboard.<method_name>`` with ``fn(ctx, params) -> dict``."""

        def register(f: F) -> F:
            self._dashboard_handlers[method_name] = f
            return f

        return register

    def _dashboard(self, name: str) -> Callable[..., Any] | None:
        """The handler for host request ``dashboard.<name>``, registered with or without the prefix."""
        return self._dashboard_handlers.get(name) or self._dashboard_handlers.get("dashboard." + name)

    def _lifecycle(self, hook: str, fn: Any) -> Any:
        def register(f: F) -> F:
            self._lifecycle_handlers[hook] = f
            return f

        return _bare_or_called(register, fn)

    def on_install(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server installs the plugin."""
        return self._lifecycle("install", fn)

    def on_enable(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server enables the plugin."""
        return self._lifecycle("enable", fn)

    def on_disable(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server disables the plugin."""
        return self._lifecycle("disable", fn)

    def on_uninstall(self, fn: F | None = None) -> Any:
        """Run ``fn(ctx)`` when a server uninstalls the plugin."""
        return self._lifecycle("uninstall", fn)

    # -- running ----------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve the host over stdin/stdout until shutdown; never returns in production.

        Returns at once in no-run mode (``YOURBOT_SDK_NO_RUN=1`` or ``MMO_SDK_NO_RUN=1``, the pytest
        plugin, ``yourbot dev``), so tests can import a ``__main__.py`` whose ``run()`` is unconditional.
        """
        import os

        if no_run or "1" in (os.environ.get("YOURBOT_SDK_NO_RUN"), os.environ.get("MMO_SDK_NO_RUN")):
            return None
        if self._ran:
            raise RuntimeError("Plugin.run() was already called; call it once, at the end of __main__.py")
        self._ran = True
        from ._transport import serve

        serve(self)
        return None

    def _registration(self) -> dict[str, Any]:
        """What a maidcore host learns from ``plugin.register``."""
        from . import __version__

        ws_types = {f"ws_{'closed' if k == 'close' else k}" for kinds in self._ws_handlers.values() for k in kinds}
        return {
            "sdk_version": __version__,
            "event_types": sorted({t for t, hs in self._event_handlers.items() if hs} | ws_types),
            "schedules": [{"name": fn.__name__, "interval_seconds": i} for fn, i in self._scheduled_tasks],
            "crons": [{"name": fn.__name__, "spec": c.spec} for fn, c in self._cron_tasks],
            "dashboards": sorted(n.removeprefix("dashboard.") for n in self._dashboard_handlers),
        }

    def __repr__(self) -> str:
        return f"<Plugin events={sorted(self._event_handlers)}>"
