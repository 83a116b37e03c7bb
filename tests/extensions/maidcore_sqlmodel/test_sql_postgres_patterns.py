"""Plugin SQL as real plugins write it for the official platform (PostgreSQL), on the embedded server.

A published campaign-manager plugin creates its tables with one ``execute`` of many
``CREATE`` statements, then uses arrays, ``array_append``, ``= ANY(...)``, JSONB,
``BIGSERIAL`` and ``%s`` parameters; others use identity columns, ``RETURNING``,
``ON CONFLICT``, CTEs and window functions. All of it must run unchanged.
"""

from __future__ import annotations

import pytest

from maidcore.errors import InvalidArgument, RpcFailure

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("backend", ["postgres"], indirect=True)]

MIGRATION = """
-- campaign manager, schema v1
CREATE TABLE IF NOT EXISTS campaigns (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner_id TEXT NOT NULL,
    player_ids INT[] NOT NULL DEFAULT '{}',
    settings JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS sessions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    starts_at TIMESTAMPTZ NOT NULL,
    notes TEXT
);
CREATE TABLE IF NOT EXISTS characters (
    id SERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    player_id INT NOT NULL,
    name TEXT NOT NULL,
    level INT NOT NULL DEFAULT 1,
    inventory JSONB NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS loot (id SERIAL PRIMARY KEY, character_id INT REFERENCES characters (id), item TEXT);
CREATE TABLE IF NOT EXISTS xp_log (id BIGSERIAL PRIMARY KEY, character_id INT, amount INT, at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS tags (name TEXT PRIMARY KEY, uses INT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS invites (code TEXT PRIMARY KEY, campaign_id BIGINT, expires_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS dice_rolls (id BIGSERIAL PRIMARY KEY, player_id INT, expr TEXT, total INT);
CREATE TABLE IF NOT EXISTS audit (id BIGSERIAL PRIMARY KEY, what TEXT, detail JSONB);
CREATE INDEX IF NOT EXISTS characters_campaign ON characters (campaign_id);
CREATE INDEX IF NOT EXISTS campaigns_players ON campaigns USING gin (player_ids);
CREATE UNIQUE INDEX IF NOT EXISTS characters_name ON characters (campaign_id, lower(name));
CREATE INDEX IF NOT EXISTS audit_detail ON audit USING gin (detail jsonb_path_ops);
"""


async def test_a_migration_script_of_many_statements_runs_in_one_execute(storage, scope):
    assert await storage.sql.execute(scope, MIGRATION, []) == 0
    assert await storage.sql.execute(scope, MIGRATION, None) == 0  # IF NOT EXISTS: run again at every start
    rows, _ = await storage.sql.query(
        scope, "SELECT count(*) AS n FROM campaigns, sessions, characters, loot, xp_log, tags", [], 1
    )
    assert rows == [{"n": 0}]


async def test_a_failing_statement_undoes_the_whole_script(storage, scope):
    script = "CREATE TABLE a (x int); INSERT INTO a VALUES (1); INSERT INTO missing VALUES (2)"
    with pytest.raises(RpcFailure, match='relation "missing" does not exist'):
        await storage.sql.execute(scope, script, [])
    with pytest.raises(RpcFailure, match='relation "a" does not exist'):
        await storage.sql.query(scope, "SELECT * FROM a", [], 10)


async def test_scripts_take_no_parameters_and_query_takes_one_statement(storage, scope):
    with pytest.raises(InvalidArgument, match="2 statements in one call take no parameters"):
        await storage.sql.execute(scope, "CREATE TABLE a (x int); INSERT INTO a VALUES ($1)", [1])
    with pytest.raises(InvalidArgument, match="exactly one statement"):
        await storage.sql.query(scope, "SELECT 1; SELECT 2", [], 10)


