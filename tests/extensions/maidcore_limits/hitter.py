"""One maidcore limiter process: ``python -m tests.extensions.maidcore_limits.hitter URL PREFIX START N``.

Waits until wall-clock time START, makes N proxy-bucket hits for one scope as
fast as it can, and prints ``{"allowed": a, "denied": d, "retry_after": [...]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from maidcore_limits import LimitsRateLimiter
from maidcore_limits.settings import RateLimitSettings

from maidcore.layers import Bucket
from maidcore.scope import Scope


async def main(url: str, prefix: str, start: float, n: int) -> None:
    limiter = LimitsRateLimiter(RateLimitSettings(storage_uri=url, key_prefix=prefix))
    scope = Scope("shared-server", "shared-plugin")
    await limiter.hit(Bucket.EVENTS, Scope("warm-up", "connection"))  # connect before the start line
    await asyncio.sleep(max(0.0, start - time.time()))
    allowed, retry_after = 0, []
    for _ in range(n):
        decision = await limiter.hit(Bucket.PROXY, scope)
        if decision.allowed:
            allowed += 1
        else:
            retry_after.append(decision.retry_after)
    await limiter.close()
    print(json.dumps({"allowed": allowed, "denied": n - allowed, "retry_after": retry_after}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
