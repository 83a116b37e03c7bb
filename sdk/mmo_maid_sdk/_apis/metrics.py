"""ctx.metrics: record and query metrics (contract §4.8)."""

from __future__ import annotations

from .. import _checks as C
from .._api import WHOLE, Method
from .._errors import ValidationError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _metric_check(a: dict[str, Any]) -> None:
    C.metric_name(a["metric"])
    if "value" in a:
        C.number("value", a["value"])
    if a.get("tags") is not None and not isinstance(a["tags"], dict):
        raise ValidationError("invalid tags: expected a dict of tag -> value")
    if "period" in a:
        C.one_of("period", a["period"], C.PERIODS)
    if "aggregate" in a:
        C.one_of("aggregate", a["aggregate"], C.AGGREGATES)
    if a.get("group_by") is not None and not isinstance(a["group_by"], str):
        raise ValidationError("invalid group_by: expected a tag key string")


def _metric_record_wire(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    p["value"] = float(p["value"])
    if "tags" in p:
        p["tags"] = {str(k): str(v) for k, v in list(p["tags"].items())[:10]}
    return "metrics.record", p


def _metric_total(result: Any) -> float:
    return float(result.get("total") or 0.0) if isinstance(result, dict) else 0.0


METRICS: tuple[Method, ...] = (
    Method(
        "metrics",
        "record",
        "metric, value=1.0, tags=None",
        None,
        doc="Record one data point (tags: up to 10).",
        check=_metric_check,
        wire=_metric_record_wire,
    ),
    Method(
        "metrics",
        "query",
        "metric, *, period='7d', group_by=None, aggregate='sum'",
        None,
        WHOLE,
        check=_metric_check,
    ),
    Method("metrics", "total", "metric, *, period='30d'", None, check=_metric_check, decode=_metric_total),
)


METHODS = METRICS
