"""Build the plugin runtime image, offline or ``FROM`` a registry base, and tag it by content.

The runtime image is ``sandbox/Dockerfile`` on top of a base that has ``python3``.
Where a registry is reachable the base is ``settings.docker.base_image``; where none
is (CI, air-gapped hosts) the base is built here: ``debootstrap --variant=minbase``
of Debian with python3 into a temporary directory, slimmed, tarred (the tarball is
cached) and ``docker import``-ed as ``maidcore-sandbox-base:<recipe hash>``.

Every step is skipped when its output exists: the runtime tag is a hash over the
SDK sources, ``sandbox/`` and the base, so an unchanged tree costs one image
lookup and a changed SDK rebuilds only the thin runtime layer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from maidcore import progress as timing

if TYPE_CHECKING:
    import docker

    from maidcore_docker.settings import DockerSettings

BASE_REPOSITORY = "maidcore-sandbox-base"
RUNTIME_REPOSITORY = "maidcore-sandbox"
BUILD_REPOSITORY = "maidcore-sandbox-build"
#: Bump when the offline recipe below changes in a way the hash inputs do not show.
BASE_RECIPE_VERSION = "2"
BASE_PACKAGES = ("python3-minimal", "libpython3-stdlib")
#: Removed from the debootstrapped tree: caches, package lists and documentation nothing at run time reads.
SLIM_PATHS = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/common-licenses",
    "usr/share/lintian",
)
SKIP_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})

CONTENT_LABEL = "maidcore.content"  # the runtime tag an image was built as (stale-image check)

Progress = Callable[[str], None]


class ImageBuildError(Exception):
    """The runtime image could not be built; ``str()`` says which step failed and how to fix it."""


@dataclass(frozen=True)
class ImageSources:
    """Where the files that go into the runtime image live."""

    sdk_package: Path  # the yourbot_sdk package directory
    sandbox_dir: Path  # holds Dockerfile and entry.py
    alias_package: Path | None = None  # the mmo_maid_sdk alias package (default: the one beside the SDK's)

    def files(self) -> Iterator[tuple[str, Path]]:
        """(path inside the build context, file on disk), sorted, caches skipped."""
        yield "sandbox/Dockerfile", self.sandbox_dir / "Dockerfile"
        yield "sandbox/entry.py", self.sandbox_dir / "entry.py"
        packages = {"yourbot_sdk": self.sdk_package, "mmo_maid_sdk": self.alias_package or _alias_package()}
        for name, package in packages.items():
            for path in sorted(package.rglob("*")):
                if path.is_file() and not SKIP_PARTS.intersection(path.parts) and path.suffix != ".pyc":
                    yield f"sdk/{name}/{path.relative_to(package).as_posix()}", path


def _alias_package() -> Path:
    """The ``mmo_maid_sdk`` alias package of this checkout, else of the installed SDK."""
    here = repository_root() / "sdk" / "mmo_maid_sdk"
    if here.is_dir():
        return here
    import mmo_maid_sdk

    return Path(mmo_maid_sdk.__file__).parent


def repository_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_sources() -> ImageSources:
    """The SDK and ``sandbox/`` of this checkout (the SDK falls back to the installed package)."""
    root = repository_root()
    sandbox_dir = root / "sandbox"
    if not (sandbox_dir / "Dockerfile").is_file():
        raise ImageBuildError(f"sandbox/Dockerfile not found under {root}; build the image from a maidcore checkout")
    sdk_package = root / "sdk" / "yourbot_sdk"
    if not sdk_package.is_dir():
        try:
            import yourbot_sdk
        except ImportError:
            raise ImageBuildError(
                f"the SDK is neither at {sdk_package} nor importable; install it with `pip install -e ./sdk`"
            ) from None
        sdk_package = Path(yourbot_sdk.__file__).parent
    return ImageSources(sdk_package=sdk_package, sandbox_dir=sandbox_dir)


def _digest(parts: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:16]


def base_tag(settings: DockerSettings) -> str:
    """``maidcore-sandbox-base:<hash of the offline recipe>``."""
    recipe = [BASE_RECIPE_VERSION, settings.debian_suite, settings.debian_mirror, *BASE_PACKAGES, *SLIM_PATHS]
    return f"{BASE_REPOSITORY}:{_digest(s.encode() for s in recipe)}"


def runtime_tag(sources: ImageSources, base_ref: str) -> str:
    """``maidcore-sandbox:<hash over the SDK, sandbox/ and the base>``: a changed SDK gives a new tag."""

    def parts() -> Iterator[bytes]:
        yield base_ref.encode()
        for name, path in sources.files():
            yield name.encode()
            yield path.read_bytes()

    return f"{RUNTIME_REPOSITORY}:{_digest(parts())}"


def default_cache_dir(settings: DockerSettings) -> Path:
    if settings.cache_dir is not None:
        return settings.cache_dir
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "maidcore" / "sandbox"


def image_exists(client: docker.DockerClient, ref: str) -> str | None:
    """The image id of ``ref``, or None."""
    import docker.errors

    try:
        return client.images.get(ref).id
    except docker.errors.ImageNotFound:
        return None


@contextlib.contextmanager
def _build_lock(cache_dir: Path, progress: Progress) -> Iterator[None]:
    """One build at a time per cache directory (two test sessions or CLI runs may race)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / "build.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another build holds the lock; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def choose_base_source(client: docker.DockerClient, settings: DockerSettings, from_image: str | None) -> str:
    """``"registry"`` (FROM an existing/pullable image) or ``"debootstrap"`` (offline)."""
    if from_image:
        return "registry"
    if settings.base_source != "auto":
        return settings.base_source
    if image_exists(client, settings.base_image):
        return "registry"
    return "debootstrap" if shutil.which("debootstrap") else "registry"


