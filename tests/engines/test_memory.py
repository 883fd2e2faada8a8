"""The memory plan is a pure function of the components' sizes and the device's free memory."""

from __future__ import annotations

import pytest
import torch

from reelserve.engines.ltx2.families import FAMILIES
from reelserve.engines.memory import GIB, HEADROOM_BYTES, choose_memory_plan, plan_candidates
from reelserve.engines.runtime import RuntimeOptions

SIZES = {"transformer": 40 * GIB, "text_encoder": 24 * GIB, "prompt_enhancer": 10 * GIB, "vae": 2 * GIB,
         "connectors": 6 * GIB}


@pytest.mark.parametrize("free_gib,plan", [
    (200, "all_resident"), (82 + 12, "all_resident"), (93, "offload_text_encoder"),
    (48 + 12, "offload_text_encoder"), (47 + 12, "fp8_transformer"), (28 + 12, "fp8_transformer"),
    (27 + 12, "group_offload"), (1, "group_offload"),
])
def test_the_cheapest_plan_that_fits_is_chosen(free_gib, plan) -> None:
    chosen = choose_memory_plan(SIZES, free_gib * GIB, RuntimeOptions())
    assert chosen.name == plan, chosen.describe()
    assert chosen.free_bytes == free_gib * GIB and f"{free_gib:.1f} GiB free" in chosen.describe()


def test_each_plan_turns_on_what_carries_it_out_and_keeps_the_operators_options() -> None:
    plans = {p.name: p for p in plan_candidates(SIZES, RuntimeOptions(compile=True))}
    assert plans["all_resident"].options == RuntimeOptions(compile=True)
    assert plans["offload_text_encoder"].options.offload_text_encoder and not plans["offload_text_encoder"].options.fp8
    assert plans["fp8_transformer"].options.fp8 and plans["fp8_transformer"].options.offload_text_encoder
    assert plans["group_offload"].options.group_offload and not plans["group_offload"].options.fp8
    assert all(p.options.compile for p in plans.values())
    explicit = choose_memory_plan(SIZES, 500 * GIB, RuntimeOptions(fp8=True))
    assert explicit.name == "all_resident" and explicit.options.fp8  # an operator's fp8 stays on


def test_a_cpu_keeps_everything_resident() -> None:
    plan = choose_memory_plan(SIZES, None, RuntimeOptions())
    assert plan.name == "all_resident" and plan.options == RuntimeOptions() and "host memory" in plan.describe()


@pytest.fixture(scope="module")
def full_sizes() -> dict[str, dict[str, int]]:
    """Each family's component sizes in bfloat16, the distilled LoRA included, as the engine measures them at load."""
    from reelserve.engines.ltx2.random_full import build_random_full
    from reelserve.engines.memory import component_bytes

    return {name: component_bytes(build_random_full(family, dtype=torch.bfloat16, device="meta")[0], torch.bfloat16)
            for name, family in FAMILIES.items()}


@pytest.mark.parametrize("family,card_gib,plan", [
    ("ltx-2.5", 80, "offload_text_encoder"), ("ltx-2.5", 48, "fp8_transformer"), ("ltx-2.5", 24, "group_offload"),
    ("ltx-2.3", 80, "offload_text_encoder"), ("ltx-2.3", 48, "fp8_transformer"), ("ltx-2.3", 24, "group_offload"),
    ("ltx-2", 80, "offload_text_encoder"), ("ltx-2", 48, "fp8_transformer"), ("ltx-2", 24, "group_offload"),
])
def test_what_each_card_gets_as_docs_models_md_says(full_sizes, family, card_gib, plan) -> None:
    """Computed from the real parameter counts (meta tensors), with ~2 GiB of a card taken by the CUDA context."""
    assert choose_memory_plan(full_sizes[family], (card_gib - 2) * GIB, RuntimeOptions()).name == plan
    assert HEADROOM_BYTES == 12 * GIB
