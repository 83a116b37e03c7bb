"""The ``process`` sandbox backend: plugin workers as plain subprocesses (development and tests)."""

from maidcore_process.backend import ProcessBackend, ProcessWorker

__all__ = ["ProcessBackend", "ProcessWorker"]
