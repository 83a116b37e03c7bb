"""Requirements are installed at publish/install time, in a build container, into the site dir workers read.

The host never runs a build backend: the install (resolution included) runs in a container with no
network, reaching only the package index through the host's relay. The hostile suite attacks the same
path with a plugin whose sdist misbehaves (``tests/hostile/test_dependencies.py``).
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import tarfile
from pathlib import Path

import pytest
from maidcore_docker.backend import DockerBackend
from maidcore_docker.dependencies import extract_site, provided_by_platform
from maidcore_docker.relay import HEADER, Relay, RelayError, allowed_destinations
from maidcore_docker.settings import DockerSettings

from maidcore.layers.sandbox import DependencyInstallError, WorkerSpec
from maidcore.requirements import installable
from tests import services
from tests.extensions.maidcore_docker.support import PROBE, probe, running_backend, write_bundle
from tests.package_index import make_sdist, serve_index


def test_the_sdk_lines_comments_and_blanks_are_not_installed():
    lines = ["# deps", "", "mmo-maid-sdk>=0.5.5,<0.6", "MMO_Maid.SDK", "yourbot-sdk==0.10.1", "six==1.16.0  # pinned"]
    assert installable([*lines, "attrs[tests] >= 23 ; python_version >= '3.8'"]) == [
        "six==1.16.0",
        'attrs[tests]>=23; python_version >= "3.8"',
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("-r other.txt", "is an option line"),
        ("--index-url https://evil.example/simple", "is an option line"),
        ("https://x.example/y.whl", "is a URL"),
        ("./local", "is a local path"),
        ("../../etc", "is a local path"),
        ("pkg @ file:///x", "is a direct reference"),
        ("file:../x", "is a URL"),
        ("git+https://github.com/a/b", "is a VCS reference"),
        ("six==1.16.0 --hash=sha256:abc", "carries an option"),
        ("dist/six-1.16.0.tar.gz", "is a local path or archive"),
    ],
)
async def test_the_installer_refuses_what_review_refuses_before_any_engine_call(tmp_path, line, reason):
    backend = DockerBackend(DockerSettings(), data_dir=tmp_path)  # never started: no engine is needed to refuse
    site = tmp_path / "sites" / "p" / "1.0.0"
    with pytest.raises(DependencyInstallError, match=reason):
        await backend.prepare_version(tmp_path, site, ["six==1.16.0", line])
    assert backend.client is None and not site.exists()


async def test_only_the_sdk_requested_leaves_an_empty_site_dir(tmp_path):
    backend = DockerBackend(DockerSettings(), data_dir=tmp_path)
    site = tmp_path / "sites" / "p" / "1.0.0"
    await backend.prepare_version(tmp_path, site, ["mmo-maid-sdk>=0.5.5,<0.6", "yourbot-sdk", "# nothing else"])
    assert site.is_dir()
    assert list(site.iterdir()) == []


def tar_of(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buffer.getvalue()


def entry(name: str, kind=tarfile.REGTYPE, link: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


def test_a_result_cannot_reach_out_of_the_site_dir_or_carry_setuid_bits(tmp_path):
    for bad in (
        entry("../escaped.py"),
        entry("evil", tarfile.SYMTYPE, "/etc/passwd"),
        entry("up", tarfile.SYMTYPE, "../../outside"),
        entry("dev", tarfile.CHRTYPE),
    ):
        result = tmp_path / "result.tar"
        result.write_bytes(tar_of((entry("ok.py"), b"x = 1\n"), (bad, b"")))
        dest = tmp_path / f"site-{bad.name.strip('./')}"
        dest.mkdir()
        with pytest.raises(DependencyInstallError, match="could not be unpacked safely"):
            extract_site(result, dest)
        assert not (tmp_path / "escaped.py").exists()
    result.write_bytes(
        tar_of(
            (entry("/abs.py"), b"y = 2\n"),  # an absolute name is left out
            (entry("tool", mode=0o4777), b"#!/bin/sh\n"),
            (entry("bin/script"), b""),
            (entry("mmo_maid_sdk/__init__.py"), b"FAKE = 1\n"),
            (entry("yourbot_sdk-0.10.1.dist-info/METADATA"), b""),
            (entry("inner", tarfile.SYMTYPE, "tool"), b""),
        )
    )
    dest = tmp_path / "site"
    dest.mkdir()
    extract_site(result, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["inner", "tool"]  # bin/ and the platform's SDK left out too
    assert not Path("/abs.py").exists()
    assert (dest / "tool").stat().st_mode & 0o7777 == 0o755  # no setuid, no write for others
    assert provided_by_platform("mmo_maid_sdk") and provided_by_platform("yourbot_sdk-0.10.1.dist-info")
    assert not provided_by_platform("six.py")


async def test_the_relay_refuses_a_malformed_or_oversized_frame():
    sent = []

    async def send(data: bytes) -> None:
        sent.append(data)

    relay = Relay(allowed_destinations(["https://pypi.org/simple"], []), send=send, on_tar=lambda _: None)
    with pytest.raises(RelayError, match="unknown frame kind"):
        relay.feed(HEADER.pack(b"Z", 1, 0))
    relay = Relay(frozenset(), send=send, on_tar=lambda _: None)
    with pytest.raises(RelayError, match="frame of"):
        relay.feed(HEADER.pack(b"D", 1, 1 << 30))
    relay = Relay(frozenset(), send=send, on_tar=lambda _: None)
    relay.feed(HEADER.pack(b"O", 7, 0))
    relay.feed(HEADER.pack(b"D", 7, 40) + b"CONNECT evil.example:443 HTTP/1.1\r\n\r\n   ")
    await asyncio.sleep(0.05)
    await relay.close()
    assert relay.refused == ["evil.example:443"]
    assert b"403 Forbidden" in b"".join(sent)
    assert allowed_destinations(["https://pypi.org/simple", "http://10.0.0.5:3141/root/pypi"], ["files.x:8443"]) == {
        ("pypi.org", 443),
        ("10.0.0.5", 3141),
        ("files.x", 8443),
    }


@pytest.mark.docker
async def test_an_uninstallable_requirement_fails_with_pips_message_and_leaves_nothing(
    tmp_path, docker_client, runtime_image
):
    services.package_index()
    async with running_backend(tmp_path / "data", docker_client) as backend:
        site = tmp_path / "sites" / "p" / "1.0.0"
        with pytest.raises(DependencyInstallError) as caught:
            await backend.prepare_version(tmp_path, site, ["maidcore-no-such-distribution-zz==9.9.9"])
        labels = ["maidcore.role=build", f"maidcore.node={backend.node}"]
    message = str(caught.value)
    assert "maidcore-no-such-distribution-zz==9.9.9" in message
    assert "No matching distribution found" in message or "Could not find a version" in message
    assert not site.exists()
    assert list(site.parent.iterdir()) == []
    assert docker_client.api.containers(all=True, filters={"label": labels}) == []  # the build container is gone


@pytest.mark.docker
async def test_installed_requirement_is_importable_in_the_container_and_read_only(
    tmp_path, docker_client, runtime_image
):
    services.package_index()
    bundle = write_bundle(tmp_path / "bundle", PROBE)
    site = tmp_path / "sites" / "deps" / "1.0.0"
    async with running_backend(tmp_path / "data", docker_client) as backend:
        await backend.prepare_version(bundle, site, ["six==1.16.0", "mmo-maid-sdk"])
        assert (site / "six.py").is_file()
        assert not list(site.glob("mmo_maid_sdk*"))
        assert all(p.owner() == "root" for p in site.rglob("*"))  # not the build container's uid
        worker = await backend.spawn(
            WorkerSpec("deps", "1.0.0", bundle, f"maidcore-test-deps-{os.getpid()}", site_dir=site)
        )
        await worker.readline()
        answer = await probe(
            worker,
            """
            import six, mmo_maid_sdk
            result = {"six": six.__file__, "sdk": mmo_maid_sdk.__file__}
            try:
                open("/site/injected.py", "w")
            except OSError as exc:
                result["write"] = exc.errno
            """,
        )
        assert answer["value"]["six"] == "/site/six.py"
        assert answer["value"]["sdk"].startswith("/opt/maidcore/sdk/")  # the preinstalled SDK wins
        assert answer["value"]["write"] == 30  # EROFS


REACHING_OUT = """
import json, os, socket, urllib.request
from setuptools import setup

