from mmo_maid_sdk import Plugin

plugin = Plugin()
