"""Test setup: the plugin folder on sys.path, the SDK fixtures, and ctx.sql answered by SQLite."""

import re
import sqlite3
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mmo_maid_sdk.pytest_plugin import *  # noqa: E402,F403
from mmo_maid_sdk.testing import MockContext  # noqa: E402

PLACEHOLDER = re.compile(r"\$(\d+)")


class SqliteSql:
    """The four ctx.sql calls on an in-memory SQLite database ($1 placeholders become ?1)."""

    def __init__(self):
        self.db = sqlite3.connect(":memory:")
        self.db.row_factory = sqlite3.Row

    def _run(self, sql, params):
        return self.db.execute(PLACEHOLDER.sub(r"?\1", sql), list(params or []))

    def execute(self, sql, params=None):
        return self._run(sql, params).rowcount

    def query(self, sql, params=None, *, limit=1000):
        return [dict(row) for row in self._run(sql, params).fetchmany(limit)]

    def query_one(self, sql, params=None):
        row = self._run(sql, params).fetchone()
        return dict(row) if row else None

    def scalar(self, sql, params=None):
        row = self._run(sql, params).fetchone()
        return row[0] if row else None


@pytest.fixture
def ctx():
    context = MockContext()
    store = SqliteSql()
    for name in ("execute", "query", "query_one", "scalar"):
        setattr(context.sql, name, getattr(store, name))
    return context
