"""requirements.txt: one parser decides what review accepts (``requirements_invalid``) and what the
platform's installers install; each refused form has its own reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mmo_maid_sdk._validate import (
    Bundle,
    Requirement,
    RequirementError,
    parse_requirement,
    requirement_lines,
    requirements,
    validate,
)

ACCEPTED = {
    "requests": "requests",
    "requests>=2.31,<3": "requests>=2.31,<3",
    "Requests[socks, security] (>=2.0, <3)": "Requests[socks,security]>=2.0,<3",
    "foo==1.*": "foo==1.*",
    "bar!=2.0.*": "bar!=2.0.*",
    "baz===weird-1": "baz===weird-1",
    "pkg~=1.4.2": "pkg~=1.4.2",
    "x >= 1.0.post1.dev2+local.7": "x>=1.0.post1.dev2+local.7",
    "x ; python_version < '3.12'": 'x; python_version < "3.12"',
    "x>=1; (sys_platform == 'linux' and python_version>='3.8') or os_name=='nt'": (
        'x>=1; (sys_platform == "linux" and python_version >= "3.8") or os_name == "nt"'
    ),
    "x; sys_platform not in 'win32 cygwin'": 'x; sys_platform not in "win32 cygwin"',
    "x; extra == 'y'": 'x; extra == "y"',
    "zope.interface>=5": "zope.interface>=5",
}


@pytest.mark.parametrize(("line", "normalised"), ACCEPTED.items())
def test_names_extras_specifiers_and_markers_are_accepted_and_normalised(line, normalised):
    assert str(parse_requirement(line)) == normalised


def test_the_key_is_the_canonical_name_and_the_platforms_sdks_are_marked():
    assert parse_requirement("Zope.Interface_X>=5").key == "zope-interface-x"
    assert parse_requirement("mmo_maid.sdk>=0.5.5").provided_by_platform
    assert parse_requirement("YourBot-SDK==0.10.1").provided_by_platform
    assert not parse_requirement("requests").provided_by_platform
    assert parse_requirement("a[b]==1; os_name == 'posix'") == Requirement("a", ("b",), ("==1",), 'os_name == "posix"')


REFUSED = {
    "-r other.txt": "is an option line",
    "--index-url https://evil.example/simple": "is an option line",
    "-e .": "is an option line",
    "https://x.example/y.whl": "is a URL",
    "file:../x": "is a URL",
    "pkg @ file:///x": "is a direct reference",
    "pkg@https://x.example/p.tar.gz": "is a direct reference",
    "git+https://github.com/a/b": "is a VCS reference",
    "pkg @ git+https://x.example/y": "is a VCS reference",
    "hg+http://x.example/y": "is a VCS reference",
    "./local": "is a local path",
    "../sibling": "is a local path",
    "/abs/path": "is a local path",
    "~/x": "is a local path",
    "C:\\x": "is a local path",
    "foo-1.0.zip": "is a local path or archive",
    "dist/foo-1.0.tar.gz": "is a local path or archive",
    "six==1.16 --hash=sha256:abc": "carries an option",
    "six \\": "continues on the next line",
    "${PKG}": "uses an environment variable",
    "x==": "which is not a version",
    "x==1.0bogus": "which is not a version",
    "x>=1,": "',' that is not followed",
    "x (>=1": "without closing it",
    "x y": "where a version specifier or ';' was expected",
    "x; python_version < 3": "values are quoted strings",
    "x; foo == 'a'": "'foo', which is not a marker variable",
    "x; python_version <": "not the end of the line",
    "x; (python_version == '3'": "')' was expected",
}


@pytest.mark.parametrize(("line", "reason"), REFUSED.items())
def test_every_form_that_leaves_the_index_is_refused_with_its_reason(line, reason):
    with pytest.raises(RequirementError) as caught:
        parse_requirement(line)
    assert reason in str(caught.value) and repr(line) in str(caught.value)


def test_comments_follow_pips_rule():
    text = "# deps\n\nrequests  # pinned later\nx#y\n  -r a  \n"
    assert list(requirement_lines(text)) == [(3, "requests"), (4, "x#y"), (5, "-r a")]


def plugin(tmp_path: Path, requirements_txt: str) -> Path:
    root = tmp_path / "plugin"
    root.mkdir(parents=True)
    manifest = {"id": "deps_probe", "name": "Deps Probe", "version": "1.0.0", "description": "d", "author": "a"}
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "__main__.py").write_text(
        "from mmo_maid_sdk import Plugin\n\nplugin = Plugin()\n\nif __name__ == '__main__':\n    plugin.run()\n"
    )
    (root / "requirements.txt").write_text(requirements_txt)
    return root


def test_review_reports_each_refused_line_where_it_is(tmp_path):
    root = plugin(tmp_path, "requests>=2\nleaky @ file:///src\n# fine\n-e ../x\nsix==1.16.0\n")
    invalid = [f for f in validate(root) if f.code == "requirements_invalid"]
    assert [(f.path, f.line, f.severity) for f in invalid] == [
        ("requirements.txt", 2, "error"),
        ("requirements.txt", 4, "error"),
    ]
    assert "is a direct reference" in invalid[0].message and "is an option line" in invalid[1].message


def test_what_is_installed_leaves_out_the_platforms_sdks_and_keeps_refused_lines_for_the_installer(tmp_path):
    root = plugin(tmp_path, "mmo-maid-sdk>=0.5.5\nyourbot-sdk==0.10.1\nrequests\n./local\n")
    assert requirements(Bundle.unpacked(root)) == ["requests", "./local"]
    assert not [f for f in validate(plugin(tmp_path / "ok", "yourbot-sdk\nrequests\n")) if f.severity == "error"]
