"""Suggestions table."""

from .status import Status

TABLE = "suggestions"
COLUMNS = "id, author_id, title, body, status, note, channel_id, message_id"


class Suggestions:
    def __init__(self, sql):
        self.sql = sql

    def create_table(self):
        self.sql.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, author_id TEXT, title TEXT, body TEXT, "
            f"status TEXT NOT NULL DEFAULT '{Status.OPEN.value}', note TEXT, channel_id TEXT, message_id TEXT)"
        )

    def add(self, author_id, title, body) -> int:
        self.sql.execute(f"INSERT INTO {TABLE} (author_id, title, body) VALUES ($1, $2, $3)", [author_id, title, body])
        return self.sql.scalar(f"SELECT MAX(id) FROM {TABLE}")

    def attach(self, suggestion_id, channel_id, message_id):
        self.sql.execute(
            f"UPDATE {TABLE} SET channel_id = $1, message_id = $2 WHERE id = $3",
            [channel_id, message_id, suggestion_id],
        )

    def get(self, suggestion_id):
        return self.sql.query_one(f"SELECT {COLUMNS} FROM {TABLE} WHERE id = $1", [suggestion_id])

    def set_status(self, suggestion_id, status: Status, note):
        self.sql.execute(
            f"UPDATE {TABLE} SET status = $1, note = $2 WHERE id = $3", [status.value, note, suggestion_id]
        )
