"""The plugin object every module registers on."""

from mmo_maid_sdk import Plugin

plugin = Plugin()
