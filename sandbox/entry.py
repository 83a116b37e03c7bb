"""Container entry: run the plugin bundle mounted at /plugin the way ``python /plugin`` does.

The image starts this under ``env -i`` so the interpreter sees only the
variables the backend passes (``PYTHONPATH`` puts the preinstalled SDK before the
version's own dependencies in ``/site``).
"""

import os
import runpy
import sys

BUNDLE = "/plugin"


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]  # the bundle, not the entry's folder, becomes sys.path[0]
    if not os.path.isfile(os.path.join(BUNDLE, "__main__.py")):
        sys.stderr.write(f"maidcore sandbox: no __main__.py in the plugin bundle mounted at {BUNDLE}\n")
        sys.exit(2)
    sys.argv = [BUNDLE]
    runpy.run_path(BUNDLE, run_name="__main__")


main()
