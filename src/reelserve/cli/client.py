"""Client commands on the `reelserve` entry point: run, submit, status, result, cancel, over the SDK.

They work against reelserve or any RunComfy-compatible server (`--base-url`, REELSERVE_BASE_URL).
Exit codes (docs/client.md): 0 ok, 1 server or network error, 2 usage, 3 authentication,
4 rejected input or unknown id, 5 the request failed or was cancelled, 6 timed out waiting (the
request id is printed: it may still finish), 130 interrupted (a queued request is cancelled, a
running one is left running and its id printed).
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from reelserve.catalog import MAX_DATA_URI_IMAGE_BYTES, RECIPES, Recipe, recipe_for
from reelserve.client import (
    AuthenticationError, Client, ImageInputError, InProgress, MissingApiKeyError, NotFoundError, PayloadTooLargeError,
    Queued, ReelserveClientError, RequestCancelledError, RequestFailedError, RequestTimeoutError, Result, RetryPolicy,
    Status, ValidationError, image_input,
)

EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_REJECTED, EXIT_FAILED, EXIT_TIMEOUT, EXIT_INTERRUPTED = 1, 2, 3, 4, 5, 6, 130

BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Server URL (env REELSERVE_BASE_URL).", show_default=False)]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key (env REELSERVE_API_KEY).", show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
RequestId = Annotated[str, typer.Argument(help="A request id, as `submit` printed it.")]


@dataclass(frozen=True)
class ClientOptions:
    """What every command's `Client` gets beyond its URL and key. The `reelserve` app passes none; a caller
    that runs the app itself (a test, an embedding program) may pass one as click's context object."""

    transport: httpx.BaseTransport | None = None
    retry: RetryPolicy | None = None


def _client(ctx: typer.Context, base_url: str | None, api_key: str | None) -> Client:
    options = ctx.obj if isinstance(ctx.obj, ClientOptions) else ClientOptions()
    return Client(base_url, api_key, transport=options.transport, retry=options.retry)


# --- building the input ------------------------------------------------------------------------

ModelId = Annotated[str, typer.Argument(help="e.g. kling/kling-3.0/standard/text-to-video, or .../image-to-video "
                                             "with --image")]
InputFile = Annotated[Path | None, typer.Option("--input", help="A JSON file sent as the body, as is.")]
Prompt = Annotated[str | None, typer.Option("--prompt", "-p", help="What to generate.")]
Duration = Annotated[int | None, typer.Option("--duration", help="Seconds, 3-15 (default 5).")]
Aspect = Annotated[str | None, typer.Option("--aspect-ratio", help="16:9, 9:16 or 1:1 (text-to-video only: an "
                                                                   "image-to-video video takes its image's shape).")]
Cfg = Annotated[float | None, typer.Option("--cfg-scale", help="0-1; 0.5 is the model's tuned default.")]
Negative = Annotated[str | None, typer.Option("--negative-prompt", help="What to avoid.")]
Sound = Annotated[bool | None, typer.Option("--sound/--no-sound", help="Generate audio (default: on).",
                                            show_default=False)]
Seed = Annotated[int | None, typer.Option("--seed", help="Same seed, same video.")]
Enhance = Annotated[bool | None, typer.Option(
    "--enhance-prompt/--no-enhance-prompt", show_default=False,
    help="Rewrite the prompt with the model family's enhancer first (default: the server's; on for LTX-2.5).")]
ShotType = Annotated[str | None, typer.Option(
    "--shot-type", help="customize (both models) or intelligent (standard only; its default): how the prompt is cut into shots.")]
Shots = Annotated[list[str] | None, typer.Option("--shot", help="\"PROMPT:SECONDS\"; repeat for each shot.")]
Image = Annotated[str | None, typer.Option(
    "--image", metavar="PATH_OR_URL", show_default=False,
    help="The first frame, for an image-to-video model: a JPEG, PNG or WebP file on this machine (sent inside the "
         f"request, so at most {MAX_DATA_URI_IMAGE_BYTES // 2**20} MiB) or an http(s) URL the server downloads.")]
