from datetime import date, timedelta

from mmo_maid_sdk import Plugin

from . import shop
from .ledger import InsufficientFunds, Ledger

DAILY_BASE = 50
STREAK_BONUS = 10


def build() -> Plugin:
    plugin = Plugin()

    def args(event):
        return {o["name"]: o.get("value") for o in event.get("options", [])}

    @plugin.on_ready
    def ready(ctx):
        Ledger(ctx).setup()

    @plugin.on_slash_command("balance")
    def balance(ctx, event):
        member = args(event).get("member") or event["user_id"]
        account = Ledger(ctx).account(str(member))
        ctx.interaction.respond(
            content=f"<@{member}> has {account['coins']} coins (streak {account['streak']}).", ephemeral=True
        )

    @plugin.on_slash_command("daily")
    def daily(ctx, event):
        ledger = Ledger(ctx)
        account = ledger.account(event["user_id"])
        today = date.today()
        if account["last_daily"] == today.isoformat():
            ctx.interaction.respond(content="Already claimed today.", ephemeral=True)
            return
        streak = account["streak"] + 1 if account["last_daily"] == (today - timedelta(days=1)).isoformat() else 1
        amount = DAILY_BASE + STREAK_BONUS * min(streak - 1, 10)
        ledger.credit(event["user_id"], amount, "daily")
        ledger.set_daily(event["user_id"], streak, today.isoformat())
        ctx.interaction.respond(content=f"+{amount} coins (day {streak} of your streak).")

    @plugin.on_slash_command("pay")
    def pay(ctx, event):
        values = args(event)
        try:
            Ledger(ctx).transfer(event["user_id"], str(values["member"]), int(values["amount"]), "pay")
        except InsufficientFunds:
            ctx.interaction.respond(content="You don't have that many coins.", ephemeral=True)
            return
        ctx.interaction.respond(content=f"Sent {values['amount']} coins to <@{values['member']}>.")

    @plugin.on_slash_command("shop")
    def buy(ctx, event):
        item_key = args(event).get("buy")
        if not item_key:
            ctx.interaction.respond(content=shop.listing(), ephemeral=True)
            return
        item = shop.ITEMS.get(str(item_key))
        if item is None:
            ctx.interaction.respond(content="No such item.", ephemeral=True)
            return
        try:
            Ledger(ctx).transfer(event["user_id"], "shop", item["price"], f"shop:{item_key}")
        except InsufficientFunds:
            ctx.interaction.respond(content="Not enough coins.", ephemeral=True)
            return
        ctx.discord.add_role(
            user_id=event["user_id"], role_id=shop.ROLE_IDS[item["role_setting"]], reason="shop purchase"
        )
        ctx.interaction.respond(content=f"You bought {item['label']}!")

    return plugin
