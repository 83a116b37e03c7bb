from datetime import date

from mmo_maid_sdk.testing import dispatch, make_event, run_ready, tick
from statsdb import handlers, migrate, query


def test_statements_split_and_comments():
    assert migrate.statements("-- a\nCREATE TABLE x (a INT);\n\nCREATE INDEX i ON x (a)") == [
        "CREATE TABLE x (a INT)",
        "CREATE INDEX i ON x (a)",
    ]


def test_migrations_apply_in_order_once(ctx):
    assert migrate.run(ctx) == [1, 2, 3]
    assert migrate.run(ctx) == []


def test_report_binds_every_value():
    sql, params = query.top_members(channel="5", member="6", period="day", today=date(2026, 1, 2))
    assert "channel_id = $1 AND author_id = $2 AND day >= $3" in sql
    assert sql.endswith("LIMIT $4")
    assert params == ["5", "6", "2026-01-02", 10]
    assert query.in_list("x", ["a", "b"]) == ("x IN ($1, $2)", ["a", "b"])


def test_record_and_report(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    today = date.today().isoformat() + "T10:00:00Z"
    for i, author in enumerate(("1", "1", "2")):
        event = make_event(
            "message_create", message_id=str(i), author_id=author, content="one two three", timestamp=today
        )
        dispatch(mmo_plugin.plugin, "message_create", event, ctx=ctx)
    dispatch(
        mmo_plugin.plugin, "interaction_create", make_event("interaction_create", command_name="activity"), ctx=ctx
    )
    assert ctx.interaction.responses[-1]["content"].splitlines()[0] == "<@1>: 2 messages, 6 words"
    assert handlers.messages_in_channels(ctx, ["1"]) == 3
    tick(mmo_plugin.plugin, "prune", ctx=ctx)
    assert handlers.messages_in_channels(ctx, ["1"]) == 3
