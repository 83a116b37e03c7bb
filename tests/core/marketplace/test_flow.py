"""From upload to running servers: statuses, human review, atomic publishing, installs and upgrades."""

from __future__ import annotations

from pathlib import Path

import pytest

from maidcore.marketplace import publishing, review, upgrades
from maidcore.marketplace.errors import Conflict, Forbidden, MarketplaceError, PublishFailed, Refused
from maidcore.marketplace.versions import latest_published
from maidcore.records import VersionStatus
from tests.extensions.maidcore_review.bundles import BASE_MAIN, make_zip, manifest, write_plugin, zip_dir
from tests.package_index import make_wheel, serve_index

CAPS = ["discord:send_message", "storage:kv"]
SHOWN = {"discord:send_message", "storage:kv", "interaction:respond"}  # + auto-added by the slash command
SERVER = "111111111111111111"
OTHER_SERVER = "222222222222222222"


def version_dir(tmp_path: Path, version: str, caps=CAPS, main=BASE_MAIN, **files) -> Path:
    return write_plugin(
        tmp_path / f"src-{version}",
        manifest_data=manifest(version=version, capabilities_required=list(caps)),
        files={"__main__.py": main, **files},
    )


async def published(platform, tmp_path, version="1.0.0", **kw):
    record = await review.submit(platform, "jane", version_dir(tmp_path, version, **kw))
    if record.status == VersionStatus.NEEDS_HUMAN_REVIEW:
        record = await review.human_review(platform, "dice_roller", version, reviewer="rita", approve=True, note="")
    assert record.status == VersionStatus.APPROVED, record.findings
    return (await publishing.publish(platform, "dice_roller", version)).version


async def test_a_clean_upload_is_approved_and_stored(platform, tmp_path):
    src = zip_dir(version_dir(tmp_path, "1.0.0"), tmp_path / "b.zip")
    record = await review.submit(platform, "jane", src)
    assert record.status == VersionStatus.APPROVED
    assert Path(record.bundle_path) == platform.data_dir / "bundles" / "dice_roller" / "1.0.0"
    assert (Path(record.bundle_path) / "__main__.py").is_file()
    assert await platform.records.get_version("dice_roller", "1.0.0") == record
    assert (await platform.records.get_plugin("dice_roller")).developer == "jane"
    assert list((platform.data_dir / "uploads").iterdir()) == []


async def test_a_bad_upload_is_rejected_with_its_findings(platform, tmp_path):
    src = version_dir(tmp_path, "1.0.0", main=BASE_MAIN + "\nimport subprocess\n")
    record = await review.submit(platform, "jane", src)
    assert record.status == VersionStatus.REJECTED
    assert any(f["code"] == "forbidden_import" and f["severity"] == "error" for f in record.findings)
    with pytest.raises(Conflict, match="only approved versions"):
        await publishing.publish(platform, "dice_roller", "1.0.0")
    # a rejected version may be fixed and sent again under the same number
    again = await review.submit(platform, "jane", version_dir(tmp_path / "fixed", "1.0.0"))
    assert again.status == VersionStatus.APPROVED


async def test_a_bundle_refused_at_intake_records_nothing(platform, tmp_path):
    src = make_zip(tmp_path / "b.zip", [("../../evil.py", b"x")])
    with pytest.raises(Refused) as info:
        await review.submit(platform, "jane", src)
    assert [f.code for f in info.value.findings] == ["unsafe_path"]
    assert await platform.records.list_plugins() == []
    assert list((platform.data_dir / "uploads").iterdir()) == []


async def test_a_plugin_id_belongs_to_its_first_developer(platform, tmp_path):
    await review.submit(platform, "jane", version_dir(tmp_path, "1.0.0"))
    with pytest.raises(Forbidden, match="belongs to another developer"):
        await review.submit(platform, "mallory", version_dir(tmp_path / "m", "1.0.1"))
    with pytest.raises(Conflict, match="bump"):
        await review.submit(platform, "jane", version_dir(tmp_path / "again", "1.0.0"))


