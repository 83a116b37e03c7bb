"""Install changes take effect live: disable, enable, upgrade to a new version, uninstall."""

from __future__ import annotations

import dataclasses

from tests.core.runner.test_deliveries import COUNTER


async def test_disable_enable_upgrade_and_uninstall_take_effect_without_a_restart(make_stack):
    async with make_stack() as stack:
        records, runner, kv = stack.platform.storage.records, stack.runner, stack.platform.storage.kv
        v1 = stack.plugin("counter", COUNTER, capabilities=["storage:kv"])
        await stack.install(v1, "111")
        scope = runner.tenant("111", "counter").scope

        install = await records.get_install("111", "counter")
        await records.put_install(dataclasses.replace(install, enabled=False))
        await runner.install_changed("111", "counter")
        await stack.publish("message_create", "111", content="while disabled")
        await stack.idle()
        assert await kv.get(scope, "count") is None

        await records.put_install(dataclasses.replace(install, enabled=True))
        await runner.install_changed("111", "counter")
        await stack.publish("message_create", "111", content="enabled again")
        await stack.idle()
        assert await kv.get(scope, "count") == 1

        # Upgrade: a new version gets its own worker; the old one is shut down once no install uses it.
        old_slot = stack.slot("counter")
        v2 = stack.plugin(
            "counter2",
            COUNTER.replace('ctx.kv.increment("count")', 'ctx.kv.increment("count", 10)'),
            capabilities=["storage:kv"],
            version="2.0.0",
        )
        manifest = (v2 / "manifest.json").read_text().replace('"counter2"', '"counter"')
        (v2 / "manifest.json").write_text(manifest)
        await stack.install(v2, "111", wait_register=False)
        assert runner.tenant("111", "counter").version == "2.0.0"
        new_slot = runner.tenant("111", "counter").slot
        assert new_slot is not old_slot
        await stack.wait_for(lambda: new_slot.registration is not None, what="the 2.0.0 worker")
        await stack.wait_for(lambda: old_slot.state.value == "stopped", what="the 1.0.0 worker to stop")
        await stack.publish("message_create", "111", content="on v2")
        await stack.idle()
        assert await kv.get(scope, "count") == 11

        await records.delete_install("111", "counter")
        await runner.install_changed("111", "counter")
        assert runner.tenant("111", "counter") is None
        await stack.publish("message_create", "111", content="after uninstall")
        await stack.idle()
        assert await kv.get(scope, "count") == 11
        await stack.wait_for(lambda: new_slot.state.value == "stopped", what="the 2.0.0 worker to stop")
