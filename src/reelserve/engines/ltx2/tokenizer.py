"""A character-level stand-in for Gemma 3's tokenizer, for the random-weight sources (tiny, random-full).

Every printable character is its own token, so any prompt encodes losslessly (up to the sequence
length) and different prompts give different embeddings, with no tokenizer download.
"""

from __future__ import annotations

import string
from typing import Any


def build_tokenizer() -> Any:
    from transformers import GemmaTokenizer

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
    chars = [c for c in string.printable if not c.isspace()] + ["▁"]
    return GemmaTokenizer(vocab={t: i for i, t in enumerate(specials + chars)}, merges=[])
