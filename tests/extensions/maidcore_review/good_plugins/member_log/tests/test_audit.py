from formatters import FORMATTERS
from mmo_maid_sdk.testing import MockContext, dispatch, make_event


def test_role_changes_are_listed():
    line = FORMATTERS["member_update"]({"user_id": "1", "roles": ["5", "6"], "old_roles": ["6", "7"]})
    assert line == "✏️ <@1>: +<@&5>, -<@&7>"


def test_configured_events_are_logged_and_disabled_ones_skipped(mmo_plugin):
    ctx = MockContext()
    options = [{"name": "channel", "value": "44"}, {"name": "disable", "value": "message_delete, nonsense"}]
    dispatch(
        mmo_plugin.plugin,
        "interaction_create",
        make_event("interaction_create", command_name="auditlog", options=options),
        ctx=ctx,
    )
    dispatch(mmo_plugin.plugin, "member_join", make_event("member_join", user_id="9", member_count=10), ctx=ctx)
    dispatch(mmo_plugin.plugin, "message_delete", make_event("message_delete"), ctx=ctx)
    assert [m["content"] for m in ctx.messages_sent] == ["📥 <@9> joined (member #10)"]