EndImage = Annotated[str | None, typer.Option(
    "--end-image", metavar="PATH_OR_URL", show_default=False,
    help="The last frame (optional, with --image), given the same way.")]


def request_body(prompt: Prompt = None, image: Image = None, end_image: EndImage = None, duration: Duration = None,
                 aspect_ratio: Aspect = None, cfg_scale: Cfg = None, negative_prompt: Negative = None,
                 sound: Sound = None, seed: Seed = None, shot_type: ShotType = None, shot: Shots = None,
                 enhance_prompt: Enhance = None, input_file: InputFile = None) -> dict[str, Any]:
    """The request body from the options `run` and `submit` share (`takes_a_request_body`): a file sent as
    is, or the flags given (unset flags take the server's defaults)."""
    shots = shot or []
    flags = {"prompt": prompt, "duration": duration, "aspect_ratio": aspect_ratio, "cfg_scale": cfg_scale,
             "negative_prompt": negative_prompt, "sound": sound, "seed": seed, "shot_type": shot_type,
             "enhance_prompt": enhance_prompt, "start_image_url": image, "end_image_url": end_image}
    given = {k: v for k, v in flags.items() if v is not None}
    if input_file is not None:
        if given or shots:
            _usage("--input sends the file as it is; leave out the other input flags")
        return _read_input(input_file)
    if prompt is None:
        _usage("--prompt is required (or --input FILE.json)")
    if shots:
        given["multi_prompt"] = [_parse_shot(s) for s in shots]
        given.setdefault("duration", sum(item["duration"] for item in given["multi_prompt"]))
    return given | _images(image, end_image)


def _images(image: str | None, end_image: str | None) -> dict[str, str]:
    """The image fields, each a URL as given or a local file made a data URI by the SDK (checked before sending)."""
    options = {"start_image_url": ("--image", image), "end_image_url": ("--end-image", end_image)}
    fields = {}
    for field, (option, value) in options.items():
        if value is not None:
            try:
                fields[field] = image_input(value)
            except ImageInputError as exc:
                _usage(f"{option}: {exc}")
    return fields


def _check_fits_the_model(model_id: str, image: str | None, end_image: str | None, aspect_ratio: str | None,
                          input_file: Path | None) -> None:
    """Exit 2 when the options do not fit a model this server serves: images for image-to-video only, which needs
    --image and has no aspect ratio. Another server's model ids are not known here, and it judges the body itself;
    so does this server a body from --input."""
    recipe = recipe_for(model_id.strip("/"))
    if recipe is None or input_file is not None:
        return
    twin = _twin(recipe)
    if not recipe.takes_images and (image is not None or end_image is not None):
        _usage(f"{model_id} is text-to-video and takes no image; to start from an image use {twin}")
    if recipe.takes_images and image is None:
        _usage(f"{model_id} starts from an image: give --image PATH_OR_URL (or use {twin} for text alone)")
    if recipe.takes_images and aspect_ratio is not None:
        _usage(f"--aspect-ratio is for text-to-video: {model_id} makes its video in the shape of --image")


def _twin(recipe: Recipe) -> str:
    """The model id of the same tier and the other kind."""
    return next(r.model_id for r in RECIPES.values() if r.tier == recipe.tier and r.takes_images != recipe.takes_images)


def _parse_shot(text: str) -> dict[str, Any]:
    prompt, sep, seconds = text.rpartition(":")
    if not sep or not prompt.strip() or not seconds.strip().isdigit():
        _usage(f"--shot {text!r}: write it as \"PROMPT:SECONDS\", e.g. --shot \"a door opens:3\"")
    return {"prompt": prompt.strip(), "duration": int(seconds)}


