"""Plugin bundles and prepared sites, reachable from every node: stored by content hash, cached locally.

A version's files are named by ``tree_digest`` (sha256 over their relative
paths and contents) and kept as a tar archive in the storage layer's
``BlobStore``; the version record holds the digests (``bundle_digest``,
``site_digest``), never a node's path. Each node unpacks what it runs into its
own data directory (``bundles/<plugin>/<version>``, ``sites/<plugin>/<version>``)
and checks the files against the digest before using them (once per process;
a copy that does not match is fetched again). So nodes share nothing but the
database.

The storage layer may delete blobs no version names (``storage.blob_grace_seconds``
on the default one); ``prune`` removes this node's copies that no version
record names any more, and staging left behind by a fetch that was cut short.

Data directories from before digests keep working: ``import_local`` (run when
a platform starts) stores the bundles and sites this node holds and records
their digests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import tarfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from maidcore.records import VersionRecord

log = logging.getLogger(__name__)

Kind = Literal["bundles", "sites"]
KINDS: tuple[Kind, ...] = ("bundles", "sites")

#: Staging (``.<version>.fetch-*``, ``.old-*``) older than this belongs to no running fetch and is removed.
STAGING_KEPT_SECONDS = 3600.0


class BundleUnavailable(Exception):
    """A version's files cannot be had on this node; ``str()`` says which and how to fix it."""


def tree_digest(root: Path) -> str:
    """sha256 over the relative paths and contents of the files under ``root`` (``IGNORED_*`` left out)."""
    digest = hashlib.sha256()
    for path in _files(Path(root)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


#: What never belongs to a stored version's files (left out of digests, archives and copies alike).
IGNORED_DIRS = frozenset({"__pycache__", ".git"})
IGNORED_SUFFIXES = (".pyc",)
ignore = shutil.ignore_patterns(*IGNORED_DIRS, *(f"*{s}" for s in IGNORED_SUFFIXES))


def _files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(IGNORED_SUFFIXES) and not IGNORED_DIRS & set(p.relative_to(root).parts)
    )


def pack(root: Path, archive: Path) -> None:
    """Write exactly the files ``tree_digest`` covers to a gzipped tar (links stored as the files they name)."""
    with tarfile.open(archive, "w:gz", compresslevel=6, dereference=True) as tar:
        for path in _files(Path(root)):
            tar.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)


def unpack(archive: Path, dest: Path) -> None:
    """Unpack an archive made by ``pack``; the ``data`` filter refuses links, devices and paths out of ``dest``."""
    dest.mkdir(parents=True)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest, filter="data")


