"""Request body -> validated input, every failure as 422001 naming each field and how to fix it."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from reelserve.errors import InvalidInputError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        detail = [{"loc": ["body"], "msg": f"not valid JSON: {exc}", "type": "json_invalid"}]
        raise InvalidInputError("Request body is not valid JSON: send a JSON object such as {\"prompt\": \"...\"}.",
                                detail=detail) from exc
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        detail = [{"loc": ["body"], "msg": f"expected a JSON object, got {kind}", "type": "model_type"}]
        raise InvalidInputError("Request body must be a JSON object such as {\"prompt\": \"...\"}.", detail=detail)
    return value


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as Stripe and the IETF draft allow


def check_idempotency_key(value: str | None) -> str | None:
    if value is None or IDEMPOTENCY_KEY.match(value):
        return value
    detail = [{"loc": ["header", "Idempotency-Key"], "type": "idempotency_key_invalid",
               "msg": "must be 1-255 visible ASCII characters without spaces, such as a UUID"}]
    raise InvalidInputError("Invalid Idempotency-Key header: send 1-255 visible ASCII characters, such as a UUID.",
                            detail=detail)


def validate_input(model: type[BaseModel], body: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        allowed = ", ".join(model.model_fields)
        detail = [_field_error(error, allowed) for error in exc.errors(include_url=False, include_context=False)]
        summary = "; ".join(f"{'.'.join(map(str, d['loc'][1:]))}: {d['msg']}" for d in detail)
        raise InvalidInputError(f"Invalid input: {summary}. Fix these fields and submit again.", detail=detail) from exc


def _field_error(error: Any, allowed: str) -> dict[str, Any]:
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        msg = f"unknown field; accepted fields are {allowed}"
    elif error["type"] == "missing":
        msg = "required field is missing"
    return {"loc": ["body", *error["loc"]], "msg": msg, "type": error["type"]}
