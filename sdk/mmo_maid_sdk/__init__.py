"""``mmo_maid_sdk``: the SDK's name before 0.6, kept as an alias of ``yourbot_sdk``.

Every submodule resolves to the ``yourbot_sdk`` module of the same name — the same module
object, so ``mmo_maid_sdk.testing.MockContext is yourbot_sdk.testing.MockContext`` — including
the private modules older plugins import (``_exceptions``, ``_context``, ``_validation``, ...).
Importing it warns once (``DeprecationWarning``), as the official SDK does since 0.6.0.
"""

from __future__ import annotations

import sys
import warnings

import yourbot_sdk
from yourbot_sdk import *  # noqa: F403 - the alias re-exports the whole public surface
from yourbot_sdk import __all__, __version__  # noqa: F401

_ALIAS = __name__
_TARGET = yourbot_sdk.__name__


class _AliasFinder:
    """Resolve ``mmo_maid_sdk.<x>`` to the already-implemented ``yourbot_sdk.<x>`` (imported on first use)."""

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None):
        if not fullname.startswith(_ALIAS + "."):
            return None
        import importlib.util

        real = _TARGET + fullname[len(_ALIAS) :]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real))


class _AliasLoader:
    """Hands out the ``yourbot_sdk`` module; ``get_code`` and friends let ``python -m mmo_maid_sdk.cli`` run."""

    def __init__(self, real: str) -> None:
        self.real = real

    def create_module(self, spec: object):
        import importlib

        return importlib.import_module(self.real)

    def exec_module(self, module: object) -> None:
        """Nothing to run: the module is the ``yourbot_sdk`` one, executed when it was imported."""

    def _real_loader(self):
        import importlib.util

        return importlib.util.find_spec(self.real).loader

    def is_package(self, fullname: str) -> bool:
        return self._real_loader().is_package(self.real)

    def get_code(self, fullname: str):
        return self._real_loader().get_code(self.real)

    def get_source(self, fullname: str):
        return self._real_loader().get_source(self.real)


if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _AliasFinder())

warnings.warn(
    # the official 0.6+ shim's wording, word for word, for suites that match on it
    "'mmo_maid_sdk' is deprecated and was renamed to 'yourbot_sdk'; import 'yourbot_sdk' instead. "
    "The compatibility shim will be removed in a future major release.",
    DeprecationWarning,
    stacklevel=2,
)
