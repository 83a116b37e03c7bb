"""Attachment bytes survive an emulator restart (beside its state file), within a bounded store."""

from __future__ import annotations

import json

import aiohttp
import pytest
from maidcore_discord.emulator import DEMO_GUILD_ID, Emulator
from maidcore_discord.emulator.attachments import AttachmentStore
from maidcore_discord.local import STATE_FILE, EmulatorMode
from maidcore_discord.settings import DiscordSettings


async def upload(emu: Emulator, channel: str, filename: str, data: bytes) -> dict:
    """The bot sends a message with a file, as discord.py does (multipart: payload_json + files[0])."""
    form = aiohttp.FormData()
    form.add_field("payload_json", json.dumps({"content": "see file"}), content_type="application/json")
    form.add_field("files[0]", data, filename=filename, content_type="application/octet-stream")
    headers = {"Authorization": f"Bot {emu.state.bot_token}"}
    url = f"{emu.api_base}/channels/{channel}/messages"
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def fetch(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        return r.status, await r.read()


async def test_a_restored_messages_attachment_url_serves_the_same_bytes(tmp_path):
    settings = DiscordSettings(emulator_port=0)  # a new port at each start: the URLs must follow
    data = bytes(range(256)) * 40
    first = EmulatorMode(settings, tmp_path)
    await first.start()
    emu = first.emulator
    general = emu.channel_named(DEMO_GUILD_ID, "general")
    sent = await upload(emu, general, "report.bin", data)
    attachment = sent["attachments"][0]
    assert await fetch(attachment["url"]) == (200, data)
    await first.close()
    assert (tmp_path / STATE_FILE).parent.joinpath("attachments", attachment["id"]).read_bytes() == data

    second = EmulatorMode(settings, tmp_path)
    await second.start()
    try:
        again = second.emulator
        restored = again.state.messages[general][sent["id"]]["attachments"][0]
        assert restored["id"] == attachment["id"] and restored["size"] == len(data)
        assert restored["url"].startswith(again.base_url + "/")
        assert await fetch(restored["url"]) == (200, data)
        # the message as a bot reads it back over REST carries the same, working URL
        headers = {"Authorization": f"Bot {again.state.bot_token}"}
        url = f"{again.api_base}/channels/{general}/messages/{sent['id']}"
        async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as r:
            assert (await r.json())["attachments"][0]["url"] == restored["url"]
    finally:
        await second.close()


async def test_the_store_is_bounded_and_drops_the_oldest_first(tmp_path):
    state = tmp_path / "state.json"
    async with Emulator("127.0.0.1", 0, state_file=state, attachment_store_bytes=2500) as emu:
        general = emu.channel_named(DEMO_GUILD_ID, "general")
        sent = [await upload(emu, general, f"f{i}.bin", bytes([i]) * 1000) for i in range(3)]
        urls = [m["attachments"][0]["url"] for m in sent]
        assert (await fetch(urls[0]))[0] == 404  # 3,000 bytes > 2,500: the oldest went, like an expired CDN link
        assert await fetch(urls[2]) == (200, bytes([2]) * 1000)
        assert emu.files.size == 2000
        assert sorted(p.name for p in (tmp_path / "attachments").iterdir()) == sorted(
            m["attachments"][0]["id"] for m in sent[1:]
        )
        big = await upload(emu, general, "big.bin", b"x" * 3000)  # larger than the whole store: not kept
        assert (await fetch(big["attachments"][0]["url"]))[0] == 404
        assert await fetch(urls[1]) == (200, bytes([1]) * 1000)  # and it pushed nothing out

    # a smaller bound at the next start drops the oldest of what is on disk
    store = AttachmentStore(tmp_path / "attachments", limit=1000)
    assert store.ids() == [sent[2]["attachments"][0]["id"]]
    assert len(list((tmp_path / "attachments").iterdir())) == 1


def test_attachment_ids_are_snowflakes(tmp_path):
    store = AttachmentStore(tmp_path)
    with pytest.raises(ValueError, match="snowflake"):
        store["../state"] = b"x"
    assert store.get("../state.json") is None
