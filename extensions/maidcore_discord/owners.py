"""Which plugin sent which message, so a click on a button routes to the plugin that put it there.

Kept in memory (bounded) and, when the platform has a data directory, in a
small SQLite file beside it, so buttons on messages sent before a restart
still reach their plugin.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from pathlib import Path

MEMORY = 50_000
KEEP_ON_DISK = 1_000_000


class MessageOwners:
    def __init__(self, path: Path | None = None) -> None:
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS owners (message_id INTEGER PRIMARY KEY, plugin_id TEXT)")

    def remember(self, message_id: str, plugin_id: str) -> None:
        self._recent[message_id] = plugin_id
        self._recent.move_to_end(message_id)
        while len(self._recent) > MEMORY:
            self._recent.popitem(last=False)
        if self._db is not None:
            self._db.execute("INSERT OR REPLACE INTO owners VALUES (?, ?)", (int(message_id), plugin_id))
            if int(message_id) % 1000 == 0:  # now and then, forget the oldest beyond the bound
                self._db.execute(
                    "DELETE FROM owners WHERE message_id < (SELECT message_id FROM owners "
                    "ORDER BY message_id DESC LIMIT 1 OFFSET ?)",
                    (KEEP_ON_DISK,),
                )

    def get(self, message_id: str) -> str | None:
        owner = self._recent.get(message_id)
        if owner is None and self._db is not None:
            row = self._db.execute("SELECT plugin_id FROM owners WHERE message_id = ?", (int(message_id),)).fetchone()
            owner = row[0] if row else None
        return owner

    def __getitem__(self, message_id: str) -> str:
        owner = self.get(message_id)
        if owner is None:
            raise KeyError(message_id)
        return owner

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
