import plugin_main
from yourbot_sdk.testing import MockClock, MockContext, call_dashboard, dispatch, make_event


def note(ctx, text, author="201"):
    return dispatch(
        plugin_main.plugin, "message_create", make_event("message_create", content=text, author_id=author), ctx=ctx
    )


def test_a_note_is_stored_counted_and_confirmed():
    ctx = MockContext(clock=MockClock(start=1767225600.0))
    note(ctx, "!note buy coffee")
    assert ctx.kv.get("notes_total") == 1
    assert ctx.sql.executed[-1]["params"][:2] == ["201", "buy coffee"]
    assert ctx.metrics.recorded == [{"metric": "notes.added", "value": 1, "tags": {"channel": "1"}}]
    assert ctx.messages_sent[-1]["content"] == "Noted (#1)."


def test_a_member_waits_between_notes():
    clock = MockClock(start=1767225600.0)
    ctx = MockContext(clock=clock)
    note(ctx, "!note one")
    note(ctx, "!note two")
    assert ctx.kv.get("notes_total") == 1
    assert ctx.messages_sent[-1]["content"].startswith("One note every")
    clock.advance(11)
    note(ctx, "!note three")
    assert ctx.kv.get("notes_total") == 2


def test_bots_are_ignored():
    ctx = MockContext()
    dispatch(
        plugin_main.plugin, "message_create", make_event("message_create", content="!note x", author_bot=True), ctx=ctx
    )
    assert ctx.messages_sent == [] and ctx.sql.executed == []


def test_the_slash_command_answers_ephemerally():
    ctx = MockContext()
    event = make_event("interaction_create", command_name="notes", options=[{"name": "query", "type": 3, "value": "x"}])
    dispatch(plugin_main.plugin, "interaction_create", event, ctx=ctx)
    assert ctx.interaction.responses[-1]["ephemeral"] is True
    assert "No note mentions 'x'" in ctx.interaction.responses[-1]["content"]


def test_dashboard_widgets():
    ctx = MockContext()
    ctx.kv.set("notes_total", 3)
    assert call_dashboard(plugin_main.plugin, "total", ctx=ctx) == {"value": 3, "change": ""}
    assert call_dashboard(plugin_main.plugin, "latest", ctx=ctx) == {"rows": [], "total": 0}
