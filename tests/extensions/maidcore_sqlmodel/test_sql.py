"""ctx.sql (contract §4.5) on SQLite files and PostgreSQL schemas: statements, placeholders, limits, and escapes."""

from __future__ import annotations

import re
import secrets
import sqlite3
import time

import psycopg
import pytest
from maidcore_sqlmodel.sql.statements import prepare
from maidcore_sqlmodel.storage import SqlModelStorage

from maidcore.errors import HostTimeout, InvalidArgument, RpcFailure
from maidcore.scope import Scope

from .conftest import storage_settings

SERIAL = {"sqlite": "INTEGER PRIMARY KEY", "postgres": "SERIAL PRIMARY KEY"}


def series(backend: str, n: int) -> str:
    """A statement producing rows 1..n lazily (a recursive CTE streams on both databases)."""
    return f"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) SELECT n FROM r"


@pytest.fixture
async def table(storage, scope, backend):
    await storage.sql.execute(
        scope, f"CREATE TABLE notes (id {SERIAL[backend]}, author TEXT, body TEXT, n INTEGER)", []
    )
    return "notes"


async def test_round_trip_with_both_placeholder_styles(storage, scope, table):
    sql = storage.sql
    assert await sql.execute(scope, "INSERT INTO notes (author, body, n) VALUES ($1, $2, $3)", ["ann", "hi", 1]) == 1
    assert await sql.execute(scope, "INSERT INTO notes (author, body, n) VALUES (%s, %s, %s)", ["bob", "50%", 2]) == 1
    rows, truncated = await sql.query(
        scope, "SELECT author, body, n FROM notes WHERE n >= $1 OR n = $1 ORDER BY n", [1], 1000
    )
    assert rows == [{"author": "ann", "body": "hi", "n": 1}, {"author": "bob", "body": "50%", "n": 2}]
    assert truncated is False
    # format style: %% is a literal %; numeric style: % is literal; placeholders in literals/comments do not count
    rows, _ = await sql.query(scope, "SELECT 7 %% 4 AS m, %s AS p FROM notes WHERE n = 2", ["%"], 10)
    assert rows == [{"m": 3, "p": "%"}]
    rows, _ = await sql.query(scope, "SELECT body, '$2 %s' AS lit FROM notes WHERE n = $1 -- $3 %s\n", [2], 10)
    assert rows == [{"body": "50%", "lit": "$2 %s"}]
    rows, _ = await sql.query(scope, "SELECT 7 % 4 AS m, '100%' AS p", [], 10)
    assert rows == [{"m": 3, "p": "100%"}]
    assert await sql.execute(scope, "UPDATE notes SET n = n + 10 WHERE author = $1", ["ann"]) == 1
    assert await sql.execute(scope, "DELETE FROM notes WHERE n > $1", [0]) == 2


async def test_forbidden_words_inside_literals_are_just_data(storage, scope, table):
    text = "GRANT ALL; DROP TABLE notes; SELECT * FROM pg_catalog.pg_class -- lo_import"
    await storage.sql.execute(scope, "INSERT INTO notes (body) VALUES ($1)", [text])
    await storage.sql.execute(scope, "INSERT INTO notes (body) VALUES ('it''s; COPY x')", [])
    rows, _ = await storage.sql.query(scope, "SELECT body FROM notes ORDER BY id", [], 10)
    assert [r["body"] for r in rows] == [text, "it's; COPY x"]


async def test_ddl_and_indexes(storage, scope, table):
    sql = storage.sql
    await sql.execute(scope, "CREATE UNIQUE INDEX notes_author ON notes (author)", [])
    await sql.execute(scope, "ALTER TABLE notes ADD COLUMN extra TEXT", [])
    await sql.execute(scope, "INSERT INTO notes (author, extra) VALUES ($1, $2)", ["x", "y"])
    with pytest.raises(RpcFailure, match="sql error"):
        await sql.execute(scope, "INSERT INTO notes (author) VALUES ($1)", ["x"])  # unique index holds
    await sql.execute(scope, "DROP INDEX notes_author", [])
    await sql.execute(scope, "DROP TABLE notes", [])
    with pytest.raises(RpcFailure, match="sql error"):
        await sql.query(scope, "SELECT * FROM notes", [], 10)


