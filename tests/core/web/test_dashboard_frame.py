"""The iframe dashboard's path check and file policy (test_console_browser.py shows them at work in Chromium)."""

from __future__ import annotations

import pytest

from maidcore.web.console.dashboard_frame import frame_csp, safe_relative


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../manifest.json",
        "a/../../x.js",
        "./index.html",
        "a//b.js",
        "..\\x.js",
        "c:/x.js",
        "a\x00.js",
        "x" * 513,
    ],
)
def test_a_path_that_could_leave_dashboard_is_refused(path):
    assert safe_relative(path) is None


def test_plain_relative_paths_are_kept():
    assert safe_relative("index.html") == "index.html"
    assert safe_relative("assets/app.v2.js") == "assets/app.v2.js"


def test_the_frame_policy_sandboxes_and_allows_only_its_own_files():
    csp = frame_csp("https://console.example", "/servers/1/plugins/p/dashboard/frame/t/")
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["sandbox"] == "allow-scripts"  # no allow-same-origin: an opaque origin even opened directly
    assert directives["default-src"] == directives["connect-src"] == directives["form-action"] == "'none'"
    assert directives["script-src"] == "https://console.example/servers/1/plugins/p/dashboard/frame/t/"
    assert directives["frame-ancestors"] == "https://console.example"
