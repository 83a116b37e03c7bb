"""Season scores in SQL: the season is a KV counter, rows are keyed by (season, user)."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS trivia_scores (season INTEGER NOT NULL, user_id TEXT NOT NULL, "
    "points INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (season, user_id))"
)
ADD = (
    "INSERT INTO trivia_scores (season, user_id, points) VALUES ($1, $2, $3) "
    "ON CONFLICT (season, user_id) DO UPDATE SET points = points + $3"
)
BOARD = "SELECT user_id, points FROM trivia_scores WHERE season = $1 ORDER BY points DESC, user_id LIMIT 10"


class Scoreboard:
    def __init__(self, ctx):
        self.ctx = ctx
        self.season = int(ctx.kv.get("season") or 1)

    def setup(self):
        self.ctx.sql.execute(SCHEMA)

    def award(self, user_id: str, points: int) -> None:
        self.ctx.sql.execute(ADD, [self.season, user_id, points])

    def top(self) -> list[dict]:
        return self.ctx.sql.query(BOARD, [self.season])
