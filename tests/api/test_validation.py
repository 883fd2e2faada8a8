"""Every validation rule of the contract's input table, on both tiers."""

from __future__ import annotations

import pytest

from tests.api.conftest import PRO, STANDARD, Api

BOTH = pytest.mark.parametrize("model_id", [PRO, STANDARD])

VALID = [
    {"prompt": "a"},
    {"prompt": "x" * 2500},
    {"prompt": "a", "duration": 3}, {"prompt": "a", "duration": 15}, {"prompt": "a", "duration": "5"},
    {"prompt": "a", "duration": "15"}, {"prompt": "a", "duration": 10.0},
    {"prompt": "a", "negative_prompt": "blur"}, {"prompt": "a", "negative_prompt": "n" * 2500},
    {"prompt": "a", "aspect_ratio": "9:16"}, {"prompt": "a", "aspect_ratio": "1:1"},
    {"prompt": "a", "cfg_scale": 0}, {"prompt": "a", "cfg_scale": 1}, {"prompt": "a", "cfg_scale": 0.25},
    {"prompt": "a", "sound": False},
    {"prompt": "a", "shot_type": "customize"},
    {"prompt": "a", "multi_prompt": []},
    {"prompt": "a", "multi_prompt": [{"prompt": "s1"}]},  # one default-length shot = default duration
    {"prompt": "a", "duration": 10, "multi_prompt": [{"prompt": "s1", "duration": 4}, {"prompt": "s2", "duration": "6"}]},
    {"prompt": "a", "duration": 15, "multi_prompt": [{"prompt": "s", "duration": 5}] * 3},
    {"prompt": "a", "seed": 0}, {"prompt": "a", "seed": 2**40},
]

INVALID = [
    ({}, "prompt"),
    ({"prompt": ""}, "prompt"), ({"prompt": "   "}, "prompt"), ({"prompt": "x" * 2501}, "prompt"),
    ({"prompt": 5}, "prompt"), ({"prompt": None}, "prompt"),
    ({"prompt": "a", "negative_prompt": "n" * 2501}, "negative_prompt"),
    ({"prompt": "a", "negative_prompt": 3}, "negative_prompt"),
    ({"prompt": "a", "duration": 2}, "duration"), ({"prompt": "a", "duration": 16}, "duration"),
    ({"prompt": "a", "duration": "5.5"}, "duration"), ({"prompt": "a", "duration": 5.5}, "duration"),
    ({"prompt": "a", "duration": "five"}, "duration"), ({"prompt": "a", "duration": True}, "duration"),
    ({"prompt": "a", "duration": "16"}, "duration"),
    ({"prompt": "a", "aspect_ratio": "4:3"}, "aspect_ratio"), ({"prompt": "a", "aspect_ratio": 1}, "aspect_ratio"),
    ({"prompt": "a", "cfg_scale": -0.01}, "cfg_scale"), ({"prompt": "a", "cfg_scale": 1.01}, "cfg_scale"),
    ({"prompt": "a", "cfg_scale": "0.5"}, "cfg_scale"), ({"prompt": "a", "cfg_scale": True}, "cfg_scale"),
    ({"prompt": "a", "sound": "yes"}, "sound"), ({"prompt": "a", "sound": 1}, "sound"),
    ({"prompt": "a", "shot_type": "auto"}, "shot_type"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "s", "duration": 3}]}, "multi_prompt"),  # 3 != default 5
    ({"prompt": "a", "duration": 6, "multi_prompt": [{"prompt": "s"}]}, "multi_prompt"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "s", "duration": 2}]}, "multi_prompt.0.duration"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "", "duration": 5}]}, "multi_prompt.0.prompt"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "x" * 513, "duration": 5}]}, "multi_prompt.0.prompt"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "s", "seconds": 5}]}, "multi_prompt.0.seconds"),
    ({"prompt": "a", "multi_prompt": [{"prompt": "s", "duration": 3}] * 21}, "multi_prompt"),
    ({"prompt": "a", "multi_prompt": "s"}, "multi_prompt"),
    ({"prompt": "a", "seed": -1}, "seed"), ({"prompt": "a", "seed": 1.5}, "seed"), ({"prompt": "a", "seed": "7"}, "seed"),
    ({"prompt": "a", "aspectRatio": "1:1"}, "aspectRatio"), ({"prompt": "a", "image_url": "http://x"}, "image_url"),
]


@BOTH
@pytest.mark.parametrize("body", VALID, ids=lambda b: str(b)[:60])
def test_valid_inputs_are_accepted(api: Api, model_id: str, body: dict) -> None:
    response = api.submit(model_id, body)
    assert response.status_code == 200, response.text


@BOTH
@pytest.mark.parametrize("body,field", INVALID, ids=lambda v: str(v)[:60])
def test_invalid_inputs_name_the_field(api: Api, model_id: str, body: dict, field: str) -> None:
    response = api.submit(model_id, body)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_code"] == 422001
    assert [".".join(map(str, d["loc"][1:])) for d in body["detail"]] == [field]
    assert field.split(".")[0] in body["error_message"]
    assert api.store.list_keys() and not _queued(api), "a rejected request must not be queued"


def _queued(api: Api) -> bool:
    return api.store.claim("probe", 1) is not None


def test_pro_rejects_intelligent_standard_accepts_it(api: Api) -> None:
    pro = api.submit(PRO, {"prompt": "a", "shot_type": "intelligent"})
    assert pro.status_code == 422 and pro.json()["detail"][0]["loc"] == ["body", "shot_type"]
    assert api.submit(STANDARD, {"prompt": "a", "shot_type": "intelligent"}).status_code == 200


def test_tier_defaults_for_shot_type(api: Api) -> None:
    pro = api.submit(PRO).json()["request_id"]
    std = api.submit(STANDARD).json()["request_id"]
    assert api.store.get(pro).input["shot_type"] == "customize"
    assert api.store.get(std).input["shot_type"] == "intelligent"


def test_multi_prompt_sum_error_explains_the_default(api: Api) -> None:
    body = api.submit(STANDARD, {"prompt": "a", "multi_prompt": [{"prompt": "s", "duration": 4}]}).json()
    assert "4 s" in body["error_message"] and "5 s" in body["error_message"] and "defaults to 5" in body["error_message"]
