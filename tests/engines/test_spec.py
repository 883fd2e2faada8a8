"""The typed request is the only input to the engine's spec: every field reaches it, and nothing else does."""

from __future__ import annotations

import pytest

from reelserve.catalog import MAX_SEED, PRO, STANDARD, input_model_for
from reelserve.catalog.inputs import DRAWN_SEEDS
from reelserve.engines.base import GenerationSpec

BASE = {"prompt": "a lighthouse at dusk", "seed": 1}
# One changed value per input field. A new field must be added here, and this test then fails until
# GenerationSpec.from_request carries it to the engine.
CHANGED = {
    "prompt": "a desert at noon",
    "negative_prompt": "blurry",
    "duration": 7,
    "aspect_ratio": "9:16",
    "cfg_scale": 0.9,
    "sound": False,
    "multi_prompt": [{"prompt": "a door opens", "duration": 5}],  # the default duration's 5 s, in one shot
    "seed": 5,
    "shot_type": "customize",  # standard's default is intelligent
    "enhance_prompt": False,
}


def spec_of(body: dict) -> GenerationSpec:
    return GenerationSpec.from_request(STANDARD, input_model_for(STANDARD).model_validate(body))


def test_every_input_field_is_listed_here() -> None:
    assert set(CHANGED) == set(input_model_for(STANDARD).model_fields) == set(input_model_for(PRO).model_fields)


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_every_input_field_changes_the_spec(field: str) -> None:
    assert spec_of({**BASE, field: CHANGED[field]}) != spec_of(BASE)


def test_the_same_request_gives_the_same_spec() -> None:
    body = {**BASE, **CHANGED, "multi_prompt": [{"prompt": "a door opens", "duration": 3},
                                                 {"prompt": "a bird flies", "duration": 4}]}
    assert spec_of(body) == spec_of(dict(reversed(body.items())))


def test_a_request_without_a_seed_gets_a_drawn_one_any_json_parser_keeps_exact() -> None:
    seeds = {spec_of({"prompt": "x"}).seed for _ in range(50)}
    assert len(seeds) > 1 and all(0 <= s < DRAWN_SEEDS <= 2**53 for s in seeds)
    assert spec_of({"prompt": "x", "seed": MAX_SEED}).seed == MAX_SEED  # a sent seed is kept, whole range
