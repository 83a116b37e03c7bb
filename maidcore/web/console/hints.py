"""How to fix each review finding, by finding code: shown under the finding's own message in the portal.

A finding's message says what is wrong at its file and line; the hint says what to do
about that kind of problem. Codes without a hint show the message alone.
"""

from __future__ import annotations

FIX_HINTS: dict[str, str] = {
    "forbidden_import": "Remove the import. Plugins reach the outside only through ctx: ctx.http for HTTPS, "
    "ctx.kv / ctx.sql for data; the sandbox has no network, no subprocesses and no native code.",
    "forbidden_call": "Remove the call: eval/exec, os.system and friends are blocked in the sandbox; "
    "do the work in plain Python or through a ctx API.",
    "dynamic_import": "Import modules by name at the top of the file; __import__/importlib with computed names "
    "cannot be reviewed.",
    "dangerous_code": "Remove the construct the message names; a reviewer cannot vouch for code that hides "
    "what it runs.",
    "sql_interpolation": 'Pass values as parameters: ctx.sql.query("SELECT * FROM t WHERE id = $1", [value]) '
    "instead of building the SQL text from them.",
    "sql_string_building": "Keep the SQL text constant and bind every value as a parameter ($1 or %s).",
    "capability_undeclared": 'Add the capability to "capabilities_required" in manifest.json '
    "(server admins approve it at install), or stop calling the API that needs it.",
    "undeclared_capability": 'Add the capability to "capabilities_required" in manifest.json, '
    "or stop calling the API that needs it.",
    "capability_unused": "Drop the capability from manifest.json if the plugin never uses it: "
    "admins trust plugins that ask for less.",
    "unknown_capability": "Use a name from the capability catalogue (the marketplace lists them with their tiers).",
    "legacy_capability_name": "Replace the legacy name with its current capability; legacy names grant nothing.",
    "legacy_capability_key": 'Rename the key to "capabilities_required".',
    "tier_shift": "Nothing to fix: a new capability, a higher tier or a new proxy host sends the version "
    "to a human reviewer, who reads the diff; expect a short wait.",
    "manifest_missing": "Put manifest.json at the root of the zip (zip the folder's contents, not the folder).",
    "entry_missing": "Put __main__.py at the root of the zip; it builds the Plugin and calls plugin.run().",
    "manifest_invalid": "Correct manifest.json as the message says; `mmo validate` checks it locally.",
    "manifest_unknown_key": "Remove or rename the key; unknown keys are ignored.",
    "version_not_semver": 'Use MAJOR.MINOR.PATCH in "version", e.g. 1.2.0.',
    "version_not_greater": 'Bump "version" in manifest.json above the published one and upload again.',
    "slash_invalid": "Slash command names are 1-32 lowercase letters, digits, - or _; fix the declaration.",
    "slash_reserved_name": "Pick another command name; the platform reserves this one.",
    "slash_no_handler": 'Add @plugin.on_slash_command("<name>") for the declared command, '
    "or remove it from the manifest.",
    "slash_undeclared_handler": 'Declare the command in manifest.json "slash_commands", or it is never registered.',
    "slash_handler_case": "Use the lowercase command name in the decorator.",
    "cron_invalid": "Fix the cron spec (5 fields, UTC, at most every 5 minutes, at most 5 entries).",
    "cron_no_handler": "Add a @plugin.cron function whose name matches the manifest entry.",
    "cron_not_in_manifest": 'List the @plugin.cron function in manifest.json "cron" so the platform fires it.',
    "cron_spec_mismatch": "Make the decorator's spec and the manifest entry's spec the same.",
    "dashboard_invalid": "Fix dashboard_manifest.json as the message says; the SDK's dashboard builder "
    "writes valid JSON.",
    "dashboard_wiring": 'Add @plugin.on_dashboard("<name>") for every widget method, or remove the widget.',
    "dashboard_both_modes": "Ship either dashboard_manifest.json or a dashboard/ folder, not both.",
    "run_missing": "End __main__.py with `if __name__ == '__main__': plugin.run()`.",
    "bot_guard": 'Ignore bot messages first: `if event["author_bot"]: return`, or bots can loop on each other.',
    "message_bot_guard": 'Ignore bot messages first: `if event["author_bot"]: return`.',
    "requirements_invalid": "List packages as name and version only (name==1.2); no URLs, paths or options.",
    "import_not_bundled": "Add the package to requirements.txt, or bundle the module in the zip.",
    "syntax_error": "Fix the syntax error at this line; run `python -m py_compile` on the file to check.",
    "binary_file": "Remove native binaries; plugins are pure Python (dependencies come from requirements.txt).",
    "junk_file": "Leave build leftovers (__pycache__, .pyc, .git) out of the zip.",
    "bundle_too_large": "Shrink the bundle: at most 10 MB zipped, 40 MB unpacked, 200 files.",
    "compression_bomb": "Do not ship files that compress over 100 times; ship the real data or fetch it with ctx.http.",
    "unsafe_path": "Use plain relative paths inside the zip: no absolute paths, '..' or links.",
    "encrypted_entry": "Zip without a password.",
    "bad_archive": "Build the zip again (`mmo bundle` makes a valid one).",
    "http_domain_undeclared": 'Add the host to "proxy_domains_requested" in manifest.json '
    "(exact hostname, no wildcard).",
    "description_placeholder": "Write a real description: it is what admins read in the marketplace.",
    "check_failed": "Nothing to fix on your side: a review check crashed, so a reviewer looks at this version.",
}
