"""Which feeds may be followed: the hosts the manifest asks the proxy for."""

from urllib.parse import urlsplit

ALLOWED_HOSTS = frozenset({"feeds.bbci.co.uk", "hnrss.org", "blog.python.org", "www.reddit.com"})
PRESETS = {
    "bbc-world": "https://feeds.bbci.co.uk/news/world/rss.xml",
    "hn-front": "https://hnrss.org/frontpage",
    "python": "https://blog.python.org/feeds/posts/default",
}


def check(url: str) -> str:
    url = PRESETS.get(url, url).strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.hostname not in ALLOWED_HOSTS:
        raise ValueError(f"feeds must be https:// on one of: {', '.join(sorted(ALLOWED_HOSTS))}")
    return url
