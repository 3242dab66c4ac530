"""Bounded JSON decoding for every body the app reads: depth checked before parsing, finite numbers,
and a finder for strings PostgreSQL / bcrypt / UTF-8 refuse (NUL, unpaired UTF-16 surrogates).

The HTTP edge (web/inputs.py) and the webhook intake (common/payments/webhooks.py) both use it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import current_app

UNSAFE_TEXT = "Must not contain NUL characters or unpaired UTF-16 surrogates."
# A string literal (escapes included) or one bracket: the scanner skips strings whole.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
DEFAULT_MAX_DEPTH = 32


class JSONBodyError(ValueError):
    """A JSON body that is refused before or while parsing (400)."""


def check_depth(data: bytes, max_depth: int) -> None:
    """Refuse a document whose arrays/objects nest deeper than `max_depth`, without parsing it."""
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return  # cannot be too deep: the common case costs two C-level scans
    depth = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise JSONBodyError(f"JSON nested deeper than {max_depth} levels.")
        elif token in (b"]", b"}"):
            depth -= 1


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONBodyError("Number out of range.")
    return value


def _no_constant(name: str):
    raise JSONBodyError(f"{name} is not valid JSON.")


def decode_json(data: bytes | str, *, max_depth: int | None = None) -> Any:
    """Parse a JSON body with the edge's bounds; JSONBodyError (a ValueError) if refused.

    Strings are returned as parsed: call `unsafe_strings` for NUL / surrogate checks.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if max_depth is None:
        max_depth = (
            current_app.config.get("JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH) if current_app else DEFAULT_MAX_DEPTH
        )
    check_depth(data, max_depth)
    try:
        return json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, JSONBodyError):
        raise
    except ValueError as exc:  # an integer literal of more than 4,300 digits
        raise JSONBodyError("Number out of range.") from exc


def unsafe_strings(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths of every string (or key) holding a NUL or an unpaired surrogate."""
    found = []
    if isinstance(value, str):
        if _UNSAFE.search(value):
            found.append(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSAFE.search(key):
                found.append(path + ("_key",))
            found.extend(unsafe_strings(item, path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(unsafe_strings(item, path + (index,)))
    return found


def safe_json(data: bytes | str) -> Any:
    """decode_json + no unsafe strings: for bodies read outside argument parsing (webhooks)."""
    value = decode_json(data)
    if unsafe_strings(value):
        raise JSONBodyError(UNSAFE_TEXT)
    return value