seen = {}
try:
    urllib.request.urlopen("http://127.0.0.1:{port}/steal", timeout=5)
    seen["proxied"] = "reached"
except Exception as exc:
    seen["proxied"] = getattr(exc, "code", None) or type(exc).__name__
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    seen["direct"] = "reached"
except OSError as exc:
    seen["direct"] = exc.errno
try:
    socket.create_connection(("1.1.1.1", 443), timeout=3)
    seen["outside"] = "reached"
except OSError as exc:
    seen["outside"] = exc.errno
os.makedirs("reacher", exist_ok=True)
with open("reacher/__init__.py", "w") as handle:
    handle.write("SEEN = " + json.dumps(seen) + "\\n")
setup(name="reacher", version="1.0", packages=["reacher"])
"""


@pytest.mark.docker
async def test_build_code_reaches_only_the_index_and_the_result_is_capped(tmp_path, docker_client, runtime_image):
    pypi = services.package_index()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    async with serve_index() as index:
        index.add(
            "reacher", make_sdist(tmp_path, "reacher", "1.0", {"setup.py": REACHING_OUT.replace("{port}", str(port))})
        )
        index.add("bulky", make_sdist(tmp_path, "bulky", "1.0", {"setup.py": BULKY}))
        async with running_backend(
            tmp_path / "data", docker_client, index_url=index.url, extra_index_urls=[pypi], build_max_site_bytes=1 << 20
        ) as backend:
            site = tmp_path / "site"
            await backend.prepare_version(tmp_path, site, ["reacher==1.0"])
            seen = (site / "reacher" / "__init__.py").read_text()
            with pytest.raises(DependencyInstallError, match="over 1048576 bytes"):
                await backend.prepare_version(tmp_path, tmp_path / "bulky-site", ["bulky==1.0"])
    listener_saw = []
    with pytest.raises(BlockingIOError):
        listener_saw.append(listener.accept())
    listener.close()
    assert '"proxied": 403' in seen  # the relay answered: not a package index host
    assert '"direct": 111' in seen  # ECONNREFUSED: the container's own loopback, not the host's
    assert '"outside": 101' in seen  # ENETUNREACH: the container has no network
    assert not Path(tmp_path / "bulky-site").exists()


BULKY = """
import os
from setuptools import setup

os.makedirs("bulky", exist_ok=True)
with open("bulky/__init__.py", "w") as handle:
    handle.write("DATA = '" + "x" * (2 * 1024 * 1024) + "'\\n")
setup(name="bulky", version="1.0", packages=["bulky"])
"""
