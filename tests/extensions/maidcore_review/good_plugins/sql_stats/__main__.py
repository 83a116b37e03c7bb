"""Message Stats."""

from statsdb import handlers  # noqa: F401
from statsdb.handlers import plugin

if __name__ == "__main__":
    plugin.run()
