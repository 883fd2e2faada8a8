"""The six model ids, their typed inputs, and the bounds the image fields share with reelserve.images."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from reelserve import images
from reelserve.catalog import (IMAGE_FIELDS, MAX_DATA_URI_CHARS, MAX_DATA_URI_IMAGE_BYTES, RECIPES, STORED,
                               ImageToVideoInput, TextToVideoInput, input_model_for, recipe_for)

I2V = recipe_for("kling/kling-3.0/4k/image-to-video")


def test_six_ids_one_per_tier_and_kind_each_with_its_own_names() -> None:
    assert [(r.tier, r.kind) for r in RECIPES.values()] == [
        ("pro", "text-to-video"), ("standard", "text-to-video"), ("4k", "text-to-video"),
        ("pro", "image-to-video"), ("standard", "image-to-video"), ("4k", "image-to-video")]
    assert all(r.model_id == f"kling/kling-3.0/{r.tier}/{r.kind}" for r in RECIPES.values())
    assert all(r.takes_images == (r.kind == "image-to-video") for r in RECIPES.values())
    names = [input_model_for(r).__name__ for r in RECIPES.values()]
    slugs = [r.slug for r in RECIPES.values()]
    assert len(set(names)) == len(set(slugs)) == 6, (names, slugs)
    assert all(name[0].isalpha() for name in names), names  # a class name in any generated client
    assert names[:2] == ["ProTextToVideoInput", "StandardTextToVideoInput"], names  # the names clients know


def test_the_4k_tier_delivers_uhd_in_three_shapes() -> None:
    assert I2V.sizes == {"16:9": (3840, 2160), "9:16": (2160, 3840), "1:1": (2880, 2880)}
    assert I2V.sizes == RECIPES["kling/kling-3.0/4k/text-to-video"].sizes


def test_text_to_video_keeps_the_seeds_field_order_and_image_to_video_has_no_aspect_ratio() -> None:
    for recipe in RECIPES.values():
        model = input_model_for(recipe)
        fields = list(model.model_json_schema()["properties"])
        assert issubclass(model, ImageToVideoInput if recipe.takes_images else TextToVideoInput), model.__mro__
        if recipe.takes_images:
            assert "aspect_ratio" not in fields and fields[-2:] == list(IMAGE_FIELDS), fields
        else:
            assert fields == ["prompt", "negative_prompt", "duration", "aspect_ratio", "cfg_scale", "sound",
                              "multi_prompt", "seed", "enhance_prompt", "shot_type"], fields


def test_the_largest_accepted_data_uri_fits_the_field() -> None:
    assert MAX_DATA_URI_IMAGE_BYTES == images.MAX_DATA_URI_IMAGE_BYTES
    longest_head = len("data:image/jpeg;base64,")
    assert MAX_DATA_URI_CHARS >= longest_head + images.datauri.MAX_DATA_URI_CHARS, MAX_DATA_URI_CHARS
    model = input_model_for(I2V)
    uri = "data:image/jpeg;base64," + "A" * images.datauri.MAX_DATA_URI_CHARS
    assert model.model_validate({"prompt": "a", "start_image_url": uri}).start_image_url == uri
    with pytest.raises(ValidationError, match="start_image_url"):
        model.model_validate({"prompt": "a", "start_image_url": uri + "A" * MAX_DATA_URI_CHARS})


def test_a_stored_note_validates_only_as_stored() -> None:
    model = input_model_for(I2V)
    note = {"prompt": "a", "start_image_url": "data:image/png;base64,\u2026 (812345 bytes, stored with the request)"}
    assert model.model_validate(note, context={STORED: True}).start_image_url == note["start_image_url"]
    with pytest.raises(ValidationError, match="start_image_url"):
        model.model_validate({**note, "start_image_url": "ftp://example.com/a.png"})


def test_an_end_image_with_shots_is_refused_naming_the_end_image_even_as_stored() -> None:
    body = {"prompt": "a", "start_image_url": "https://example.com/a.png", "end_image_url": "https://example.com/b.png",
            "multi_prompt": [{"prompt": "one", "duration": 5}]}
    for context in (None, {STORED: True}):
        with pytest.raises(ValidationError) as refused:
            input_model_for(I2V).model_validate(body, context=context)
        assert [e["loc"] for e in refused.value.errors()] == [("end_image_url",)], refused.value.errors()
    del body["end_image_url"]
    assert input_model_for(I2V).model_validate(body).multi_prompt[0].prompt == "one"
