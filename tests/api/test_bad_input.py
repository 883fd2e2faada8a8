"""Hostile and odd bodies found by probing the API as an attacker: each gets a 4xx JSON error body
naming the field and the fix, never a 500, and nothing is queued. docs/reliability.md lists them."""

from __future__ import annotations

import json
import logging

import pytest

from tests.api.conftest import PRO, STANDARD, Api

PROMPT_FIELDS = [
    ({"prompt": "a\u0000b"}, "prompt"),
    ({"prompt": "a", "negative_prompt": "blur\u0000"}, "negative_prompt"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "\u0000s"}]}, "multi_prompt.0.prompt"),
    ({"prompt": "ring the bell\u0007"}, "prompt"),
    ({"prompt": "erase\u001b[2J"}, "prompt"),
    ({"prompt": "c1 control\u0085"}, "prompt"),
]


def post_raw(api: Api, raw: bytes, model_id: str = PRO):
    return api.client.post(f"/v1/models/{model_id}", content=raw,
                           headers={**api.headers, "Content-Type": "application/json"})


def assert_422(response, field: str | None = None) -> dict:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == 422001 and set(body) == {"error_code", "error_message", "detail"}
    if field is not None:
        assert [".".join(map(str, d["loc"][1:])) for d in body["detail"]] == [field]
        assert field.split(".")[0] in body["error_message"]
    return body


def assert_nothing_queued(api: Api) -> None:
    assert api.store.claim("probe", 1) is None, "a rejected request must not be queued"


@pytest.mark.parametrize("body,field", PROMPT_FIELDS, ids=lambda v: repr(v)[:40])
def test_control_characters_are_refused_on_every_backend(any_backend_api: Api, body: dict, field: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    # On PostgreSQL a NUL used to reach the JSONB insert: 500001, and the prompt in the log.
    body_out = assert_422(any_backend_api.submit(PRO, body), field)
    assert "control character U+" in body_out["error_message"] and "newline and tab are allowed" in body_out["error_message"]
    assert_nothing_queued(any_backend_api)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_newline_and_tab_are_text(any_backend_api: Api) -> None:
    response = any_backend_api.submit(PRO, {"prompt": "line one\nline two\tindented", "negative_prompt": "a\nb"})
    assert response.status_code == 200, response.text
    stored = any_backend_api.store.get(response.json()["request_id"]).input
    assert stored["prompt"] == "line one\nline two\tindented"


def test_deeply_nested_json_is_a_422_not_a_recursion_error(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    for raw in (b"[" * 50_000, b'{"prompt": ' + b"[" * 50_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000):
        body = assert_422(post_raw(api, raw))
        assert "nested too deeply" in body["error_message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert_nothing_queued(api)


def test_many_unknown_keys_give_a_short_error(api: Api) -> None:
    raw = json.dumps({f"{i:x}": 1 for i in range(80_000)} | {"prompt": "x"}).encode()
    assert len(raw) < 1024 * 1024  # under the body limit, so this is validation's work
    response = post_raw(api, raw)
    body = assert_422(response)
    assert len(response.content) < 8_000  # was 33 MB: each entry repeated every accepted field
    assert len(body["detail"]) == 20 and all(d["msg"] == "unknown field" for d in body["detail"])
    assert "and 79980 more errors" in body["error_message"]
    assert body["error_message"].count("Accepted fields: prompt, negative_prompt") == 1
    assert_nothing_queued(api)


def test_unknown_keys_and_field_errors_are_reported_together(api: Api) -> None:
    body = assert_422(api.submit(PRO, {"colour": "red", "duration": 99}))
    fields = {".".join(map(str, d["loc"][1:])) for d in body["detail"]}
    assert fields == {"colour", "duration", "prompt"}


def test_an_overlong_list_is_refused_before_its_items_are_validated(api: Api) -> None:
    body = assert_422(api.submit(PRO, {"prompt": "a", "multi_prompt": [{}] * 100_000}), "multi_prompt")
    assert "100000 items; at most 20" in body["error_message"]


@pytest.mark.parametrize("prompt", ["\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\u3164\u3164", " \u00a0\u2028 ",
                                    "\u2800", "\u034f\ufe0f"])
def test_a_prompt_of_invisible_characters_is_blank(api: Api, prompt: str) -> None:
    assert "no visible characters" in assert_422(api.submit(PRO, {"prompt": prompt}), "prompt")["error_message"]
    assert "no visible" in assert_422(api.submit(PRO, {"prompt": "a", "multi_prompt": [{"prompt": prompt}]}),
                                      "multi_prompt.0.prompt")["error_message"]


def test_a_prompt_with_one_visible_character_is_not_blank(api: Api) -> None:
    assert api.submit(PRO, {"prompt": "\u200b\u732b\u200b"}).status_code == 200  # 猫 between zero-width spaces


@pytest.mark.parametrize("duration", ["\u0663", "\u00b2", "\uff15", "\u0665", "1\u0660"])
def test_duration_takes_ascii_digits_only(api: Api, duration: str) -> None:
    body = assert_422(api.submit(PRO, {"prompt": "a", "duration": duration}), "duration")
    assert "digits 0-9" in body["error_message"]


@pytest.mark.parametrize("raw,where", [
    (b'{"\\ud800": 1, "prompt": "x"}', "body"),
    (b'{"prompt": "\\udfff"}', "prompt"),
    (b'{"prompt": "a", "multi_prompt": [{"prompt": "\\ud83d"}]}', "multi_prompt.0.prompt"),
])
def test_unpaired_surrogates_name_where_they_are(api: Api, raw: bytes, where: str) -> None:
    body = assert_422(post_raw(api, raw))
    assert body["error_message"].startswith(f"Invalid input: {where}: ")
    assert "surrogate" in body["error_message"]


@pytest.mark.parametrize("raw", [
    b'{"prompt": "x", "seed": ' + b"1" * 5000 + b"}",
    b'{"prompt": "x", "duration": ' + b"9" * 4301 + b"}",
    b'{"prompt": "x",}', b"\xff\xfe\x00", b"{'prompt': 'x'}", b'{"prompt": NaN}',
])
def test_messages_never_expose_python_internals(api: Api, raw: bytes) -> None:
    body = assert_422(post_raw(api, raw))
    text = json.dumps(body)
    for internal in ("sys.", "set_int_max_str_digits", "Traceback", "Expecting value: line", "codec", "0x"):
        assert internal not in text, text
    assert "send a JSON object" in body["error_message"]


@pytest.mark.parametrize("model_id", [PRO, STANDARD])
def test_a_huge_number_names_the_limit(api: Api, model_id: str) -> None:
    body = assert_422(post_raw(api, b'{"prompt": "x", "seed": ' + b"7" * 5000 + b"}", model_id))
    assert "5000 digits" in body["error_message"]
