import bday.commands  # noqa: F401
from bday.core import plugin

if __name__ == "__main__":
    plugin.run()
