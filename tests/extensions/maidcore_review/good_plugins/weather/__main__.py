from mmo_maid_sdk import Plugin
from wx.commands import weather_command, weather_key

plugin = Plugin()
plugin.on_slash_command("weather")(weather_command)
plugin.on_slash_command("weather-key")(weather_key)

if __name__ == "__main__":
    plugin.run()
