"""Table names, shared by the migrations' SQL files and the queries."""

MESSAGES = "stat_messages"
REACTIONS = "stat_reactions"
DAILY = "stat_daily"
VERSIONS = "stat_schema_versions"
RETENTION_DAYS = 400
