"""The Range header of a media request, read as RFC 9110 section 14 says.

Starlette's FileResponse answers a malformed Range with a plain-text 400 and an unsatisfiable one
with an empty 416. RFC 9110 says a server ignores a Range it cannot parse (or whose unit it does
not know) and serves the whole file; only a well-formed set with no satisfiable range is a 416,
which here gets the JSON error body. So the route reads the header itself and hands FileResponse
either no Range or the normalized one.
"""

from __future__ import annotations

import re

from reelserve.errors import RangeNotSatisfiableError

MAX_RANGES = 100  # more parts than any player sends; ignoring such a header is allowed (RFC 9110 14.2)

_BYTES = re.compile(r"\s*bytes\s*=(.*)", re.ASCII | re.IGNORECASE | re.DOTALL)
_SPEC = re.compile(r"([0-9]{1,18})-([0-9]{1,18})?|-([0-9]{1,18})", re.ASCII)


def byte_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """Inclusive (first, last) byte pairs to serve, or None to serve the whole file.

    Raises RangeNotSatisfiableError when the header is valid but no range overlaps the file.
    """
    if header is None:
        return None
    unit = _BYTES.fullmatch(header)
    if unit is None:
        return None  # another unit or not a Range at all: ignored
    specs = [part.strip() for part in unit.group(1).split(",")]
    specs = [spec for spec in specs if spec]  # the list rule allows empty elements
    if not specs or len(specs) > MAX_RANGES:
        return None
    parsed = [_SPEC.fullmatch(spec) for spec in specs]
    if any(match is None for match in parsed):
        return None
    ranges = []
    for match in parsed:
        assert match is not None
        first, last, suffix = match.groups()
        if suffix is not None:
            if int(suffix) > 0 and size > 0:
                ranges.append((max(size - int(suffix), 0), size - 1))
        elif last is not None and int(last) < int(first):
            return None  # "last-pos < first-pos" makes the whole field invalid
        elif int(first) < size:
            ranges.append((int(first), min(int(last) if last is not None else size - 1, size - 1)))
    if not ranges:
        raise RangeNotSatisfiableError(size)
    return ranges


def range_header(ranges: list[tuple[int, int]]) -> str:
    return "bytes=" + ",".join(f"{first}-{last}" for first, last in ranges)
