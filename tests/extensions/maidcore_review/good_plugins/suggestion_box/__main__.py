from ideas.handlers import Handlers
from mmo_maid_sdk import Plugin

plugin = Plugin()
Handlers(plugin)

if __name__ == "__main__":
    plugin.run()