async def test_rows_are_capped_at_the_limit_and_say_they_were_truncated(storage, scope, backend):
    rows, truncated = await storage.sql.query(scope, series(backend, 1500), [], 1000)
    assert len(rows) == 1000 and truncated is True and rows[-1] == {"n": 1000}
    rows, truncated = await storage.sql.query(scope, series(backend, 1500), [], 5000)  # clamped to 1000
    assert len(rows) == 1000 and truncated
    rows, truncated = await storage.sql.query(scope, series(backend, 10), [], 10)
    assert len(rows) == 10 and truncated is False
    assert (await storage.sql.query(scope, series(backend, 3), [], 2))[1] is True


async def test_a_huge_result_is_cut_without_being_computed_or_sent_whole(storage, scope, backend):
    started = time.monotonic()
    rows, truncated = await storage.sql.query(scope, series(backend, 500_000_000), [], 1000)
    assert len(rows) == 1000 and truncated
    assert time.monotonic() - started < 3  # far less than producing 500M rows would take


async def test_long_running_statement_times_out(request, backend, tmp_path, scope):
    store = SqlModelStorage(storage_settings(request, backend, sql_statement_timeout_seconds=0.5), tmp_path / "d")
    await store.start()
    try:
        started = time.monotonic()
        with pytest.raises(HostTimeout, match=r"timed out after 0\.5s"):
            await store.sql.query(scope, f"SELECT count(*) AS c FROM ({series(backend, 2_000_000_000)}) AS s", [], 1)
        assert time.monotonic() - started < 5
        rows, _ = await store.sql.query(scope, "SELECT 1 AS one", [], 1)  # the space still works afterwards
        assert rows == [{"one": 1}]
    finally:
        await store.close()


async def test_storage_quota_per_space(request, backend, tmp_path, scope, other_scope):
    store = SqlModelStorage(storage_settings(request, backend, sql_quota_bytes=256 * 1024), tmp_path / "d")
    await store.start()
    try:
        await store.sql.execute(scope, "CREATE TABLE blob (b TEXT)", [])
        with pytest.raises(RpcFailure, match="sql storage limit reached"):
            for _ in range(40):
                await store.sql.execute(scope, "INSERT INTO blob (b) VALUES ($1)", [secrets.token_hex(25_000)])
                if backend == "postgres":
                    store.sql._sizes.clear()  # do not wait for the 2 s size cache in a test
        # reading and deleting still work, and other spaces are unaffected
        assert (await store.sql.query(scope, "SELECT count(*) AS c FROM blob", [], 1))[0][0]["c"] > 0
        await store.sql.execute(other_scope, "CREATE TABLE t (x TEXT)", [])
        await store.sql.execute(other_scope, "INSERT INTO t (x) VALUES ($1)", ["fine"])
    finally:
        await store.close()


async def test_result_values_are_json(storage, scope, backend):
    if backend == "postgres":
        sql = (
            "SELECT TIMESTAMP '2026-01-02 03:04:05' AS ts, DATE '2026-01-02' AS d, TIME '03:04:05' AS t, "
            "12.50::numeric AS num, 7::numeric AS whole, '{\"a\": [1, 2]}'::jsonb AS j, '\\x0102'::bytea AS b, "
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, ARRAY[1, 2] AS arr, $1::jsonb AS param"
        )
        rows, _ = await storage.sql.query(scope, sql, [{"k": [True, None]}], 1)
        assert rows == [
            {
                "ts": "2026-01-02T03:04:05",
                "d": "2026-01-02",
                "t": "03:04:05",
                "num": 12.5,
                "whole": 7,
                "j": {"a": [1, 2]},
                "b": "AQI=",
                "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "arr": [1, 2],
                "param": {"k": [True, None]},
            }
        ]
    else:
        rows, _ = await storage.sql.query(scope, "SELECT x'0102' AS b, 1.5 AS f, NULL AS n, $1 AS j", [{"k": 1}], 1)
        assert rows == [{"b": "AQI=", "f": 1.5, "n": None, "j": '{"k":1}'}]


