"""A corpus of bad bundles: each is rejected or flagged with the finding code it deserves.

Every case runs through the SDK's ``validate`` (what ``mmo validate`` prints)
and through the platform's review (intake plus every registered check).
"""

from __future__ import annotations

import json
import os
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from maidcore_review import extension
from mmo_maid_sdk._validate import validate

from maidcore.extensions import Extensions
from maidcore.marketplace.review import review_path
from tests.extensions.maidcore_review.bundles import (
    BASE_MAIN,
    CHARDEV,
    DROP,
    SYMLINK,
    make_zip,
    manifest,
    patch_entry,
    special_entry,
    write_plugin,
)

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name")


@dataclass
class Case:
    id: str
    build: Callable[[Path], Path]
    code: str
    severity: str = "error"
    path: str | None = None
    line: int | None = None


def plugin(manifest_data=None, manifest_text=None, **files):
    """A directory case: the base plugin with changes (keyword ``main`` replaces __main__.py)."""
    if "main" in files:
        files["__main__.py"] = files.pop("main")
    files = {k.replace("__", "/") if k not in ("__main__.py",) and "__" in k else k: v for k, v in files.items()}
    return lambda tmp: write_plugin(
        tmp / "plugin", manifest_data=manifest_data, manifest_text=manifest_text, files=files
    )


def main_with(extra: str, *, before_run: bool = True) -> str:
    """The base __main__.py with ``extra`` code added before the run() guard."""
    head, guard = BASE_MAIN.split('if __name__ == "__main__":')
    return f'{head}{extra}\n\nif __name__ == "__main__":{guard}'


def zip_case(entries, *, base=True, patch=None):
    def build(tmp: Path) -> Path:
        path = make_zip(tmp / "bundle.zip", entries, base=base)
        if patch:
            patch(path)
        return path

    return build


def many_files(tmp: Path) -> Path:
    return make_zip(tmp / "bundle.zip", [(f"data/f{i}.txt", b"x") for i in range(201)])


def big_zip(tmp: Path) -> Path:
    return make_zip(tmp / "bundle.zip", [("blob.bin", os.urandom(10 * 1024 * 1024 + 1000))])


def bomb(tmp: Path) -> Path:
    return make_zip(tmp / "bundle.zip", [("zeros.txt", b"\0" * (30 * 1024 * 1024))])


def over_40mb(tmp: Path) -> Path:
    # 41 MB of mildly compressible text: no single entry is a bomb, the total is over the limit
    chunk = (os.urandom(512 * 1024).hex()).encode()  # 1 MB, compresses ~2x
    return make_zip(tmp / "bundle.zip", [(f"data/{i}.txt", chunk) for i in range(41)])


def forged_size(tmp: Path) -> Path:
    path = make_zip(tmp / "bundle.zip", [("data/notes.txt", b"hello world " * 1000)])
    patch_entry(path, "data/notes.txt", file_size=100)
    return path


def encrypted(tmp: Path) -> Path:
    path = make_zip(tmp / "bundle.zip", [("secret.txt", b"x")])
    patch_entry(path, "secret.txt", flags=0x1)
    return path


def not_a_zip(tmp: Path) -> Path:
    path = tmp / "bundle.zip"
    path.write_bytes(b"this is not a zip file at all")
    return path


def nested_folder(tmp: Path) -> Path:
    root = write_plugin(tmp / "src")
    path = tmp / "bundle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(root.rglob("*")):
            zf.write(f, "dice_roller/" + f.relative_to(root).as_posix())
    return path


NFC = unicodedata.normalize("NFC", "café.py")
NFD = unicodedata.normalize("NFD", "café.py")
OPT = {"type": 3, "name": "o", "description": "d"}


def options(n):
    return [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(n)]


def slash(**cmd):
    return manifest(slash_commands=[{"name": "roll", "description": "Roll dice", **cmd}])


