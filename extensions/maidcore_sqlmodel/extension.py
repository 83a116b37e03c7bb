"""Registers the ``sqlmodel`` storage layer through the same hook a third-party layer uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import RegisterStorage
    from maidcore.platform import Platform


def _factory(platform: Platform):
    from maidcore_sqlmodel.storage import SqlModelStorage

    return SqlModelStorage(platform.settings.storage, platform.data_dir)


@hookimpl
def register_storage(register: RegisterStorage) -> None:
    register("sqlmodel", _factory)


@hookimpl
def register_commands(cli) -> None:
    from maidcore_sqlmodel.cli import db_command, storage_group

    cli.add_command(storage_group)
    cli.add_command(db_command)
