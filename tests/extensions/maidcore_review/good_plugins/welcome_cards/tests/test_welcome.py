from greeter.card import CardSettings, build
from mmo_maid_sdk.testing import MockContext, call_dashboard, dispatch, make_event


def test_card_substitutes_placeholders():
    card = build(CardSettings(message="Hi $member, $server has $count"), member_id="5", server="Cafe", count=9)
    assert card["description"] == "Hi <@5>, Cafe has 9"
    assert card["color"] == 0x5865F2


def test_join_posts_card_and_roles(mmo_plugin):
    ctx = MockContext()
    CardSettings(channel_id="10", starter_roles=["77"]).save(ctx.kv)
    dispatch(mmo_plugin.plugin, "member_join", make_event("member_join", user_id="5", member_count=42), ctx=ctx)
    assert ctx.messages_sent[-1]["embeds"][0]["footer"] == {"text": "Member #42"}
    assert ctx.roles_added[-1]["role_id"] == "77"
    chart = call_dashboard(mmo_plugin.plugin, "joins", {}, ctx=ctx)
    assert chart["datasets"][0]["data"][-1] == 1


def test_dashboard_saves_only_numeric_roles(mmo_plugin):
    ctx = MockContext()
    call_dashboard(mmo_plugin.plugin, "save_card_settings", {"values": {"starter_roles": "1, x, 2"}}, ctx=ctx)
    assert CardSettings.load(ctx.kv).starter_roles == ["1", "2"]
