"""Every model family end to end on its tiny weights, through the worker's production path: both tiers, sound
on and off, several shots, each to a stored MP4 that is decoded and measured."""

from __future__ import annotations

import pytest

from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.ltx2.families import FAMILIES
from reelserve.store import Status
from tests.jobs import submit
from tests.worker.driving import work_through, worker_for
from tests.mp4probe import probe_mp4

PRO = "kling/kling-3.0/pro/text-to-video"
STANDARD = "kling/kling-3.0/standard/text-to-video"
SHOTS = [{"prompt": "a gull lands", "duration": 3}, {"prompt": "it takes off", "duration": 3}]
CASES = [  # model, body, delivered size, whether it has sound
    (PRO, {"prompt": "a harbour at dawn", "duration": 3, "sound": True}, (320, 180), True),
    (PRO, {"prompt": "a harbour at dawn", "duration": 3, "sound": False, "aspect_ratio": "9:16"}, (180, 320), False),
    (STANDARD, {"prompt": "a harbour", "duration": 6, "sound": True, "multi_prompt": SHOTS}, (256, 144), True),
    (STANDARD, {"prompt": "a harbour", "duration": 3, "sound": False, "aspect_ratio": "1:1"}, (192, 192), False),
]


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_engine(request, tiny_cache):
    return Ltx2Engine.load("tiny", family=request.param, device="cpu", cache_dir=tiny_cache)


@pytest.mark.whole  # every family's engine, end to end: in `make test`, not the fast lane
def test_each_family_runs_every_tier_with_and_without_sound_to_an_mp4(settings, parts, family_engine) -> None:
    store, storage, owner = parts
    rate = 24000 if family_engine.family.name == "ltx-2" else 48000  # LTX-2.3 and 2.5 have the 48 kHz vocoder
    jobs = [submit(store, owner, model, {**body, "seed": 5}) for model, body, _, _ in CASES]
    finished = work_through(worker_for(settings, store, storage, family_engine), store, [job.id for job in jobs])
    for (model, body, size, sound), done in zip(CASES, finished, strict=True):
        assert done.attempts == 1, f"{family_engine.family.name} {model}: claimed {done.attempts} times"
        assert done.status is Status.COMPLETED, f"{family_engine.family.name} {model}: {done.error_message}"
        assert done.metadata["engine"]["family"] == family_engine.family.name
        info = probe_mp4(storage.path_for(done.output_key))
        seconds = body["duration"]
        assert ((info.width, info.height), info.frames) == (size, seconds * 24), (family_engine.family.name, model, info)
        assert (info.sample_rate, info.audio_seconds) == ((rate, float(seconds)) if sound else (None, None)), info
        assert len(done.metadata["shots"]) == max(1, len(body.get("multi_prompt", [])))
        # LTX-2.5 enhances by default; the Gemma 3 families do not. (A toy enhancer may write only tokens that
        # decode to nothing, and then the user's words are kept: `enhanced_prompt` is null for that shot.)
        enhances = family_engine.family.name == "ltx-2.5"
        assert ("enhance_prompt_seconds" in done.metadata["timings"]) is enhances
        assert enhances or not any(shot["enhanced_prompt"] for shot in done.metadata["shots"])
