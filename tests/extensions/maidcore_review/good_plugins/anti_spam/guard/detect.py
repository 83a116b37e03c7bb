"""Spam signals from ephemeral counters (shared by every worker of this plugin)."""

import hashlib

from .limits import Limits


def fingerprint(content: str) -> str:
    return hashlib.blake2b(" ".join(content.lower().split()).encode(), digest_size=8).hexdigest()


def reasons(ephemeral, event, limits: Limits) -> list[str]:
    user = event["author_id"]
    found = []
    if ephemeral.counter(f"rate:{user}", 10) > limits.messages_per_10s:
        found.append("message flood")
    if (
        event.get("content")
        and ephemeral.counter(f"dup:{user}:{fingerprint(event['content'])}", 60) > limits.duplicates_per_minute
    ):
        found.append("repeated message")
    if int(event.get("mention_count") or 0) > limits.mentions_per_message:
        found.append("mass mention")
    return found
