"""Run by the durability and concurrency tests in a separate process: ``kv_worker.py MODE DATA_DIR DB_URL N``.

``put``: put keys k0..kN-1 one by one, printing each index once the write is acknowledged.
``increment``: increment the key ``shared`` N times (plain and inside a JSON path), then print ``done``.
"""

from __future__ import annotations

import asyncio
import sys

from maidcore_sqlmodel.settings import StorageSettings
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.scope import Scope

SCOPE = Scope("424242", "durability-plugin")


async def main(mode: str, data_dir: str, url: str, n: int) -> None:
    storage = SqlModelStorage(StorageSettings(database_url=url or None), data_dir)
    await storage.start()
    if mode == "put":
        for i in range(n):
            await storage.kv.put(SCOPE, f"k{i}", {"i": i})
            print(i, flush=True)
        await asyncio.sleep(3600)  # wait to be killed
    elif mode == "increment":
        for _ in range(n):
            await storage.kv.increment(SCOPE, "shared", 1)
            await storage.kv.increment(SCOPE, "nested", 1, "a.b")
        print("done", flush=True)
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
