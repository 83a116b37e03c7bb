"""Reminder rows. Every statement is a constant; limits and ids are bound."""

TABLE = "reminders"
CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    due_at TEXT NOT NULL,
    text TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
)"""
INSERT = f"INSERT INTO {TABLE} (user_id, channel_id, due_at, text) VALUES ($1, $2, $3, $4)"
PENDING_FOR = f"SELECT id, due_at, text FROM {TABLE} WHERE user_id = $1 AND sent = 0 ORDER BY due_at"
DUE = f"SELECT id, user_id, channel_id, text FROM {TABLE} WHERE sent = 0 AND due_at <= $1 ORDER BY due_at LIMIT $2"
MARK_SENT = f"UPDATE {TABLE} SET sent = 1 WHERE id = $1"
DELETE_OWN = f"DELETE FROM {TABLE} WHERE id = $1 AND user_id = $2 AND sent = 0"
MAX_PENDING = 25
BATCH = 50