async def test_a_tier_shift_waits_for_a_reviewer(platform, tmp_path):
    await published(platform, tmp_path, "1.0.0")
    ban_main = BASE_MAIN.replace(
        "def daily_summary(ctx):\n", 'def daily_summary(ctx):\n    ctx.discord.ban_member(user_id="1")\n'
    )
    record = await review.submit(
        platform, "jane", version_dir(tmp_path, "1.1.0", caps=[*CAPS, "discord:ban_members"], main=ban_main)
    )
    assert record.status == VersionStatus.NEEDS_HUMAN_REVIEW
    [shift] = [f for f in record.findings if f["code"] == "tier_shift"]
    assert "new capability discord:ban_members (Dangerous)" in shift["message"]
    assert "tier rises from Safe to Dangerous" in shift["message"]
    with pytest.raises(Conflict, match="only approved"):
        await publishing.publish(platform, "dice_roller", "1.1.0")
    with pytest.raises(Conflict, match="needs a note"):
        await review.human_review(platform, "dice_roller", "1.1.0", reviewer="rita", approve=False, note=" ")
    rejected = await review.human_review(
        platform, "dice_roller", "1.1.0", reviewer="rita", approve=False, note="explain why you ban people"
    )
    assert rejected.status == VersionStatus.REJECTED
    assert rejected.review_note == "rejected by rita: explain why you ban people"
    with pytest.raises(Conflict):
        await review.human_review(platform, "dice_roller", "1.1.0", reviewer="rita", approve=True, note="")


async def test_publishing_installs_requirements_for_the_sandbox(platform, tmp_path, monkeypatch):
    async with serve_index() as index:
        index.add("tinydep", make_wheel(tmp_path, "tinydep", "1.0", {"tinydep/__init__.py": "VALUE = 42\n"}))
        monkeypatch.setattr(platform.settings.process, "index_url", index.url)
        record = await _publish_with_tinydep(platform, tmp_path)
    assert record.status == VersionStatus.PUBLISHED
    assert Path(record.site_path) == platform.data_dir / "sites" / "dice_roller" / "1.0.0"
    assert (Path(record.site_path) / "tinydep" / "__init__.py").is_file()
    assert not (Path(record.site_path) / "mmo_maid_sdk").exists()  # the platform's SDK is never installed


async def _publish_with_tinydep(platform, tmp_path):
    return await published(
        platform,
        tmp_path,
        "1.0.0",
        **{
            "requirements.txt": "mmo-maid-sdk>=0.5.5\ntinydep==1.0\n",
            "dice.py": "import tinydep\n\n\ndef roll_value(s):\n    return tinydep.VALUE\n",
        },
    )


async def test_a_failed_publish_leaves_the_previous_version_serving(platform, tmp_path, monkeypatch):
    await published(platform, tmp_path, "1.0.0")
    await upgrades.install_published(platform, SERVER, "dice_roller", SHOWN)
    record = await review.submit(
        platform, "jane", version_dir(tmp_path, "1.0.1", **{"requirements.txt": "tinydep==9.9\n"})
    )
    assert record.status == VersionStatus.APPROVED
    async with serve_index() as index:  # an index without tinydep: nothing can be installed
        monkeypatch.setattr(platform.settings.process, "index_url", index.url)
        with pytest.raises(PublishFailed, match=r"version 1\.0\.0 keeps serving"):
            await publishing.publish(platform, "dice_roller", "1.0.1")
    assert (await platform.records.get_version("dice_roller", "1.0.1")).status == VersionStatus.APPROVED
    assert (await latest_published(platform.records, "dice_roller")).version == "1.0.0"
    assert (await platform.records.get_install(SERVER, "dice_roller")).version == "1.0.0"
    assert list((platform.data_dir / "sites" / "dice_roller").iterdir()) == []  # no half-built site


async def test_install_approves_what_is_shown_or_a_subset_and_nothing_else(platform, tmp_path):
    await published(platform, tmp_path)
    subset = await upgrades.install_published(platform, OTHER_SERVER, "dice_roller", CAPS)
    assert subset.granted == frozenset(CAPS) and "interaction:respond" not in subset.granted  # stays blocked
    platform.runner.changed.clear()
    with pytest.raises(MarketplaceError, match="does not ask for discord:ban_members"):
        await upgrades.install_published(platform, SERVER, "dice_roller", [*SHOWN, "discord:ban_members"])
    install = await upgrades.install_published(platform, SERVER, "dice_roller", SHOWN)
    assert install.version == "1.0.0" and install.granted == SHOWN
    assert platform.runner.changed == [(SERVER, "dice_roller")]
    assert upgrades.shown(SHOWN) == [
        {"capability": "discord:send_message", "tier": "Safe"},
        {"capability": "interaction:respond", "tier": "Safe"},
        {"capability": "storage:kv", "tier": "Safe"},
    ]


