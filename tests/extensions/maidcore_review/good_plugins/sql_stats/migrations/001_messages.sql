-- messages seen, one row each (content is never stored)
CREATE TABLE IF NOT EXISTS stat_messages (
    message_id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    words INTEGER NOT NULL DEFAULT 0,
    day TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stat_messages_day ON stat_messages (day);
CREATE INDEX IF NOT EXISTS stat_messages_channel ON stat_messages (channel_id, day);
CREATE INDEX IF NOT EXISTS stat_messages_author ON stat_messages (author_id, day)
