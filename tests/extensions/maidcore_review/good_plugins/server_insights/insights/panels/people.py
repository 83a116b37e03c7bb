"""People & channels page: the day's tallies summed over the last 30 days."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from .. import keys
from ..plugin import plugin

DAYS = 30


def totals(kv, prefix: str) -> Counter:
    today = datetime.now(UTC)
    days = {keys.day_stamp(today - timedelta(days=i)) for i in range(DAYS)}
    counter: Counter = Counter()
    after = None
    while True:
        page = kv.list_values(prefix, 100, start_after=after)
        for key, value in page.items():
            _, day, name = key.split(":", 2)
            if day in days:
                counter[name] += int(value or 0)
        if len(page) < 100:
            return counter
        after = max(page)


@plugin.on_dashboard("top_posters")
def top_posters(ctx, params):
    rows = [{"member": f"<@{user}>", "messages": n} for user, n in totals(ctx.kv, keys.POSTER).most_common(10)]
    return {"rows": rows, "total": len(rows)}


@plugin.on_dashboard("top_channels")
def top_channels(ctx, params):
    rows = [{"channel": f"<#{c}>", "messages": n} for c, n in totals(ctx.kv, keys.CHANNEL).most_common(10)]
    return {"rows": rows, "total": len(rows)}
