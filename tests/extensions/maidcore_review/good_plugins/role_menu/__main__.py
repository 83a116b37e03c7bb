from mmo_maid_sdk import Plugin

from menus import commands, picker

plugin = Plugin()
commands.install(plugin)
picker.install(plugin)

if __name__ == "__main__":
    plugin.run()
