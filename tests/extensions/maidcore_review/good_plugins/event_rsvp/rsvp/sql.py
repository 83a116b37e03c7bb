"""Statements, each a constant; ``ANSWER_COUNTS`` is filled in for the three answers."""

EVENTS = "rsvp_events"
ANSWERS = "rsvp_answers"
STATES = ("going", "maybe", "declined")

SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {EVENTS} (id INTEGER PRIMARY KEY, title TEXT, starts_at TEXT, capacity INTEGER, "
    "channel_id TEXT, message_id TEXT, reminded INTEGER DEFAULT 0)",
    f"CREATE TABLE IF NOT EXISTS {ANSWERS} (event_id INTEGER, user_id TEXT, state TEXT, answered_at TEXT, "
    "PRIMARY KEY (event_id, user_id))",
)
NEW_EVENT = f"INSERT INTO {EVENTS} (title, starts_at, capacity, channel_id) VALUES ($1, $2, $3, $4)"
LAST_EVENT = f"SELECT MAX(id) FROM {EVENTS}"
SET_MESSAGE = f"UPDATE {EVENTS} SET message_id = $1 WHERE id = $2"
GET_EVENT = f"SELECT id, title, starts_at, capacity, channel_id, message_id FROM {EVENTS} WHERE id = $1"
ANSWER = (
    f"INSERT INTO {ANSWERS} (event_id, user_id, state, answered_at) VALUES ($1, $2, $3, CURRENT_TIMESTAMP) "
    "ON CONFLICT (event_id, user_id) DO UPDATE SET state = $3, answered_at = CURRENT_TIMESTAMP"
)
ANSWER_COUNTS = (
    "SELECT "
    + ", ".join(f"SUM(CASE WHEN state = '{state}' THEN 1 ELSE 0 END) AS {state}" for state in STATES)
    + f" FROM {ANSWERS} WHERE event_id = $1"
)
GOING_IN_ORDER = f"SELECT user_id FROM {ANSWERS} WHERE event_id = $1 AND state = 'going' ORDER BY answered_at, user_id"
DUE_REMINDERS = f"SELECT id, title, channel_id FROM {EVENTS} WHERE reminded = 0 AND starts_at <= $1 AND starts_at > $2"
MARK_REMINDED = f"UPDATE {EVENTS} SET reminded = 1 WHERE id = $1"
