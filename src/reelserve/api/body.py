"""Request body -> validated input, every failure as 422001 naming each field and how to fix it.

Everything here is bounded by the body size limit and runs off the event loop (`read_input`), so a
hostile body costs one worker thread a few milliseconds and never stalls other requests: deep
nesting is refused, numbers are capped in length, unknown fields are counted without asking
pydantic for one error each, and at most MAX_REPORTED errors are reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError

from reelserve.errors import InvalidInputError, field_problems, problems_line

MAX_REPORTED = 20  # errors listed in `detail`; the message counts the rest
MAX_NUMBER_DIGITS = 30  # the largest number a field takes (seed, 2**63-1) has 19


class _BodyError(ValueError):
    """A body that is JSON in form but that no field could take; the message is for the client."""


def _reject_constant(name: str) -> Any:
    raise _BodyError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise _BodyError(f"a number has {digits} digits; no field takes more than {MAX_NUMBER_DIGITS}")
    return int(text)


def _invalid_json(reason: str) -> InvalidInputError:
    detail = [{"loc": ["body"], "msg": f"not valid JSON: {reason}", "type": "json_invalid"}]
    return InvalidInputError(f"Request body is not valid JSON ({reason}): send a JSON object such as "
                             "{\"prompt\": \"...\"}.", detail=detail)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise _invalid_json(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _BodyError as exc:
        raise _invalid_json(str(exc)) from None
    except RecursionError:  # the C parser counts its depth and stops cleanly at the recursion limit
        raise _invalid_json("arrays or objects nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise _invalid_json("it is not UTF-8 text") from None
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        detail = [{"loc": ["body"], "msg": f"expected a JSON object, got {kind}", "type": "model_type"}]
        raise InvalidInputError("Request body must be a JSON object such as {\"prompt\": \"...\"}.", detail=detail)
    if _SURROGATE_ESCAPE.search(raw):  # the only way a surrogate gets in: UTF-8 itself cannot carry one
        _refuse_unpaired_surrogates(value)
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_unpaired_surrogates(value: dict[str, Any]) -> None:
    """JSON may spell a lone surrogate ("\\ud800"): no text field takes it, and no database stores it."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for name, child in item.items():
                if _has_surrogate(name):
                    _surrogate_error(where or "body", "a field name")
                stack.append((f"{where}.{name}" if where else name, child))
        elif isinstance(item, list):
            stack.extend((f"{where}.{index}", child) for index, child in enumerate(item))
        elif isinstance(item, str) and _has_surrogate(item):
            _surrogate_error(where, "the text")


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _surrogate_error(where: str, what: str) -> None:
    detail = [{"loc": ["body", *where.split(".")] if where != "body" else ["body"],
               "msg": f"{what} contains an unpaired UTF-16 surrogate escape (such as \\ud800); send valid Unicode text",
               "type": "string_unicode"}]
    raise InvalidInputError(f"Invalid input: {where}: {what} contains an unpaired surrogate escape. "
                            "Fix it and submit again.", detail=detail)


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as Stripe and the IETF draft allow


def check_idempotency_key(value: str | None) -> str | None:
    if value is None or IDEMPOTENCY_KEY.match(value):
        return value
    detail = [{"loc": ["header", "Idempotency-Key"], "type": "idempotency_key_invalid",
               "msg": "must be 1-255 visible ASCII characters without spaces, such as a UUID"}]
    raise InvalidInputError("Invalid Idempotency-Key header: send 1-255 visible ASCII characters, such as a UUID.",
                            detail=detail)


def read_input(model: type[BaseModel], raw: bytes) -> BaseModel:
    """Parse and validate a submit body; blocking work, so the route runs it in a worker thread."""
    return validate_input(model, parse_json_object(raw))


def validate_input(model: type[BaseModel], body: dict[str, Any]) -> BaseModel:
    # Unknown top-level fields are found here, in one pass: pydantic would build one error each.
    # Only the reported ones become error entries; the rest are counted.
    fields = model.model_fields  # a property that rebuilds a dict: read it once, not per key
    unknown = [name for name in body if name not in fields]
    known = {name: value for name, value in body.items() if name in fields} if unknown else body
    errors = Errors()
    errors.add([{"loc": ["body", name], "msg": "unknown field", "type": "extra_forbidden"}
                for name in unknown[:MAX_REPORTED]], total=len(unknown))
    overlong = _overlong_lists(model, known)
    if overlong:
        errors.add(overlong)
        raise errors.as_error(model)
    try:
        validated = model.model_validate(known)
    except ValidationError as exc:
        errors.add(field_problems(exc.errors(include_url=False, include_context=False, include_input=False),
                                  prefix=("body",)))
        raise errors.as_error(model) from None
    if errors:
        raise errors.as_error(model)
    return validated


class Errors:
    """The first MAX_REPORTED field errors, and how many there were in all."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.total = 0

    def add(self, entries: Iterable[dict[str, Any]], total: int | None = None) -> None:
        """Keep what fits of `entries`; `total` counts errors beyond them that were never built."""
        added = 0
        for entry in entries:
            added += 1
            if len(self.entries) < MAX_REPORTED:
                self.entries.append(entry)
        self.total += added if total is None else total

    def __bool__(self) -> bool:
        return self.total > 0

    def as_error(self, model: type[BaseModel]) -> InvalidInputError:
        # Each field by its path inside the body ("shots.0.prompt"); the body itself as "body".
        summary = problems_line({**d, "loc": d["loc"][1:] or ["body"]} for d in self.entries)
        if self.total > len(self.entries):
            summary += f"; and {self.total - len(self.entries)} more errors"
        hint = " Fix these fields and submit again."
        if any(d["type"] == "extra_forbidden" for d in self.entries):
            hint = f" Accepted fields: {', '.join(model.model_fields)}." + hint
        return InvalidInputError(f"Invalid input: {summary}.{hint}", detail=self.entries)


def _overlong_lists(model: type[BaseModel], body: dict[str, Any]) -> list[dict[str, Any]]:
    """Lists over their limit, found before pydantic, which would validate every item first."""
    errors = []
    for name, field in model.model_fields.items():
        limit = next((m.max_length for m in field.metadata if isinstance(m, MaxLen)), None)
        value = body.get(name)
        if limit is not None and isinstance(value, list) and len(value) > limit:
            errors.append({"loc": ["body", name], "type": "too_long",
                           "msg": f"has {len(value)} items; at most {limit} are accepted"})
    return errors