async def test_arrays_jsonb_serial_and_both_placeholder_styles(storage, scope):
    sql = storage.sql
    await sql.execute(scope, MIGRATION, [])
    rows, _ = await sql.query(
        scope,
        "INSERT INTO campaigns (name, owner_id, player_ids, settings) VALUES (%s, %s, %s, %s) RETURNING id",
        ["Curse of Strahd", "100", [1, 2], {"dice": "d20", "house_rules": ["flanking"]}],
        1,
    )
    campaign = rows[0]["id"]
    assert isinstance(campaign, int)
    # array_append and = ANY(...), with numeric placeholders repeated
    await sql.execute(
        scope, "UPDATE campaigns SET player_ids = array_append(player_ids, $1) WHERE id = $2", [3, campaign]
    )
    rows, _ = await sql.query(scope, "SELECT name FROM campaigns WHERE $1 = ANY(player_ids)", [3], 10)
    assert rows == [{"name": "Curse of Strahd"}]
    rows, _ = await sql.query(scope, "SELECT player_ids FROM campaigns WHERE id = %s", [campaign], 1)
    assert rows == [{"player_ids": [1, 2, 3]}]
    rows, _ = await sql.query(scope, "SELECT id FROM campaigns WHERE player_ids @> $1::int[]", [[2, 3]], 1)
    assert rows == [{"id": campaign}]
    # JSONB: operators, containment, jsonb_set, a dict parameter
    await sql.execute(
        scope,
        "UPDATE campaigns SET settings = jsonb_set(settings, '{dice}', to_jsonb($1::text)) WHERE id = $2",
        ["d100", campaign],
    )
    rows, _ = await sql.query(
        scope,
        "SELECT settings->>'dice' AS dice, settings->'house_rules'->0 AS rule, settings @> $1 AS has "
        "FROM campaigns WHERE id = $2",
        [{"house_rules": ["flanking"]}, campaign],
        1,
    )
    assert rows == [{"dice": "d100", "rule": "flanking", "has": True}]
    # identity column: GENERATED ALWAYS refuses an explicit id
    await sql.execute(scope, "INSERT INTO sessions (campaign_id, starts_at) VALUES ($1, now())", [campaign])
    with pytest.raises(RpcFailure, match="cannot insert a non-DEFAULT value"):
        await sql.execute(scope, "INSERT INTO sessions (id, campaign_id, starts_at) VALUES (9, $1, now())", [campaign])


async def test_on_conflict_returning_ctes_and_window_functions(storage, scope):
    sql = storage.sql
    await sql.execute(scope, MIGRATION, [])
    upsert = (
        "INSERT INTO tags (name, uses) VALUES ($1, 1) "
        "ON CONFLICT (name) DO UPDATE SET uses = tags.uses + 1 RETURNING uses"
    )
    assert [(await sql.query(scope, upsert, ["loot"], 1))[0][0]["uses"] for _ in range(3)] == [1, 2, 3]
    assert await sql.execute(scope, "INSERT INTO tags (name) VALUES ('loot') ON CONFLICT DO NOTHING", []) == 0

    await sql.execute(scope, "INSERT INTO campaigns (name, owner_id) VALUES ('A', '1'), ('B', '2')", [])
    await sql.execute(
        scope,
        "INSERT INTO characters (campaign_id, player_id, name, level) "
        "SELECT c.id, p, 'hero' || p, p * 2 FROM campaigns c, generate_series(1, 3) p",
        [],
    )
    rows, _ = await sql.query(
        scope,
        "WITH ranked AS ("
        "  SELECT c.name AS campaign, ch.name, ch.level,"
        "         rank() OVER (PARTITION BY ch.campaign_id ORDER BY ch.level DESC) AS place,"
        "         sum(ch.level) OVER (PARTITION BY ch.campaign_id) AS total"
        "  FROM characters ch JOIN campaigns c ON c.id = ch.campaign_id"
        ") SELECT campaign, name, total FROM ranked WHERE place = 1 ORDER BY campaign",
        [],
        10,
    )
    assert rows == [{"campaign": "A", "name": "hero3", "total": 12}, {"campaign": "B", "name": "hero3", "total": 12}]
    # a data-modifying CTE with RETURNING, through query()
    rows, _ = await sql.query(
        scope,
        "WITH gone AS (DELETE FROM characters WHERE level < $1 RETURNING id) SELECT count(*) AS n FROM gone",
        [5],
        1,
    )
    assert rows == [{"n": 4}]
    # the unique expression index holds
    with pytest.raises(RpcFailure, match="duplicate key"):
        await sql.execute(
            scope,
            "INSERT INTO characters (campaign_id, player_id, name) SELECT id, 9, 'HERO3' FROM campaigns LIMIT 1",
            [],
        )
