"""Shot planning: multi_prompt items, intelligent splitting at cut cues, customize as one shot."""

from __future__ import annotations

import pytest

from reelserve.engines.shots import plan_shots, split_prompt
from tests.seed_prompts import PRO_SEED_PROMPT, STANDARD_SEED_PROMPT


def check_frames(shots, duration: int, fps: int = 24) -> None:
    assert sum(s.frames for s in shots) == duration * fps
    assert all(s.frames >= fps for s in shots), "every shot lasts at least one second"


def test_standard_seed_prompt_splits_into_at_least_three_shots() -> None:
    shots = plan_shots({"prompt": STANDARD_SEED_PROMPT, "duration": 5, "shot_type": "intelligent"}, 24)
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
    body = {"prompt": "A boat. Cut to a whale.", "duration": 5, "shot_type": "customize"}
    (shot,) = plan_shots(body, 24)
    assert shot.frames == 120 and shot.prompt == body["prompt"]


def test_multi_prompt_items_are_the_shots_with_the_prompt_as_context() -> None:
    body = {"prompt": "A rainy Tokyo street, neon, 35mm film.", "duration": 10, "shot_type": "intelligent",
            "multi_prompt": [{"prompt": "A woman opens an umbrella", "duration": 4},
                             {"prompt": "Close-up of raindrops on neon signs", "duration": 6}]}
    shots = plan_shots(body, 24)
    assert [s.frames for s in shots] == [96, 144]
    assert [s.text for s in shots] == ["A woman opens an umbrella", "Close-up of raindrops on neon signs"]
    assert shots[0].prompt == "A woman opens an umbrella\n\nA rainy Tokyo street, neon, 35mm film."
