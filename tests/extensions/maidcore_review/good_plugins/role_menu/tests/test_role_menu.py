from menus.storage import MenuStore
from mmo_maid_sdk.testing import MockContext, dispatch, make_event


def sub(subcommand, **args):
    return make_event(
        "interaction_create",
        command_name="rolemenu",
        options=[{"type": 1, "name": subcommand, "options": [{"name": k, "value": v} for k, v in args.items()]}],
    )


def test_build_post_and_pick(mmo_plugin):
    ctx = MockContext()
    ctx.discord.list_roles = lambda: [{"id": "11", "name": "Artists"}, {"id": "12", "name": "Gamers"}]
    dispatch(mmo_plugin.plugin, "interaction_create", sub("create", name="Hobbies"), ctx=ctx)
    dispatch(mmo_plugin.plugin, "interaction_create", sub("add", name="Hobbies", role="11"), ctx=ctx)
    dispatch(mmo_plugin.plugin, "interaction_create", sub("add", name="Hobbies", role="12"), ctx=ctx)
    dispatch(mmo_plugin.plugin, "interaction_create", sub("post", name="Hobbies"), ctx=ctx)
    menu = ctx.messages_sent[-1]["components"][0]
    assert [o["label"] for o in menu.to_dict()["components"][0]["options"]] == ["Artists", "Gamers"]
    pick = make_event(
        "interaction_create", interaction_type=3, custom_id="rolemenu:Hobbies", values=["12"], member={"roles": ["11"]}
    )
    dispatch(mmo_plugin.plugin, "interaction_create", pick, ctx=ctx)
    assert [r["role_id"] for r in ctx.roles_added] == ["12"]
    assert [r["role_id"] for r in ctx.roles_removed] == ["11"]


def test_unknown_menu():
    ctx = MockContext()
    try:
        MenuStore(ctx).add_role("nope", {"id": "1"})
    except KeyError:
        pass
    else:
        raise AssertionError("expected KeyError")
