from . import plugin, triggers


@plugin.on_dashboard("triggers")
def list_triggers(ctx, params):
    rows = [
        {"pattern": t.pattern, "reply": t.reply[:60], "reaction": t.reaction, "cooldown": t.cooldown}
        for t in triggers.load(ctx.kv)
    ]
    return {"rows": rows, "total": len(rows)}


@plugin.on_dashboard("blank_trigger")
def blank_trigger(ctx, params):
    return {"values": {"pattern": "", "reply": "", "reaction": "", "cooldown": 30}}


@plugin.on_dashboard("add_trigger")
def add_trigger(ctx, params):
    try:
        trigger = triggers.validate(params.get("values") or {})
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    current = triggers.load(ctx.kv)
    if len(current) >= triggers.MAX_TRIGGERS:
        return {"ok": False, "error": "too many triggers"}
    triggers.save(ctx.kv, [*current, trigger])
    return {"ok": True}
