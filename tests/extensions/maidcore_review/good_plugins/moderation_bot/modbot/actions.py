"""What happens to a member: warnings escalate to timeouts; everything is logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mmo_maid_sdk import SdkPermissionError

from . import cases, config


def log_to_channel(ctx, settings, text: str) -> None:
    if settings.log_channel:
        ctx.discord.send_message(channel_id=settings.log_channel, content=text)


def warn(ctx, user_id: str, moderator_id: str, reason: str) -> str:
    settings = config.load(ctx)
    cases.record(ctx, user_id, moderator_id, "warn", reason)
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds")
    count = cases.warnings_since(ctx, user_id, week_ago)
    text = f"<@{user_id}> was warned ({count} this week): {reason}"
    if count >= settings.warn_threshold:
        try:
            ctx.discord.timeout_member(
                user_id=user_id, duration_seconds=settings.timeout_minutes * 60, reason=f"{count} warnings"
            )
            cases.record(ctx, user_id, moderator_id, "timeout", f"{count} warnings in a week")
            text += f" - timed out for {settings.timeout_minutes} minutes"
        except SdkPermissionError as exc:
            text += f" - cannot time out (missing {exc.permission})"
    log_to_channel(ctx, settings, text)
    return text


def kick(ctx, user_id: str, moderator_id: str, reason: str) -> str:
    ctx.discord.kick_member(user_id=user_id, reason=reason)
    cases.record(ctx, user_id, moderator_id, "kick", reason)
    text = f"<@{user_id}> was kicked: {reason}"
    log_to_channel(ctx, config.load(ctx), text)
    return text


def remove_message(ctx, event, reason: str) -> None:
    ctx.discord.delete_message(channel_id=event["channel_id"], message_id=event["message_id"])
    cases.record(ctx, event["author_id"], "automod", "delete", reason, channel_id=event["channel_id"])
