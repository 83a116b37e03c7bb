"""The plugin the wire corpus runs on each SDK: every delivery evaluates one case's code with the real ``ctx``.

Started as ``python wire_plugin.py <sdk import name>`` by ``wire_host.py``. The outcome of each
case goes to stderr as one ``RESULT <json>`` line (stdout is the protocol).
"""

from __future__ import annotations

import importlib
import sys
import traceback

sys.path.insert(0, __file__.rsplit("/", 1)[0])

from encode import dumps, encode

sdk = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "yourbot_sdk")
plugin = sdk.Plugin()
NAMESPACE = {name: getattr(sdk, name) for name in sdk.__all__}
NAMESPACE["sdk"] = sdk


def run_case(ctx, event):
    code = event.get("code", "None")
    scope = dict(NAMESPACE, ctx=ctx, event=event)
    try:
        try:
            compiled = compile(code, "<case>", "eval")
            value = eval(compiled, scope)
        except SyntaxError:
            exec(compile(code, "<case>", "exec"), scope)
            value = scope.get("result")
        out = {"value": encode(value)}
    except Exception as exc:
        out = {"raised": encode(exc)}
        if not out["raised"].get("sdk_error") and type(exc).__name__ not in event.get("expect_builtin", ()):
            out["traceback"] = traceback.format_exc()[-800:]
    sys.stderr.write("RESULT " + dumps({"case": event.get("case"), **out}) + "\n")
    sys.stderr.flush()


for event_type in ("interaction_create", "message_create"):
    plugin.on_event(event_type)(run_case)


@plugin.cron("*/5 * * * *")
def cron_case(ctx):
    sys.stderr.write("RESULT " + dumps({"case": "cron", "value": encode(ctx.server_id)}) + "\n")
    sys.stderr.flush()


plugin.run()
