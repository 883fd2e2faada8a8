"""Spatial tiles for a refinement too large to denoise as one frame, as the reference's 4K refinement runs it
(ltx-pipelines hdr_ic_lora.py `_run_stage2_phase`, Lightricks/LTX-2 @ 400fd31): each tile of the upsampled
latent is denoised alone, as a video of its own, then the tiles are blended with linear ramps where they
overlap (ltx-core tiling.py `split_by_count` and `compute_trapezoidal_mask_1d`). Pure but for the masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reelserve.engines.ltx2.families import Refine


@dataclass(frozen=True)
class Span:
    """One tile along one axis, in latent cells: [start, stop), fading in over `ramp_in` and out over `ramp_out`."""

    start: int
    stop: int
    ramp_in: int
    ramp_out: int


@dataclass(frozen=True)
class Tile:
    rows: Span
    columns: Span

    def box(self, height: int, width: int) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) as fractions of a latent of height x width cells."""
        return (self.columns.start / width, self.rows.start / height, self.columns.stop / width,
                self.rows.stop / height)

    def weight(self) -> Any:
        """The blend weight of each of the tile's cells, (rows, columns); the weights of all tiles sum to 1."""
        return _ramp(self.rows)[:, None] * _ramp(self.columns)[None, :]


def tiles_for(height: int, width: int, refine: Refine) -> list[Tile]:
    """The tiles of a height x width latent, row by row."""
    rows, columns = refine.tiles
    return [Tile(r, c) for r in spans(height, rows, refine.overlap) for c in spans(width, columns, refine.overlap)]


def spans(size: int, count: int, overlap: int) -> list[Span]:
    """`split_by_count`: `count` tiles of equal size covering `size` cells, neighbours sharing `overlap`, the first
    (size + overlap (count - 1)) % count of them one larger. As hdr_ic_lora.py `_clamp_dim_tiling` does, too
    small an axis gets one tile and too large an overlap is clamped so that every tile keeps a cell of its own."""
    if count <= 1 or size < count:
        return [Span(0, size, 0, 0)]
    overlap = min(overlap, size - count)
    tile, extra = divmod(size + overlap * (count - 1), count)
    result, start = [], 0
    for index in range(count):
        stop = start + tile + (index < extra)
        result.append(Span(start, stop, overlap if index else 0, overlap if index < count - 1 else 0))
        start = stop - overlap
    return result


def _ramp(span: Span) -> Any:
    """`compute_trapezoidal_mask_1d`: 1 inside, linear ramps that exclude 0 and 1 at the shared ends."""
    import torch

    mask = torch.ones(span.stop - span.start)
    if span.ramp_in:
        mask[: span.ramp_in] = torch.linspace(0.0, 1.0, span.ramp_in + 2)[1:-1]
    if span.ramp_out:
        mask[-span.ramp_out :] = torch.linspace(1.0, 0.0, span.ramp_out + 2)[1:-1]
    return mask
