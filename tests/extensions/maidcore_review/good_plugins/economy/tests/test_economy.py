import pytest
from coins.ledger import InsufficientFunds, Ledger
from mmo_maid_sdk.testing import dispatch, make_event, run_ready


def cmd(name, user="1", **options):
    return make_event(
        "interaction_create",
        command_name=name,
        user_id=user,
        options=[{"name": k, "value": v} for k, v in options.items()],
    )


def test_transfer_needs_funds(ctx):
    ledger = Ledger(ctx)
    ledger.setup()
    ledger.credit("a", 10, "test")
    with pytest.raises(InsufficientFunds):
        ledger.transfer("a", "b", 11, "x")
    ledger.transfer("a", "b", 10, "x")
    assert ledger.account("b")["coins"] == 10


def test_daily_pay_and_shop(ctx, mmo_plugin):
    run_ready(mmo_plugin.plugin, ctx=ctx)
    dispatch(mmo_plugin.plugin, "interaction_create", cmd("daily"), ctx=ctx)
    dispatch(mmo_plugin.plugin, "interaction_create", cmd("daily"), ctx=ctx)
    assert ctx.interaction.responses[-1]["content"] == "Already claimed today."
    dispatch(mmo_plugin.plugin, "interaction_create", cmd("pay", member="2", amount=20), ctx=ctx)
    dispatch(mmo_plugin.plugin, "interaction_create", cmd("shop", buy="artist"), ctx=ctx)
    assert ctx.interaction.responses[-1]["content"] == "Not enough coins."
    Ledger(ctx).credit("1", 500, "gift")
    dispatch(mmo_plugin.plugin, "interaction_create", cmd("shop", buy="vip"), ctx=ctx)
    assert ctx.roles_added[-1]["role_id"] == "900000000000000001"
