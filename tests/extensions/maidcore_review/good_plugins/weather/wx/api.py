"""OpenWeatherMap through the platform proxy."""

from __future__ import annotations

import json

BASE = "https://api.openweathermap.org/data/2.5"
KEY_NAME = "OPENWEATHER_KEY"
CACHE_SECONDS = 600


class WeatherError(Exception):
    pass


class Client:
    def __init__(self, ctx):
        self.http = ctx.http
        self.kv = ctx.kv
        self.secrets = ctx.secrets

    def _get(self, path: str, params: dict) -> dict:
        key = self.secrets.get(KEY_NAME)
        if not key:
            raise WeatherError("no API key yet: an admin sets it with /weather-key")
        response = self.http.get(f"{BASE}/{path}", params={**params, "appid": key})
        if response.get("status") == 404:
            raise WeatherError("I don't know that city.")
        if response.get("status") != 200:
            raise WeatherError(f"the weather service answered {response.get('status')}")
        return json.loads(response.get("body_bytes") or response.get("body") or "{}")

    def current(self, city: str, units: str) -> dict:
        cache_key = f"wx:{units}:{city.lower()}"
        cached = self.kv.get(cache_key)
        if cached:
            return cached
        data = self._get("weather", {"q": city, "units": units})
        self.kv.set(cache_key, data, ttl_seconds=CACHE_SECONDS)
        return data

    def forecast(self, city: str, units: str) -> dict:
        return self._get("forecast", {"q": city, "units": units, "cnt": 24})
