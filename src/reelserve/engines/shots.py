"""Turn a request's prompt into shots: what each one shows and how many frames it lasts. Pure: no I/O.

The rules (also in docs/models.md):
- `multi_prompt` non-empty: one shot per item, lasting that item's duration. Each shot's prompt is
  the item's prompt, a blank line, then the request's `prompt` as shared context.
- `shot_type: intelligent` with no `multi_prompt`: the prompt is split at its cut cues ("Cut to",
  "cuts to", "Final shot", ", then"). Scene-setting sentences before the first shot become shared
  context, and each segment becomes a shot. Frames are shared out in proportion to each segment's
  length, with every shot getting at least one second, and the shots add up exactly to the
  duration. A prompt with no cues stays one shot.
- `shot_type: customize` with no `multi_prompt`: one shot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Longest first, so "then cuts to" is one cue rather than "then" followed by "cuts to".
CUE = re.compile(
    r"(?:,?\s*\bthen\s+cuts?\s+to\b|\bcuts?\s+to\b|\bfinal\s+shot\b\s*:?|,\s*then\b|\.\s+then\b)",
    re.IGNORECASE,
)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ShotPlan:
    prompt: str  # what the engine is asked to render for this shot
    text: str  # the shot's own words, as reported in metadata
    frames: int

    def seconds(self, fps: int) -> float:
        return self.frames / fps


def plan_shots(prompt: str, duration: int, fps: int, *, shot_type: str,
               multi_prompt: Sequence[tuple[str, int]] = ()) -> list[ShotPlan]:
    """The shots to render; `multi_prompt` is (prompt, seconds) per shot, as the request gave them."""
    if multi_prompt:
        return [ShotPlan(_with_context(text, prompt), text, seconds * fps) for text, seconds in multi_prompt]
    if shot_type == "intelligent":
        return split_prompt(prompt, duration, fps)
    return [ShotPlan(prompt, prompt, duration * fps)]


def split_prompt(prompt: str, duration: int, fps: int) -> list[ShotPlan]:
    """Split at cut cues; at most one shot per second, so every shot lasts at least 1 s."""
    segments = [s.strip(" ,;:—-") for s in CUE.split(prompt)]
    segments = [s for s in segments if s]
    if len(segments) <= 1:
        return [ShotPlan(prompt, prompt, duration * fps)]
    context, segments[0] = _lead_in(segments[0])
    segments = _merge_to_at_most(segments, duration)
    frames = _share_frames([len(s) for s in segments], duration * fps, fps)
    return [ShotPlan(_with_context(s, context), s, f) for s, f in zip(segments, frames, strict=True)]


def _lead_in(first: str) -> tuple[str, str]:
    """Scene-setting sentences before the first shot's own sentence become shared context."""
    sentences = SENTENCE_END.split(first)
    if len(sentences) < 2:
        return "", first
    return " ".join(sentences[:-1]), sentences[-1]


def _with_context(shot: str, context: str) -> str:
    return f"{shot}\n\n{context}" if context and context != shot else shot


def _merge_to_at_most(segments: list[str], limit: int) -> list[str]:
    """Join the shortest neighbouring pair until there are at most `limit` segments."""
    segments = list(segments)
    while len(segments) > limit:
        i = min(range(len(segments) - 1), key=lambda k: len(segments[k]) + len(segments[k + 1]))
        segments[i : i + 2] = [f"{segments[i].rstrip('.')}, then {segments[i + 1]}"]
    return segments


def _share_frames(weights: list[int], total: int, minimum: int) -> list[int]:
    """Integers >= minimum, summing to total, proportional to weights (largest remainder)."""
    spare = total - minimum * len(weights)
    shares = [spare * w / sum(weights) for w in weights]
    frames = [minimum + int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in by_remainder[: total - sum(frames)]:
        frames[i] += 1
    return frames
