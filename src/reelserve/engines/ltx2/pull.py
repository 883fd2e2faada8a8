"""Download what a family's recipes need from the Hugging Face hub, before the first request needs it."""

from __future__ import annotations

from pathlib import Path

from reelserve.engines.ltx2.families import Family
from reelserve.errors import WeightsUnavailableError


def pull_family(family: Family) -> list[Path]:
    """Fetch the family's checkpoint, full transformer, latent upsampler, distilled LoRA and prompt enhancer
    into the hub cache; returns the folders.

    `DiffusionPipeline.download` reads model_index.json and fetches only the files the pipeline's
    components need, not the repository's single-file checkpoints; the other pieces are fetched by name.
    Each file shows a progress bar, and an interrupted download resumes where it stopped.
    """
    from diffusers import DiffusionPipeline
    from huggingface_hub import snapshot_download

    pieces = [(family.upsampler_repo, [f"{family.upsampler_subfolder}/*"]), (family.lora_repo, [family.lora_weight_name]),
              (family.enhancer_repo, None)]
    if family.transformer_subfolder:
        pieces.append((family.checkpoint, [f"{family.transformer_subfolder}/*"]))
    try:
        folders = [Path(DiffusionPipeline.download(family.checkpoint))]
        for repo, patterns in pieces:
            folders.append(Path(snapshot_download(repo, allow_patterns=patterns)))
        return list(dict.fromkeys(folders))
    except OSError as exc:
        reason = str(exc).split("\n", 1)[0][:300]
        raise WeightsUnavailableError(
            f"Could not download {family.name} ({family.checkpoint}) from the Hugging Face hub ({reason}). The hub may "
            "be unreachable from here: offline, blocked by a firewall, or HF_HUB_OFFLINE=1 is set. Run `reelserve pull` "
            "on a machine that can reach it and copy the hub cache (HF_HOME) over."
        ) from exc
