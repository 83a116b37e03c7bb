"""The method tables of each ctx namespace, one module each, loaded on first use (see ``_api``)."""
