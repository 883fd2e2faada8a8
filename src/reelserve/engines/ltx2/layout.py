"""How an LTX checkpoint is laid out on disk, as diffusers lays out `Lightricks/LTX-2`.

A checkpoint folder holds the pipeline's components (model_index.json and one folder each), the 2x
latent upsampler in `latent_upsampler/`, and the distilled LoRA as one file at the top (its name is the
family's). Every weights source writes or reads this layout; nothing here imports anything.
"""

from __future__ import annotations

UPSAMPLER_SUBFOLDER = "latent_upsampler"
LORA_ADAPTER = "distilled"  # the adapter name the engine switches on and off
# The attention and feed-forward projections of every transformer block, audio included: where the
# distilled LoRA sits, and where the random-weight stand-ins put theirs.
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2"]
