from greeter import events, panel, setup  # noqa: F401
from greeter.core import plugin

if __name__ == "__main__":
    plugin.run()
