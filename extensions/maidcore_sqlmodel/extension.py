"""Registers the ``sqlmodel`` storage layer through the same hook a third-party layer uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from maidcore.hookspecs import hookimpl

if TYPE_CHECKING:
    from maidcore.layers import LayerContext, RegisterStorage
    from maidcore_sqlmodel.settings import StorageSettings


def _factory(context: LayerContext[StorageSettings]):
    from maidcore_sqlmodel.storage import SqlModelStorage

    return SqlModelStorage(context.settings, context.data_dir, shared=context.shared)


@hookimpl
def register_storage(register: RegisterStorage) -> None:
    register("sqlmodel", _factory, settings="storage")


@hookimpl
def register_commands(cli) -> None:
    from maidcore_sqlmodel.cli import db_command, storage_group

    cli.add_command(storage_group)
    cli.add_command(db_command)


@hookimpl
def register_settings(register) -> None:
    from maidcore_sqlmodel.settings import StorageSettings

    register("storage", StorageSettings)
