"""Every sandbox guarantee, checked from inside a real container by code a plugin could run."""

from __future__ import annotations

import errno
import os

import pytest

from maidcore.layers.sandbox import WorkerSpec
from tests.extensions.maidcore_docker.support import PROBE, probe, running_backend, write_bundle

pytestmark = [pytest.mark.docker]


@pytest.fixture
async def worker(tmp_path, docker_client, runtime_image):
    bundle = write_bundle(tmp_path / "bundle", PROBE)
    async with running_backend(tmp_path / "data", docker_client) as backend:
        worker = await backend.spawn(
            WorkerSpec("probe", "1.0.0", bundle, f"maidcore-test-probe-{tmp_path.name}-{os.getpid()}")
        )
        assert await worker.readline() == b'{"ready": true}\n'
        yield worker


async def test_no_network_only_loopback_interface(worker):
    answer = await probe(
        worker,
        """
        import socket
        result = {"ifaces": sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])}
        for target in [("192.0.2.1", 80), ("8.8.8.8", 53)]:
            s = socket.socket(); s.settimeout(2)
            try:
                s.connect(target); result[target[0]] = "connected"
            except OSError as exc:
                result[target[0]] = exc.errno
        """,
    )
    assert answer["value"]["ifaces"] == ["lo"]
    assert answer["value"]["192.0.2.1"] == errno.ENETUNREACH
    assert answer["value"]["8.8.8.8"] == errno.ENETUNREACH


@pytest.mark.parametrize("path", ["/evil", "/etc/evil", "/plugin/evil", "/opt/maidcore/sdk/evil.py", "/site/evil"])
async def test_root_bundle_and_site_are_read_only(worker, path):
    answer = await probe(worker, f"open({path!r}, 'w').write('x')")
    assert not answer["ok"]
    assert answer["errno"] in (errno.EROFS, errno.EACCES), answer


async def test_tmp_is_writable_and_capped_at_16m(worker):
    answer = await probe(
        worker,
        """
        import os
        st = os.statvfs("/tmp")
        written = 0
        try:
            with open("/tmp/fill", "wb") as f:
                while written < 64 * 1024 * 1024:
                    f.write(b"x" * 1024 * 1024); f.flush(); written += 1024 * 1024
        except OSError as exc:
            err = exc.errno
        else:
            err = None
        os.remove("/tmp/fill")
        result = {"size": st.f_blocks * st.f_frsize, "written": written, "errno": err}
        """,
    )
    assert answer["value"]["size"] == 16 * 1024 * 1024
    assert answer["value"]["errno"] == errno.ENOSPC
    assert answer["value"]["written"] <= 16 * 1024 * 1024


async def test_memory_64m_without_swap_cpu_quarter_and_32_pids(worker):
    answer = await probe(
        worker,
        """
        def read(path):
            try:
                return open(path).read().strip()
            except OSError as exc:
                return f"unreadable: {exc}"
        result = {
            "memory": read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            "memsw": read("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
            "quota": read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
            "period": read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
            "pids": read("/sys/fs/cgroup/pids/pids.max"),
        }
        """,
    )
    value = answer["value"]
    assert int(value["memory"]) == 64 * 1024 * 1024
    if not value["memsw"].startswith("unreadable"):  # kernels without swap accounting have no memsw file
        assert int(value["memsw"]) == 64 * 1024 * 1024
    assert int(value["quota"]) / int(value["period"]) == 0.25
    assert value["pids"] == "32"


async def test_pids_limit_stops_thread_and_process_creation(worker):
    answer = await probe(
        worker,
        """
        import threading, time
        stop = threading.Event(); threads = []
        try:
            for _ in range(100):
                t = threading.Thread(target=stop.wait); t.start(); threads.append(t)
        except RuntimeError as exc:
            error = str(exc)
        else:
            error = None
        stop.set(); [t.join() for t in threads]
        result = {"started": len(threads), "error": error}
        """,
    )
    assert answer["value"]["error"] is not None
    assert answer["value"]["started"] < 32


