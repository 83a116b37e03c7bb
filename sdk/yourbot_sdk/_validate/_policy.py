"""What plugin code may not reach, by qualified name, with the reason and the fix an author needs.

The one home of these facts: the code checks resolve every import, name,
attribute and ``getattr`` to a qualified name (``os.system``,
``builtins.eval``, ``subprocess``...) and ask ``rule_for`` about it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from ._flow import SDK_PACKAGES


@dataclass(frozen=True)
class Rule:
    code: str  # the finding code
    why: str  # what the thing does that a plugin may not
    fix: str  # what to do instead


PROCESSES = Rule("forbidden_import", "plugins may not start processes", "use the ctx APIs instead")
NETWORK = Rule(
    "forbidden_import",
    "plugins may not open sockets or network connections (the sandbox has no network)",
    "use ctx.http for HTTP",
)
NATIVE = Rule("forbidden_import", "plugins may not load native code", "write it in Python")
INTERPRETER = Rule(
    "forbidden_import",
    "it runs Python source or commands given as text (an interpreter, debugger or profiler)",
    "call your functions directly",
)
LOADER = Rule(
    "dynamic_import",
    "it loads modules from paths, loaders or names given at run time, which review cannot follow",
    "import bundled modules with a plain import statement",
)
CODE_OBJECTS = Rule(
    "code_loading",
    "it turns bytes into code or calls (pickled objects and code objects can run anything)",
    "store data as JSON (json.dumps/json.loads) and write functions with def",
)
REFLECTION = Rule(
    "reflection",
    "it reaches modules, frames or globals indirectly, hiding what the code can call",
    "import and call what you need directly",
)
EVAL = Rule(
    "forbidden_call",
    "running generated code is not allowed",
    "parse data instead (json.loads, ast.literal_eval)",
)
PROCESS_CALL = Rule("forbidden_call", "plugins may not start processes", "use the ctx APIs instead")
NETWORK_CALL = Rule(
    "forbidden_call", "plugins may not open network connections (the sandbox has no network)", "use ctx.http"
)
CODE_TEXT_CALL = Rule("forbidden_call", "it runs Python source given as text", "call your functions directly")
NATIVE_CALL = Rule("forbidden_call", "it loads native code", "write it in Python")

#: Modules (and everything under them) by the rule that forbids them.
MODULES: dict[str, Rule] = {
    **dict.fromkeys(
        (
            "subprocess",
            "_posixsubprocess",
            "multiprocessing",
            "_multiprocessing",
            "pty",
            "concurrent.futures.process",
            "asyncio.subprocess",
            "webbrowser",
            "sh",
            "plumbum",
            "pexpect",
            "ptyprocess",
            "psutil",
        ),
        PROCESSES,
    ),
    **dict.fromkeys(
        (
            "socket",
            "_socket",
            "socketserver",
            "wsgiref.simple_server",
            "http.client",
            "http.server",
            "urllib.request",
            "ftplib",
            "smtplib",
            "poplib",
            "imaplib",
            "nntplib",
            "telnetlib",
            "xmlrpc",
        ),
        NETWORK,
    ),
    **dict.fromkeys(
        ("ctypes", "_ctypes", "cffi", "_cffi_backend", "_testcapi", "_testinternalcapi", "pyximport", "numba"), NATIVE
    ),
    **dict.fromkeys(
        (
            "code",
            "codeop",
            "pdb",
            "bdb",
            "doctest",
            "pydoc",
            "trace",
            "profile",
            "cProfile",
            "idlelib",
            "tkinter",
            "_tkinter",
            "turtle",
            "turtledemo",
            "_xxsubinterpreters",
            "_interpreters",
            "_xxinterpchannels",
            "IPython",
            "bpython",
            "ptpython",
        ),
        INTERPRETER,
    ),
    **dict.fromkeys(
        (
            "runpy",
            "zipimport",
            "imp",
            "_imp",
            "importlib.machinery",
            "importlib.abc",
            "importlib._bootstrap",
            "importlib._bootstrap_external",
            "logging.config",
            "_frozen_importlib",
            "_frozen_importlib_external",
        ),
        LOADER,
    ),
    **dict.fromkeys(("marshal",), CODE_OBJECTS),
}

#: Single names (functions, classes, attributes) by rule.
NAMES: dict[str, Rule] = {
    **dict.fromkeys(
        ("builtins.eval", "builtins.exec", "builtins.compile", "builtins.__import__"),
        EVAL,
    ),
    **dict.fromkeys(("builtins.breakpoint", "builtins.help"), CODE_TEXT_CALL),
    **dict.fromkeys(("timeit.timeit", "timeit.repeat", "timeit.Timer", "timeit.main"), CODE_TEXT_CALL),
    **dict.fromkeys(
        (
            "asyncio.create_subprocess_exec",
            "asyncio.create_subprocess_shell",
            "asyncio.loop.subprocess_exec",
            "asyncio.loop.subprocess_shell",
            "concurrent.futures.ProcessPoolExecutor",
        ),
        PROCESS_CALL,
    ),
    **dict.fromkeys(
        (
            "asyncio.open_connection",
            "asyncio.start_server",
            "asyncio.open_unix_connection",
            "asyncio.start_unix_server",
            "asyncio.loop.create_connection",
            "asyncio.loop.create_server",
            "asyncio.loop.create_datagram_endpoint",
            "asyncio.loop.create_unix_connection",
            "asyncio.loop.create_unix_server",
            "asyncio.loop.connect_accepted_socket",
            "asyncio.loop.sock_connect",
        ),
        NETWORK_CALL,
    ),
    **dict.fromkeys(
        (
            "pickle.load",
            "pickle.loads",
            "pickle.Unpickler",
            "_pickle.load",
            "_pickle.loads",
            "_pickle.Unpickler",
            "shelve.open",
            "shelve.Shelf",
            "shelve.DbfilenameShelf",
            "shelve.BsdDbShelf",
            "dill.load",
            "dill.loads",
            "cloudpickle.load",
            "cloudpickle.loads",
            "jsonpickle.decode",
            "joblib.load",
            "pandas.read_pickle",
            "types.CodeType",
            "types.FunctionType",
            "types.LambdaType",
        ),
        CODE_OBJECTS,
    ),
    **dict.fromkeys(
        (
            "importlib.util.spec_from_loader",
            "importlib.util.LazyLoader",
            "pkgutil.get_importer",
            "pkgutil.walk_packages",
            "pkgutil.ImpImporter",
            "pkgutil.ImpLoader",
            "sys.meta_path",
            "sys.path_hooks",
            "sys.path_importer_cache",
        ),
        LOADER,
    ),
    **dict.fromkeys(
        (
            "gc.get_objects",
            "gc.get_referrers",
            "gc.get_referents",
            "inspect.currentframe",
            "inspect.stack",
            "inspect.trace",
            "inspect.getouterframes",
            "inspect.getinnerframes",
            "inspect.getmodule",
            "sys._getframe",
            "sys._current_frames",
            "sys._current_exceptions",
        ),
        REFLECTION,
    ),
}

_STDLIB = frozenset(sys.stdlib_module_names)
_PROCESS_FUNCS = re.compile(r"^(system|popen|fork|forkpty|exec[lv]p?e?|fexecve|spawn[lv]p?e?|posix_spawnp?|startfile)$")

#: Attributes that are reflection whatever they are read on (sandbox-escape staples).
REFLECTION_ATTRS = frozenset(
    {
        "__globals__",
        "__subclasses__",
        "__builtins__",
        "__code__",
        "__closure__",
        "__self__",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "gi_frame",
        "cr_frame",
        "ag_frame",
        "tb_frame",
        "gi_code",
        "cr_code",
        "ag_code",
    }
)
#: Attributes whose strings ``typing.get_type_hints`` evaluates: written to, they smuggle code.
ANNOTATION_ATTRS = frozenset({"__annotations__"})
#: Attributes that hand out the module's loader (it loads any file).
LOADER_ATTRS = frozenset({"__loader__", "__spec__"})
#: Methods that load native code whatever object they are called on (sqlite3 connections).
NATIVE_METHODS = frozenset({"load_extension", "enable_load_extension"})
#: Methods that start processes whatever they are called on (asyncio event loops).
PROCESS_METHODS = frozenset({"subprocess_exec", "subprocess_shell"})

#: SDK internals that run code: the plugin loader used by tests and ``mmo dev``, the CLI, generated methods.
SDK_GADGETS: dict[str, Rule] = {
    "_loader": LOADER,
    "cli": LOADER,
    "load_plugin_module": LOADER,
    "build_methods": CODE_OBJECTS,
}

#: Calls whose first argument is a module (or ``module.attr``/``module:attr``) name they import.
IMPORT_BY_NAME = frozenset(
    {
        "importlib.import_module",
        "builtins.__import__",
        "importlib.__import__",
        "importlib.util.find_spec",
        "importlib.util.resolve_name",
        "pkgutil.get_loader",
        "pkgutil.find_loader",
        "pkgutil.resolve_name",
        "pydoc.locate",
        "unittest.mock.patch",
        "mock.patch",
    }
)


#: Private names of the standard library a plugin may use: nothing in them runs text or reaches other modules.
PRIVATE_ALLOWED = frozenset({"os._exit"})
PRIVATE = Rule(
    "reflection",
    "it is a private helper of the standard library (some run text as code, like dataclasses._create_fn)",
    "use the public API",
)


def rule_for(qual: str) -> Rule | None:
    """The rule a qualified name falls under, or ``None`` when plugins may use it."""
    parts = qual.split(".")
    for i in range(len(parts), 1, -1):  # os.system.__call__ is os.system
        rule = NAMES.get(".".join(parts[:i]))
        if rule is not None:
            return rule
    if parts[0] in ("os", "posix", "nt") and len(parts) == 2 and _PROCESS_FUNCS.match(parts[1]):
        return PROCESS_CALL
    if parts[0] in SDK_PACKAGES:
        for part in parts[1:]:
            if part in SDK_GADGETS:
                return SDK_GADGETS[part]
        return None
    for i in range(len(parts), 0, -1):
        rule = MODULES.get(".".join(parts[:i]))
        if rule is not None:
            return rule
    if (
        parts[0] in _STDLIB
        and any(p.startswith("_") and not p.startswith("__") for p in parts[1:])
        and qual not in PRIVATE_ALLOWED
    ):
        return PRIVATE
    return None


def module_rule(qual: str) -> Rule | None:
    """The rule for importing module ``qual`` (or a name from it)."""
    return rule_for(qual)
