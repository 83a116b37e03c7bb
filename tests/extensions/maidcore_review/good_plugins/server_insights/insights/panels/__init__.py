"""Dashboard handlers, one module per page."""
