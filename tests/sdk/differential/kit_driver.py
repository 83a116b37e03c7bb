"""Run in-process corpus cases (testing kit, builders, decorators, errors) under one SDK and print JSON.

Started as ``python kit_driver.py <sdk import name> < cases.json``; prints one JSON object
``{case id: outcome}``. Each case gets a fresh namespace holding the SDK's public names, the
``testing``/``events``/``dashboard`` modules (when the SDK has them) and ``ctx = MockContext()``
unless its ``setup`` builds another. ``code`` is an expression or statements that set
``result``; ``observe`` lists expressions evaluated afterwards (what was recorded).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import traceback
import warnings

sys.path.insert(0, __file__.rsplit("/", 1)[0])

from encode import encode


def namespace(sdk_name: str) -> dict:
    sdk = importlib.import_module(sdk_name)
    ns = {name: getattr(sdk, name) for name in sdk.__all__}
    ns["sdk"] = sdk
    for sub in ("testing", "events", "dashboard", "responses"):
        with contextlib.suppress(ImportError):  # older SDKs lack some modules
            ns[sub] = importlib.import_module(f"{sdk_name}.{sub}")
    testing = ns.get("testing")
    if testing is not None:
        ns.update(MockContext=testing.MockContext, MockClock=testing.MockClock, make_event=testing.make_event)
    return ns


def run(code: str, scope: dict) -> object:
    try:
        return eval(compile(code, "<case>", "eval"), scope)
    except SyntaxError:
        exec(compile(code, "<case>", "exec"), scope)
        return scope.get("result")


def outcome(code: str, scope: dict) -> dict:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = run(code, scope)
        out: dict = {"value": encode(value)}
        if caught:
            out["warnings"] = [w.category.__name__ for w in caught if w.category is not DeprecationWarning]
            if not out["warnings"]:
                del out["warnings"]
        return out
    except Exception as exc:
        out = {"raised": encode(exc)}
        if not out["raised"].get("sdk_error"):
            out["traceback"] = traceback.format_exc()[-600:]
        return out


def main() -> None:
    sdk_name = sys.argv[1] if len(sys.argv) > 1 else "yourbot_sdk"
    cases = json.load(sys.stdin)
    base = namespace(sdk_name)
    results = {}
    for case in cases:
        scope = dict(base)
        setup = case.get("setup", "ctx = MockContext()" if "MockContext" in base else "")
        try:
            run(setup, scope)
        except Exception as exc:
            results[case["id"]] = {"setup_failed": encode(exc), "traceback": traceback.format_exc()[-600:]}
            continue
        result = outcome(case["code"], scope)
        observed = {}
        for expr in case.get("observe", ()):
            observed[expr] = outcome(expr, scope)
        if observed:
            result["observed"] = observed
        results[case["id"]] = result
    json.dump(results, sys.stdout, sort_keys=True, ensure_ascii=False)


if __name__ == "__main__":
    main()
