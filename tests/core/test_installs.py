"""Installs on the real embedded storage: bundles copied, records stored, grants applied and told to the runner."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from maidcore import installs
from maidcore.installs import InstallError
from maidcore.platform import Platform
from maidcore.records import VersionStatus
from maidcore.settings import load_settings
from tests.core.plugins import write_plugin, zip_plugin


class ChangeLog:
    """Stands in for the runner: records the install_changed calls (the runner is tested by its owner)."""

    def __init__(self) -> None:
        self.changed: list[tuple[str, str]] = []

    async def install_changed(self, server_id: str, plugin_id: str) -> None:
        self.changed.append((server_id, plugin_id))


@pytest.fixture
def pg_database(pg_fresh_url):
    """A fresh database on the session's PostgreSQL server, dropped afterwards."""
    return pg_fresh_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage_settings(request):
    if request.param == "sqlite":
        return {"database_url": "sqlite://"}
    return {"database_url": request.getfixturevalue("pg_database")}


@pytest.fixture
async def platform(tmp_path, storage_settings):
    platform = Platform(load_settings(data_dir=tmp_path / "data", storage=storage_settings))
    await platform.open_storage()
    platform.runner = ChangeLog()
    yield platform
    await platform.close()


async def test_install_directory_copies_bundle_and_stores_records(platform, tmp_path):
    source = write_plugin(tmp_path / "src")
    record = await installs.install(platform, source, "111", ["discord:send_message"])
    assert record.granted == {"discord:send_message"}
    bundle = platform.data_dir / "bundles" / "pinger" / "1.0.0"
    assert (bundle / "__main__.py").read_text() == (source / "__main__.py").read_text()
    version = await platform.records.get_version("pinger", "1.0.0")
    assert version.status is VersionStatus.PUBLISHED
    assert version.review_note == "installed locally"
    assert version.bundle_path == str(bundle)
    assert version.manifest["id"] == "pinger"
    assert (await platform.records.get_plugin("pinger")).plugin_id == "pinger"
    assert await platform.records.get_install("111", "pinger") == record
    assert platform.runner.changed == [("111", "pinger")]


async def test_install_zip_through_intake(platform, tmp_path):
    archive = zip_plugin(write_plugin(tmp_path / "src", version="2.0.0"), tmp_path / "pinger.zip")
    record = await installs.install(platform, archive, "222", installs.ALL)
    assert record.version == "2.0.0"
    assert record.granted == {"discord:send_message", "storage:kv", "discord:ban_members"}
    assert (platform.data_dir / "bundles" / "pinger" / "2.0.0" / "manifest.json").is_file()


async def test_requested_but_not_granted_stays_blocked_until_granted(platform, tmp_path):
    record = await installs.install(platform, write_plugin(tmp_path / "src"), "111", ["storage:kv"])
    requested = await installs.requested_capabilities(platform, record)
    assert installs.describe(record, requested)["blocked"] == ["discord:ban_members", "discord:send_message"]
    record = await installs.grant(platform, "111", "pinger", ["discord:send_message"])
    assert record.granted == {"storage:kv", "discord:send_message"}
    assert (await platform.records.get_install("111", "pinger")).granted == record.granted
    record = await installs.grant(platform, "111", "pinger", ["storage:kv"], revoke=True)
    assert record.granted == {"discord:send_message"}
    assert platform.runner.changed == [("111", "pinger")] * 3  # install, grant, revoke: each told live


async def test_grant_all_grants_effective_capabilities(platform, tmp_path):
    source = write_plugin(tmp_path / "src", slash_commands=[{"name": "ping", "description": "Ping"}])
    await installs.install(platform, source, "111")
    record = await installs.grant(platform, "111", "pinger", installs.ALL)
    assert "interaction:respond" in record.granted  # auto-added by slash_commands


async def test_unknown_and_unrequested_grants_are_refused(platform, tmp_path):
    source = write_plugin(tmp_path / "src")
    with pytest.raises(InstallError, match=r"unknown capability storage:kvv; known: "):
        await installs.install(platform, source, "111", ["storage:kvv"])
    with pytest.raises(InstallError, match=r"pinger 1.0.0 does not request storage:sql; it requests: discord:ban"):
        await installs.install(platform, source, "111", ["storage:sql"])
    assert await platform.records.get_install("111", "pinger") is None  # nothing half-done


async def test_invalid_manifest_names_the_field(platform, tmp_path):
    source = write_plugin(tmp_path / "src", slash_commands=[{"name": "ban", "description": "x"}])
    with pytest.raises(InstallError, match=r"slash_commands\[0\].name: 'ban' is reserved"):
        await installs.install(platform, source, "111")


async def test_refused_bundle_reports_the_intake_findings(platform, tmp_path):
    source = write_plugin(tmp_path / "src")
    (source / "__main__.py").unlink()
    with pytest.raises(InstallError, match="was refused"):
        await installs.install(platform, source, "111")
    with pytest.raises(InstallError, match="does not exist"):
        await installs.install(platform, tmp_path / "nowhere", "111")


