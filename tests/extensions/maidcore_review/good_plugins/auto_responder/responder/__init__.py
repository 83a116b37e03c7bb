from mmo_maid_sdk import Plugin

plugin = Plugin()

from . import dashboard, listener  # noqa: E402,F401
