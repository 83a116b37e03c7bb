"""Table names and the schema, in one place."""

CASES = "mod_cases"
SCHEMA_VERSION = "mod_schema_version"

MIGRATIONS = (
    (
        1,
        f"""
        CREATE TABLE IF NOT EXISTS {CASES} (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            moderator_id TEXT NOT NULL,
            action TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS {CASES}_user ON {CASES} (user_id)
        """,
    ),
    (2, f"ALTER TABLE {CASES} ADD COLUMN channel_id TEXT"),
)
