"""Feed Watcher."""

from feeds.app import plugin

if __name__ == "__main__":
    plugin.run()
