"""``maidcore sandbox ...``: build the runtime image, sweep leftover containers."""

from __future__ import annotations

import time

import click

from maidcore.layers.sandbox import SandboxUnavailable


def _settings():
    """The CLI's settings (``--data-dir`` and friends) when run under ``maidcore``, else the environment's."""
    from maidcore.cli.state import CliState
    from maidcore.settings import load_settings

    ctx = click.get_current_context(silent=True)
    state = ctx.find_object(CliState) if ctx is not None else None
    return state.settings() if state is not None else load_settings()


class StepDisplay:
    """Prints build progress: numbered steps, indented detail lines, and elapsed time."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        if self.quiet and message.startswith("  "):
            return
        elapsed = f"[{time.monotonic() - self.started:6.1f}s]"
        if message.startswith("  "):
            click.echo(f"{click.style(elapsed, dim=True)} {message}")
        else:
            click.echo(f"{click.style(elapsed, dim=True)} {click.style(message, bold=True)}")


@click.group()
def sandbox() -> None:
    """The Docker sandbox: runtime image and worker containers."""


@sandbox.command("build-image")
@click.option("--from", "from_image", metavar="IMAGE", help="Build FROM this Python image (pulled if missing).")
@click.option("--offline", is_flag=True, help="Debootstrap the base image offline even if a registry base exists.")
@click.option("--force", is_flag=True, help="Rebuild every step, ignoring the caches.")
@click.option("-q", "--quiet", is_flag=True, help="Only the step lines, not the build output.")
def build_image(from_image: str | None, offline: bool, force: bool, quiet: bool) -> None:
    """Build the plugin runtime image (Python + mmo-maid-sdk); instant when it is up to date.

    Without a registry the base is built offline: debootstrap of a minimal Debian with python3
    (needs root and a Debian mirror), cached as a tarball, then `docker import`-ed.
    """
    from maidcore_docker.backend import docker_client
    from maidcore_docker.image import ImageBuildError, ensure_build_image, ensure_image

    settings = _settings().docker
    if offline:
        if from_image:
            raise click.UsageError("--offline and --from exclude each other: --from builds on a registry image")
        settings = settings.model_copy(update={"base_source": "debootstrap"})
    try:
        client = docker_client(connections=settings.engine_calls)
    except SandboxUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    display = StepDisplay(quiet)
    try:
        tag = ensure_image(client, settings, from_image=from_image, force=force, progress=display)
        build = ensure_build_image(client, settings, tag, force=force, progress=display)
    except ImageBuildError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
    click.echo(f"{settings.image} -> {tag}")
    click.echo(f"{settings.build_image} -> {build}")


@sandbox.command("sweep")
@click.option("--all", "include_live", is_flag=True, help="Also remove containers of a maidcore that still runs.")
@click.option("--any-node", is_flag=True, help="Every node's containers whose maidcore on this host is gone.")
def sweep(include_live: bool, any_node: bool) -> None:
    """Remove this node's worker containers left behind by a crashed maidcore."""
    import asyncio

    from maidcore_docker.backend import DockerBackend, docker_client, sweep_orphans

    settings = _settings()
    try:
        client = docker_client(connections=settings.docker.engine_calls)
    except SandboxUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if any_node:
        if include_live:
            raise click.UsageError("--any-node only removes containers whose maidcore is gone; drop --all")
        click.echo(f"removed {sweep_orphans(client)} orphaned container(s)")
        client.close()
        return
    backend = DockerBackend(settings.docker, data_dir=settings.data_dir, client=client)
    removed = asyncio.run(asyncio.to_thread(backend.sweep, include_live=include_live))
    client.close()
    click.echo(f"removed {removed} container(s) of node {backend.node}")
