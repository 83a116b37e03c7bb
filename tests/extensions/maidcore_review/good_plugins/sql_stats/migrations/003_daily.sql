CREATE TABLE IF NOT EXISTS stat_daily (
    day TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    words INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel_id)
);
ALTER TABLE stat_messages ADD COLUMN edited INTEGER NOT NULL DEFAULT 0
