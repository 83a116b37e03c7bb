"""Test helpers for extension authors (and the project's own tests).

``maidcore.testing.records.MemoryRecords`` is a complete in-memory
``RecordStore``; ``maidcore.testing.layers`` holds recording layers and a fake
event source; ``maidcore.testing.pytest_plugin`` turns them into fixtures
(enable it with ``pytest_plugins = ["maidcore.testing.pytest_plugin"]``).
"""
