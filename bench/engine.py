"""Time each stage of one request per tier, and peak memory: `python bench/engine.py [--weights tiny]`.

Runs the engine exactly as the worker does (generate -> write_mp4 -> storage.put) and prints one
row per tier. The format is fixed so runs can be compared; docs/bench.md describes every column.
`tiny` on CPU measures the service's own overhead; `random-full` on a GPU measures the real model's
speed and memory without downloading weights (the video is noise either way).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from reelserve.catalog import RECIPES
from reelserve.engines.base import GenerationSpec
from reelserve.engines.ltx2 import Ltx2Engine
from reelserve.engines.ltx2.families import DEFAULT_FAMILY, FAMILIES
from reelserve.engines.runtime import RuntimeOptions
from reelserve.media import write_mp4
from reelserve.storage.local import LocalMediaStorage
from reelserve.storage.signing import UrlSigner

PROMPT = "A lighthouse on a cliff at dusk, waves breaking below, gulls calling, slow push-in."
COLUMNS = [  # (key in a result, header, format)
    ("tier", "tier", "{:<8}"),
    ("size", "size", "{:>9}"),
    ("enhance_prompt_seconds", "enhance", "{:>8.3f}"),
    ("text_encode_seconds", "text_enc", "{:>8.3f}"),
    ("stage1_step_seconds", "s1/step", "{:>8.3f}"),
    ("stage1_steps", "s1_n", "{:>4d}"),
    ("upsample_seconds", "upsample", "{:>8.3f}"),
    ("stage2_step_seconds", "s2/step", "{:>8.3f}"),
    ("stage2_steps", "s2_n", "{:>4d}"),
    ("vae_decode_seconds", "vae_dec", "{:>8.3f}"),
    ("audio_decode_seconds", "audio", "{:>8.3f}"),
    ("mux_seconds", "mux", "{:>8.3f}"),
    ("store_seconds", "store", "{:>8.3f}"),
    ("total_seconds", "total", "{:>8.3f}"),
    ("peak_memory_gib", "peak_GiB", "{:>8.2f}"),
]


def main() -> None:
    args = _parse_args()
    options = RuntimeOptions(dtype=args.dtype, attention_backend=args.attention_backend, compile=args.compile,
                             vae_tiling=args.vae_tiling, offload_text_encoder=args.offload_text_encoder, fp8=args.fp8)
    loaded = time.perf_counter()
    engine = Ltx2Engine.load(args.weights, device=args.device, cache_dir=Path(args.cache_dir).expanduser(),
                             family=args.family, options=options)
    load_seconds = time.perf_counter() - loaded
    print(f"# reelserve bench/engine.py  family={engine.info.family} weights={engine.info.weights} device={engine.info.device} "
          f"dtype={engine.info.dtype} settings={','.join(engine.info.settings) or '-'} load={load_seconds:.1f}s "
          f"duration={args.duration}s aspect={args.aspect} sound={not args.no_sound} repeat={args.repeat} "
          f"python={platform.python_version()} host={platform.node()}")
    if engine.info.random_weights:
        print("# random weights: the video is noise; shapes, timings and memory are real")
    print(format_header())
    for model_id in args.models or RECIPES:
        results = [run_once(engine, model_id, args) for _ in range(args.warmup + args.repeat)][args.warmup:]
        row = median_row(results)
        print(format_row(row))
        if args.json:
            print(json.dumps({"model_id": model_id, **row}), file=sys.stderr)


def run_once(engine: Ltx2Engine, model_id: str, args: argparse.Namespace) -> dict:
    recipe = RECIPES[model_id]
    spec = GenerationSpec(recipe=recipe, prompt=PROMPT, negative_prompt="blurry, distorted",
                          duration_seconds=args.duration, aspect_ratio=args.aspect, cfg_scale=0.5,
                          sound=not args.no_sound, seed=args.seed)
    _reset_peak(engine.device)
    started = time.perf_counter()
    clip = engine.generate(spec)
    with tempfile.TemporaryDirectory() as scratch:
        storage = LocalMediaStorage(Path(scratch) / "media", "http://bench", UrlSigner(b"bench", 60))
        muxed = time.perf_counter()
        path = write_mp4(clip, Path(scratch) / "video.mp4")
        stored = time.perf_counter()
        storage.put("bench/video.mp4", path)
        done = time.perf_counter()
    plan = engine.plan(spec)
    return {
        **{key: clip.timings.get(key, 0.0) for key, _, _ in COLUMNS if key.endswith("_seconds")},
        "tier": recipe.tier,
        "size": f"{clip.width}x{clip.height}",
        "stage1_steps": plan.steps,
        "stage2_steps": plan.refine_steps,
        "mux_seconds": stored - muxed,
        "store_seconds": done - stored,
        "total_seconds": done - started,
        "peak_memory_gib": _peak_gib(engine.device),
    }


def median_row(results: list[dict]) -> dict:
    row = dict(results[0])
    for key, value in row.items():
        if isinstance(value, float):
            row[key] = statistics.median(r[key] for r in results)
    return row


def format_header() -> str:
    cells = []
    for _, header, fmt in COLUMNS:
        width = int(re.search(r"\d+", fmt).group())
        cells.append(header.ljust(width) if "<" in fmt else header.rjust(width))
    return "  ".join(cells)


def format_row(row: dict) -> str:
    return "  ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS)


def _reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats(device)


def _peak_gib(device: str) -> float:
    if device.startswith("cuda"):
        import torch

        return torch.cuda.max_memory_allocated(device) / 2**30
    # On CPU: the process's peak resident set so far (Linux reports KiB).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default="tiny", help="tiny | random-full | hub id | local dir (default tiny)")
    parser.add_argument("--family", default=DEFAULT_FAMILY, choices=list(FAMILIES), help="the LTX model family")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--cache-dir", default="~/.cache/reelserve")
    parser.add_argument("--models", nargs="*", help="model ids (default: every served one)")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--aspect", default="16:9", choices=["16:9", "9:16", "1:1"])
    parser.add_argument("--no-sound", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (lazy init, compile)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is printed")
    parser.add_argument("--json", action="store_true", help="also write each row as JSON to stderr")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--attention-backend", default=None)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--vae-tiling", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--offload-text-encoder", action="store_true")
    parser.add_argument("--fp8", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    main()
