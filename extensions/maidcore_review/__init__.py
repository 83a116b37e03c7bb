"""maidcore's default review checks (entry point ``review``)."""
