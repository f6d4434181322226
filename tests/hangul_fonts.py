"""Which font Chromium drew a page's Hangul with (asked over the DevTools protocol)."""

from __future__ import annotations

from typing import Any


def hangul_drawing(devtools: Any) -> list[tuple[int, int]]:
    """For the page open in ``devtools``, once its fonts are loaded: each drawn element with
    Hangul in its own text, as (Hangul letters, of them drawn with the "Symgd Hangul" font).
    Elements not drawn (a collapsed part, a figure kept for the other width) are left out."""
    import re

    hangul = re.compile(r"[\uac00-\ud7a3]")
    for _ in range(200):
        if devtools.evaluate("document.fonts.status") == "loaded":
            break
    devtools.call("DOM.enable", session=True)
    devtools.call("CSS.enable", session=True)
    root = devtools.call("DOM.getDocument", {"depth": -1}, session=True)["root"]
    owners: list[tuple[int, int]] = []  # (element, Hangul letters in its own text)

    def walk(node: dict[str, Any]) -> None:
        children = node.get("children", [])
        own = "".join(c.get("nodeValue", "") for c in children if c.get("nodeType") == 3)
        if node.get("nodeName") not in ("STYLE", "SCRIPT") and hangul.search(own):
            owners.append((node["nodeId"], len(hangul.findall(own))))
        for child in children:
            walk(child)

    walk(root)
    drawn: list[tuple[int, int]] = []
    for node, letters in owners:
        fonts = devtools.call("CSS.getPlatformFontsForNode", {"nodeId": node}, session=True)
        if fonts["fonts"]:
            ours = sum(f["glyphCount"] for f in fonts["fonts"] if f["familyName"] == "Symgd Hangul")
            drawn.append((letters, ours))
    return drawn