async def test_server_id_must_be_a_snowflake(platform, tmp_path):
    with pytest.raises(InstallError, match=r"decimal snowflake\), got .my-guild."):
        await installs.install(platform, write_plugin(tmp_path / "src"), "my-guild")


async def test_a_stored_version_never_changes(platform, tmp_path):
    source = write_plugin(tmp_path / "src")
    await installs.install(platform, source, "111")
    await installs.install(platform, source, "222")  # same content: reused
    (source / "__main__.py").write_text("# changed\n" + (source / "__main__.py").read_text())
    with pytest.raises(InstallError, match=r"bump 'version' in manifest\.json"):
        await installs.install(platform, source, "333")


async def test_a_local_version_takes_new_content_only_when_asked_and_a_reviewed_one_never(platform, tmp_path):
    source = write_plugin(tmp_path / "src")
    await installs.install(platform, source, "111")
    (source / "__main__.py").write_text("# changed\n" + (source / "__main__.py").read_text())
    await installs.install(platform, source, "111", replace=True)  # replay / development
    stored = await platform.records.get_version("pinger", "1.0.0")
    assert (platform.data_dir / "bundles" / "pinger" / "1.0.0" / "__main__.py").read_text().startswith("# changed")
    await platform.records.update_version(replace(stored, review_note="approved by rita"))
    (source / "__main__.py").write_text("# changed again\n")
    with pytest.raises(InstallError, match=r"bump 'version' in manifest\.json"):
        await installs.install(platform, source, "111", replace=True)


async def test_upgrade_keeps_grants_the_new_version_still_requests(platform, tmp_path):
    await installs.install(platform, write_plugin(tmp_path / "v1"), "111", ["storage:kv", "discord:ban_members"])
    v2 = write_plugin(tmp_path / "v2", version="1.1.0", capabilities_required=["storage:kv"])
    record = await installs.install(platform, v2, "111")
    assert (record.version, record.granted) == ("1.1.0", {"storage:kv"})


async def test_uninstall_removes_the_install_and_keeps_the_bundle(platform, tmp_path):
    await installs.install(platform, write_plugin(tmp_path / "src"), "111")
    await installs.uninstall(platform, "111", "pinger")
    assert await platform.records.get_install("111", "pinger") is None
    assert (platform.data_dir / "bundles" / "pinger" / "1.0.0").is_dir()
    with pytest.raises(InstallError, match=r"'pinger' is not installed on server 111; installed there: nothing"):
        await installs.uninstall(platform, "111", "pinger")
    assert platform.runner.changed[-1] == ("111", "pinger")


async def test_disable_and_enable(platform, tmp_path):
    await installs.install(platform, write_plugin(tmp_path / "src"), "111")
    assert (await installs.set_enabled(platform, "111", "pinger", False)).enabled is False
    assert (await platform.records.get_install("111", "pinger")).enabled is False
    assert (await installs.set_enabled(platform, "111", "pinger", True)).enabled is True


async def test_describe_is_json(platform, tmp_path):
    record = await installs.install(platform, write_plugin(tmp_path / "src"), "111", ["storage:kv"])
    data = json.loads(json.dumps(installs.describe(record, await installs.requested_capabilities(platform, record))))
    assert data["granted"] == ["storage:kv"] and data["plugin_id"] == "pinger"


async def test_a_rejected_version_is_not_installed(platform, tmp_path):
    await installs.install(platform, write_plugin(tmp_path / "src"), "111")
    version = await platform.records.get_version("pinger", "1.0.0")
    await platform.records.update_version(replace(version, status=VersionStatus.REJECTED, review_note="uses eval"))
    with pytest.raises(InstallError, match=r"rejected by review \(uses eval\)"):
        await installs.install(platform, write_plugin(tmp_path / "src"), "222")


@pytest.mark.postgres
async def test_an_install_on_one_node_reaches_the_runner_of_another(tmp_path, pg_database):
    """Two nodes share PostgreSQL: the second node's install watcher hands the first node's change to its runner."""
    node_a = Platform(load_settings(data_dir=tmp_path / "a", storage={"database_url": pg_database}))
    node_b = Platform(load_settings(data_dir=tmp_path / "b", storage={"database_url": pg_database}))
    for node in (node_a, node_b):
        await node.open_storage()
        node.runner = ChangeLog()
    try:
        await node_b.check_installs()  # baseline
        await installs.install(node_a, write_plugin(tmp_path / "src", plugin_id="shared"), "777", ["storage:kv"])
        assert ("777", "shared") in await node_b.check_installs()
        assert node_b.runner.changed == [("777", "shared")]
        await installs.grant(node_a, "777", "shared", ["discord:send_message"])
        assert await node_b.check_installs() == [("777", "shared")]
        await installs.uninstall(node_a, "777", "shared")
        assert await node_b.check_installs() == [("777", "shared")]
        assert node_b.runner.changed == [("777", "shared")] * 3
    finally:
        await node_a.close()
        await node_b.close()


