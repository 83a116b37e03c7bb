"""Build container entry: pip-install a plugin version's requirements, with the host as the only way out.

The container has no network. pip reaches the package index through an HTTP proxy
on the container's own loopback, which this script relays over stdin/stdout to
the maidcore host; the host opens connections only to the configured index hosts.
When pip is done the installed tree goes to the host as a tar stream on the same
pipe. Nothing here is trusted by the host: build code runs as the same user and
could forge any frame, so the host checks every destination and every tar member.

Frames, both directions: kind (1 byte) | channel (4 bytes, big endian) | length
(4 bytes, big endian) | payload. Host to container: first ``C``, the job as JSON
(``{"pip": [index options], "requirements": [...], "ca": PEM or null}``), then ``D``
bytes for a connection and ``E`` the host side closed it. Container to host: ``O`` a
new connection, ``D`` bytes on it, ``E`` it closed, ``T`` bytes of the tar stream.

Exit status: 0 the tar was sent, 3 pip failed (its output is on stderr), 2 no job.
"""

import json
import os
import queue
import socket
import struct
import subprocess
import sys
import tarfile
import threading

HEADER = struct.Struct(">cII")
CHUNK = 64 * 1024
SITE = "/tmp/site"


def read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes from ``fd`` (raw reads: no buffered object a daemon thread could hold at exit)."""
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_frame(fd: int):
    header = read_exactly(fd, HEADER.size)
    if len(header) < HEADER.size:
        return None
    kind, channel, length = HEADER.unpack(header)
    return kind, channel, read_exactly(fd, length) if length else b""


class Pipe:
    """Frames to the host on the real stdout, one writer at a time."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb", buffering=0)
        self._lock = threading.Lock()

    def send(self, kind: bytes, channel: int, payload: bytes = b"") -> None:
        with self._lock:
            self._out.write(HEADER.pack(kind, channel, len(payload)))
            if payload:
                self._out.write(payload)


class TarStream:
    """A write-only file object that sends what tarfile writes as ``T`` frames."""

    def __init__(self, pipe: Pipe) -> None:
        self._pipe = pipe

    def write(self, data: bytes) -> int:
        for start in range(0, len(data), CHUNK):
            self._pipe.send(b"T", 0, bytes(data[start : start + CHUNK]))
        return len(data)


class Relay:
    """The loopback proxy port: every accepted connection becomes a channel to the host."""

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self._conns: dict[int, tuple[socket.socket, queue.Queue]] = {}
        self._lock = threading.Lock()
        self._next = 1

    def start(self) -> None:
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._from_host, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.server.accept()
            with self._lock:
                channel, self._next = self._next, self._next + 1
                outbox: queue.Queue = queue.Queue()
                self._conns[channel] = (conn, outbox)
            self.pipe.send(b"O", channel)
            threading.Thread(target=self._to_host, args=(channel, conn), daemon=True).start()
            threading.Thread(target=self._to_conn, args=(channel, conn, outbox), daemon=True).start()

    def _to_host(self, channel: int, conn: socket.socket) -> None:
        try:
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    break
                self.pipe.send(b"D", channel, data)
        except OSError:
            pass
        self.pipe.send(b"E", channel)

    def _to_conn(self, channel: int, conn: socket.socket, outbox: queue.Queue) -> None:
        """One writer per connection, so a connection pip stopped reading cannot stall the others."""
        while True:
            data = outbox.get()
            try:
                if data is None:
                    conn.shutdown(socket.SHUT_WR)
                    return
                conn.sendall(data)
            except OSError:
                return

    def _from_host(self) -> None:
        while True:
            frame = read_frame(0)
            if frame is None:
                return
            kind, channel, payload = frame
            with self._lock:
                entry = self._conns.get(channel)
            if entry is None:
                continue
            entry[1].put(payload if kind == b"D" else None)


def main() -> int:
    first = read_frame(0)
    if first is None or first[0] != b"C":
        sys.stderr.write("maidcore build: no job on stdin\n")
        return 2
    job = json.loads(first[2])
    options = list(job["pip"])
    if job.get("ca"):
        with open("/tmp/index-ca.pem", "w") as handle:
            handle.write(job["ca"])
        options += ["--cert", "/tmp/index-ca.pem"]
    pipe = Pipe(os.dup(1))
    os.dup2(2, 1)  # anything printed from here on (pip, build code) is diagnostics, not frames
    relay = Relay(pipe)
    relay.start()
    proxy = f"http://127.0.0.1:{relay.port}"
    here = os.path.dirname(os.path.abspath(__file__))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp/home",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.path.join(here, "build"),
        "PIP_CONFIG_FILE": os.devnull,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
    }
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        SITE,
        "--no-cache-dir",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--progress-bar",
        "off",
        *options,
        "--",
        *job["requirements"],
    ]
    code = subprocess.call(cmd, env=env, stdin=subprocess.DEVNULL, stdout=2, stderr=2)
    if code != 0:
        return 3
    with tarfile.open(fileobj=TarStream(pipe), mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.add(SITE, arcname=".")
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)  # daemon relay threads may sit in a read: skip interpreter teardown
