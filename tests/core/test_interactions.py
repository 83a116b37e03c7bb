"""Interaction ownership lives in the core: commands, messages, modals and custom_id prefixes route to one plugin."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from maidcore.command_sync import CommandSync
from maidcore.errors import InvalidArgument
from maidcore.interactions import InteractionOwners, MessageOwners, message_owners_file
from maidcore.layers import InteractionOrigin
from maidcore.records import InstallRecord, VersionRecord, VersionStatus
from maidcore.scope import Scope
from maidcore.testing.records import MemoryRecords

SERVER = "111"


async def owners_with(*installs: tuple[str, list[str]]) -> InteractionOwners:
    records = MemoryRecords()
    for plugin, commands in installs:
        manifest = {"slash_commands": [{"name": c, "description": c} for c in commands]}
        await records.add_version(VersionRecord(plugin, "1.0.0", VersionStatus.PUBLISHED, manifest, ""))
        await records.put_install(InstallRecord(SERVER, plugin, "1.0.0", frozenset()))
    return InteractionOwners(CommandSync(lambda: records, lambda: None))


def interaction(kind: int, **fields) -> dict:
    return {"type": "interaction_create", "guild_id": SERVER, "interaction_type": kind, "user_id": "5", **fields}


async def test_a_command_goes_to_the_plugin_declaring_it_even_right_after_its_install():
    owners = await owners_with(("dice", ["roll"]), ("pingpong", ["ping"]))
    assert await owners.owner(interaction(2, command_name="ping", interaction_id="1")) == "pingpong"
    assert await owners.owner(interaction(2, command_name="nothing", interaction_id="2")) is None


async def test_a_component_goes_to_the_sender_of_its_message_or_of_the_response_that_made_it():
    owners = await owners_with(("dice", []), ("pingpong", []))
    owners.message_created(Scope(SERVER, "dice"), "777")
    click = interaction(3, custom_id="again", interaction_id="10")
    assert await owners.owner(click, InteractionOrigin(message_id="777")) == "dice"
    # an ephemeral response: its message id is unknown, the interaction that created it is not
    assert await owners.route(interaction(2, command_name="x", interaction_id="20"), target_plugin="pingpong")
    assert await owners.owner(click, InteractionOrigin("888", message_interaction_id="20")) == "pingpong"
    assert await owners.owner(click, InteractionOrigin("888")) is None


async def test_a_modal_submit_goes_to_the_plugin_that_opened_it_and_prefixes_route_after_a_restart():
    owners = await owners_with(("dice", []), ("pingpong", []))
    await owners.route(interaction(3, custom_id="open", interaction_id="30"), target_plugin="dice")
    owners.modal_opened(owners.answering(Scope(SERVER, "dice"), "30"), "form")
    assert await owners.owner(interaction(5, custom_id="form", interaction_id="31")) == "dice"
    assert await owners.owner(interaction(5, custom_id="form", interaction_id="32", user_id="6")) is None
    assert await owners.owner(interaction(3, custom_id="pingpong:again", interaction_id="33")) == "pingpong"
    assert await owners.owner(interaction(3, custom_id="stranger:again", interaction_id="34")) is None


async def test_only_the_plugin_an_interaction_was_delivered_to_may_answer_it():
    owners = await owners_with(("dice", ["roll"]), ("pingpong", []))
    assert await owners.route(interaction(2, command_name="roll", interaction_id="40")) == "dice"
    assert owners.answering(Scope(SERVER, "dice"), "40").user_id == "5"
    with pytest.raises(InvalidArgument, match="an interaction delivered to this plugin in the last 15 minutes"):
        owners.answering(Scope(SERVER, "pingpong"), "40")
    with pytest.raises(InvalidArgument, match="_interaction_id"):
        owners.answering(Scope("222", "dice"), "40")
    with pytest.raises(InvalidArgument, match="_interaction_id"):
        owners.answering(Scope(SERVER, "dice"), "41")


def test_message_owners_are_kept_across_instances(tmp_path):
    path = tmp_path / "interactions" / "message_owners.sqlite3"
    first = MessageOwners(path)
    first.remember("1574585304126324744", "ping_pong")
    assert first["1574585304126324744"] == "ping_pong"
    first.close()
    second = MessageOwners(path)
    assert second.get("1574585304126324744") == "ping_pong"
    assert second.get("1574585304126324745") is None
    second.close()


def test_without_a_file_message_owners_live_in_memory():
    owners = MessageOwners()
    owners.remember("10", "a")
    owners.remember("10", "b")
    assert owners.get("10") == "b" and owners.get("11") is None


def test_the_owners_file_of_the_older_layout_is_moved_once(tmp_path):
    older = MessageOwners(tmp_path / "discord" / "message_owners.sqlite3")
    older.remember("42", "ping_pong")
    older.close()
    moved = MessageOwners(message_owners_file(tmp_path))
    assert moved.get("42") == "ping_pong" and not (tmp_path / "discord" / "message_owners.sqlite3").exists()
    moved.close()


def stored_owners(path) -> int:
    """Owners another process reads from the file: 0 before the writer thread created its table."""
    if not path.exists():  # connecting first would create an empty file
        return 0
    peer = sqlite3.connect(path)
    try:
        return peer.execute("SELECT count(*) FROM owners").fetchone()[0]
    except sqlite3.OperationalError:  # no table yet
        return 0
    finally:
        peer.close()


def test_remembering_commits_in_batches_off_the_caller_and_loses_nothing(tmp_path, monkeypatch):

    import maidcore.interactions as interactions

    monkeypatch.setattr(interactions, "MEMORY", 100)  # most owners leave memory before they reach the file
    path = tmp_path / "owners.sqlite3"
    owners = MessageOwners(path)
    commits = []
    real_flush = owners.flush
    monkeypatch.setattr(owners, "flush", lambda: (commits.append(len(owners._pending)), real_flush())[1])
    base = 1574585304126324744
    for i in range(5_000):
        owners.remember(str(base + i), f"p{i % 7}")
    # a click on a message sent just before routes to its sender, written to disk yet or not
    assert owners.get(str(base + 4_999)) == "p1" and owners.get(str(base)) == "p0"
    # another process (a second ``serve --processes`` child) sees them once the writer thread ran
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if stored_owners(path) == 5_000:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the writer thread did not commit the remembered owners")
    assert 1 <= len([c for c in commits if c]) < 50  # batches, not one commit per message
    owners.remember(str(base + 5_000), "late")
    owners.close()  # writes what is pending
    reopened = MessageOwners(path)
    assert reopened.get(str(base + 5_000)) == "late" and reopened.get(str(base + 123)) == "p4"
    reopened.close()


async def test_processes_of_one_node_see_each_others_owners_through_its_file(tmp_path):
    """``serve --processes N`` children share the node's file: a click or submit on one routes to another's sender."""
    path = message_owners_file(tmp_path)
    records = MemoryRecords()
    for plugin in ("dice", "pingpong"):
        await records.add_version(VersionRecord(plugin, "1.0.0", VersionStatus.PUBLISHED, {}, ""))
        await records.put_install(InstallRecord(SERVER, plugin, "1.0.0", frozenset()))
    first = InteractionOwners(CommandSync(lambda: records, lambda: None), MessageOwners(path))
    second = InteractionOwners(CommandSync(lambda: records, lambda: None), MessageOwners(path))
    first.message_created(Scope(SERVER, "dice"), "1574585304126324744")
    await first.route(interaction(3, custom_id="open", interaction_id="50"), target_plugin="pingpong")
    first.modal_opened(first.answering(Scope(SERVER, "pingpong"), "50"), "form")
    click = interaction(3, custom_id="again", interaction_id="51")
    submit = interaction(5, custom_id="form", interaction_id="52")
    assert await second.owner(click, InteractionOrigin("1574585304126324744")) is None  # not committed yet
    first.messages.flush()  # what the writer thread does every FLUSH_SECONDS
    assert await second.owner(click, InteractionOrigin("1574585304126324744")) == "dice"
    assert await second.owner(submit) == "pingpong"
    assert await second.owner(click, InteractionOrigin("888", message_interaction_id="50")) == "pingpong"
    assert await second.owner(interaction(5, custom_id="form", interaction_id="53", user_id="6")) is None
    # a modal lives as long as its interaction's token: an expired one routes nowhere
    first.messages.note("modal", f"{SERVER}:5:old", "dice", ttl=-1)
    first.messages.flush()
    assert await second.owner(interaction(5, custom_id="old", interaction_id="54")) is None
    first.close()
    second.close()


@pytest.fixture(params=["redis", "postgresql"])
async def shared_pair(request):
    """Two nodes' owner stores backed by one coordinator (as ``cluster.coordinator_url`` sets them up), per engine."""
    from maidcore.layers import Shared
    from tests.cluster.engines import open_coordinators

    async with open_coordinators(request, request.param) as coordinators:
        stores = []
        for coordinator in coordinators:
            shared = Shared()
            shared.attach(coordinator)
            stores.append(MessageOwners(None, shared=shared.scoped("interactions"), message_ttl=3600))
        try:
            yield stores, coordinators[0]
        finally:
            for store in stores:
                await store.close_shared()


