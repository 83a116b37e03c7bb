from menus import commands, picker
from mmo_maid_sdk import Plugin

plugin = Plugin()
commands.install(plugin)
picker.install(plugin)

if __name__ == "__main__":
    plugin.run()
