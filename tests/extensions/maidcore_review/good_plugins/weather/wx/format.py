"""Turning API answers into a short message."""

from collections import defaultdict

SYMBOL = {"metric": "°C", "imperial": "°F"}
ICONS = {"Clear": "☀️", "Clouds": "☁️", "Rain": "🌧️", "Snow": "❄️", "Thunderstorm": "⛈️", "Drizzle": "🌦️"}


def current(data: dict, units: str) -> str:
    main, weather = data.get("main", {}), (data.get("weather") or [{}])[0]
    icon = ICONS.get(weather.get("main"), "🌡️")
    return (
        f"{icon} **{data.get('name', '?')}**: {main.get('temp', '?')}{SYMBOL[units]}, {weather.get('description', '')}"
    )


def daily(forecast: dict, units: str) -> list[str]:
    days = defaultdict(list)
    for item in forecast.get("list", []):
        days[item.get("dt_txt", "")[:10]].append(item.get("main", {}).get("temp", 0))
    return [f"{day}: {min(t):.0f}-{max(t):.0f}{SYMBOL[units]}" for day, t in sorted(days.items())[:3]]
