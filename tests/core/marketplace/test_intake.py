"""Intake refuses hazards before writing, streams within limits, and leaves nothing behind."""

from __future__ import annotations

import os
import zipfile

import pytest
from mmo_maid_sdk._validate import Limits

from maidcore.layers import Severity
from maidcore.marketplace.intake import unpack_bundle
from tests.extensions.maidcore_review.bundles import (
    SYMLINK,
    make_zip,
    patch_entry,
    special_entry,
    write_plugin,
    zip_dir,
)


def leftovers(parent):
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


def test_a_good_zip_unpacks_exactly_its_files(tmp_path):
    src = zip_dir(write_plugin(tmp_path / "src"), tmp_path / "b.zip")
    result = unpack_bundle(src, tmp_path / "out" / "bundle")
    assert result.ok and result.findings == []
    assert sorted(p.name for p in (tmp_path / "out" / "bundle").iterdir()) == [
        "__main__.py",
        "dice.py",
        "manifest.json",
        "requirements.txt",
    ]
    assert result.bundle().manifest["id"] == "dice_roller"
    assert leftovers(tmp_path / "out") == ["bundle"]  # no staging directory left


@pytest.mark.parametrize(
    ("entries", "code", "words"),
    [
        ([("../escape.py", b"x")], "unsafe_path", "'..'"),
        ([("/abs.py", b"x")], "unsafe_path", "absolute"),
        ([(special_entry("link", SYMLINK), b"/etc/passwd")], "unsafe_path", "symbolic link"),
        ([("DICE.PY", b"x")], "unsafe_path", "case-insensitive"),
    ],
)
def test_hazards_are_refused_before_anything_is_written(tmp_path, entries, code, words):
    src = make_zip(tmp_path / "b.zip", entries)
    result = unpack_bundle(src, tmp_path / "out" / "bundle")
    assert not result.ok
    [finding] = [f for f in result.findings if f.severity == Severity.ERROR]
    assert finding.code == code and words in finding.message
    assert leftovers(tmp_path / "out") == []
    assert not (tmp_path / "escape.py").exists()


def test_sizes_are_counted_while_streaming_not_taken_from_headers(tmp_path):
    src = make_zip(tmp_path / "b.zip", [("data.txt", os.urandom(50_000))])
    patch_entry(src, "data.txt", file_size=10)  # the header lies: says 10 bytes
    result = unpack_bundle(src, tmp_path / "out" / "bundle")
    assert not result.ok
    assert leftovers(tmp_path / "out") == []


def test_the_unpacked_limit_holds_even_when_each_entry_is_small(tmp_path):
    src = make_zip(tmp_path / "b.zip", [(f"d/{i}.txt", os.urandom(3000)) for i in range(10)])
    result = unpack_bundle(src, tmp_path / "out" / "bundle", Limits(max_unpacked=20_000))
    assert [f.code for f in result.findings] == ["bundle_too_large"]
    assert "unpacks to" in result.findings[0].message
    assert leftovers(tmp_path / "out") == []


def test_junk_is_left_out_with_a_warning(tmp_path):
    src = make_zip(
        tmp_path / "b.zip", [("__pycache__/dice.cpython-311.pyc", b"\0"), ("evil.pyc", b"\0"), (".git/HEAD", b"x")]
    )
    result = unpack_bundle(src, tmp_path / "out")
    assert result.ok
    assert sorted(f.path for f in result.findings if f.code == "junk_file") == [
        ".git/HEAD",
        "__pycache__/dice.cpython-311.pyc",
        "evil.pyc",
    ]
    assert not (tmp_path / "out" / "evil.pyc").exists()  # a sourceless .pyc would run unreviewed code
    assert not (tmp_path / "out" / "__pycache__").exists()


def test_a_directory_is_copied_as_mmo_bundle_would_ship_it(tmp_path):
    root = write_plugin(
        tmp_path / "src", files={"tests/test_x.py": "import pytest\n", ".env": "SECRET=1", "venv/x.py": ""}
    )
    result = unpack_bundle(root, tmp_path / "out")
    assert result.ok
    assert not (tmp_path / "out" / "tests").exists()
    assert not (tmp_path / "out" / ".env").exists()
    assert not (tmp_path / "out" / "venv").exists()


def test_a_symlink_in_a_directory_is_refused(tmp_path):
    root = write_plugin(tmp_path / "src")
    (root / "passwd").symlink_to("/etc/passwd")
    result = unpack_bundle(root, tmp_path / "out")
    assert not result.ok and result.findings[0].code == "unsafe_path"
    assert not (tmp_path / "out").exists()


def test_it_never_unpacks_over_existing_files(tmp_path):
    src = zip_dir(write_plugin(tmp_path / "src"), tmp_path / "b.zip")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        unpack_bundle(src, tmp_path / "out")
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_an_empty_zip_names_both_missing_files(tmp_path):
    src = tmp_path / "empty.zip"
    zipfile.ZipFile(src, "w").close()
    result = unpack_bundle(src, tmp_path / "out")
    assert sorted(f.code for f in result.findings) == ["entry_missing", "manifest_missing"]


def test_a_zip_of_thousands_of_junk_entries_is_refused_outright(tmp_path):
    src = make_zip(tmp_path / "b.zip", [(f"__pycache__/m{i}.pyc", b"") for i in range(1200)])
    result = unpack_bundle(src, tmp_path / "out")
    assert [f.code for f in result.findings] == ["bundle_too_large"]
    assert "1204 entries" in result.findings[0].message
