from mmo_maid_sdk import RateLimitError

from . import format
from .api import KEY_NAME, Client, WeatherError


def arg(event, name, default=None):
    return next((o.get("value") for o in event.get("options", []) if o.get("name") == name), default)


def weather_command(ctx, event):
    city = str(arg(event, "city", "")).strip()[:80]
    units = arg(event, "units", "metric")
    units = units if units in format.SYMBOL else "metric"
    client = Client(ctx)
    try:
        lines = [format.current(client.current(city, units), units), *format.daily(client.forecast(city, units), units)]
    except WeatherError as exc:
        ctx.interaction.respond(content=str(exc), ephemeral=True)
        return
    except RateLimitError as exc:
        ctx.interaction.respond(content=f"Too many requests; try again in {exc.retry_after:.0f}s.", ephemeral=True)
        return
    ctx.interaction.respond(content="\n".join(lines))


def weather_key(ctx, event):
    ctx.secrets.set(KEY_NAME, str(arg(event, "key", "")).strip())
    ctx.interaction.respond(content="API key saved.", ephemeral=True)
