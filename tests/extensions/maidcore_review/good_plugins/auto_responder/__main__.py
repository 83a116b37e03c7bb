"""Auto Responder."""

from responder import plugin

if __name__ == "__main__":
    plugin.run()
