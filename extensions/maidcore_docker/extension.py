"""The ``docker`` extension: the default sandbox backend and ``maidcore sandbox build-image``."""

from __future__ import annotations

from maidcore.hookspecs import hookimpl


@hookimpl
def register_sandbox_backends(register):
    from maidcore_docker.backend import DockerBackend

    register("docker", DockerBackend.from_context, settings="docker")


@hookimpl
def register_commands(cli):
    from maidcore_docker.cli import sandbox

    cli.add_command(sandbox)


@hookimpl
def register_settings(register):
    from maidcore_docker.settings import DockerSettings

    register("docker", DockerSettings)
