"""LTX-2 through diffusers' `LTX2Pipeline`: video and synchronized audio from one model, in two stages.

engine.py runs it; plan.py sizes each stage; the weights come from one of the sources (pretrained.py
for a hub id or a folder, tiny.py and random_full.py for random weights), picked in sources.py, each
with the scale it renders at; layout.py is the checkpoint layout they share.
"""

from __future__ import annotations

from reelserve.engines.ltx2.engine import Ltx2Engine

__all__ = ["Ltx2Engine"]