async def test_requirements_are_prepared_for_the_sandbox_and_bad_ones_refused(tmp_path, storage_settings):
    platform = Platform(load_settings(data_dir=tmp_path / "data", storage=storage_settings, sandbox_backend="process"))
    await platform.open_storage()
    platform.runner = ChangeLog()
    try:
        source = write_plugin(tmp_path / "src")
        (source / "requirements.txt").write_text("mmo-maid-sdk>=0.5.5,<0.6  # satisfied by the platform\n")
        await installs.install(platform, source, "111")
        assert (await platform.records.get_version("pinger", "1.0.0")).site_path is None  # nothing to install

        bad = write_plugin(tmp_path / "bad", version="2.0.0")
        (bad / "requirements.txt").write_text("-e ./somewhere\n")
        with pytest.raises(
            InstallError, match=r"requirements of pinger 2.0.0 could not be installed: .*-e ./somewhere"
        ):
            await installs.install(platform, bad, "111")
        assert not (platform.data_dir / "bundles" / "pinger" / "2.0.0").exists()
        assert (await platform.records.get_install("111", "pinger")).version == "1.0.0"
    finally:
        await platform.close()


async def test_a_slash_command_clash_with_another_plugin_on_the_server_is_refused(platform, tmp_path):
    ping = [{"name": "ping", "description": "Ping"}]
    await installs.install(platform, write_plugin(tmp_path / "a", "pinger", slash_commands=ping), "111")
    copycat = write_plugin(tmp_path / "b", "copycat", slash_commands=ping)
    with pytest.raises(InstallError, match=r"/ping of plugin 'copycat' clashes with /ping of plugin 'pinger'"):
        await installs.install(platform, copycat, "111")
    assert await platform.records.get_install("111", "copycat") is None
    # Another server has no /ping yet, and a plugin upgrading itself never clashes with itself.
    assert (await installs.install(platform, copycat, "222")).plugin_id == "copycat"
    v2 = write_plugin(tmp_path / "a2", "pinger", version="1.1.0", slash_commands=ping)
    assert (await installs.install(platform, v2, "111")).version == "1.1.0"


async def test_demo_mode_does_not_reinstall_an_example_the_user_uninstalled(tmp_path, pg_fresh_url):
    from maidcore.cli.serve import install_demo
    from tests.core.marketplace.platforms import open_platform

    examples = tmp_path / "examples"
    write_plugin(examples / "pinger", "pinger")
    write_plugin(examples / "quiz", "quiz")
    guild = "900000000000000001"

    async def restart() -> list[str]:
        platform = await open_platform(tmp_path / "data", storage={"database_url": pg_fresh_url})
        try:
            return await install_demo(platform, guild, examples)
        finally:
            await platform.close()

    assert await restart() == ["pinger", "quiz"]
    platform = await open_platform(tmp_path / "data", storage={"database_url": pg_fresh_url})
    try:
        await installs.uninstall(platform, guild, "quiz")
    finally:
        await platform.close()
    assert await restart() == ["pinger"]  # quiz stays uninstalled
    write_plugin(examples / "dice", "dice")  # an example added later is still offered once
    assert await restart() == ["dice", "pinger"]
    assert await restart() == ["dice", "pinger"]


async def test_an_install_on_a_guild_the_emulator_does_not_have_is_refused(tmp_path, pg_fresh_url, monkeypatch):
    from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
    from maidcore_discord.local import STATE_FILE

    from tests.core.marketplace.platforms import open_platform

    monkeypatch.delenv("MAIDCORE_DISCORD__TOKEN", raising=False)
    data_dir = tmp_path / "data"
    platform = await open_platform(data_dir, storage={"database_url": pg_fresh_url})
    try:
        # before the emulator first ran nothing is known: nothing is refused
        await installs.install(platform, write_plugin(tmp_path / "early", "early"), "111111111111111111", installs.ALL)
        async with Emulator("127.0.0.1", 0, state_file=data_dir / STATE_FILE):
            pass  # `maidcore serve` ran once: the emulator's guilds are on disk
        with pytest.raises(InstallError) as refused:
            await installs.install(platform, write_plugin(tmp_path / "p", "pinger"), "111111111111111111", installs.ALL)
        assert str(refused.value) == (
            f"server 111111111111111111 is not a guild of the Discord emulator (its guilds: {DEMO_GUILD_ID} "
            "(maidcore demo)); install on one of those, or add the guild on the emulator's page first"
        )
        assert await platform.records.get_install("111111111111111111", "pinger") is None
        record = await installs.install(platform, write_plugin(tmp_path / "p", "pinger"), DEMO_GUILD_ID, installs.ALL)
        assert record.server_id == DEMO_GUILD_ID
    finally:
        await platform.close()
