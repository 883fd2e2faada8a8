"""The playground's layout and words, at 1280 and 375 px, against a real `reelserve serve` with tiny
weights: Generate in view, errors beside their fields with the focus on them, plain words in the
history, "Copied" on the copy button, unique ids, empty states that say what comes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.browser.playground import (PRO, RAW_STATUSES, STANDARD, STATUS_WORDS, choose_model, duplicate_ids,
                                      fill_request, in_view, keep_worker_busy, models, open_advanced,
                                      open_playground, wait_done, wait_for_video)

WIDTHS = [1280, 375]


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def page(request, server, page_for):
    opened = open_playground(page_for, server.base, request.param)
    yield opened
    assert opened.errors == [] and opened.outside == []


@pytest.fixture
def wide(server, page_for):
    opened = open_playground(page_for, server.base, 1280)
    yield opened
    assert opened.errors == [] and opened.outside == []


def test_nothing_is_wider_than_the_screen_and_the_empty_states_say_what_comes(page) -> None:
    width = page.page.viewport_size["width"]
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= width
    box = page.page.get_by_role("button", name="Generate").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert "Your video will appear here." in page.page.locator("#result").inner_text()
    assert "Enter your API key" in page.page.locator("#history").inner_text()


def test_prompt_and_generate_are_in_view_at_1280_for_every_model(server, wide) -> None:
    for model in models(server.base):
        choose_model(wide.page, model)
        for name in ("Prompt", "Generate"):
            target = wide.page.get_by_label(name, exact=True) if name == "Prompt" else wide.page.get_by_role("button", name=name)
            box = target.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= 720, f"{name} of {model} at {box}, below the fold of 720 px"
        assert not wide.page.locator("#advanced").evaluate("d => d.open"), "advanced settings start folded"
        labels = wide.page.locator("#form").inner_text()
        assert "multi_prompt" not in labels and "(default" not in labels and "shot_type" not in labels, labels


def test_every_id_on_the_page_is_unique(server, wide) -> None:
    page = wide.page
    for model in models(server.base):
        choose_model(page, model)
        open_advanced(page)
        add = page.get_by_role("button", name="Add shot")
        for _ in range(3):
            add.click()
        page.get_by_role("button", name="Remove shot 2").click()
        add.click()  # shot 3 again: it must not take an id the old shot 3 had
        assert duplicate_ids(page) == [], f"{model}: {duplicate_ids(page)}"
        labels = page.locator(".shot label").all_inner_texts()
        assert labels == [f"Shot {n} {part}" for n in (1, 2, 3) for part in ("prompt", "duration")], labels
        for _ in range(3):
            page.get_by_role("button", name="Remove shot 1").click()


def test_a_field_error_is_beside_its_field_in_plain_words_with_the_focus_on_it(server, page) -> None:
    p = page.page
    # Left empty: said before anything is sent.
    fill_request(p, server.key, PRO, "", 3)
    p.get_by_role("button", name="Generate").click()
    assert p.locator("[data-error-for=prompt]").inner_text() == "Required."
    assert p.evaluate("() => document.activeElement.id") == "field-prompt"
    # The server's refusal, in the page's words, beside the field and focused.
    p.get_by_label("Prompt", exact=True).fill("\u200b\u200b")
    p.get_by_role("button", name="Generate").click()
    beside = p.locator("[data-error-for=prompt]")
    p.wait_for_function("() => document.querySelector('[data-error-for=prompt]').textContent.includes('visible')")
    assert "no visible characters" in beside.inner_text()
    assert p.get_by_label("Prompt", exact=True).get_attribute("aria-invalid") == "true"
    assert p.evaluate("() => document.activeElement.id") == "field-prompt"
    assert in_view(p, "[data-error-for=prompt]")
    # A number out of range: no pydantic wording.
    p.get_by_label("Prompt", exact=True).fill("A kite")
    p.get_by_label("Duration", exact=True).fill("20")
    p.get_by_role("button", name="Generate").click()
    p.wait_for_function("() => document.querySelector('[data-error-for=duration]').textContent !== ''")
    said = p.locator("[data-error-for=duration]").inner_text()
    assert said == "Too high: at most 15.", said
    assert p.evaluate("() => document.activeElement.id") == "field-duration"
    # The shot editor, folded under Advanced, opens to show its error, and takes the focus.
    p.get_by_label("Duration", exact=True).fill("3")
    open_advanced(p)
    p.get_by_role("button", name="Add shot").click()
    p.get_by_label("Shot 1 prompt").fill("red kite")
    p.get_by_label("Shot 1 duration").fill("4")
    assert "Shots add up to 4 s of 3 s: make them equal" in p.locator("#shot-sum").inner_text()
    p.get_by_text("Advanced settings").click()  # folded again
    p.get_by_role("button", name="Generate").click()
    p.wait_for_function("() => document.querySelector('[data-error-for=multi_prompt]').textContent !== ''")
    said = p.locator("[data-error-for=multi_prompt]").inner_text()
    assert "add up to 4 s but duration is 3 s" in said and not said.startswith("Value error"), said
    assert p.locator("#advanced").evaluate("d => d.open")
    assert p.evaluate("() => document.activeElement.id") == "field-multi_prompt"
    assert "Fix the fields marked in red" in p.locator("#form-error").inner_text()


def test_history_pages_in_plain_words_and_reuses_settings(server, wide) -> None:
    p = wide.page
    busy = keep_worker_busy(server)
    for n in range(7):  # more than one page of six, queued behind the busy one
        submitted = httpx.post(f"{server.base}/v1/models/{STANDARD}", json={"prompt": f"history {n}", "duration": 3},
                               headers=server.auth)
        assert submitted.status_code == 200, submitted.text
    p.get_by_label("API key").fill(server.key)
    p.get_by_label("API key").dispatch_event("change")
    items = p.locator("#history li")
    p.wait_for_function("() => document.querySelectorAll('#history li button').length === 6")
    assert items.first.inner_text().startswith("history 6")  # newest first
    words = set(p.locator("#history .badge").all_inner_texts())
    assert words <= STATUS_WORDS and "Queued" in words, words
    assert not any(raw in p.locator("#history").inner_text() for raw in RAW_STATUSES), p.locator("#history").inner_text()
    assert "Standard · Text to video · 3 s" in items.first.inner_text()
    p.get_by_role("button", name="Older").click()
    p.wait_for_function("() => !document.querySelector('#history').textContent.includes('history 6')")
    assert "history 0" in p.locator("#history").inner_text()
    p.get_by_role("button", name="Newer").click()
    p.wait_for_function("() => document.querySelector('#history').textContent.includes('history 6')")
    assert p.get_by_role("button", name="Newer").is_disabled()  # back on the first page
    # Clicking a finished one shows its video; its settings can be put back in the form.
    wait_done(server, busy)
    wait_done(server, None)
    p.get_by_role("button", name="Older").click()
    p.get_by_role("button", name="Newer").click()  # reloaded: the statuses are now final
    p.wait_for_function("() => document.querySelector('#history').textContent.includes('history 6')")
    p.locator("#history li button").first.click()
    wait_for_video(p)
    choose_model(p, PRO)
    p.get_by_role("button", name="Use these settings").click()
    assert p.locator("#model-id").inner_text() == STANDARD
    assert p.get_by_label("Prompt", exact=True).input_value() == "history 6"
    assert p.get_by_label("Duration", exact=True).input_value() == "3"


def test_copy_says_copied_and_the_code_runs_as_it_is(server, wide, tmp_path) -> None:
    p = wide.page
    p.context.grant_permissions(["clipboard-read", "clipboard-write"])
    fill_request(p, server.key, STANDARD, "It's a copied request", 3, sound=False)
    button = p.get_by_role("button", name="Copy as curl")
    button.click()
    command = p.locator("#code").inner_text()
    assert p.evaluate("() => navigator.clipboard.readText()") == command
    assert p.locator("[data-copy=curl]").inner_text() == "Copied"
    assert p.locator("#code").evaluate("pre => getComputedStyle(pre).whiteSpace") == "pre"  # never wrapped mid-token
    assert server.key not in command  # the key stays in the environment
    ran = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                         env={**os.environ, "REELSERVE_API_KEY": server.key})
    assert ran.returncode == 0, ran.stderr
    request_id = httpx.Response(200, content=ran.stdout).json()["request_id"]
    done = wait_done(server, request_id)
    assert done["status"] == "completed" and done["metadata"]["has_audio"] is False
    p.wait_for_function("() => document.querySelector('[data-copy=curl]').textContent === 'Copy as curl'")
    # The Python and CLI versions run as they are too (in the venv, with the key exported), each
    # saving the video it made.
    env = {**os.environ, "REELSERVE_API_KEY": server.key,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for kind, runner in (("Copy as Python", [sys.executable, "-c"]), ("Copy as reelserve run", ["bash", "-c"])):
        p.get_by_role("button", name=kind).click()
        code = p.locator("#code").inner_text()
        assert p.evaluate("() => navigator.clipboard.readText()") == code
        assert server.key not in code
        ran = subprocess.run([*runner, code], capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
        assert ran.returncode == 0, f"{code}\n{ran.stderr}"
        assert (tmp_path / "video.mp4").stat().st_size > 0
        (tmp_path / "video.mp4").unlink()
