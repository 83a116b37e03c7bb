"""Welcome cards."""
