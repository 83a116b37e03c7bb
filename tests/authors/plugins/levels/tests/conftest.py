"""Load __main__.py as `plugin_main`, and fixtures for a context with a fake SQL table behind it."""

import importlib.util
import sys
from pathlib import Path

import pytest
from yourbot_sdk import QueryResult
from yourbot_sdk.testing import MockClock, MockContext

_main_py = Path(__file__).resolve().parent.parent / "__main__.py"
spec = importlib.util.spec_from_file_location("plugin_main", _main_py)
plugin_main = importlib.util.module_from_spec(spec)
sys.modules["plugin_main"] = plugin_main
spec.loader.exec_module(plugin_main)


class FakeXpTable:
    """Just enough of the xp table for the queries the plugin makes."""

    def __init__(self):
        self.rows = {}

    def execute(self, sql, params=None):
        if sql.startswith("INSERT INTO xp"):
            user, name, xp = params
            self.rows[user] = {"user_id": user, "name": name, "xp": xp}
            return 1
        if sql.startswith("DELETE FROM xp"):
            n = len(self.rows)
            self.rows.clear()
            return n
        return 0

    def ordered(self):
        return sorted(self.rows.values(), key=lambda r: -r["xp"])

    def query(self, sql, params=None, *, limit=1000):
        rows = self.ordered()
        if "LIMIT $1 OFFSET $2" in sql:
            count, offset = params
            rows = rows[offset : offset + count]
        if "SELECT name, xp" in sql:
            rows = [{"name": r["name"], "xp": r["xp"]} for r in rows]
        elif "SELECT user_id, xp" in sql:
            rows = [{"user_id": r["user_id"], "xp": r["xp"]} for r in rows]
        result = QueryResult(rows[:limit])
        result.truncated = len(rows) > limit
        return result

    def scalar(self, sql, params=None):
        return len(self.rows)


@pytest.fixture
def clock():
    return MockClock(start=1_767_225_600.0)


@pytest.fixture
def table():
    return FakeXpTable()


@pytest.fixture
def ctx(clock, table):
    ctx = MockContext(
        plugin_id="levels",
        capabilities=[
            "storage:kv",
            "storage:sql",
            "discord:send_message",
            "discord:manage_roles",
            "interaction:respond",
        ],
        clock=clock,
    )
    ctx.sql.execute = table.execute
    ctx.sql.query = table.query
    ctx.sql.scalar = table.scalar
    return ctx
