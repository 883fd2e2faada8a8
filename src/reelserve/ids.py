"""What a request id looks like: one rule for the routes that take one, the store, and media keys.

The store issues UUIDs, but an id a client sends is checked against this before it reaches a query
or names a media folder or bucket prefix. RunComfy's own client validates the same pattern.
"""

from __future__ import annotations

import re

REQUEST_ID_PATTERN = r"[A-Za-z0-9_-]{1,128}"


def is_request_id(value: str) -> bool:
    return re.fullmatch(REQUEST_ID_PATTERN, value) is not None
