import json

from mmo_maid_sdk.testing import MockContext, dispatch, make_event, tick


def test_new_release_is_posted_once(mmo_plugin):
    ctx = MockContext()
    dispatch(
        mmo_plugin.plugin,
        "interaction_create",
        make_event(
            "interaction_create", command_name="watch-releases", options=[{"name": "repo", "value": "python/cpython"}]
        ),
        ctx=ctx,
    )
    ctx.http.mock_response("releases/latest", body=json.dumps({"tag_name": "v1", "html_url": "https://x/v1"}))
    tick(mmo_plugin.plugin, "check_releases", ctx=ctx)
    assert ctx.discord.webhooks_executed == []
    ctx2 = MockContext()
    ctx2.kv = ctx.kv
    ctx2.http.mock_response("releases/latest", body=json.dumps({"tag_name": "v2", "html_url": "https://x/v2"}))
    tick(mmo_plugin.plugin, "check_releases", ctx=ctx2)
    assert ctx2.discord.webhooks_executed[-1]["content"] == "🚀 **python/cpython** v2\nhttps://x/v2"
