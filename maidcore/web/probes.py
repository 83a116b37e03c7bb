"""Operator endpoints outside ``/api/`` (no token): ``/metrics``, ``/healthz``, ``/readyz``.

``/healthz`` answers while the process serves HTTP at all (liveness);
``/readyz`` answers 200 only while every layer is started and the event source
is connected (readiness), else 503 with what is not ready. An event source may
expose ``connected`` (a bool property); one that does not is taken as
connected once started.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from maidcore import metrics
from maidcore.web.auth import PLATFORM

routes = web.RouteTableDef()

LAYERS = ("storage", "limiter", "sandbox", "events", "runner")


def readiness(platform: Any) -> dict[str, bool]:
    """Each check ``/readyz`` makes, and whether it passes."""
    checks = {"started": bool(platform.started)}
    for layer in LAYERS:
        checks[layer] = getattr(platform, layer, None) is not None
    events = getattr(platform, "events", None)
    connected = getattr(events, "connected", None) if events is not None else False
    checks["event_source_connected"] = bool(platform.started) if connected is None else bool(connected)
    return checks


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers HTTP."""
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready: every layer up and the event source connected (503 names what is not)."""
    checks = readiness(request.app[PLATFORM])
    failing = sorted(name for name, ok in checks.items() if not ok)
    body = {"status": "ready" if not failing else "not ready", "checks": checks}
    if failing:
        body["failing"] = failing
    return web.json_response(body, status=200 if not failing else 503)


@routes.get("/metrics")
async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text exposition of every maidcore metric."""
    return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.CONTENT_TYPE})
