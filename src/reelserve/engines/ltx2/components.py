"""Build an LTX family's components from config dicts: the real classes, at any width. Used by the random
weight sources (tiny at toy widths, random-full at full size); a pretrained checkpoint brings its own.

A diffusers component names its class in `_class_name`; a transformers one in `architectures`, with its
`model_type` choosing the config class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONFIGS = Path(__file__).parent / "configs"
# The pipeline's model components, in the order diffusers' LTX2Pipeline takes them; the upsampler and the
# prompt enhancer are built by the same rule.
MODEL_COMPONENTS = ("transformer", "vae", "audio_vae", "connectors", "vocoder", "text_encoder")


def load_config(family_configs: str, component: str) -> dict[str, Any] | None:
    """The full-size config of one component of a family (configs/<family>/<component>), or None if it has none."""
    path = CONFIGS / family_configs / component / "config.json"
    return json.loads(path.read_text()) if path.exists() else None


def build_component(config: dict[str, Any]) -> Any:
    """One component, random weights, on torch's current default device and dtype."""
    if "_class_name" in config:
        return _diffusers_class(config["_class_name"]).from_config(config)
    import transformers

    settings = {k: v for k, v in config.items() if k not in ("architectures", "model_type")}
    model_config = transformers.AutoConfig.for_model(config["model_type"], **settings)
    return getattr(transformers, config["architectures"][0])(model_config)


def _diffusers_class(name: str) -> Any:
    import diffusers
    from diffusers.pipelines import ltx2

    for module in (diffusers, ltx2):
        if hasattr(module, name):
            return getattr(module, name)
    if name == "LTX2LatentUpsamplerModel":
        from diffusers.pipelines.ltx2.latent_upsampler import LTX2LatentUpsamplerModel

        return LTX2LatentUpsamplerModel
    raise ValueError(f"no diffusers class named {name!r}")
