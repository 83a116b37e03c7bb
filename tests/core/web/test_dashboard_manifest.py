"""Reading dashboard manifests: exactly what the official builder emits, the contract's form, schema 2, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from maidcore.web.console.dashboard_manifest import parse
from maidcore.web.console.dashboards import clean_values
from maidcore.web.console.viewer import Level
from tests.official_sdks import NEWEST, official_python_or_skip

PLUGINS = Path(__file__).parent / "plugins"
GALLERY = json.loads((PLUGINS / "widget_gallery" / "dashboard_manifest.json").read_text())


def test_the_gallery_holds_exactly_what_the_official_builder_emits():
    python = official_python_or_skip(*NEWEST)
    done = subprocess.run(
        [str(python), "-W", "ignore", str(PLUGINS / "gallery_builder.py")], capture_output=True, text=True, check=True
    )
    built = json.loads(done.stdout)
    assert built == {"pages": GALLERY["pages"][:1]}  # page 2 is schema 2, written by hand


def test_every_builder_widget_and_field_is_read():
    board = parse(GALLERY)
    assert board.problems == [] and board.schema == 2
    overview, more = board.pages
    kinds = [w.type for w in overview.widgets]
    assert kinds == ["stat_card"] * 4 + ["chart"] * 4 + [
        "progress_bar",
        "table",
        "text",
        "alert",
        "list",
        "markdown",
        "form",
    ]
    charts = [w.options["chart_type"] for w in overview.widgets if w.type == "chart"]
    assert charts == ["line", "bar", "pie", "gauge"]
    members = board.widget("w1")
    assert (members.rpc, members.width, members.refresh_seconds) == ("members", "third", 30)
    assert members.permission == Level.VIEWER
    assert board.widget("w4").permission == Level.OWNER  # "Owners only"
    form = overview.widgets[-1]
    assert (form.rpc, form.save_rpc, form.permission) == ("load_settings", "save_settings", Level.MANAGER)
    assert [f["type"] for f in form.fields] == (
        ["text", "textarea", "number", "toggle", "color", "date", "range", "select", "multi_select", "channel", "role"]
    )
    assert form.fields[0]["required"] and form.fields[0]["placeholder"] == "Hello!"
    assert form.fields[8]["options"] == [
        {"value": "xp", "label": "XP"},
        {"value": "quests", "label": "Quests"},
        {"value": "shop", "label": "shop"},
    ]
    assert [c["key"] for c in board.widget("w10").options["columns"]] == ["name", "score"]
    assert [w.type for w in more.widgets] == (
        [
            "heading",
            "image",
            "key_value",
            "divider",
            "timeline",
            "badge_list",
            "user_list",
            "action_button",
            "section",
            "tabs",
        ]
    )
    section, tabs = more.widgets[-2:]
    assert [w.rpc for w in section.children] == ["messages_today"]
    assert [t.title for t in tabs.tabs] == ["First tab", "Second tab"]
    assert board.page_of(tabs.tabs[1].widgets[0].address) is more
    assert more.widgets[7].permission == Level.MANAGER  # an action button changes things


def test_the_contract_form_of_a_manifest_is_read_too():
    board = parse(
        {
            "pages": [
                {
                    "id": "p",
                    "title": "P",
                    "widgets": [
                        {"id": "s", "type": "stat_card", "title": "S", "rpc_method": "dashboard.total"},
                        {
                            "id": "f",
                            "type": "form",
                            "title": "F",
                            "rpc_method": "dashboard.load",
                            "save_method": "dashboard.save",
                            "fields": [{"name": "channel", "label": "Channel", "type": "channel"}],
                        },
                    ],
                }
            ]
        }
    )
    stat, form = board.pages[0].widgets
    assert stat.rpc == "total" and (form.rpc, form.save_rpc) == ("load", "save")
    assert form.fields == [{"key": "channel", "label": "Channel", "type": "channel", "required": False, "options": []}]


def test_bad_entries_become_problems_and_never_errors():
    board = parse(
        {
            "pages": [
                {
                    "id": "p",
                    "title": "P",
                    "widgets": [
                        {"id": "a", "type": "hologram", "rpc_method": "x"},
                        {"id": "b", "type": "stat_card", "rpc_method": "x", "width": "huge", "refresh_seconds": 1},
                        {
                            "id": "c",
                            "type": "text",
                            "rpc_method": "x",
                            "permission": "everyone",
                            "refresh_seconds": 9e9,
                        },
                        {"id": "d", "type": "table"},
                        "nonsense",
                    ],
                },
                "not a page",
            ]
        }
    )
    assert [w.id for w in board.pages[0].widgets] == ["b", "c", "d"]
    b, c, _ = board.pages[0].widgets
    assert (b.width, b.refresh_seconds) == ("full", 5) and (c.permission, c.refresh_seconds) == (Level.MANAGER, 3600)
    text = "\n".join(board.problems)
    problems = ("unknown widget type 'hologram'", "width 'huge'", "permission 'everyone'", "names no rpc_method")
    for expected in (*problems, "must be an object"):
        assert expected in text
    assert parse({"nope": 1}).problems and parse({"mode": "iframe", "pages": []}).iframe


def test_form_values_are_checked_against_their_fields():
    form = parse(GALLERY).pages[0].widgets[-1]
    choices = {"channels": [{"id": "10", "name": "general"}], "roles": [{"id": "20", "name": "Mods"}]}
    good = {
        "greeting": "Hi",
        "rules": "",
        "max_warnings": "4",
        "enabled": "on",
        "accent": "#112233",
        "season_start": "2026-03-01",
        "volume": "55",
        "language": "fr",
        "features": ["xp", "shop"],
        "log_channel": "10",
        "mod_role": "20",
    }
    assert clean_values(form, good, choices) == {
        **good,
        "rules": None,
        "max_warnings": 4,
        "enabled": True,
        "volume": 55,
    }
    bad = [
        ({"greeting": ""}, "Greeting is required"),
        ({"max_warnings": "99"}, "between 1 and 10"),
        ({"accent": "red"}, "colour"),
        ({"season_start": "tomorrow"}, "YYYY-MM-DD"),
        ({"language": "de"}, "one of its options"),
        ({"features": ["xp", "admin"]}, "chosen from its options"),
        ({"log_channel": "999"}, "channel of this server"),
        ({"mod_role": "999"}, "role of this server"),
    ]
    for change, message in bad:
        with pytest.raises(ValueError, match=message):
            clean_values(form, {**good, **change}, choices)