def _read_input(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        _usage(f"--input {path}: {exc}")
    if not isinstance(body, dict):
        _usage(f"--input {path}: the file must hold one JSON object")
    return body


# --- output ------------------------------------------------------------------------------------


def describe(status: Status) -> str:
    if isinstance(status, Queued):
        return "in queue" + (f", position {status.position}" if status.position is not None else "")
    if isinstance(status, InProgress):
        return "in progress" + (f", {status.progress:.0f}%" if status.progress is not None else "")
    return status.state


def result_json(result: Result) -> dict[str, Any]:
    return result.raw or {"request_id": result.request_id, "status": result.status, "video": result.video_url}


def _emit(as_json: bool, data: Any, text: str) -> None:
    typer.echo(json.dumps(data) if as_json else text)


def _usage(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn SDK errors into a message on stderr and the documented exit code."""
    try:
        yield
    except RequestTimeoutError as exc:
        _fail(EXIT_TIMEOUT, str(exc))
    except (RequestFailedError, RequestCancelledError) as exc:
        _fail(EXIT_FAILED, str(exc))
    except MissingApiKeyError:
        _fail(EXIT_AUTH, "no API key: pass --api-key KEY or set REELSERVE_API_KEY (`reelserve serve` printed "
                         "one at its first start, or wrote it to DATA_DIR/first-api-key)")
    except AuthenticationError as exc:
        _fail(EXIT_AUTH, f"{exc.message} (check --api-key or REELSERVE_API_KEY)")
    except (ValidationError, PayloadTooLargeError, NotFoundError) as exc:
        _fail(EXIT_REJECTED, str(exc))
    except ReelserveClientError as exc:
        _fail(EXIT_ERROR, str(exc))


def _fail(code: int, message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


PLAIN_LINE_POINTS = 10  # without a terminal: a line each time progress moves this many points,
PLAIN_LINE_SECONDS = 5.0  # or when a change comes this long after the last line (a slow stage still shows life)


class Display:
    """Queue position, then a percent bar, on stderr. Plain lines when stderr is not a terminal: a log
    gets no carriage returns, and a line per state, per queue move and per 10 points of progress."""

    def __init__(self, request_id: str, enabled: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.request_id = request_id
        self.enabled = enabled
        self._clock = clock
        self._progress: Any = None
        self._task: Any = None
        self._last_state: str | None = None
        self._last_line: tuple[float, float] = (0.0, 0.0)  # (when, progress) of the last plain line

    def __enter__(self) -> Display:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      TaskProgressColumn(), TimeElapsedColumn(), console=Console(stderr=True),
                                      transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task(self.request_id, total=100)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    def update(self, status: Status) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            completed = status.progress if isinstance(status, InProgress) and status.progress is not None else None
            self._progress.update(self._task, description=f"{self.request_id}: {describe(status)}",
                                  completed=100 if status.state == "completed" else completed)
        elif self._worth_a_line(status):
            typer.echo(f"{self.request_id}: {describe(status)}", err=True)
            progress = status.progress if isinstance(status, InProgress) else None
            self._last_line = (self._clock(), progress or 0.0)
        self._last_state = status.state

    def _worth_a_line(self, status: Status) -> bool:
        if status.state != self._last_state or isinstance(status, Queued):
            return True
        when, progress = self._last_line
        moved = (status.progress or 0.0) - progress if isinstance(status, InProgress) else 0.0
        return moved >= PLAIN_LINE_POINTS or self._clock() - when >= PLAIN_LINE_SECONDS


# --- commands ----------------------------------------------------------------------------------


def takes_a_request_body(command: Callable[..., None]) -> Callable[..., None]:
    """Put the options of `request_body` where `command` has its `body` parameter, and call it with the
    body they build. Typer reads the combined signature, so the options, their help and their order
    are defined once for every command that submits."""
    body_params = list(inspect.signature(request_body, eval_str=True).parameters.values())
    params = [q for p in inspect.signature(command, eval_str=True).parameters.values()
              for q in (body_params if p.name == "body" else [p])]

    @functools.wraps(command)
    def with_body(**options: Any) -> None:
        given = {p.name: options.pop(p.name) for p in body_params}
        _check_fits_the_model(options["model_id"], given["image"], given["end_image"], given["aspect_ratio"],
                              given["input_file"])  # before any image file is read
        body = request_body(**given)
        command(body=body, **options)

    with_body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    with_body.__annotations__ = {p.name: p.annotation for p in params}
    return with_body


@takes_a_request_body
def run(
    ctx: typer.Context, model_id: ModelId, body: dict[str, Any],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the MP4 here.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Give up waiting after this many seconds.")] = None,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between status checks.")] = 1.0,
    base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False,
) -> None:
    """Submit, show queue position then progress, and save the video. Ctrl-C cancels a queued request or
    leaves a running one running (its id is printed)."""
    with exit_codes(), _client(ctx, base_url, api_key) as client:
        handle = client.submit(model_id, body)
        typer.echo(f"request {handle.request_id} submitted", err=True)
        try:
            with Display(handle.request_id, enabled=not as_json) as display:
                result = handle.wait(timeout=timeout, poll_interval=poll_interval, on_update=display.update)
        except KeyboardInterrupt:
            _interrupted(handle)
        if output is not None:
            handle.download(output, result=result)
        text = f"{handle.request_id}: saved {output}" if output else f"{handle.request_id}: {result.video_url}"
        _emit(as_json, result_json(result), text)


def _interrupted(handle: Any) -> NoReturn:
    status = handle.status()
    if isinstance(status, Queued) and handle.cancel():
        _fail(EXIT_INTERRUPTED, f"interrupted: request {handle.request_id} was queued and is now cancelled")
    _fail(EXIT_INTERRUPTED, f"interrupted: request {handle.request_id} is {describe(status)} and keeps running; "
                            f"follow it with `reelserve status {handle.request_id}`")


@takes_a_request_body
def submit(
    ctx: typer.Context, model_id: ModelId, body: dict[str, Any],
    webhook: Annotated[str | None, typer.Option("--webhook", help="A URL told when the request ends (a signed "
                                                "POST; see docs/client.md for a receiver).")] = None,
    webhook_event: Annotated[list[str] | None, typer.Option(
        "--webhook-event", help="An optional event to send as well: `started`. Repeatable.")] = None,
    base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False,
) -> None:
    """Queue a request and print its id."""
    with exit_codes(), _client(ctx, base_url, api_key) as client:
        handle = client.submit(model_id, body, webhook=webhook, webhook_events=webhook_event or None)
        _emit(as_json, {"request_id": handle.request_id}, handle.request_id)


def status(ctx: typer.Context, request_id: RequestId, base_url: BaseUrl = None, api_key: ApiKey = None,
           as_json: Json = False) -> None:
    """Print a request's status: its queue position, then its progress."""
    with exit_codes(), _client(ctx, base_url, api_key) as client:
        current = client.handle(request_id).status()
        data = {"request_id": current.request_id, "status": current.state}
        if isinstance(current, Queued):
            data["queue_position"] = current.position
        if isinstance(current, InProgress):
            data["progress"] = current.progress
        _emit(as_json, data, f"{current.request_id}: {describe(current)}")


def result(
    ctx: typer.Context, request_id: RequestId,
    download: Annotated[Path | None, typer.Option("--download", help="Save the MP4 here.")] = None,
    base_url: BaseUrl = None, api_key: ApiKey = None, as_json: Json = False,
) -> None:
    """Print a request's result; --download saves the MP4.

    Once the request has completed, the result is the video's URL."""
    with exit_codes(), _client(ctx, base_url, api_key) as client:
        handle = client.handle(request_id)
        found = handle.result()
        if found.status == "failed" and found.error is not None:
            raise RequestFailedError(request_id, found.error.code or "failed", found.error.message or "")
        if download is not None:
            handle.download(download, result=found)
        text = f"{request_id}: {found.status}" + (f" {found.video_url}" if found.video_url else "")
        _emit(as_json, result_json(found), text + (f" (saved {download})" if download else ""))


def cancel(ctx: typer.Context, request_id: RequestId, base_url: BaseUrl = None, api_key: ApiKey = None,
           as_json: Json = False) -> None:
    """Cancel a queued request. A running or finished one can't be cancelled (exit 5 says so)."""
    with exit_codes(), _client(ctx, base_url, api_key) as client:
        cancelled = client.handle(request_id).cancel()
        _emit(as_json, {"request_id": request_id, "cancelled": cancelled},
              f"{request_id}: {'cancelled' if cancelled else 'not cancellable: it is running or finished'}")
    if not cancelled:
        raise typer.Exit(EXIT_FAILED)


COMMANDS = (run, submit, status, result, cancel)
