"""Shot planning: multi_prompt items, intelligent splitting at cut cues, customize as one shot."""

from __future__ import annotations

import pytest

from reelserve.catalog import PRO, STANDARD, input_model_for
from reelserve.engines.base import GenerationSpec
from reelserve.engines.shots import plan_shots, split_prompt
from tests.seed_prompts import PRO_SEED_PROMPT, STANDARD_SEED_PROMPT


def check_frames(shots, duration: int, fps: int = 24) -> None:
    assert sum(s.frames for s in shots) == duration * fps
    assert all(s.frames >= fps for s in shots), "every shot lasts at least one second"


def test_standard_seed_prompt_splits_into_at_least_three_shots() -> None:
    shots = plan_shots(STANDARD_SEED_PROMPT, 5, 24, shot_type="intelligent")
    assert len(shots) == 4
    assert [s.text.split()[0:2] for s in shots] == [["Wide", "establishing"], ["a", "low"], ["a", "close-up"],
                                                   ["a", "slow-motion"]]
    check_frames(shots, 5)
    # The scene-setting first sentence is shared context for every shot.
    assert all("father teaching his 6-year-old daughter" in s.prompt for s in shots)


def test_pro_seed_prompt_splits_at_every_cue() -> None:
    shots = split_prompt(PRO_SEED_PROMPT, 15, 24)
    assert len(shots) == 5
    assert shots[-1].text.startswith("a graceful crane pull-back")
    check_frames(shots, 15)


@pytest.mark.parametrize("prompt,count", [
    ("A calm lake at dawn, mist over the water.", 1),
    ("A cat sleeps on a sofa. Cut to the cat waking up.", 2),
    ("Street at night, then cuts to a taxi. Cut to the driver. Final shot: the city skyline.", 3),
    ("Ocean waves, then a gull lands on a post.", 2),
    ("A chef chops onions. CUT TO: the pan sizzling.", 2),
    ("Rain on glass; cut to a candle; cut to a book; cut to a cup; cut to a clock; cut to a door.", 3),
    ("Then nothing happens here at all", 1),
])
def test_split_counts_and_durations(prompt: str, count: int) -> None:
    shots = split_prompt(prompt, 3, 24)
    assert len(shots) == count
    check_frames(shots, 3)
    assert all(s.text and not s.text.startswith((",", ":")) for s in shots)


def test_more_cues_than_seconds_merge_neighbours() -> None:
    prompt = "Street at night, then cuts to a taxi. Cut to the driver. Final shot: the city skyline."
    assert [s.text for s in split_prompt(prompt, 5, 24)] == [
        "Street at night", "a taxi.", "the driver.", "the city skyline."]
    assert [s.text for s in split_prompt(prompt, 3, 24)] == [
        "Street at night", "a taxi, then the driver.", "the city skyline."]


def test_no_cues_keeps_the_prompt_whole() -> None:
    (shot,) = split_prompt("A slow pan across a desert at noon.", 7, 24)
    assert shot.prompt == shot.text == "A slow pan across a desert at noon." and shot.frames == 168


def test_longer_segments_get_more_time() -> None:
    shots = split_prompt("A door. Cut to a very long and detailed description of a sunlit garden with roses, "
                         "bees, a fountain and children playing on the lawn.", 10, 24)
    assert shots[1].frames > shots[0].frames


def test_customize_without_multi_prompt_is_one_shot() -> None:
    prompt = "A boat. Cut to a whale."
    (shot,) = plan_shots(prompt, 5, 24, shot_type="customize")
    assert shot.frames == 120 and shot.prompt == prompt


def test_multi_prompt_items_are_the_shots_with_the_prompt_as_context() -> None:
    shots = plan_shots("A rainy Tokyo street, neon, 35mm film.", 10, 24, shot_type="intelligent",
                       multi_prompt=[("A woman opens an umbrella", 4), ("Close-up of raindrops on neon signs", 6)])
    assert [s.frames for s in shots] == [96, 144]
    assert [s.text for s in shots] == ["A woman opens an umbrella", "Close-up of raindrops on neon signs"]
    assert shots[0].prompt == "A woman opens an umbrella\n\nA rainy Tokyo street, neon, 35mm film."


@pytest.mark.parametrize("recipe,count", [(STANDARD, 4), (PRO, 1)])
def test_a_request_gets_its_tiers_shot_type_and_the_spec_plans_with_it(recipe, count) -> None:
    """The typed request is the one reader of the body: a standard request that names no shot_type is
    split intelligently, a pro one is not (its only shot type is customize)."""
    request = input_model_for(recipe).model_validate({"prompt": STANDARD_SEED_PROMPT, "duration": "5", "seed": 3})
    spec = GenerationSpec.from_request(recipe, request)
    assert (spec.shot_type, spec.duration_seconds, spec.seed) == (recipe.default_shot_type, 5, 3)
    assert len(spec.shot_plans) == count and sum(s.frames for s in spec.shot_plans) == 120


def test_multi_prompt_reaches_the_spec_as_typed_shots() -> None:
    body = {"prompt": "A harbor at dawn", "duration": 7,
            "multi_prompt": [{"prompt": "boats", "duration": 3}, {"prompt": "gulls", "duration": "4"}]}
    spec = GenerationSpec.from_request(STANDARD, input_model_for(STANDARD).model_validate(body))
    assert spec.multi_prompt == (("boats", 3), ("gulls", 4))
    assert [(s.text, s.frames) for s in spec.shot_plans] == [("boats", 72), ("gulls", 96)]
