"""Counting stars and keeping the starboard post in step."""

from settings import STAR, BoardSettings


def star_count(message: dict) -> int:
    for reaction in message.get("reactions") or []:
        if reaction.get("emoji") == STAR:
            return int(reaction.get("count") or 0)
    return 0


def render(message: dict, count: int) -> str:
    author = message.get("author_id") or (message.get("author") or {}).get("id", "?")
    body = (message.get("content") or "*(no text)*")[:1500]
    return f"{STAR} **{count}** | <#{message.get('channel_id')}> | <@{author}>\n{body}"


class Starboard:
    def __init__(self, ctx, settings: BoardSettings):
        self.ctx = ctx
        self.settings = settings
        self.kv = ctx.kv

    def fetch(self, channel_id: str, message_id: str) -> dict | None:
        around = self.ctx.discord.get_messages(channel_id=channel_id, limit=1, after=str(int(message_id) - 1))
        for message in around:
            if str(message.get("id")) == str(message_id):
                return {**message, "channel_id": channel_id}
        return None

    def update(self, channel_id: str, message_id: str, count: int, message: dict) -> None:
        if not self.settings.channel_id or channel_id == self.settings.channel_id:
            return
        posted = self.kv.get(f"star:{message_id}")
        if posted is None and count >= self.settings.threshold:
            sent = self.ctx.discord.send_message(channel_id=self.settings.channel_id, content=render(message, count))
            self.kv.set(f"star:{message_id}", str(sent["message_id"]))
        elif posted is not None:
            self.ctx.discord.edit_message(
                channel_id=self.settings.channel_id, message_id=posted, content=render(message, count)
            )
