"""A plain-text transcript of a ticket channel, oldest message first."""


def render(messages: list[dict]) -> str:
    lines = []
    for message in sorted(messages, key=lambda m: m.get("timestamp", "")):
        author = message.get("author", {}).get("username") or message.get("author_id", "?")
        lines.append(f"[{message.get('timestamp', '')[:16]}] {author}: {message.get('content', '')}")
    return "\n".join(lines)


def fetch(ctx, channel_id: str, limit: int = 100) -> str:
    return render(ctx.discord.get_messages(channel_id=channel_id, limit=limit))