async def test_runs_as_nobody_and_cannot_become_root(worker):
    answer = await probe(
        worker,
        """
        import os
        ids = (os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups())
        try:
            os.setuid(0); became = True
        except PermissionError:
            became = False
        result = {"ids": ids, "became_root": became}
        """,
    )
    assert answer["value"]["ids"][:4] == [65534, 65534, 65534, 65534]
    assert set(answer["value"]["ids"][4]) <= {65534}  # no supplementary group beyond its own
    assert answer["value"]["became_root"] is False


async def test_environment_is_only_what_the_runtime_needs(worker):
    answer = await probe(
        worker,
        """
        import os
        result = {
            "environ": dict(os.environ),
            "pid1": sorted(e.split("=", 1)[0] for e in open("/proc/1/environ").read().split("\\0") if e),
        }
        """,
    )
    allowed = {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "LC_CTYPE"}  # LC_CTYPE: Python's own C-locale coercion
    assert set(answer["value"]["environ"]) <= allowed
    assert set(answer["value"]["pid1"]) == {"PYTHONDONTWRITEBYTECODE", "PYTHONPATH"}
    assert "PATH" not in answer["value"]["environ"]
    assert "HOSTNAME" not in answer["value"]["environ"]


async def test_no_capabilities_no_new_privileges_default_seccomp(worker):
    answer = await probe(
        worker,
        """
        fields = dict(l.split(":\\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\\t" in l)
        keys = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")
        result = {k: fields[k].strip() for k in keys}
        """,
    )
    value = answer["value"]
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(value[key], 16) == 0, (key, value[key])
    assert value["NoNewPrivs"] == "1"
    assert value["Seccomp"] == "2"  # a filter is installed: Docker's default profile


async def test_seccomp_blocks_what_the_default_profile_blocks(worker):
    answer = await probe(
        worker,
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.unshare(0x10000000)  # CLONE_NEWUSER: refused by Docker's default profile
        result = {"rc": rc, "errno": ctypes.get_errno()}
        """,
    )
    assert answer["value"]["rc"] == -1
    assert answer["value"]["errno"] == errno.EPERM


async def test_no_shared_memory_mount_and_host_paths_invisible(worker):
    answer = await probe(
        worker,
        """
        import os
        result = {
            "shm": os.path.exists("/dev/shm"),
            "host_home": os.path.exists("/root/.cache") or os.path.exists("/work"),
            "docker_sock": os.path.exists("/var/run/docker.sock"),
            "mounts": [l.split()[1] for l in open("/proc/self/mounts")],
        }
        """,
    )
    value = answer["value"]
    assert value["shm"] is False
    assert value["host_home"] is False
    assert value["docker_sock"] is False
    assert "/plugin" in value["mounts"]


async def test_labels_name_platform_node_plugin_and_version(worker, docker_client):
    attrs = docker_client.api.inspect_container(worker.container_id)
    labels = attrs["Config"]["Labels"]
    assert labels["maidcore.platform"] == "maidcore"
    assert labels["maidcore.plugin"] == "probe"
    assert labels["maidcore.version"] == "1.0.0"
    assert labels["maidcore.node"]
    assert attrs["Name"] == "/" + worker.name
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["LogConfig"]["Type"] == "none"
    assert attrs["Config"]["User"] == "65534:65534"
    assert attrs["Config"]["StdinOnce"] is True


async def test_open_files_and_core_dumps_are_limited(worker):
    answer = await probe(
        worker,
        """
        import resource
        limit = resource.getrlimit
        result = {"nofile": limit(resource.RLIMIT_NOFILE), "core": limit(resource.RLIMIT_CORE)}
        """,
    )
    assert answer["value"]["nofile"] == [1024, 1024]
    assert answer["value"]["core"] == [0, 0]
