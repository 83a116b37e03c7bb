from notifier import bot

plugin = bot.plugin

if __name__ == "__main__":
    plugin.run()
