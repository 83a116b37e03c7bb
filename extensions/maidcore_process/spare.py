"""A warm spare's program: boot the interpreter and the SDK now, become one plugin's worker later (stdlib only).

    python -s -B spare.py          (under reaper.py, with the limits and environment of every worker)

It imports the SDK (when the interpreter has it) and then writes one line to stdout,
``{"maidcore_spare": "ready", "modules": [...]}``: the top-level modules it holds, so
the backend can refuse to hand it a plugin whose bundle or site directory has a
module of the same name (a cold start would import that one; this interpreter
already holds another). Then it waits for one line on stdin, the adoption order
``{"bundle": DIR, "env": {...}, "unset": [...]}``, and does what a cold start's
``python -s -B __main__.py`` in ``DIR`` would: working directory, environment,
``sys.path`` (the bundle first, then ``PYTHONPATH``), ``sys.argv``, and runs
``__main__.py`` as module ``__main__``. It runs one plugin, once: the process ends
with it. EOF before an order (the pool closing) ends it quietly.
"""

import builtins
import contextlib
import importlib
import importlib.machinery
import json
import os
import sys
import traceback
import types


def warm() -> None:
    """Import what a cold start of a plugin would: the SDK (when this interpreter has it)."""
    del sys.path[0]  # this file's folder (the backend's code) must not be importable by the plugin
    with contextlib.suppress(ImportError):  # without the SDK the plugin brings its own: nothing to warm
        import yourbot_sdk  # noqa: F401


def read_order() -> dict:
    """One line from fd 0, a byte at a time: nothing after it is taken from the plugin's stdin."""
    line = bytearray()
    while not line.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            os._exit(0)  # never adopted
        line += chunk
    return json.loads(line)


def adopt(order: dict) -> str:
    bundle = order["bundle"]
    os.chdir(bundle)
    for name in order.get("unset", []):
        os.environ.pop(name, None)
    os.environ.update(order["env"])
    extra = [entry for entry in order["env"].get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[0:0] = [bundle, *extra]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    sys.argv = ["__main__.py"]
    return os.path.join(bundle, "__main__.py")


def run(path: str) -> None:
    """Execute the plugin's ``__main__.py`` as a cold start does: a fresh ``__main__`` module, no future flags."""
    with open(path, "rb") as handle:
        source = handle.read()
    spare = sys.modules["__main__"]  # this module: kept alive, its globals run the code below
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    main.__cached__ = None
    sys.modules["__main__"] = main
    code = compile(source, path, "exec", dont_inherit=True)
    try:
        exec(code, main.__dict__)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:  # report it as the interpreter would, without this file's frame
        sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next)))
        sys.stderr.flush()
        sys.exit(1)
    finally:
        del spare


def main() -> None:
    warm()
    modules = sorted({name.partition(".")[0] for name in sys.modules} - {"__main__"})
    os.write(1, (json.dumps({"maidcore_spare": "ready", "modules": modules}) + "\n").encode())
    run(adopt(read_order()))


main()
