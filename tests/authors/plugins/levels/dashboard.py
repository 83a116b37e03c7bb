"""Builds dashboard_manifest.json: python dashboard.py"""

import json
from pathlib import Path

from yourbot_sdk.dashboard import Chart, Column, Form, Manifest, Page, StatCard, Table


def build():
    overview = Page("Overview", id="overview")
    overview.add(StatCard("Ranked members", rpc="members", width="quarter"))
    overview.add(Chart.line("XP per day", rpc="xp_chart", width="two_thirds"))
    overview.add(Table("Top 10", rpc="top_table", columns=[Column("name", "Member"), Column("xp", "XP")]))
    form = Form(rpc="load_settings", save_rpc="save_settings", title="Rewards")
    form.toggle("Announce level-ups", key="announce")
    form.role_picker("Reward role", key="reward_role")
    form.number("Reward level", key="reward_level")
    return Manifest(pages=[overview, Page("Settings", id="settings").add(form)])


if __name__ == "__main__":
    Path(__file__).with_name("dashboard_manifest.json").write_text(json.dumps(build().to_json(), indent=2) + "\n")
