"""Birthdays table."""

CREATE = (
    "CREATE TABLE IF NOT EXISTS birthdays (user_id TEXT PRIMARY KEY, day INTEGER NOT NULL, month INTEGER NOT NULL, "
    "last_wished INTEGER NOT NULL DEFAULT 0)"
)
UPSERT = (
    "INSERT INTO birthdays (user_id, day, month) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id) DO UPDATE SET day = $2, month = $3"
)
TODAY = "SELECT user_id FROM birthdays WHERE day = $1 AND month = $2 AND last_wished < $3"
MARK = "UPDATE birthdays SET last_wished = $1 WHERE user_id = $2"
ALL = "SELECT user_id, day, month FROM birthdays"


def ensure(ctx):
    ctx.sql.execute(CREATE)


def save(ctx, user_id, day, month):
    ctx.sql.execute(UPSERT, [user_id, day, month])


def due_today(ctx, day, month, year):
    return [row["user_id"] for row in ctx.sql.query(TODAY, [day, month, year])]


def mark_wished(ctx, user_id, year):
    ctx.sql.execute(MARK, [year, user_id])


def everyone(ctx):
    return ctx.sql.query(ALL)
