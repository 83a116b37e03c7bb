import plugin_main
from yourbot_sdk.testing import MockContext, dispatch, make_event


def test_ping_gets_pong_with_an_again_button():
    ctx = dispatch(plugin_main.plugin, "message_create", make_event("message_create", content="!ping", channel_id="10"))
    (sent,) = ctx.messages_sent
    assert sent["channel_id"] == "10" and sent["content"] == "Pong!"
    button = sent["components"][0].children[0]
    assert (button.label, button.custom_id) == ("Again", "pingpong:again")


def test_bots_are_ignored():
    ctx = dispatch(plugin_main.plugin, "message_create", make_event("message_create", content="!ping", author_bot=True))
    assert ctx.messages_sent == []


def test_again_opens_the_feedback_modal_and_the_submit_is_thanked():
    ctx = MockContext()
    dispatch(
        plugin_main.plugin,
        "interaction_create",
        make_event("interaction_create", interaction_type=3, custom_id="pingpong:again"),
        ctx=ctx,
    )
    (modal,) = ctx.modals_sent
    assert (modal["title"], modal["custom_id"]) == ("Feedback", "pingpong:feedback")
    submit = make_event(
        "interaction_create", interaction_type=5, custom_id="pingpong:feedback", modal_values={"comment": "nice"}
    )
    dispatch(plugin_main.plugin, "interaction_create", submit, ctx=ctx)
    assert ctx.interaction.responses[-1]["content"] == "Thanks: nice"


def test_slash_ping():
    ctx = dispatch(
        plugin_main.plugin,
        "interaction_create",
        make_event("interaction_create", interaction_type=2, command_name="ping"),
    )
    assert ctx.interaction.responses[-1]["content"] == "Pong!"
