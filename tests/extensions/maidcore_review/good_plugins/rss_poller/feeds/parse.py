"""RSS 2.0 and Atom entries as ``{"id", "title", "link"}`` dicts (newest first, as feeds list them)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(xml_text: str) -> list[dict]:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return []
    out = []
    for item in root.iter("item"):
        link = (item.findtext("link") or "").strip()
        out.append(
            {
                "id": (item.findtext("guid") or link).strip(),
                "title": (item.findtext("title") or "").strip(),
                "link": link,
            }
        )
    for entry in root.iter(f"{ATOM}entry"):
        link_el = entry.find(f"{ATOM}link")
        link = link_el.get("href", "") if link_el is not None else ""
        out.append(
            {
                "id": (entry.findtext(f"{ATOM}id") or link).strip(),
                "title": (entry.findtext(f"{ATOM}title") or "").strip(),
                "link": link,
            }
        )
    return [e for e in out if e["id"]]