class Bundles:
    """This node's copies of version files, kept equal to the blobs the records name."""

    def __init__(self, data_dir: Path, storage: Callable[[], Any]) -> None:
        self.data_dir = Path(data_dir)
        self._storage = storage
        self._verified: set[tuple[Path, str]] = set()
        self._locks: dict[Path, asyncio.Lock] = {}
        #: Blobs this node had to fetch from the database (the others were already here).
        self.fetched = 0

    def local_dir(self, kind: Kind, plugin_id: str, version: str) -> Path:
        return self.data_dir / kind / plugin_id / version

    @property
    def blobs(self) -> Any | None:
        """The storage layer's ``BlobStore``, or ``None`` when it has none (files then stay node-local)."""
        storage = self._storage()
        return getattr(storage, "blobs", None) if storage is not None else None

    # --- storing ---------------------------------------------------------------------

    async def store(self, root: Path) -> str:
        """Store the files under ``root`` as a blob (when the storage layer keeps blobs); return their digest."""
        digest = await asyncio.to_thread(tree_digest, root)
        blobs = self.blobs
        # ``touch``, not ``has``: a blob found here is kept by the garbage collection while its version is recorded
        if blobs is not None and not await blobs.touch(digest):
            archive = root.parent / f".{root.name}.{uuid.uuid4().hex[:8]}.tar.gz"
            try:
                await asyncio.to_thread(pack, root, archive)
                await blobs.put(digest, archive)
            finally:
                archive.unlink(missing_ok=True)
        self._verified.add((Path(root), digest))
        return digest

    # --- using -------------------------------------------------------------------------

    async def bundle_dir(self, record: VersionRecord) -> Path:
        """This node's verified copy of the version's bundle (fetched from the database if missing or changed)."""
        return await self._local("bundles", record, record.bundle_digest, record.bundle_path)

    async def site_dir(self, record: VersionRecord) -> Path | None:
        """This node's verified copy of the version's prepared requirements; ``None`` when it has none."""
        if record.site_digest is None and not record.site_path:
            return None
        return await self._local("sites", record, record.site_digest, record.site_path or "")

    async def _local(self, kind: Kind, record: VersionRecord, digest: str | None, stored_at: str) -> Path:
        files = "bundle" if kind == "bundles" else "prepared requirements"
        what = f"the {files} of {record.plugin_id} {record.version}"
        if digest is None:  # recorded before digests, not imported yet: only the node that stored it has it
            if Path(stored_at).is_dir():
                return Path(stored_at)
            raise BundleUnavailable(
                f"{what} is not in the database yet and not on this node ({stored_at}); start the node that "
                f"stored it once (it imports its files), or install the version again"
            )
        dest = self.local_dir(kind, record.plugin_id, record.version)
        if (dest, digest) in self._verified:
            return dest
        lock = self._locks.setdefault(dest, asyncio.Lock())
        async with lock:
            if (dest, digest) in self._verified:
                return dest
            if dest.is_dir() and await asyncio.to_thread(tree_digest, dest) == digest:
                self._verified.add((dest, digest))
                _marker(dest).write_text(digest)
                return dest
            blobs = self.blobs
            if blobs is None:
                if Path(stored_at).is_dir() and await asyncio.to_thread(tree_digest, Path(stored_at)) == digest:
                    return Path(stored_at)
                raise BundleUnavailable(
                    f"{what} is not on this node and storage layer {getattr(self._storage(), 'name', '?')!r} "
                    f"keeps no blobs; use a storage layer with a BlobStore (sqlmodel) to run on several nodes"
                )
            await self._fetch(blobs, digest, dest, what)
            self._verified.add((dest, digest))
            return dest

    async def _fetch(self, blobs: Any, digest: str, dest: Path, what: str) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex[:8]
        staging = dest.parent / f".{dest.name}.fetch-{token}"
        archive = dest.parent / f".{dest.name}.fetch-{token}.tar.gz"
        try:
            if not await blobs.fetch(digest, archive):
                raise BundleUnavailable(
                    f"{what} (sha256 {digest}) is not in the database; install or publish the version again"
                )
            await asyncio.to_thread(unpack, archive, staging)
            got = await asyncio.to_thread(tree_digest, staging)
            if got != digest:
                raise BundleUnavailable(
                    f"{what} read from the database does not match its digest (sha256 {got}, expected {digest}); "
                    f"the stored blob is damaged: install or publish the version again"
                )
            await asyncio.to_thread(_swap, staging, dest)
            _marker(dest).write_text(digest)
            self.fetched += 1
            log.info("fetched version files", extra={"path": str(dest), "digest": digest})
        finally:
            archive.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)

    # --- pruning -----------------------------------------------------------------------------

    async def prune(self, records: Any) -> int:
        """Remove copies no version record names any more (or of a digest it no longer names); returns how many.

        A copy of a version whose record is gone, or that was fetched for a digest the record has since
        replaced, is removed; a copy the record still names (also one from before digests) is kept.
        """
        removed = 0
        now = time.time()
        for kind in KINDS:
            root = self.data_dir / kind
            if not root.is_dir():
                continue
            for plugin_dir in [p for p in root.iterdir() if p.is_dir()]:
                for path in list(plugin_dir.iterdir()):
                    if path.name.startswith("."):  # staging of a fetch (or a swap) that never finished
                        if now - path.stat().st_mtime > STAGING_KEPT_SECONDS:
                            await asyncio.to_thread(_remove, path)
                        continue
                    if not path.is_dir():
                        continue
                    record = await records.get_version(plugin_dir.name, path.name)
                    named = (
                        None if record is None else (record.bundle_digest if kind == "bundles" else record.site_digest)
                    )
                    marker = _marker(path)
                    fetched_for = marker.read_text().strip() if marker.is_file() else None
                    if record is not None and (named is None or fetched_for in (None, named)):
                        continue
                    await asyncio.to_thread(shutil.rmtree, path, True)
                    marker.unlink(missing_ok=True)
                    self._verified = {(d, g) for d, g in self._verified if d != path}
                    removed += 1
                    log.info("removed a copy no version names", extra={"path": str(path), "digest": fetched_for})
        return removed

    # --- upgrading old data directories --------------------------------------------------------

    async def import_local(self, records: Any) -> int:
        """Store the files of versions recorded before digests that this node holds; returns how many."""
        if self.blobs is None:
            return 0
        done = 0
        for plugin in await records.list_plugins():
            for version in await records.list_versions(plugin.plugin_id):
                if version.bundle_digest is not None and (version.site_digest is not None or not version.site_path):
                    continue
                try:
                    updated = await self._import(version)
                    if updated is not None:
                        await records.update_version(updated)
                        done += 1
                except Exception:  # one unreadable version must not keep the node from starting
                    log.exception("importing the files of %s %s failed", version.plugin_id, version.version)
        if done:
            log.info("imported version files into the database", extra={"versions": done})
        return done

    async def _import(self, version: VersionRecord) -> VersionRecord | None:
        changes: dict[str, str] = {}
        for field, path in (("bundle_digest", version.bundle_path), ("site_digest", version.site_path)):
            if getattr(version, field) is not None or not path:
                continue
            if not Path(path).is_dir():
                log.warning(
                    "%s %s: %s is not on this node; the node that stored it imports it when it starts",
                    version.plugin_id,
                    version.version,
                    path,
                )
                return None
            changes[field] = await self.store(Path(path))
        return replace(version, **changes) if changes else None


def _marker(dest: Path) -> Path:
    """Beside a copy: the digest it was fetched or verified for (``prune`` removes it once no record names that)."""
    return dest.parent / f"{dest.name}.digest"


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _swap(staging: Path, dest: Path) -> None:
    """Put ``staging`` at ``dest``, replacing a copy there that did not match."""
    if dest.exists():
        old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
        dest.rename(old)
        staging.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(dest)
