"""Guardian's handlers against the official testing kit."""

import pytest
from plugin_main import (
    REASONS,
    appeal,
    appeal_submitted,
    forgive_old_strikes,
    guardian_setup,
    options_of,
    plugin,
    setup,
    spam_brake,
    strike,
    strikes,
    undo,
)
from yourbot_sdk import Button, CapabilityError, SdkError
from yourbot_sdk.testing import MockContext, make_event


def strike_opts(member="555", reason="spam", weight=None):
    opts = [{"name": "member", "type": 6, "value": member}, {"name": "reason", "type": 3, "value": reason}]
    if weight is not None:
        opts.append({"name": "weight", "type": 4, "value": weight})
    return opts


def test_options_flatten_sub_commands():
    event = make_event(
        "interaction_create",
        options=[{"name": "show", "type": 1, "options": [{"name": "member", "type": 6, "value": "7"}]}],
    )
    assert options_of(event) == {"_sub": "show", "member": "7"}


def test_on_ready_is_idempotent(ctx):
    setup(ctx)
    setup(ctx)
    assert ctx.kv.get("config:version") == 1
    assert [w["op"] for w in ctx.kv_writes] == ["set"]


def test_setup_stores_the_log_channel(ctx, command):
    guardian_setup(ctx, command("guardian-setup", [{"name": "channel", "type": 7, "value": "321"}]))
    assert ctx.kv.get("config:log_channel") == "321"
    assert ctx.interaction.responses[-1]["ephemeral"] is True
    assert "<#321>" in ctx.interaction.responses[-1]["content"]


def test_strike_counts_and_offers_undo(ctx, command):
    ctx.kv.set("config:log_channel", "321")
    strike(ctx, command("strike", strike_opts(weight=2)))
    assert ctx.kv.get("strikes:555") == 2
    assert ctx.kv.get("last:555") == {"reason": "spam", "by": "100", "total": 2}
    reply = ctx.interaction.responses[-1]
    assert reply["ephemeral"] is True
    row = reply["components"][0].to_dict()
    assert row["components"][0]["custom_id"] == "undo:555:2"
    assert ctx.messages_sent[-1]["channel_id"] == "321"
    assert ctx.messages_sent[-1]["allowed_mentions"] == {"parse": []}
    assert ctx.metrics.recorded[-1]["metric"] == "strikes_issued"


def test_a_second_strike_within_the_cooldown_is_refused(ctx, command, clock):
    strike(ctx, command("strike", strike_opts()))
    strike(ctx, command("strike", strike_opts()))
    assert ctx.kv.get("strikes:555") == 1
    assert "moments ago" in ctx.interaction.responses[-1]["content"]
    clock.advance(31)
    strike(ctx, command("strike", strike_opts()))
    assert ctx.kv.get("strikes:555") == 2


def test_third_strike_times_out(ctx, command):
    ctx.kv.set("strikes:555", 2)
    strike(ctx, command("strike", strike_opts(reason="harassment")))
    timeouts = ctx.discord.members_timed_out
    assert timeouts[-1]["user_id"] == "555"
    assert timeouts[-1]["duration_seconds"] == 3600
    assert "Timed out" in ctx.interaction.responses[-1]["content"]


def test_missing_permission_is_reported_not_raised(ctx, command):
    from yourbot_sdk import SdkPermissionError

    def refuse(**kwargs):
        raise SdkPermissionError("Bot lacks permission: moderate_members")

    ctx.discord.timeout_member = refuse
    ctx.kv.set("strikes:555", 5)
    strike(ctx, command("strike", strike_opts()))
    assert "could not time them out" in ctx.interaction.responses[-1]["content"]


def test_rate_limited_timeout_says_when(ctx, command):
    from yourbot_sdk import RateLimitError

    def limited(**kwargs):
        raise RateLimitError("rate limit exceeded, retry in 12s", retry_after=12.5)

    ctx.discord.timeout_member = limited
    ctx.kv.set("strikes:555", 5)
    strike(ctx, command("strike", strike_opts()))
    assert "retry in 12s" in ctx.interaction.responses[-1]["content"]


