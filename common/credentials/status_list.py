"""W3C Bitstring Status List v1.0: encode and read the revocation bitstring."""

from __future__ import annotations

import base64
import gzip

# §6.1: a status list is at least 16 KB (131,072 entries), so that one credential's bit hides in a crowd.
MIN_ENTRIES = 131_072


def encode(revoked: set[int], size: int = 0) -> str:
    """encodedList: multibase base64url (prefix "u", no padding) of the GZIP-compressed bitstring.

    Index 0 is the left-most bit of the first byte (§3.1). mtime=0 keeps the encoding reproducible.
    """
    entries = max(MIN_ENTRIES, size, max(revoked, default=0) + 1)
    bits = bytearray((entries + 7) // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).rstrip(b"=").decode()


def is_set(encoded_list: str, index: int) -> bool:
    """The bit at `index` of an encodedList (ValueError if it is not one, or the index is out of range)."""
    if not encoded_list.startswith("u"):
        raise ValueError("encodedList is not multibase base64url")
    data = encoded_list[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    if not 0 <= index < len(bits) * 8:
        raise ValueError(f"status index {index} is outside the list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