def ensure_image(
    client: docker.DockerClient,
    settings: DockerSettings,
    *,
    from_image: str | None = None,
    force: bool = False,
    progress: Progress = lambda _msg: None,
    sources: ImageSources | None = None,
) -> str:
    """Make ``settings.image`` the runtime image for the current sources; return its content tag.

    Fast when nothing changed: one hash over the sources and one image lookup.
    """
    sources = sources or find_sources()
    source = choose_base_source(client, settings, from_image)
    base_ref = (from_image or settings.base_image) if source == "registry" else base_tag(settings)
    tag = runtime_tag(sources, base_ref)
    if not force and image_exists(client, tag):
        _tag_as(client, tag, settings.image)
        progress(f"runtime image {tag} is up to date")
        return tag
    with _build_lock(default_cache_dir(settings), progress):
        if not force and image_exists(client, tag):  # built by whoever held the lock
            _tag_as(client, tag, settings.image)
            return tag
        if source == "debootstrap":
            ensure_offline_base(client, settings, force=force, progress=progress)
        else:
            _ensure_pulled(client, base_ref, progress)
        build_runtime(client, sources, base_ref, tag, progress=progress)
        _tag_as(client, tag, settings.image)
    progress(f"runtime image {tag} built and tagged {settings.image}")
    return tag


def _tag_as(client: docker.DockerClient, tag: str, ref: str) -> None:
    if ref == tag:
        return
    repository, _, name = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    client.images.get(tag).tag(repository, name)


def _ensure_pulled(client: docker.DockerClient, ref: str, progress: Progress) -> None:
    if image_exists(client, ref):
        return
    progress(f"pulling base image {ref}")
    try:
        client.images.pull(ref)
    except Exception as exc:
        raise ImageBuildError(
            f"could not pull the base image {ref} ({exc}); without a registry build the base offline "
            "with `maidcore sandbox build-image --offline` (needs debootstrap and a Debian mirror)"
        ) from exc


# --- offline base ------------------------------------------------------------------


