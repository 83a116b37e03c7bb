"""Builds widget_gallery's dashboard with the official SDK's ``dashboard`` builder (run on the official wheel).

``test_dashboard_manifest.py`` runs this on the newest official wheel and checks that the
committed ``widget_gallery/dashboard_manifest.json`` holds exactly what it prints as its
first page; the second page (schema 2 widgets, which the builder has no classes for) is
written by hand.
"""

import json

from yourbot_sdk.dashboard import (
    Alert,
    Chart,
    Column,
    Form,
    List,
    Manifest,
    Markdown,
    Option,
    Page,
    ProgressBar,
    StatCard,
    Table,
    Text,
)

form = (
    Form(rpc="load_settings", save_rpc="save_settings", title="Settings", id="settings", permission="manager")
    .text("Greeting", key="greeting", required=True, placeholder="Hello!", help_text="Posted to new members")
    .textarea("Rules", key="rules")
    .number("Max warnings", key="max_warnings", min=1, max=10, step=1)
    .toggle("Enabled", key="enabled")
    .color("Accent colour", key="accent")
    .date("Season start", key="season_start")
    .range("Volume", key="volume", min=0, max=100, step=5)
    .select("Language", key="language", options=[Option("en", "English"), Option("fr", "Français")])
    .multi_select("Features", key="features", options=[Option("xp", "XP"), Option("quests", "Quests"), "shop"])
    .channel_picker("Log channel", key="log_channel")
    .role_picker("Moderator role", key="mod_role")
)
manifest = Manifest(
    pages=[
        Page(
            "Overview",
            widgets=[
                StatCard("Members", rpc="members", icon="users", refresh_seconds=30),
                StatCard("Messages today", rpc="messages_today", width="quarter"),
                StatCard("Broken", rpc="broken", width="quarter"),
                StatCard("Owners only", rpc="owner_stat", width="quarter", permission="owner"),
                Chart.line("Activity", rpc="activity"),
                Chart.bar("By channel", rpc="by_channel", chart_options={"stacked": True}),
                Chart.pie("Roles", rpc="roles_pie", width="third"),
                Chart.gauge("Load", rpc="load", width="third"),
                ProgressBar("Season goal", rpc="goal", width="third"),
                Table("Top members", rpc="top", columns=[Column("name", "Name"), Column("score", "Score")]),
                Text("About", rpc="about", width="half"),
                Alert("Status", rpc="status", width="half"),
                List("Recent", rpc="recent"),
                Markdown("Notes", rpc="notes", width="half"),
                form,
            ],
        )
    ]
)
print(json.dumps(manifest.to_json(), indent=2))