async def test_unsupported_param_types_are_refused(storage, scope):
    with pytest.raises(InvalidArgument, match=r"params\[1\]"):
        await storage.sql.query(scope, "SELECT $1 AS x", [object()], 1)
    with pytest.raises(InvalidArgument, match="params"):
        await storage.sql.query(scope, "SELECT $1 AS x", "abc", 1)


# --- statement rules -------------------------------------------------------------------

REFUSED = [
    ("SELECT 1; BEGIN", "starting with"),
    ("SELECT 1 /* hidden */; GRANT ALL ON notes TO PUBLIC", "statement 2 of 2"),
    ("SELECT ';' ; SELECT * FROM pg_roles", "pg_"),
    ("SELECT 1 --\n; SET ROLE maidcore", "starting with"),
    ("BEGIN", "starting with"),
    ("COMMIT", "starting with"),
    ("VACUUM", "starting with"),
    ("SET search_path TO public", "starting with"),
    ("RESET ROLE", "starting with"),
    ("ATTACH DATABASE 'x.db' AS x", "starting with"),
    ("PRAGMA table_info(notes)", "starting with"),
    ("CREATE VIEW v AS SELECT 1", "starting with"),
    ("CREATE TEMP TABLE t (x int)", "starting with"),
    ("CREATE SCHEMA s", "starting with"),
    ("DO $$ BEGIN END $$", "must be"),
    ("EXPLAIN SELECT 1", "starting with"),
    ("/* comment */ GRANT ALL ON notes TO PUBLIC", "starting with"),
    ("SELECT * FROM pg_catalog.pg_roles", "pg_catalog"),
    ("SELECT * FROM information_schema.tables", "information_schema"),
    ("SELECT * FROM pg_shadow", "pg_"),
    ('SELECT * FROM "pg_authid"', "pg_"),
    ("SELECT * FROM PG_STAT_ACTIVITY", "pg_stat"),
    ("SELECT set_config('role', 'maidcore', false)", "set_config"),
    ("SELECT current_setting('is_superuser')", "current_setting"),
    ("SELECT query_to_xml('select * from public.kv_entries', true, false, '')", "_to_xml"),
    ("SELECT * FROM ts_stat('select to_tsvector(nspname) from pg_namespace')", "ts_stat"),
    ("SELECT ts_rewrite(to_tsquery('a'), 'select 1')", "ts_rewrite"),
    ("SELECT lo_import('/etc/passwd')", "lo_"),
    ("SELECT load_extension('evil')", "load_extension"),
    ("SELECT * FROM dblink('host=x', 'select 1')", "dblink"),
    ("SELECT * FROM public.kv_entries", "schema-qualified"),
    ('SELECT * FROM "public"."kv_entries"', "schema-qualified"),
    ("SELECT * FROM notes, public.kv_entries", "schema-qualified"),
    ("SELECT * FROM notes JOIN mcs_abc.secret ON true", "schema-qualified"),
    ("INSERT INTO main.notes (body) VALUES ('x')", "schema-qualified"),
    ("UPDATE other.notes SET body = 'x'", "schema-qualified"),
    ("SELECT * FROM db.schema.table", "schema-qualified"),
    ('SELECT * FROM U&"pg\\005fclass"', "U&"),
    ("WITH x AS (SELECT 1) SELECT * FROM x; TRUNCATE notes", "TRUNCATE"),
    ("DELETE FROM notes WHERE id IN (SELECT 1) RETURNING * ; COPY notes TO '/tmp/x'", "COPY"),
    ("CREATE TABLE t AS SELECT * FROM pg_class", "pg_"),
    ("CREATE TABLE t (x int); CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "starting with"),
    # object ids turned into names would list other plugins' schemas, tables and roles
    ("SELECT o::regclass FROM generate_series(1, 100000) o", "reg*"),
    ("SELECT CAST(o AS regnamespace) FROM generate_series(1, 100000) o", "reg*"),
    ("SELECT o::oid::regrole FROM generate_series(1, 100000) o", "reg*"),
    ("SELECT o::regtype, o::regproc FROM generate_series(1, 100000) o", "reg*"),
    ('SELECT o::"regclass" FROM generate_series(1, 100000) o', "reg*"),
    ("SELECT to_regclass('notes')", "to_reg"),
    ("SELECT format_type(o, NULL) FROM generate_series(16384, 20000) o", "format_type"),
    ("SELECT obj_description(o) FROM generate_series(16384, 20000) o", "comments"),
    ("SELECT tableoid::regclass FROM notes", "reg*"),
    ("SELECT 'unterminated", "unterminated"),
    ("SELECT 1 /* unterminated", "unterminated"),
    ("SELECT $1, %s", "one placeholder style"),
    ("", "non-empty"),
]


@pytest.mark.parametrize(("sql", "reason"), REFUSED)
async def test_refused_statements_name_the_reason(storage, backend, scope, sql, reason):
    params = [1, 2] if "$1, %s" in sql else []
    with pytest.raises(InvalidArgument) as err:
        await storage.sql.execute(scope, sql, params)
    assert err.value.message.startswith("invalid sql: sql is required and must be")
    if backend == "sqlite" and re.search(r"::\w", sql):  # no :: casts in SQLite; :name is a named parameter
        reason = "placeholders"
    assert reason.lower() in err.value.message.lower()
    assert err.value.to_rpc()["data"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("sql", "params", "reason"),
    [
        ("SELECT $1, $3", [1, 2, 3, 4], "up to $3"),
        ("SELECT $2", [1], "up to $2"),
        ("SELECT %s, %s", [1], "one per %s"),
        ("SELECT 1", [1], "no placeholders"),
        ("SELECT $0", [], "from $1"),
    ],
)
async def test_placeholder_counts_are_checked(storage, scope, sql, params, reason):
    with pytest.raises(InvalidArgument) as err:
        await storage.sql.query(scope, sql, params, 1)
    assert reason in err.value.message


def test_sqlite_refuses_its_own_parameter_syntaxes():
    for sql in ("SELECT ?", "SELECT :name", "SELECT @name", "SELECT $name"):
        with pytest.raises(InvalidArgument, match="placeholders"):
            prepare(sql, [1], "sqlite")


def test_postgres_placeholders_are_rewritten_and_percent_escaped_for_psycopg():
    st = prepare("SELECT $2, $1, $2, '50%', x % 2 FROM t -- 100%", ["a", "b"], "postgresql")
    assert st.text == "SELECT %s, %s, %s, '50%%', x %% 2 FROM t -- 100%%"
    assert st.params == ["b", "a", "b"]
    st = prepare("SELECT %s, '%s', 5 %% 2", [1], "postgresql")
    assert st.text == "SELECT %s, '%%s', 5 %% 2" and st.params == [1]
    st = prepare("SELECT $tag$ $1 ; %s $tag$, $1", [9], "postgresql")
    assert st.text == "SELECT $tag$ $1 ; %%s $tag$, %s" and st.params == [9]
    st = prepare(r"SELECT E'it\'s; $1', $1", [1], "postgresql")
    assert st.params == [1]


# --- escapes ----------------------------------------------------------------------------


async def test_spaces_are_private_to_plugin_and_server(storage, scope, other_scope, backend):
    stranger = Scope(scope.server_id, scope.plugin_id + "-other")
    await storage.sql.execute(scope, "CREATE TABLE secrets_t (v TEXT)", [])
    await storage.sql.execute(scope, "INSERT INTO secrets_t (v) VALUES ('mine')", [])
    for other in (other_scope, stranger):
        with pytest.raises(RpcFailure, match="sql error"):
            await storage.sql.query(other, "SELECT * FROM secrets_t", [], 10)
        await storage.sql.execute(other, "CREATE TABLE secrets_t (v TEXT)", [])  # its own, separate table
        assert (await storage.sql.query(other, "SELECT * FROM secrets_t", [], 10))[0] == []
    if backend == "postgres":
        schema = storage.sql.schema_for(scope)
        with pytest.raises(InvalidArgument, match="schema-qualified"):
            await storage.sql.query(stranger, f"SELECT * FROM {schema}.secrets_t", [], 10)
    assert (await storage.sql.query(scope, "SELECT v FROM secrets_t", [], 10))[0] == [{"v": "mine"}]


async def test_the_platform_tables_are_out_of_reach(storage, scope):
    await storage.kv.put(scope, "k", "platform data")
    for sql in ("SELECT * FROM kv_entries", "SELECT * FROM installs", "SELECT * FROM secrets"):
        with pytest.raises(RpcFailure, match="sql error"):
            await storage.sql.query(scope, sql, [], 10)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_role_cannot_reach_anything_else_even_past_the_checks(storage, scope, other_scope):
    """The second fence: raw SQL as the plugin's own role, with no statement checks at all."""
    sandbox = storage.sql
    await sandbox.execute(scope, "CREATE TABLE mine (v TEXT)", [])
    stranger = Scope(scope.server_id, scope.plugin_id + "-x")
    await sandbox.execute(stranger, "CREATE TABLE theirs (v TEXT)", [])
    role = sandbox.role_for(scope.plugin_id)
    with sandbox._connect_as(role) as conn:
        assert conn.execute("SELECT current_user, session_user").fetchone() == (role, role)
        for attack in (
            "SELECT * FROM public.kv_entries",
            f"SELECT * FROM {sandbox.schema_for(stranger)}.theirs",
            "CREATE TABLE public.planted (x int)",
            "CREATE TEMP TABLE t (x int)",
            "SET ROLE maidcore",
            "SELECT pg_read_file('/etc/passwd')",
            "CREATE SCHEMA evil",
            "SELECT query_to_xml('select * from public.installs', true, false, '')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(attack)
            conn.rollback()
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (False,)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_authorizer_refuses_attach_pragma_and_extensions_past_the_checks(storage, scope):
    """The second fence on SQLite: raw statements on the sandbox connection, with no statement checks."""
    await storage.sql.execute(scope, "CREATE TABLE mine (v TEXT)", [])
    space = storage.sql._space(scope)
    platform_db = storage.db.url.sqlite_path
    for attack in (
        f"ATTACH DATABASE '{platform_db}' AS platform",
        "PRAGMA writable_schema = ON",
        "SELECT load_extension('/tmp/evil.so')",
        "CREATE TEMP TABLE t (x)",
        "CREATE TRIGGER tr AFTER INSERT ON mine BEGIN DELETE FROM mine; END",
        "CREATE VIEW v AS SELECT 1",
        "BEGIN",
        "CREATE VIRTUAL TABLE v USING fts5(x)",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            space.conn.execute(attack)


async def test_concurrent_statements_in_many_spaces(storage, scope, other_scope, backend):
    import asyncio

    for s in (scope, other_scope):
        await storage.sql.execute(s, f"CREATE TABLE hits (id {SERIAL[backend]}, who TEXT)", [])
    await asyncio.gather(
        *(
            storage.sql.execute(s, "INSERT INTO hits (who) VALUES ($1)", [str(s)])
            for _ in range(25)
            for s in (scope, other_scope)
        )
    )
    for s in (scope, other_scope):
        rows, _ = await storage.sql.query(s, "SELECT who, count(*) AS n FROM hits GROUP BY who", [], 10)
        assert rows == [{"who": str(s), "n": 25}]
