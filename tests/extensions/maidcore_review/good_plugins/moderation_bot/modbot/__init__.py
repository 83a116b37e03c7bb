"""Moderation Bot: automod, warnings and a case log."""
