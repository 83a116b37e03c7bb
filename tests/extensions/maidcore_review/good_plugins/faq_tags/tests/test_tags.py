import pytest
import tags
from mmo_maid_sdk.testing import MockContext, dispatch, make_event
from suggest import closest


def tag_event(sub, permissions="32", **args):
    options = [{"type": 1, "name": sub, "options": [{"name": k, "value": v} for k, v in args.items()]}]
    return make_event("interaction_create", command_name="tag", options=options, member={"permissions": permissions})


def test_store_and_names():
    ctx = MockContext()
    store = tags.TagStore(ctx.kv)
    store.put("Rules", "Be nice.", "1")
    assert store.get("rules") == "Be nice."
    assert ctx.kv.get("tag:rules")["uses"] == 1
    assert store.names() == ["rules"]
    with pytest.raises(ValueError):
        store.put("bad name!", "x", "1")


def test_suggestions():
    assert closest("rulez", ["rules", "faq"]) == "rules"
    assert closest("zzz", ["rules"]) is None


def test_add_needs_manage_server_and_quick_tag_works(mmo_plugin):
    ctx = MockContext()
    dispatch(mmo_plugin.plugin, "interaction_create", tag_event("add", permissions="0", name="faq", text="x"), ctx=ctx)
    assert ctx.interaction.responses[-1]["content"].startswith("You need Manage Server")
    dispatch(mmo_plugin.plugin, "interaction_create", tag_event("add", name="faq", text="Read the pins."), ctx=ctx)
    dispatch(mmo_plugin.plugin, "message_create", make_event("message_create", content="?faq"), ctx=ctx)
    assert ctx.messages_sent[-1]["content"] == "Read the pins."