def ensure_offline_base(
    client: docker.DockerClient, settings: DockerSettings, *, force: bool = False, progress: Progress
) -> str:
    """``maidcore-sandbox-base:<hash>``, imported from the cached tarball, debootstrapping only if needed."""
    ref = base_tag(settings)
    if not force and image_exists(client, ref):
        progress(f"base image {ref} exists")
        return ref
    cache_dir = default_cache_dir(settings)
    tarball = cache_dir / f"{ref.split(':', 1)[1]}.tar"
    if force or not tarball.is_file():
        debootstrap_tarball(settings, tarball, progress=progress)
    progress(f"importing {tarball.name} as {ref}")
    repository, tag = ref.split(":", 1)
    try:
        client.api.import_image_from_file(str(tarball), repository=repository, tag=tag)
    except Exception as exc:
        tarball.unlink(missing_ok=True)  # a truncated cache must not poison the next attempt
        raise ImageBuildError(f"docker import of {tarball} failed: {exc}") from exc
    if not image_exists(client, ref):
        raise ImageBuildError(f"docker import of {tarball} did not produce {ref}")
    return ref


def debootstrap_tarball(settings: DockerSettings, tarball: Path, *, progress: Progress) -> None:
    """Debootstrap a minimal Debian with python3 into a temporary directory and tar it to ``tarball``."""
    exe = shutil.which("debootstrap")
    if exe is None:
        raise ImageBuildError(
            "debootstrap is not installed (apt-get install debootstrap), and no base image is available; "
            "or build FROM a registry image with `maidcore sandbox build-image --from python:3.11-slim`"
        )
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root; run `sudo maidcore sandbox build-image`")
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maidcore-debootstrap-", dir=tarball.parent) as tmp:
        root = Path(tmp) / "root"
        cmd = [
            exe,
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            settings.debian_suite,
            str(root),
            settings.debian_mirror,
        ]
        progress(f"debootstrap {settings.debian_suite} with python3 from {settings.debian_mirror} (takes a minute)")
        started = time.monotonic()
        tail: list[str] = []
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                tail = [*tail[-19:], line]
                if line.startswith("I: "):
                    progress(f"  {line[3:]}")
        if proc.returncode != 0:
            raise ImageBuildError(
                f"debootstrap exited with {proc.returncode}; last output:\n"
                + "\n".join(tail)
                + f"\n(is {settings.debian_mirror} reachable? set MAIDCORE_DOCKER__DEBIAN_MIRROR)"
            )
        progress(f"debootstrap done in {time.monotonic() - started:.0f} s; slimming")
        for rel in SLIM_PATHS:
            target = root / rel
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        partial = tarball.with_suffix(".partial")
        progress(f"writing {tarball}")
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], check=True)
        partial.replace(tarball)


# --- runtime layer -----------------------------------------------------------------


