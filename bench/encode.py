"""Frames to a stored MP4: which libx264 settings, and the whole path before and after round three.

    python bench/encode.py [--sizes 720p:121,1080p:361] [--repeat 2] [--grid-frames 121]

1. **Settings.** For several kinds of content (FFmpeg's lavfi sources: `testsrc2`, moving test
   patterns; the same with light and heavy film grain; a `mandelbrot` zoom, smooth and detailed), each
   candidate encodes the same 720p frames: frames per second, file size, and PSNR of the decoded
   MP4 against what the encoder was given (both in yuv420p, all three planes: FFmpeg's "average").
2. **The path.** From what the VAE decodes (float frames in -1..1 at the render size, in host memory
   here) to an MP4 stored in local media storage, with the audio a 5 s request has:
   - before: diffusers' postprocess to numpy floats, numpy's clip/scale/crop, libx264 veryfast crf 18;
   - after: `frames_to_uint8` (one pass where the frames are) and the chosen encoder (media/encoder.py).
   Both convert in chunks of 61 frames, so that the 1080p 361-frame input (9 GB of float32) fits in
   this machine's memory beside its copies; the work per frame is unchanged.

Run on a quiet machine; the two paths alternate within each repeat and the median is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from diffusers.video_processor import VideoProcessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frames import numpy_path  # noqa: E402  (bench/frames.py: the conversion the engine used before)

from reelserve.engines.ltx2.engine import frames_to_uint8  # noqa: E402
from reelserve.media import Clip, write_mp4  # noqa: E402
from reelserve.media.encoder import X264, VideoEncoder  # noqa: E402

# The encoder the service used before bench/encode.py chose X264: the "before" side of the comparison.
X264_VERYFAST = VideoEncoder("libx264", (("preset", "veryfast"), ("crf", "18")))
from reelserve.storage.local import LocalMediaStorage  # noqa: E402
from reelserve.storage.signing import UrlSigner  # noqa: E402

CONTENT = {
    "testsrc2": "testsrc2=size={w}x{h}:rate=24",
    "grain-light": "testsrc2=size={w}x{h}:rate=24,noise=alls=3:allf=t",
    "grain-heavy": "testsrc2=size={w}x{h}:rate=24,noise=alls=8:allf=t",
    "mandelbrot": "mandelbrot=size={w}x{h}:rate=24",
}
CANDIDATES = [
    X264_VERYFAST,
    VideoEncoder("libx264", (("preset", "superfast"), ("crf", "23"))),
    VideoEncoder("libx264", (("preset", "ultrafast"), ("crf", "23"))),
    X264,
]
SIZES = {"720p": (720, 1280, 736), "1080p": (1080, 1920, 1088)}  # delivered height, width; render height
CHUNK = 61
SAMPLE_RATE = 48_000


def lavfi_frames(graph: str, frames: int) -> np.ndarray:
    with av.open(graph, format="lavfi") as source:
        out = []
        for frame in source.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if len(out) == frames:
                return np.stack(out)
    raise RuntimeError(f"{graph} gave only {len(out)} frames")


def as_yuv(frames: np.ndarray) -> list[np.ndarray]:
    """What the encoder is given: the RGB frames through swscale to yuv420p, as write_mp4 does."""
    return [av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p").to_ndarray() for f in frames]


def psnr(path: Path, reference: list[np.ndarray]) -> float:
    squared, count = 0.0, 0
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            diff = frame.to_ndarray().astype(np.int32) - reference[index]
            squared += float((diff * diff).sum())
            count += diff.size
    return 10 * np.log10(255**2 / (squared / count))


def settings_table(frames: int, scratch: Path) -> None:
    print(f"{'content':<13}{'encoder':<62}{'fps':>7}{'MB':>8}{'size×':>7}{'PSNR dB':>9}")
    for name, graph in CONTENT.items():
        count = frames if name != "mandelbrot" else min(frames, 60)  # its lavfi source is slow to render
        rgb = lavfi_frames(graph.format(w=1280, h=720), count)
        reference, baseline = as_yuv(rgb), None
        for encoder in CANDIDATES:
            path, best = scratch / "grid.mp4", float("inf")
            for _ in range(2):
                began = time.perf_counter()
                write_mp4(Clip(frames=rgb, fps=24, audio=None, sample_rate=None), path, encoder=encoder)
                best = min(best, time.perf_counter() - began)
            size = path.stat().st_size
            baseline = baseline or size
            print(f"{name:<13}{encoder.describe():<62}{count / best:>7.1f}{size / 1e6:>8.2f}{size / baseline:>7.2f}"
                  f"{psnr(path, reference):>9.2f}", flush=True)


def convert_before(video: torch.Tensor, start: int, frames: int, height: int, width: int) -> np.ndarray:
    return numpy_path(VideoProcessor(vae_scale_factor=32), video[:, :, start : start + frames], frames, height, width)


def convert_after(video: torch.Tensor, start: int, frames: int, height: int, width: int) -> np.ndarray:
    return frames_to_uint8(video[0, :, start : start + frames], frames, width, height)


PATHS = {"before": (convert_before, X264_VERYFAST), "after": (convert_after, X264)}


def to_stored_mp4(label: str, video: torch.Tensor, frames: int, height: int, width: int, audio: np.ndarray,
                  out: Path, storage: LocalMediaStorage) -> np.ndarray:
    """One path, float frames to a stored MP4, converted CHUNK frames at a time; the uint8 frames it made."""
    convert, encoder = PATHS[label]
    rgb = np.concatenate([convert(video, i, min(CHUNK, frames - i), height, width) for i in range(0, frames, CHUNK)])
    storage.put(f"00000000-0000-4000-8000-000000000000/{label}.mp4",
                write_mp4(Clip(rgb, 24, audio, SAMPLE_RATE), out, encoder=encoder))
    return rgb


def path_table(sizes: list[tuple[str, int]], repeat: int, scratch: Path) -> None:
    storage = LocalMediaStorage(scratch / "media", "http://127.0.0.1", UrlSigner(b"bench", 3600))
    print(f"{'size':<7}{'frames':>7}{'before s':>10}{'after s':>9}{'speedup':>9}{'before MB':>11}{'after MB':>10}"
          f"{'size×':>7}{'PSNR before':>13}{'PSNR after':>12}")
    for name, frames in sizes:
        height, width, render_height = SIZES[name]
        rgb = lavfi_frames(CONTENT["grain-light"].format(w=width, h=render_height), frames)
        # contiguous (1, 3, F, H, W), as the VAE returns it
        video = torch.from_numpy(rgb).permute(3, 0, 1, 2)[None].to(torch.float32).div_(127.5).sub_(1.0).contiguous()
        del rgb
        audio = (0.1 * np.sin(np.linspace(0, 440 * 2 * np.pi * frames / 24, frames * SAMPLE_RATE // 24)))
        audio = np.stack([audio, audio]).astype(np.float32)
        timings: dict[str, list[float]] = {"before": [], "after": []}
        outputs: dict[str, tuple[Path, np.ndarray]] = {}
        for _ in range(repeat):
            for label in PATHS:
                out = scratch / f"{label}.mp4"
                began = time.perf_counter()
                outputs[label] = (out, to_stored_mp4(label, video, frames, height, width, audio, out, storage))
                timings[label].append(time.perf_counter() - began)
        del video
        reference = as_yuv(outputs["before"][1])  # the exact conversion: what either file should show
        sizes_mb = {label: out.stat().st_size / 1e6 for label, (out, _) in outputs.items()}
        old, new = statistics.median(timings["before"]), statistics.median(timings["after"])
        print(f"{name:<7}{frames:>7}{old:>10.2f}{new:>9.2f}{old / new:>8.1f}x{sizes_mb['before']:>11.2f}"
              f"{sizes_mb['after']:>10.2f}{sizes_mb['after'] / sizes_mb['before']:>7.2f}"
              f"{psnr(outputs['before'][0], reference):>13.2f}{psnr(outputs['after'][0], reference):>12.2f}",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="720p:121,1080p:361")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--grid-frames", type=int, default=121, help="0 skips the settings table")
    args = parser.parse_args()
    sizes = [(name, int(frames)) for name, frames in (item.split(":") for item in args.sizes.split(","))]
    print(f"# reelserve bench/encode.py  sizes={args.sizes} repeat={args.repeat} grid_frames={args.grid_frames} "
          f"cpus={os.cpu_count()} torch_threads={torch.get_num_threads()} pyav={av.__version__} "
          f"ffmpeg={av.ffmpeg_version_info}")
    with tempfile.TemporaryDirectory() as scratch:
        if args.grid_frames:
            settings_table(args.grid_frames, Path(scratch))
        path_table(sizes, args.repeat, Path(scratch))


if __name__ == "__main__":
    main()
