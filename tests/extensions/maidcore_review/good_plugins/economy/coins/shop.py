"""Shop items: role rewards at a price."""

ITEMS = {
    "vip": {"label": "VIP role", "price": 500, "role_setting": "vip_role"},
    "artist": {"label": "Artist role", "price": 200, "role_setting": "artist_role"},
}
ROLE_IDS = {"vip_role": "900000000000000001", "artist_role": "900000000000000002"}


def listing() -> str:
    return "\n".join(f"`{key}` {item['label']} - {item['price']} coins" for key, item in ITEMS.items())
