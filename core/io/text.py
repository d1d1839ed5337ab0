"""Echoing values a user (or a hostile file) supplied: one helper for every message that quotes one.

    shown(value, width)   cut to `width` characters, control characters (terminal escapes) escaped

A CSV cell may hold 100 MB, an ID may hold terminal escape codes; a message, a terminal line or a
warning in the browser quotes them only through shown().
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(value: object, width: int = 40) -> str:
    """A value as a message may echo it: cut to `width` characters, control characters escaped."""
    text = str(value)
    cut = text[:width] + ("..." if len(text) > width else "")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", cut)
