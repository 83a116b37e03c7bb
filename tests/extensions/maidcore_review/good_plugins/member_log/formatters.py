"""One line per event type; unknown fields are shown as '?'."""

from __future__ import annotations

from collections.abc import Callable


def _join(e):
    return f"📥 <@{e['user_id']}> joined (member #{e.get('member_count', '?')})"


def _leave(e):
    return f"📤 **{e.get('username', '?')}** (<@{e['user_id']}>) left"


def _member_update(e):
    parts = []
    if e.get("old_nick") != e.get("nick"):
        parts.append(f"nickname {e.get('old_nick') or '-'} → {e.get('nick') or '-'}")
    added = sorted(set(e.get("roles") or []) - set(e.get("old_roles") or []))
    removed = sorted(set(e.get("old_roles") or []) - set(e.get("roles") or []))
    parts += [f"+<@&{r}>" for r in added] + [f"-<@&{r}>" for r in removed]
    return f"✏️ <@{e['user_id']}>: " + ", ".join(parts) if parts else None


def _message_delete(e):
    return f"🗑️ message {e.get('message_id')} deleted in <#{e.get('channel_id')}>"


def _message_edit(e):
    before = (e.get("old_content") or "")[:300]
    after = (e.get("content") or "")[:300]
    return f"📝 <@{e.get('author_id', '?')}> edited in <#{e.get('channel_id')}>:\n> {before}\n→ {after}"


FORMATTERS: dict[str, Callable[[dict], str | None]] = {
    "member_join": _join,
    "member_leave": _leave,
    "member_update": _member_update,
    "message_delete": _message_delete,
    "message_edit": _message_edit,
}
