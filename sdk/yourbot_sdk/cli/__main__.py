import sys

from . import main, main_mmo

# ``python -m mmo_maid_sdk.cli`` runs this file under the old package name: answer as ``mmo``.
_old_name = __spec__ is not None and __spec__.name.startswith("mmo_maid_sdk.")
sys.exit(main_mmo() if _old_name else main())
