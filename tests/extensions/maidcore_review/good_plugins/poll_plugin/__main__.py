from mmo_maid_sdk import Plugin
from polls.handlers import register

plugin = Plugin()
register(plugin)

if __name__ == "__main__":
    plugin.run()
