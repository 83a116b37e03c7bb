"""The few GitHub API calls we need."""

import json
import re

API = "https://api.github.com"
REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")


def headers(secrets) -> dict:
    token = secrets.get("GITHUB_TOKEN")
    base = {"Accept": "application/vnd.github+json", "User-Agent": "release-notifier"}
    return {**base, "Authorization": f"Bearer {token}"} if token else base


def latest_release(http, secrets, repo: str) -> dict | None:
    if not REPO.match(repo):
        raise ValueError("use owner/name")
    response = http.get(f"{API}/repos/{repo}/releases/latest", headers=headers(secrets))
    if response.get("status") != 200:
        return None
    data = json.loads(response.get("body_bytes") or "{}")
    return {"tag": data.get("tag_name"), "name": data.get("name") or data.get("tag_name"), "url": data.get("html_url")}