def test_undo_updates_the_message_in_place(ctx):
    ctx.kv.set("strikes:555", 3)
    undo(ctx, make_event("interaction_create", interaction_type=3, custom_id="undo:555:2"))
    assert ctx.kv.get("strikes:555") == 1
    reply = ctx.interaction.responses[-1]
    assert reply["update_message"] is True and reply["components"] == []
    undo(ctx, make_event("interaction_create", interaction_type=3, custom_id="undo:555:2"))
    assert ctx.kv.get("strikes:555") is None
    assert ctx.kv_writes[-1]["op"] == "delete"


def test_show_and_clear(ctx, command):
    ctx.kv.set("strikes:7", 2)
    ctx.kv.set("last:7", {"reason": "off_topic", "by": "1", "total": 2})
    sub = lambda name: [{"name": name, "type": 1, "options": [{"name": "member", "type": 6, "value": "7"}]}]  # noqa: E731
    strikes(ctx, command("strikes", sub("show")))
    assert ctx.interaction.responses[-1]["content"] == "<@7> has 2 strike(s). Last: Off-topic."
    strikes(ctx, command("strikes", sub("clear")))
    assert ctx.kv.exists("strikes:7") is False


def test_appeal_is_only_for_the_member(ctx):
    appeal(ctx, make_event("interaction_create", interaction_type=3, custom_id="appeal:7", user_id="8"))
    assert ctx.modals_sent == []
    appeal(ctx, make_event("interaction_create", interaction_type=3, custom_id="appeal:7", user_id="7"))
    modal = ctx.modals_sent[-1]
    assert modal["custom_id"] == "appeal_form"
    field = modal["fields"][0].to_dict()
    assert field["type"] == 4 and field["custom_id"] == "why" and field["style"] == 2


def test_appeal_submission_deduplicated(ctx):
    event = make_event(
        "interaction_create",
        interaction_type=5,
        custom_id="appeal_form",
        user_id="7",
        modal_values={"why": " I was wrong "},
    )
    appeal_submitted(ctx, event)
    appeal_submitted(ctx, event)
    assert ctx.kv.get("appeal:7") == {"why": "I was wrong"}
    assert [r["content"] for r in ctx.interaction.responses] == [
        "Appeal received. A moderator will read it.",
        "You already appealed this hour.",
    ]


def test_spam_brake_deletes_after_the_limit_and_warns_once(ctx, clock):
    for i in range(8):
        spam_brake(ctx, make_event("message_create", author_id="9", channel_id="1", message_id=str(i)))
    assert [d["message_id"] for d in ctx.messages_deleted] == ["5", "6", "7"]
    assert len(ctx.messages_sent) == 1
    assert ctx.messages_sent[0]["allowed_mentions"] == {"users": ["9"]}
    clock.advance(11)  # the window slides
    spam_brake(ctx, make_event("message_create", author_id="9", channel_id="1", message_id="99"))
    assert len(ctx.messages_deleted) == 3


def test_spam_brake_ignores_bots(ctx):
    for _ in range(10):
        spam_brake(ctx, make_event("message_create", author_bot=True))
    assert ctx.messages_deleted == []


def test_nightly_forgiveness_pages_past_100_keys(ctx):
    for i in range(150):
        ctx.kv.set(f"strikes:{i:03d}", 1 if i % 2 else 2)
    forgive_old_strikes(ctx)
    assert ctx.kv.count("strikes:") == 75
    assert ctx.kv.get("strikes:000") == 1
    assert any("nightly forgiveness" in line for line in ctx.log_lines)


def test_strike_without_kv_capability_fails_loudly():
    ctx = MockContext(capabilities=["interaction:respond"])
    with pytest.raises(CapabilityError) as info:
        strike(ctx, make_event("interaction_create", options=strike_opts()))
    assert info.value.code == "CAPABILITY_DENIED"
    assert isinstance(info.value, SdkError)


def test_reasons_match_the_manifest_choices():
    import json
    from pathlib import Path

    manifest = json.loads((Path(__file__).parent.parent / "manifest.json").read_text())
    command = next(c for c in manifest["slash_commands"] if c["name"] == "strike")
    choices = next(o for o in command["options"] if o["name"] == "reason")["choices"]
    assert {c["value"] for c in choices} == set(REASONS)


def test_buttons_serialise_as_discord_expects():
    assert Button("Undo", custom_id="undo:1:1", style="danger").to_dict() == {
        "type": 2,
        "style": 4,
        "label": "Undo",
        "custom_id": "undo:1:1",
    }


def test_registered_handlers():
    assert plugin is not None
