"""The rate of ``plugin.log`` lines one (server, plugin) may store: lines and bytes per second.

Two token buckets per server (burst: two seconds' worth). A line over either
is not stored and not shown to log observers; it is counted, and the count is
reported once, as one warning line, with the first line stored after a quiet
spell (``BURST_SECONDS`` without a dropped line): the end of the flood. The
flood of one plugin never delays or displaces another's lines.
"""

from __future__ import annotations

from dataclasses import dataclass

BURST_SECONDS = 2.0


@dataclass(slots=True)
class _Bucket:
    lines: float
    bytes: float
    at: float
    dropped_lines: int = 0
    dropped_bytes: int = 0
    last_drop: float = 0.0


class LogRate:
    """Admission of one worker's log lines, per server it logs for."""

    def __init__(self, lines_per_second: float, bytes_per_second: float) -> None:
        self.lines_per_second = lines_per_second
        self.bytes_per_second = bytes_per_second
        self._buckets: dict[str, _Bucket] = {}
        self.dropped = 0  # lines not stored, all servers together

    def admit(self, server: str, size: int, now: float) -> tuple[bool, str | None]:
        """Whether to store a line of ``size`` bytes, and the report of earlier drops to store first (once)."""
        cap_lines = self.lines_per_second * BURST_SECONDS
        cap_bytes = self.bytes_per_second * BURST_SECONDS
        bucket = self._buckets.get(server)
        if bucket is None:
            bucket = self._buckets[server] = _Bucket(cap_lines, cap_bytes, now)
        elapsed = max(0.0, now - bucket.at)
        bucket.at = now
        bucket.lines = min(cap_lines, bucket.lines + elapsed * self.lines_per_second)
        bucket.bytes = min(cap_bytes, bucket.bytes + elapsed * self.bytes_per_second)
        if bucket.lines < 1 or bucket.bytes < size:
            bucket.dropped_lines += 1
            bucket.dropped_bytes += size
            bucket.last_drop = now
            self.dropped += 1
            return False, None
        bucket.lines -= 1
        bucket.bytes -= size
        report = None
        if bucket.dropped_lines and now - bucket.last_drop >= BURST_SECONDS:
            report = (
                f"{bucket.dropped_lines} log lines ({bucket.dropped_bytes} bytes) were not stored: over the limit of "
                f"{self.lines_per_second:g} lines and {self.bytes_per_second:g} bytes per second"
            )
            bucket.dropped_lines = bucket.dropped_bytes = 0
        return True, report

    def pending(self) -> dict[str, int]:
        """Lines dropped and not yet reported, per server."""
        return {server: b.dropped_lines for server, b in self._buckets.items() if b.dropped_lines}