async def test_in_a_cluster_owners_are_shared_in_batches_with_their_lifetimes(shared_pair):
    (a, b), coordinator = shared_pair
    assert a.clustered
    for i in range(500):
        a.remember(str(1574585304126324744 + i), f"p{i % 3}")
    a.note("modal", f"{SERVER}:5:form", "dice", ttl=900)
    assert await a.sender(str(1574585304126324744 + 7)) == "p1"  # from memory, before any write
    await asyncio.sleep(a.SHARED_FLUSH_SECONDS * 5)  # the writer task flushes on its own
    assert await b.sender(str(1574585304126324744 + 499)) == "p1"
    assert await b.find("modal", f"{SERVER}:5:form") == "dice"
    assert await b.find("modal", f"{SERVER}:6:form") is None
    from tests.cluster.engines import ttl

    assert 3500 < await ttl(coordinator, "state", "interactions:message:1574585304126324744") <= 3600  # message_ttl
    modal_ttl = await ttl(coordinator, "state", f"interactions:modal:{SERVER}:5:form")
    assert 890 < modal_ttl <= 900  # a modal expires with its interaction
    # a node whose memory lost it (a restart) still finds it
    b._recent.clear()
    assert await b.sender(str(1574585304126324744 + 3)) == "p0"


async def test_owners_wait_for_an_unreachable_cluster_and_are_written_when_it_is_back(shared_pair):
    (a, b), coordinator = shared_pair
    real = coordinator.state_put_many
    failing = True

    async def flaky(values, ttl):
        if failing:
            raise ConnectionError("redis unreachable")
        await real(values, ttl)

    a.shared._holder.backend.state_put_many = flaky  # a's own coordinator
    a.remember("1574585304126324900", "dice")
    with pytest.raises(ConnectionError):
        await a.flush_shared()
    assert await b.sender("1574585304126324900") is None
    failing = False
    await a.flush_shared()
    assert await b.sender("1574585304126324900") == "dice"
