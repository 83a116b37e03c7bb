"""What a plugin version's workers announce in ``plugin.register``, remembered across restarts by code digest.

The host routes by a registration (which event types a worker handles) and drives its
schedules from it. It is a function of the code (the bundle and its installed
requirements), so it is kept in storage under the version's code digest: a node that
loads an install whose code registered before knows all it needs without a running
worker, and starts one only when an event, tick, lifecycle call or dashboard request
arrives. A version never registered starts once, as before; a real start that
registers differently (a new SDK on the host) replaces the record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maidcore.layers.storage import RecordStore

log = logging.getLogger("maidcore.runner")


@dataclass(frozen=True)
class Registration:
    """What a worker's SDK announced in ``plugin.register`` (contract §10.3)."""

    sdk_version: str = ""
    event_types: frozenset[str] = frozenset()
    schedules: dict[str, int] = field(default_factory=dict)  # name -> interval seconds
    crons: dict[str, str] = field(default_factory=dict)  # name -> spec
    dashboards: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, params: dict[str, Any]) -> Registration:
        def names(value: Any) -> frozenset[str]:
            return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()

        schedules: dict[str, int] = {}
        for item in params.get("schedules") or []:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                interval = item.get("interval_seconds")
                if type(interval) is int and interval >= 1:
                    schedules[item["name"]] = interval
        crons = {
            item["name"]: item["spec"]
            for item in params.get("crons") or []
            if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("spec"), str)
        }
        return cls(
            sdk_version=str(params.get("sdk_version") or ""),
            event_types=names(params.get("event_types")),
            schedules=schedules,
            crons=crons,
            dashboards=names(params.get("dashboards")),
        )

    def to_params(self) -> dict[str, Any]:
        """The ``plugin.register`` params ``parse`` reads back as this registration (what storage keeps)."""
        return {
            "sdk_version": self.sdk_version,
            "event_types": sorted(self.event_types),
            "schedules": [{"name": n, "interval_seconds": s} for n, s in sorted(self.schedules.items())],
            "crons": [{"name": n, "spec": s} for n, s in sorted(self.crons.items())],
            "dashboards": sorted(self.dashboards),
        }


def code_digest(bundle_digest: str | None, site_digest: str | None) -> str | None:
    """What a registration is a function of: the bundle and its installed requirements; ``None`` if unknown."""
    if not bundle_digest:
        return None
    return f"{bundle_digest}+{site_digest}" if site_digest else bundle_digest


class Registrations:
    """Remembered registrations by code digest: read from storage when a version is loaded, written when new.

    A record store without ``get_registrations``/``put_registration`` (an older storage extension)
    remembers nothing: every version then starts once when loaded.
    """

    def __init__(self, records: Callable[[], RecordStore]) -> None:
        self._records = records
        self._known: dict[str, Registration] = {}

    def get(self, digest: str | None) -> Registration | None:
        return None if digest is None else self._known.get(digest)

    async def load(self, digests: Collection[str | None]) -> None:
        """Read the stored registrations of these digests (those not read yet) in one call."""
        wanted = sorted({d for d in digests if d and d not in self._known})
        read = getattr(self._records(), "get_registrations", None)
        if not wanted or read is None:
            return
        try:
            stored = await read(wanted)
        except Exception:  # a worker start costs less than a load that fails
            log.exception("could not read remembered plugin registrations; their workers start at load")
            return
        for digest, params in stored.items():
            if isinstance(params, dict):
                self._known[digest] = Registration.parse(params)

    async def remember(self, digest: str | None, registration: Registration) -> None:
        """Store a worker's registration when it differs from the one remembered for its code."""
        if digest is None or self._known.get(digest) == registration:
            return
        self._known[digest] = registration
        write = getattr(self._records(), "put_registration", None)
        if write is None:
            return
        try:
            await write(digest, registration.to_params())
        except Exception:
            self._known.pop(digest, None)  # try again at the next registration
            log.exception("could not store the registration of code %s", digest)
