"""The author plugins under ``plugins/`` carry their own test suites; those run in a copy, on each SDK, never here."""

collect_ignore_glob = ["plugins/*"]