async def test_a_version_needing_nothing_new_reaches_installed_servers_at_once(platform, tmp_path):
    await published(platform, tmp_path, "1.0.0")
    await upgrades.install_published(platform, SERVER, "dice_roller", SHOWN)
    await upgrades.install_published(platform, OTHER_SERVER, "dice_roller", SHOWN)
    platform.runner.changed.clear()
    result = await publishing.publish(
        platform, "dice_roller", (await review.submit(platform, "jane", version_dir(tmp_path, "1.0.1"))).version
    )
    assert sorted(result.upgraded) == [SERVER, OTHER_SERVER] and result.pending == []
    for server in (SERVER, OTHER_SERVER):
        install = await platform.records.get_install(server, "dice_roller")
        assert install.version == "1.0.1" and install.granted == SHOWN and install.pending_version is None
    assert sorted(platform.runner.changed) == [(SERVER, "dice_roller"), (OTHER_SERVER, "dice_roller")]


async def test_a_version_needing_more_waits_for_each_server_to_grant(platform, tmp_path):
    await published(platform, tmp_path, "1.0.0")
    await upgrades.install_published(platform, SERVER, "dice_roller", SHOWN)
    await upgrades.install_published(platform, OTHER_SERVER, "dice_roller", SHOWN)
    read_main = BASE_MAIN.replace("def daily_summary(ctx):\n", "def daily_summary(ctx):\n    ctx.discord.get_guild()\n")
    new = await published(platform, tmp_path, "1.1.0", caps=[*CAPS, "discord:read"], main=read_main)
    for server in (SERVER, OTHER_SERVER):
        install = await platform.records.get_install(server, "dice_roller")
        assert (install.version, install.pending_version) == ("1.0.0", "1.1.0")  # the old version keeps running

    requests = await upgrades.upgrade_requests(platform, server_id=SERVER)
    assert requests == [
        {
            "server_id": SERVER,
            "plugin_id": "dice_roller",
            "version": "1.0.0",
            "pending_version": "1.1.0",
            "new_capabilities": [{"capability": "discord:read", "tier": "Safe"}],
        }
    ]
    with pytest.raises(MarketplaceError, match="not approved: discord:read"):
        await upgrades.grant(platform, SERVER, "dice_roller", [])
    platform.runner.changed.clear()
    upgraded = await upgrades.grant(platform, SERVER, "dice_roller", ["discord:read"])
    assert (upgraded.version, upgraded.pending_version) == (new.version, None)
    assert upgraded.granted == SHOWN | {"discord:read"}
    assert platform.runner.changed == [(SERVER, "dice_roller")]  # live, no reinstall

    declined = await upgrades.decline(platform, OTHER_SERVER, "dice_roller")
    assert (declined.version, declined.pending_version) == ("1.0.0", None)
    assert await upgrades.upgrade_requests(platform) == []
    with pytest.raises(Conflict, match="no pending upgrade"):
        await upgrades.decline(platform, OTHER_SERVER, "dice_roller")


async def test_uninstall(platform, tmp_path):
    await published(platform, tmp_path)
    await upgrades.install_published(platform, SERVER, "dice_roller", SHOWN)
    await upgrades.uninstall(platform, SERVER, "dice_roller")
    assert await platform.records.get_install(SERVER, "dice_roller") is None
    with pytest.raises(MarketplaceError, match="not installed"):
        await upgrades.uninstall(platform, SERVER, "dice_roller")


async def test_requirement_installs_report_progress_and_estimate_from_the_last_run(
    platform, tmp_path, monkeypatch, caplog
):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="maidcore.progress")
    files = {"requirements.txt": "tinydep==1.0\n", "dice.py": "import tinydep\n"}
    async with serve_index() as index:
        index.add("tinydep", make_wheel(tmp_path, "tinydep", "1.0", {"tinydep/__init__.py": "VALUE = 42\n"}))
        monkeypatch.setattr(platform.settings.process, "index_url", index.url)
        await published(platform, tmp_path, "1.0.0", **files)
        first = [r.getMessage() for r in caplog.records if r.name == "maidcore.progress"]
        caplog.clear()
        await published(platform, tmp_path, "1.0.1", **files)
        second = [r.getMessage() for r in caplog.records if r.name == "maidcore.progress"]
    assert first[0] == "installing 1 requirement(s) of dice_roller 1.0.0: first run here, no estimate yet"
    assert first[-1].startswith("installing 1 requirement(s) of dice_roller 1.0.0: done in ")
    assert second[0].startswith("installing 1 requirement(s) of dice_roller 1.0.1: about ")
    assert second[0].endswith("(as the last runs here)")
    timed = json.loads((platform.data_dir / "durations.json").read_text())
    assert [len(runs) for runs in timed.values()] == [2]  # one key for this set of requirements, two runs