def build_context(sources: ImageSources) -> io.BytesIO:
    """A small tar build context holding only what the Dockerfile copies."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, path in sources.files():
            info = tar.gettarinfo(str(path), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(path, "rb") as handle:
                tar.addfile(info, handle)
    buffer.seek(0)
    return buffer


def build_runtime(
    client: docker.DockerClient, sources: ImageSources, base_ref: str, tag: str, *, progress: Progress
) -> None:
    """``docker build`` sandbox/Dockerfile FROM ``base_ref`` as ``tag``, streaming the build log."""
    progress(f"building {tag} FROM {base_ref}")
    context = build_context(sources)
    repository, name = tag.split(":", 1)
    stream = client.api.build(
        fileobj=context,
        custom_context=True,
        dockerfile="sandbox/Dockerfile",
        buildargs={"BASE_IMAGE": base_ref},
        tag=tag,
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
        labels={
            "maidcore.platform": "maidcore",
            "maidcore.image": "runtime",
            "maidcore.base": base_ref,
            CONTENT_LABEL: tag,
        },
    )
    _follow_build(stream, tag, progress, _timer("runtime image", f"building {tag}"))
    if not image_exists(client, tag):
        raise ImageBuildError(f"the build finished but {tag} ({repository}:{name}) does not exist")


_STEP = re.compile(r"^Step (\d+)/(\d+) ")


def _timer(key: str, what: str) -> timing.Progress:
    """Times a build under ``key`` per machine (the engine's layer cache decides the speed), for the next estimate."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return timing.Progress(what, key, timing.Durations(Path(base) / "maidcore" / "build-durations.json"))


def _follow_build(stream: Iterator[dict], tag: str, progress: Progress, timer: timing.Progress) -> None:
    """Report each ``Step i/N`` of a ``docker build`` with the time left; raise ``ImageBuildError`` on its error."""
    progress(f"  {timer.started()}")
    for chunk in stream:
        if "error" in chunk:
            raise ImageBuildError(f"building {tag} failed: {chunk['error'].strip()}")
        text = chunk.get("stream", "").rstrip()
        step = _STEP.match(text)
        if step:
            timer.step(int(step[1]), int(step[2]))
            left = timer.left()
            progress(f"  {text}" + (f"  [{left}]" if left else ""))
    progress(f"  {timer.done()}")


# --- build image (dependencies are installed in a container of it) ----------------


def pip_package() -> Path:
    """The installed ``pip`` package directory, copied into the build image (pure Python, no network needed)."""
    try:
        import pip
    except ImportError:
        raise ImageBuildError(
            "pip is not importable by the Python running maidcore; the build image copies it "
            "(python -m ensurepip, or install maidcore in a virtualenv)"
        ) from None
    return Path(pip.__file__).parent


def build_tag(runtime: str, sources: ImageSources, pip_dir: Path) -> str:
    """``maidcore-sandbox-build:<hash over the runtime tag, the build files and pip's version>``."""

    def parts() -> Iterator[bytes]:
        yield runtime.encode()
        for name in ("Dockerfile.build", "build.py"):
            yield (sources.sandbox_dir / name).read_bytes()
        yield (pip_dir / "__init__.py").read_bytes()  # holds __version__

    return f"{BUILD_REPOSITORY}:{_digest(parts())}"


def ensure_build_image(
    client: docker.DockerClient,
    settings: DockerSettings,
    runtime: str,
    *,
    force: bool = False,
    progress: Progress = lambda _msg: None,
    sources: ImageSources | None = None,
) -> str:
    """Make ``settings.build_image`` the build image on top of the runtime image ``runtime``; return its tag.

    The build image is the runtime image plus pip and ``sandbox/build.py``: dependencies are built by the
    same interpreter that will import them, and the runtime image itself never holds an installer.
    """
    sources = sources or find_sources()
    pip_dir = pip_package()
    tag = build_tag(runtime, sources, pip_dir)
    if force or not image_exists(client, tag):
        progress(f"building {tag} FROM {runtime} (adds pip {_pip_version(pip_dir)} and the build entry)")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name in ("Dockerfile.build", "build.py"):
                tar.add(str(sources.sandbox_dir / name), arcname=f"sandbox/{name}", filter=_root_owned)
            tar.add(str(pip_dir), arcname="pip", filter=_without_caches)
        buffer.seek(0)
        stream = client.api.build(
            fileobj=buffer,
            custom_context=True,
            dockerfile="sandbox/Dockerfile.build",
            buildargs={"RUNTIME_IMAGE": runtime},
            tag=tag,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            labels={"maidcore.platform": "maidcore", "maidcore.image": "build", "maidcore.runtime": runtime},
        )
        _follow_build(stream, tag, progress, _timer("build image", f"building {tag}"))
        if not image_exists(client, tag):
            raise ImageBuildError(f"the build finished but {tag} does not exist")
    _tag_as(client, tag, settings.build_image)
    return tag


def _pip_version(pip_dir: Path) -> str:
    for line in (pip_dir / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    return "?"


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _without_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if SKIP_PARTS.intersection(info.name.split("/")) or info.name.endswith(".pyc"):
        return None
    return _root_owned(info)


def stale_image_warning(client: docker.DockerClient, ref: str) -> str | None:
    """A warning when ``ref`` was built from other SDK/sandbox sources than this checkout's, else None."""
    try:
        labels = client.images.get(ref).labels or {}
        built_as, base = labels.get(CONTENT_LABEL), labels.get("maidcore.base")
        if not built_as or not base:
            return None
        current = runtime_tag(find_sources(), base)
    except Exception:  # no checkout, or an image we did not build: nothing to compare
        return None
    if current == built_as:
        return None
    return (
        f"the runtime image {ref} ({built_as}) was built from other SDK/sandbox sources than this checkout's "
        f"({current}); run `maidcore sandbox build-image` so workers get the current SDK"
    )
