import pytest
from helpdesk import transcript
from helpdesk.repo import Tickets
from mmo_maid_sdk.testing import dispatch, make_event, run_ready


def test_repository_filters_only_known_columns(ctx):
    tickets = Tickets(ctx)
    tickets.create_table()
    ticket_id = tickets.open("5", "printer on fire")
    assert tickets.where(opener_id="5")[0]["id"] == ticket_id
    with pytest.raises(KeyError):
        tickets.where(password="x")


def test_transcript_orders_messages():
    text = transcript.render(
        [
            {"timestamp": "2026-01-01T10:05", "author_id": "2", "content": "second"},
            {"timestamp": "2026-01-01T10:00", "author_id": "1", "content": "first"},
        ]
    )
    assert text.splitlines()[0].endswith("1: first")


def test_open_claim_close(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    submit = make_event(
        "interaction_create", interaction_type=5, custom_id="ticket:topic", modal_values={"topic": "help"}, user_id="8"
    )
    dispatch(mmo_plugin.plugin, "interaction_create", submit, ctx=ctx)
    assert ctx.discord.channels_created[-1]["name"] == "ticket-0001"
    ticket = Tickets(ctx).where(opener_id="8")[0]
    assert ticket["channel_id"] is not None
    close = make_event("interaction_create", command_name="support-close", channel_id=ticket["channel_id"])
    dispatch(mmo_plugin.plugin, "interaction_create", close, ctx=ctx)
    assert Tickets(ctx).get(ticket["id"])["status"] == "closed"
    assert ctx.discord.channels_deleted[-1]["channel_id"] == ticket["channel_id"]
