"""A character-level stand-in for Gemma's tokenizer, and a processor around it, for the random-weight
sources (tiny, random-full).

Every printable character is its own token, so any prompt encodes losslessly (up to the sequence
length) and different prompts give different embeddings, with no tokenizer download. The processor is
what prompt enhancement speaks to (a chat template, then token ids): Gemma 3's, for every family, since
Gemma 4's needs torchvision's video processor, which has no CPU wheel here; a real checkpoint brings its own.
"""

from __future__ import annotations

import string
from typing import Any

IMAGE_TOKENS = {"image_token": "<image_soft_token>", "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>"}
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>", *IMAGE_TOKENS.values()]
# Gemma's turn format, as the real chat templates write it, for text and text-with-image messages.
CHAT_TEMPLATE = (
    "{% for m in messages %}<start_of_turn>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for part in m['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% else %}<start_of_image>{% endif %}{% endfor %}{% endif %}"
    "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def build_tokenizer() -> Any:
    from transformers import GemmaTokenizer

    chars = [c for c in string.printable if not c.isspace()] + ["▁"]
    tokenizer = GemmaTokenizer(vocab={t: i for i, t in enumerate(SPECIALS + chars)}, merges=[],
                               extra_special_tokens=IMAGE_TOKENS)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_processor(tokenizer: Any) -> Any:
    from transformers import Gemma3Processor
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    return Gemma3Processor(image_processor=Gemma3ImageProcessorPil(), tokenizer=tokenizer, chat_template=CHAT_TEMPLATE,
                           image_seq_length=4)