SQL_MAIN = main_with(
    """
@plugin.on_event("member_join")
def remember(ctx, event):
    ctx.sql.execute("INSERT INTO seen (id) VALUES ($1)", [event["user_id"]])
    name = event["username"]
    query = f"SELECT * FROM seen WHERE name = '{name}'"
    rows = ctx.sql.query(query)
    return rows
"""
)
SQL_LINE = SQL_MAIN.splitlines().index("    query = f\"SELECT * FROM seen WHERE name = '{name}'\"") + 1
SQL_CAPS = manifest(capabilities_required=["discord:send_message", "storage:kv", "storage:sql"])


def sql_case(expr: str) -> Callable[[Path], Path]:
    code = main_with(
        f"""
@plugin.on_event("member_join")
def remember(ctx, event):
    name = event["username"]
    ctx.sql.query({expr})
"""
    )
    return plugin(SQL_CAPS, main=code)


CASES = [
    # --- intake: layout, limits, hostile archives -------------------------------------
    Case(
        "no-manifest",
        zip_case([(n, d) for n, d in [("__main__.py", BASE_MAIN.encode())]], base=False),
        "manifest_missing",
    ),
    Case("no-entry", zip_case([("manifest.json", json.dumps(manifest()).encode())], base=False), "entry_missing"),
    Case("enclosing-folder", nested_folder, "manifest_missing"),
    Case("absolute-path", zip_case([("/etc/evil.py", b"x")]), "unsafe_path"),
    Case("dotdot-path", zip_case([("../../evil.py", b"x")]), "unsafe_path"),
    Case("backslash-dotdot", zip_case([("data\\..\\..\\evil.py", b"x")]), "unsafe_path"),
    Case("symlink", zip_case([(special_entry("link", SYMLINK), b"/etc/passwd")]), "unsafe_path"),
    Case("device-file", zip_case([(special_entry("dev", CHARDEV), b"")]), "unsafe_path"),
    Case("duplicate-entry", zip_case([("dice.py", b"x = 1\n")]), "unsafe_path"),
    Case("case-duplicate", zip_case([("Dice.py", b"x = 1\n")]), "unsafe_path"),
    Case("unicode-duplicate", zip_case([(NFC, b"x = 1\n"), (NFD, b"x = 2\n")]), "unsafe_path"),
    Case("file-and-dir", zip_case([("data", b"x"), ("data/x.txt", b"y")]), "unsafe_path"),
    Case("encrypted", encrypted, "encrypted_entry"),
    Case("too-many-files", many_files, "bundle_too_large"),
    Case("over-10mb-zipped", big_zip, "bundle_too_large"),
    Case("over-40mb-unpacked", over_40mb, "bundle_too_large"),
    Case("compression-bomb", bomb, "compression_bomb"),
    Case("forged-size-header", forged_size, "bad_archive"),
    Case("not-a-zip", not_a_zip, "bad_archive"),
    Case("native-binary", plugin(**{"speedups.so": b"\x7fELF"}), "binary_file"),
    Case("junk-pycache", zip_case([("__pycache__/dice.cpython-311.pyc", b"\0")]), "junk_file", "warning"),
    Case("junk-git", zip_case([(".git/config", b"[core]")]), "junk_file", "warning"),
    # --- manifest ---------------------------------------------------------------------------
    Case("manifest-not-json", plugin(manifest_text="{'id': 'x'}"), "manifest_invalid"),
    Case("manifest-duplicate-key", plugin(manifest_text='{"id": "dice_roller", "id": "other"}'), "manifest_invalid"),
    Case("manifest-array", plugin(manifest_text="[]"), "manifest_invalid"),
    Case("bad-id", plugin(manifest(id="Dice-Roller")), "manifest_invalid"),
    Case("missing-name", plugin(manifest(name=DROP)), "manifest_invalid"),
    # relaxed to warnings: the official platform publishes such manifests (docs/review.md, "Relaxed")
    Case("missing-description", plugin(manifest(description=DROP)), "description_missing", "warning"),
    Case("long-description", plugin(manifest(description="x" * 2001)), "description_too_long", "warning"),
    Case(
        "placeholder-description",
        plugin(manifest(description="TODO: fill me in")),
        "description_placeholder",
        "warning",
    ),
    Case("http-icon", plugin(manifest(icon_url="http://example.com/i.png")), "icon_url_ignored", "warning"),
    Case("tags-not-a-list", plugin(manifest(tags="fun")), "tags_ignored", "warning"),
    Case("unknown-key", plugin(manifest(homepage="https://x.org")), "manifest_unknown_key", "warning"),
    Case(
        "legacy-key",
        plugin(manifest(capabilities_required=DROP, capabilities=["discord:send_message", "storage:kv"])),
        "legacy_capability_key",
        "warning",
    ),
    Case(
        "legacy-name",
        plugin(manifest(capabilities_required=["discord:send_message", "storage:kv", "kv:write"])),
        "legacy_capability_name",
        "warning",
    ),
    Case(
        "unknown-capability",
        plugin(manifest(capabilities_required=["discord:send_message", "storage:kv", "discord:ban"])),
        "unknown_capability",
    ),
    Case(
        "duplicate-capability",
        plugin(manifest(capabilities_required=["discord:send_message", "storage:kv", "storage:kv"])),
        "capability_duplicate",
        "warning",
    ),
    Case(
        "domain-with-scheme",
        plugin(manifest(proxy_domains_requested=["https://api.example.com"])),
        "proxy_domain_normalised",
        "warning",
    ),
    Case(
        "domain-port",
        plugin(manifest(proxy_domains_requested=["api.example.com:8443"])),
        "proxy_domain_normalised",
        "warning",
    ),
    Case(
        "domain-wildcard",
        plugin(manifest(proxy_domains_requested=["*.example.com"])),
        "proxy_domain_ignored",
        "warning",
    ),
    Case("domain-ip", plugin(manifest(proxy_domains_requested=["10.0.0.1"])), "proxy_domain_ignored", "warning"),
    Case(
        "domain-single-label",
        plugin(manifest(proxy_domains_requested=["localhost"])),
        "proxy_domain_ignored",
        "warning",
    ),
    Case("domain-not-a-list", plugin(manifest(proxy_domains_requested="api.example.com")), "manifest_invalid"),
    # --- slash commands ----------------------------------------------------------------------
    Case(
        "reserved-command",
        plugin(manifest(slash_commands=[{"name": "ban", "description": "x"}])),
        "slash_reserved_name",
    ),
    Case("uppercase-command", plugin(slash(name="Roll")), "slash_invalid"),
    Case("long-description-command", plugin(slash(description="x" * 101)), "slash_invalid"),
    Case("option-type-12", plugin(slash(options=[{**OPT, "type": 12}])), "slash_invalid"),
    Case("option-type-bool", plugin(slash(options=[{**OPT, "type": True}])), "slash_invalid"),
    Case("26-options", plugin(slash(options=options(26))), "slash_invalid"),
    Case(
        "required-after-optional",
        plugin(slash(options=[OPT, {"type": 4, "name": "n", "description": "d", "required": True}])),
        "slash_invalid",
    ),
    Case(
        "choices-on-boolean",
        plugin(slash(options=[{"type": 5, "name": "b", "description": "d", "choices": [{"name": "x", "value": 1}]}])),
        "slash_invalid",
    ),
    Case(
        "26-choices",
        plugin(slash(options=[{**OPT, "choices": [{"name": f"c{i}", "value": f"v{i}"} for i in range(26)]}])),
        "slash_invalid",
    ),
    Case(
        "choice-wrong-type",
        plugin(slash(options=[{"type": 4, "name": "n", "description": "d", "choices": [{"name": "x", "value": "1"}]}])),
        "slash_invalid",
    ),
    Case("duplicate-option", plugin(slash(options=[OPT, OPT])), "slash_invalid"),
    Case(
        "required-subcommand",
        plugin(slash(options=[{"type": 1, "name": "sub", "description": "d", "required": True}])),
        "slash_invalid",
    ),
    Case(
        "group-holding-string",
        plugin(slash(options=[{"type": 2, "name": "grp", "description": "d", "options": [OPT]}])),
        "slash_invalid",
    ),
    Case(
        "duplicate-command",
        plugin(manifest(slash_commands=[{"name": "roll", "description": "a"}, {"name": "roll", "description": "b"}])),
        "slash_invalid",
    ),
    Case(
        "command-without-handler",
        plugin(manifest(slash_commands=[{"name": "roll", "description": "a"}, {"name": "flip", "description": "b"}])),
        "slash_no_handler",
    ),
    Case(
        "handler-wrong-case",
        plugin(main=BASE_MAIN.replace('on_slash_command("roll")', 'on_slash_command("Roll")')),
        "slash_handler_case",
        line=11,
    ),
    Case(
        "handler-undeclared",
        plugin(
            main=main_with(
                '@plugin.on_slash_command("flip")\ndef flip(ctx, event):\n    ctx.interaction.respond(content="heads")'
            )
        ),
        "slash_undeclared_handler",
        "warning",
    ),
    # --- cron ----------------------------------------------------------------------------------
    Case("cron-bad-spec", plugin(manifest(cron=[{"name": "daily_summary", "spec": "0 9 * *"}])), "cron_invalid"),
    Case("cron-day-7", plugin(manifest(cron=[{"name": "daily_summary", "spec": "0 9 * * 7"}])), "cron_invalid"),
    Case("cron-too-often", plugin(manifest(cron=[{"name": "daily_summary", "spec": "*/2 * * * *"}])), "cron_invalid"),
    Case(
        "cron-too-often-over-midnight",
        plugin(manifest(cron=[{"name": "daily_summary", "spec": "1,58 0,23 * * *"}])),
        "cron_invalid",
    ),
    Case(
        "cron-six-entries",
        plugin(manifest(cron=[{"name": f"c{i}", "spec": "0 9 * * *"} for i in range(6)])),
        "cron_invalid",
    ),
    Case("cron-bad-name", plugin(manifest(cron=[{"name": "daily summary", "spec": "0 9 * * *"}])), "cron_invalid"),
    Case("cron-no-function", plugin(manifest(cron=[{"name": "weekly", "spec": "0 9 * * 1"}])), "cron_no_handler"),
    Case("cron-not-in-manifest", plugin(manifest(cron=DROP)), "cron_not_in_manifest", "warning"),
    # --- code --------------------------------------------------------------------------------
    Case("syntax-error", plugin(**{"dice.py": "def roll_value(:\n"}), "syntax_error", path="dice.py", line=1),
    Case(
        "import-subprocess",
        plugin(**{"dice.py": "import subprocess\n\n\ndef roll_value(s):\n    return 4\n"}),
        "forbidden_import",
        path="dice.py",
        line=1,
    ),
    Case("from-ctypes", plugin(main=main_with("from ctypes import CDLL")), "forbidden_import"),
    Case(
        "socket-in-package",
        plugin(**{"lib/__init__.py": "", "lib/net.py": "import socket as s\n"}),
        "forbidden_import",
        path="lib/net.py",
    ),
    Case("multiprocessing-alias", plugin(main=main_with("import multiprocessing.pool as mp")), "forbidden_import"),
    Case(
        "import-module-concat",
        plugin(main=main_with('import importlib\nmod = importlib.import_module("sub" + "process")')),
        "forbidden_import",
    ),
    Case(
        "import-module-reversed",
        plugin(main=main_with('from importlib import import_module\nimport_module("tekcos"[::-1])')),
        "forbidden_import",
    ),
    Case(
        "import-module-computed",
        plugin(main=main_with("import importlib, os\nimportlib.import_module(os.environ['M'])")),
        "dynamic_import",
    ),
    Case(
        "import-module-alias",
        plugin(main=main_with('import importlib\nload = importlib.import_module\nload("subprocess")')),
        "forbidden_import",
    ),
    Case(
        "sys-modules", plugin(main=main_with('import sys\nproc = sys.modules["sub" + "process"]')), "forbidden_import"
    ),
    Case("dunder-import", plugin(main=main_with('os_mod = __import__("os")')), "forbidden_call"),
    Case(
        "getattr-builtins",
        plugin(main=main_with('import builtins\nrun_code = getattr(builtins, "ex" + "ec")')),
        "forbidden_call",
    ),
    Case("builtins-dict", plugin(main=main_with('f = __builtins__["eval"]')), "forbidden_call"),
    Case("eval-call", plugin(main=main_with('VALUE = eval("1 + 1")')), "forbidden_call"),
    Case("exec-call", plugin(main=main_with('exec("x = 1")')), "forbidden_call"),
    Case("compile-builtin", plugin(main=main_with('CODE = compile("1", "<s>", "eval")')), "forbidden_call"),
    Case("eval-alias", plugin(main=main_with("safe_eval = eval")), "forbidden_call"),
    Case("os-system", plugin(main=main_with('import os\nos.system("ls")')), "forbidden_call"),
    Case("undeclared-import", plugin(main=main_with("import requests")), "import_not_bundled", "warning"),
    Case(
        "requirements-option-line",
        plugin(**{"requirements.txt": "-e git+https://x.org/y.git\n"}),
        "requirements_invalid",
    ),
    Case("requirements-url", plugin(**{"requirements.txt": "https://x.org/pkg.whl\n"}), "requirements_invalid"),
    # --- SQL -----------------------------------------------------------------------------------
    Case(
        "sql-fstring-variable",
        plugin(SQL_CAPS, main=SQL_MAIN),
        "sql_string_building",
        path="__main__.py",
        line=SQL_LINE,
    ),
    Case("sql-percent", sql_case("\"SELECT * FROM t WHERE n = '%s'\" % name"), "sql_string_building"),
    Case("sql-format", sql_case('"SELECT * FROM t WHERE n = {}".format(name)'), "sql_string_building"),
    Case("sql-concat", sql_case('"SELECT * FROM t WHERE n = \'" + name + "\'"'), "sql_string_building"),
    Case("sql-inline-fstring", sql_case('f"DELETE FROM t WHERE n = {name}"'), "sql_string_building"),
    # --- capabilities --------------------------------------------------------------------------
    Case(
        "capability-undeclared-any-ctx-name",
        plugin(
            main=main_with(
                '@plugin.on_event("member_join")\ndef kick(c, event):\n'
                '    c.discord.kick_member(user_id=event["user_id"])'
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "edit-needs-edit-message",
        plugin(
            main=main_with(
                '@plugin.on_event("reaction_add")\ndef edit(ctx, event):\n'
                '    ctx.discord.edit_message(channel_id="1", message_id="2", content="x")'
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "capability-through-alias",
        plugin(
            main=main_with(
                '@plugin.on_event("member_join")\ndef store(ctx, event):\n'
                '    vault = ctx.secrets\n    vault.set("k", "v")'
            )
        ),
        "capability_undeclared",
    ),
    Case(
        "capability-unused",
        plugin(manifest(capabilities_required=["discord:send_message", "storage:kv", "discord:ban_members"])),
        "capability_unused",
        "warning",
    ),
    Case(
        "http-domain-undeclared",
        plugin(
            manifest(proxy_domains_requested=["api.example.com"]),
            main=main_with(
                '@plugin.on_event("member_join")\ndef fetch(ctx, event):\n    ctx.http.get("https://evil.example.org/x")'
            ),
        ),
        "http_domain_undeclared",
    ),
    # --- wiring -------------------------------------------------------------------------------
    Case("no-run", plugin(main=BASE_MAIN.replace('if __name__ == "__main__":\n    plugin.run()\n', "")), "run_missing"),
    Case("run-on-wrong-object", plugin(main=BASE_MAIN.replace("plugin.run()", "WORD.run()")), "run_missing"),
    Case(
        "no-bot-guard",
        plugin(main=BASE_MAIN.replace('    if event.get("author_bot"):\n        return\n', "")),
        "message_bot_guard",
        "warning",
    ),
    Case(
        "dashboard-no-handler",
        plugin(
            **{
                "dashboard_manifest.json": json.dumps(
                    {
                        "pages": [
                            {
                                "id": "p",
                                "title": "P",
                                "widgets": [
                                    {"id": "w", "type": "stat_card", "title": "Rolls", "rpc_method": "dashboard.rolls"}
                                ],
                            }
                        ]
                    }
                )
            }
        ),
        "dashboard_wiring",
    ),
    Case(
        "dashboard-both-sources",
        plugin(
            manifest(dashboard_manifest={"pages": []}),
            **{"dashboard_manifest.json": json.dumps({"pages": []})},
        ),
        "dashboard_both",
        "warning",
    ),
    Case(
        "dashboard-key-names-a-missing-file",
        plugin(manifest(dashboard_manifest="ui.json")),
        "dashboard_missing_file",
        "warning",
    ),
    Case(
        "dashboard-unknown-widget",
        plugin(
            **{
                "dashboard_manifest.json": json.dumps(
                    {
                        "pages": [
                            {"id": "p", "title": "P", "widgets": [{"id": "w", "type": "hologram", "rpc_method": "x"}]}
                        ]
                    }
                )
            }
        ),
        "dashboard_invalid",
    ),
    Case(
        "dashboard-schema-2-widget-without-schema-2",
        plugin(
            **{
                "dashboard_manifest.json": json.dumps(
                    {"pages": [{"id": "p", "title": "P", "widgets": [{"id": "w", "type": "divider"}]}]}
                )
            }
        ),
        "dashboard_invalid",
    ),
    Case(
        "dashboard-image-outside-dashboard-dir",
        plugin(
            **{
                "dashboard_manifest.json": json.dumps(
                    {
                        "schema": 2,
                        "pages": [
                            {"id": "p", "title": "P", "widgets": [{"id": "w", "type": "image", "src": "../x.png"}]}
                        ],
                    }
                )
            }
        ),
        "dashboard_invalid",
    ),
    Case(
        "dashboard-action-button-with-rpc-method",
        plugin(
            **{
                "dashboard_manifest.json": json.dumps(
                    {
                        "schema": 2,
                        "pages": [
                            {
                                "id": "p",
                                "title": "P",
                                "widgets": [{"id": "w", "type": "action_button", "label": "Go", "rpc_method": "rolls"}],
                            }
                        ],
                    }
                )
            }
        ),
        "dashboard_invalid",
    ),
    Case(
        "dashboard-tab-without-widgets",
        plugin(
            **{
                "dashboard_manifest.json": json.dumps(
                    {
                        "schema": 2,
                        "pages": [
                            {
                                "id": "p",
                                "title": "P",
                                "widgets": [{"id": "t", "type": "tabs", "tabs": [{"title": "A"}]}],
                            }
                        ],
                    }
                )
            }
        ),
        "dashboard_invalid",
    ),
    Case(
        "dashboard-refresh-out-of-range",
        plugin(
            main=main_with('@plugin.on_dashboard("rolls")\ndef rolls(ctx, params):\n    return {"value": 1}\n'),
            **{
                "dashboard_manifest.json": json.dumps(
                    {
                        "pages": [
                            {
                                "id": "p",
                                "title": "P",
                                "widgets": [
                                    {
                                        "id": "w",
                                        "type": "stat_card",
                                        "title": "T",
                                        "rpc_method": "rolls",
                                        "refresh_seconds": 1,
                                    }
                                ],
                            }
                        ]
                    }
                )
            },
        ),
        "dashboard_refresh",
        "warning",
    ),
    Case(
        "dashboard-no-pages",
        plugin(**{"dashboard_manifest.json": json.dumps({"title": "x"})}),
        "dashboard_empty",
        "warning",
    ),
]


@pytest.fixture(scope="module")
def checks():
    exts = Extensions(strict=True)
    exts.register(extension, name="review")
    return exts.review_checks()


def test_the_corpus_holds_at_least_40_bad_bundles():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_bundle_is_flagged(case: Case, tmp_path, checks):
    path = case.build(tmp_path)
    found = [f for f in validate(path) if f.code == case.code]
    assert found, f"expected {case.code}; got {[(f.code, f.message) for f in validate(path)]}"
    assert {f.severity for f in found} == {case.severity}
    assert all(f.message for f in found)
    if case.path is not None:
        assert any(f.path == case.path for f in found), found
    if case.line is not None:
        assert any(f.line == case.line for f in found), found

    report = review_path(checks, path)
    codes = {f.code: f for f in report.findings}
    assert case.code in codes
    if case.severity == "error":
        assert report.status.value == "rejected"
    else:
        assert report.ok
