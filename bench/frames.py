"""Decoded frames to uint8 host memory: the numpy path LTX-2's engine used, against converting on the
engine's device (engines/ltx2/engine.py:frames_to_uint8). `python bench/frames.py [--device cpu]`

Input: what the VAE decodes, (1, 3, F, H, W) floats in -1..1 at the render size (a little larger
than the delivered size, which both paths crop to). The numpy path is what the engine did until
round three: the pipeline's own postprocess (denormalize) to a numpy float array, then numpy's
clip, scale, round and crop. The device path is frames_to_uint8 on the frames as decoded: one
in-place pass over the cropped frames, where they are. Outputs are checked to agree within one
level. On CPU the saving is diffusers' full-size float passes and numpy's single-threaded loops; on
CUDA it is also three quarters of the bytes that cross to the host (run it with --device cuda).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from diffusers.video_processor import VideoProcessor

from reelserve.engines.ltx2.engine import frames_to_uint8

SIZES = {"720p": (121, 736, 1280, 720, 1280), "1080p": (121, 1088, 1920, 1080, 1920)}  # F, render H, W, out H, W


def numpy_path(processor: VideoProcessor, video: torch.Tensor, frames: int, height: int, width: int) -> np.ndarray:
    array = np.asarray(processor.postprocess_video(video, output_type="np")[0][:frames], dtype=np.float32)
    as_bytes = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    top, left = (as_bytes.shape[1] - height) // 2, (as_bytes.shape[2] - width) // 2
    return np.ascontiguousarray(as_bytes[:, top : top + height, left : left + width])


def device_path(processor: VideoProcessor, video: torch.Tensor, frames: int, height: int, width: int) -> np.ndarray:
    return frames_to_uint8(video[0], frames, width, height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="720p,1080p")
    args = parser.parse_args()
    processor = VideoProcessor(vae_scale_factor=32)
    print(f"# reelserve bench/frames.py  device={args.device} repeat={args.repeat} threads={torch.get_num_threads()}")
    print(f"{'size':<7}{'frames':>7}{'numpy s':>9}{'device s':>10}{'speedup':>9}{'host bytes':>14}")
    for name in args.sizes.split(","):
        frames, render_h, render_w, height, width = SIZES[name]
        generator = torch.Generator().manual_seed(0)
        video = (torch.rand((1, 3, frames, render_h, render_w), generator=generator) * 2 - 1).to(args.device)
        timings: dict[str, list[float]] = {"numpy": [], "device": []}
        outputs: dict[str, np.ndarray] = {}
        for _ in range(args.repeat):  # alternated, so drift hits both alike
            for label, path in (("numpy", numpy_path), ("device", device_path)):
                began = time.perf_counter()
                outputs[label] = path(processor, video, frames, height, width)
                timings[label].append(time.perf_counter() - began)
        differ = np.abs(outputs["numpy"].astype(np.int16) - outputs["device"]).max()
        assert differ <= 1, f"the two paths differ by {differ} levels"
        old, new = statistics.median(timings["numpy"]), statistics.median(timings["device"])
        print(f"{name:<7}{frames:>7}{old:>9.2f}{new:>10.2f}{old / new:>8.1f}x{outputs['device'].nbytes:>14,}")
        del video


if __name__ == "__main__":
    main()
