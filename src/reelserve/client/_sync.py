"""The blocking client: `Client` and the `RequestHandle` it gives back.

_async.py is generated from this file by scripts/gen_async_client.py (a test keeps them in step):
edit this one, then run the script.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

from reelserve.client import errors
from reelserve.client._base import DEFAULT_TIMEOUT, ClientBase, OnUpdate, RetryPolicy, Waiter
from reelserve.client._images import with_image_inputs
from reelserve.client._wire import (RequestPage, Result, Status, error_from_response, parse_page, parse_result,
                                    parse_status)


class Client(ClientBase):
    """`Client(base_url, api_key)`; both default to REELSERVE_BASE_URL / REELSERVE_API_KEY."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, api_key, timeout=timeout, retry=retry)
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, model_id: str, input: dict[str, Any], *, idempotency_key: str | None = None,
               webhook: str | None = None, webhook_events: list[str] | None = None) -> RequestHandle:
        """Queue a request. Never retried once it may have reached the server, unless it has an idempotency key.

        `webhook`: a URL told when the request ends (signed; verify with `reelserve.webhooks.verify`);
        `webhook_events=["started"]` adds the start. An image field (`start_image_url`, `end_image_url`) given as a
        `Path` is sent as a data URI of the file (`image_input`); a str is sent as written."""
        headers = {**self._auth, **self._submit_headers(idempotency_key)}
        body = self._json("POST", self._submit_url(model_id), idempotent=idempotency_key is not None,
                          json=with_image_inputs(input), headers=headers,
                          params=self._submit_params(webhook, webhook_events))
        return RequestHandle(self, str(body["request_id"]))

    def handle(self, request_id: str) -> RequestHandle:
        """A handle on a request submitted earlier (or elsewhere): nothing is lost with a client."""
        return RequestHandle(self, self._checked_id(request_id))

    def run(self, model_id: str, input: dict[str, Any], *, download_to: str | Path | None = None,
            timeout: float | None = None, poll_interval: float = 1.0, on_update: OnUpdate | None = None) -> Result:
        """Submit, wait for the result, and download the video when `download_to` is given."""
        handle = self.submit(model_id, input)
        result = handle.wait(timeout=timeout, poll_interval=poll_interval, on_update=on_update)
        if download_to is not None:
            handle.download(download_to, result=result)
        return result

    def webhook_secret(self) -> str:
        """This API key's webhook signing secret (`whsec_...`), for `reelserve.webhooks.verify` in a receiver."""
        body = self._json("GET", f"{self.base_url}/v1/webhooks/default/secret", idempotent=True, headers=self._auth)
        return str(body["key"])

    def list_requests(self, *, limit: int = 20, cursor: str | None = None) -> RequestPage:
        """This key's requests, newest first (reelserve's GET /v1/requests); pass `next_cursor` for the next page."""
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = self._json("GET", f"{self.base_url}/v1/requests", idempotent=True, params=params, headers=self._auth)
        return parse_page(body)

    # --- sending -----------------------------------------------------------------------------

    def _send(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        return self._with_retries(url, idempotent, self._http.request, method, url, **kwargs)

    def _json(self, method: str, url: str, *, idempotent: bool, **kwargs: Any) -> dict[str, Any]:
        return self._body(self._send(method, url, idempotent=idempotent, **kwargs))

    def _with_retries(self, url: str, idempotent: bool, attempt_once: Any, *args: Any,
                      **kwargs: Any) -> httpx.Response:
        """`attempt_once(*args, **kwargs)` until it gives a response not worth retrying (see `_retry_delay`)."""
        attempt = 0
        while True:
            try:
                response = attempt_once(*args, **kwargs)
            except httpx.TransportError as exc:
                delay = self._retry_delay(attempt, idempotent=idempotent, exc=exc)
                if delay is None:
                    raise self._transport_error(exc, url) from exc
            else:
                delay = self._retry_delay(attempt, idempotent=idempotent, response=response)
                if delay is None:
                    return response
            time.sleep(delay)
            attempt += 1

    def _download(self, url: str, path: Path) -> None:
        partial = path.with_name(path.name + ".part")
        response = self._with_retries(url, True, self._fetch_to, url, partial)
        if not response.is_success:
            raise error_from_response(response)
        os.replace(partial, path)

    def _fetch_to(self, url: str, partial: Path) -> httpx.Response:
        # No Authorization header: the link is signed, and presigned S3 URLs reject extra auth.
        with self._http.stream("GET", url) as response:
            if response.is_success:
                with open(partial, "wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            else:
                response.read()
        return response


class RequestHandle:
    """One submitted request: `status()`, `result()`, `cancel()`, `wait()`, `download()`."""

    def __init__(self, client: Client, request_id: str) -> None:
        self.client = client
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"RequestHandle({self.request_id!r})"

    def status(self) -> Status:
        body = self.client._json("GET", self.client._request_url(self.request_id, "status"), idempotent=True,
                                 headers=self.client._auth)
        return parse_status(body, self.request_id)

    def result(self) -> Result:
        """The result body; while unfinished it carries the current status and no video."""
        body = self.client._json("GET", self.client._request_url(self.request_id, "result"), idempotent=True,
                                 headers=self.client._auth)
        return parse_result(body, self.request_id)

    def cancel(self) -> bool:
        """True when the request is cancelled (now or earlier); False once it is running or finished."""
        body = self.client._json("POST", self.client._request_url(self.request_id, "cancel"), idempotent=True,
                                 headers=self.client._auth)
        return body.get("outcome") == "cancelled" or str(body.get("status", "")).lower() in ("cancelled", "canceled")

    def wait(self, *, timeout: float | None = None, poll_interval: float = 1.0,
             on_update: OnUpdate | None = None, stream: bool = True) -> Result:
        """Wait until the request ends; the completed result, or RequestFailedError / RequestCancelledError /
        RequestTimeoutError (which carries this request's id: the request is not lost).

        Follows the server's event stream (GET .../events) when it has one, and polls every
        `poll_interval` seconds when it has not (other RunComfy-compatible servers), when `stream` is
        False, or from where a stream broke off."""
        waiter = Waiter(self.request_id, timeout, on_update)
        if stream:
            result = self._follow(waiter)
            if result is not None:
                return result
        while not waiter.seen(self.status()):
            time.sleep(waiter.pause(poll_interval))
        return self.result()

    def _follow(self, waiter: Waiter) -> Result | None:
        """The result by the event stream; None when there is no stream, or it ended without one."""
        url = self.client._request_url(self.request_id, "events")
        try:
            with connect_sse(self.client._http, "GET", url, headers=self.client._auth,
                             timeout=waiter.stream_timeout()) as source:
                if not self.client._is_event_stream(source.response):
                    return None
                for event in source.iter_sse():
                    if event.event == "status":
                        waiter.seen(parse_status(event.json(), self.request_id))
                    elif event.event == "result":
                        body = event.json()
                        waiter.seen(parse_status(body, self.request_id))  # raises for failed and cancelled
                        return parse_result(body, self.request_id)
        except (httpx.TransportError, ValueError):  # cut off, silent too long, or a garbled event: poll
            waiter.check_deadline()
        return None

    def download(self, path: str | Path, *, result: Result | None = None) -> Path:
        """Write the finished video to `path` (atomically: a partial download never takes its name)."""
        result = result or self.result()
        if result.video_url is None:
            raise errors.ReelserveClientError(f"request {self.request_id} has no video yet (status {result.status})")
        path = Path(path)
        self.client._download(result.video_url, path)
        return path
