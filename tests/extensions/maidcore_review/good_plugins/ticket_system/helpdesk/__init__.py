"""Support tickets in private channels."""
