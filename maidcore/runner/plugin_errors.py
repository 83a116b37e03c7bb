"""Plugin errors in the serve log: each error line a plugin logs, at most ``burst`` per plugin per window.

An operator watching ``maidcore serve`` sees that a plugin is failing without a
noisy plugin flooding the log: past the burst, lines are counted, and one
summary line per plugin says how many were held back (the full lines stay in
the records: ``maidcore logs PLUGIN --level error``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

log = logging.getLogger("maidcore.plugins")


@dataclass
class _Window:
    started: float
    shown: int = 0
    held: int = 0
    timer: asyncio.TimerHandle | None = None


class PluginErrorLog:
    """Rate-bounded copies of plugin error lines into the host's log."""

    def __init__(self, burst: int, window_seconds: float) -> None:
        self.burst = burst
        self.window_seconds = window_seconds
        self._windows: dict[str, _Window] = {}

    def report(self, plugin_id: str, server_id: str, message: str) -> None:
        if self.burst <= 0:
            return
        now = time.monotonic()
        window = self._windows.get(plugin_id)
        if window is None or now - window.started >= self.window_seconds:
            if window is not None:
                self._summarise(plugin_id)
            window = self._windows[plugin_id] = _Window(now)
        if window.shown < self.burst:
            window.shown += 1
            lines = message.strip().splitlines() or [""]
            # a traceback: its first line says where, its last line what
            first = lines[0] if len(lines) == 1 else f"{lines[0]} | {lines[-1]}"
            log.error(
                "plugin %s error%s: %s",
                plugin_id,
                f" on server {server_id}" if server_id else "",
                first[:300],
                extra={"plugin_id": plugin_id, "server_id": server_id},
            )
            return
        window.held += 1
        if window.timer is None:
            delay = max(0.0, window.started + self.window_seconds - now)
            window.timer = asyncio.get_running_loop().call_later(delay, self._summarise, plugin_id)

    def _summarise(self, plugin_id: str) -> None:
        window = self._windows.pop(plugin_id, None)
        if window is None:
            return
        if window.timer is not None:
            window.timer.cancel()
        if window.held:
            log.error(
                "plugin %s: %d more error lines in %gs not shown here (see `maidcore logs %s --level error`)",
                plugin_id,
                window.held,
                self.window_seconds,
                plugin_id,
                extra={"plugin_id": plugin_id, "suppressed": window.held},
            )

    def close(self) -> None:
        """Say what is still held back (the process is stopping)."""
        for plugin_id in list(self._windows):
            self._summarise(plugin_id)
