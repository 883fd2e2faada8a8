"""Download what the recipes need from the Hugging Face hub, before the first request needs it."""

from __future__ import annotations

from pathlib import Path

from reelserve.engines.ltx2.layout import LORA_WEIGHT_NAME, UPSAMPLER_SUBFOLDER
from reelserve.errors import WeightsUnavailableError


def pull_checkpoint(checkpoint: str) -> Path:
    """Fetch a diffusers checkpoint into the hub cache and return its folder.

    `DiffusionPipeline.download` reads model_index.json and fetches only the files the pipeline's
    components need, not the repository's single-file checkpoints; the second stage's latent
    upsampler and distilled LoRA are fetched by name. Each file shows a progress bar, and an
    interrupted download resumes where it stopped.
    """
    from diffusers import DiffusionPipeline
    from huggingface_hub import snapshot_download

    try:
        folder = DiffusionPipeline.download(checkpoint)
        snapshot_download(checkpoint, allow_patterns=[f"{UPSAMPLER_SUBFOLDER}/*", LORA_WEIGHT_NAME])
        return Path(folder)
    except OSError as exc:
        reason = str(exc).split("\n", 1)[0][:300]
        raise WeightsUnavailableError(
            f"Could not download {checkpoint} from the Hugging Face hub ({reason}). The hub may be unreachable "
            "from here: offline, blocked by a firewall, or HF_HUB_OFFLINE=1 is set. Run `reelserve pull` on a machine "
            "that can reach it, copy the checkpoint folder over, and start with --weights /path/to/that/folder."
        ) from exc
