"""Fetching an input image from a real server on 127.0.0.1 (private addresses allowed for it): redirects,
the deadline, the size limit, statuses, and the type decided by the bytes."""

from __future__ import annotations

import gzip
import itertools
import time
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from reelserve.errors import InputImageError
from reelserve.images import MAX_IMAGE_BYTES, ImageFetcher, ImageFormat, ImageProblem, open_input_image
from tests.images.pictures import encoded
from tests.images.server import Page, serving
from tests.images.tls import server_context

PNG = encoded(640, 360)
MIB = 1024 * 1024
FETCHER = ImageFetcher(allow_private=True)  # one for all: a fetcher is thread-safe and reusable


def _refused(fetcher: ImageFetcher, url: str) -> InputImageError:
    with pytest.raises(InputImageError) as refused:
        fetcher.fetch(url)
    return refused.value


def test_an_image_is_fetched_from_the_checked_address_named_as_the_url_names_it() -> None:
    with serving({"/a.png": Page(headers={"Content-Type": "image/png"}, body=PNG)}) as server:
        assert FETCHER.fetch(server.url("/a.png")) == PNG
    (path, headers), = server.asked
    assert path == "/a.png" and headers["host"] == server.base.removeprefix("http://"), server.asked
    assert headers["accept-encoding"] == "identity", headers


def test_the_type_is_the_bytes_not_the_content_type() -> None:
    pages = {"/photo.jpg": Page(headers={"Content-Type": "image/jpeg"}, body=PNG),
             "/logo.png": Page(headers={"Content-Type": "image/png"}, body=encoded(400, 400, "GIF", mode="P"))}
    with serving(pages) as server:
        fetcher = FETCHER
        assert open_input_image(server.url("/photo.jpg"), fetcher).source_format == ImageFormat.PNG
        with pytest.raises(InputImageError) as refused:
            open_input_image(server.url("/logo.png"), fetcher)
    assert refused.value.code == ImageProblem.TYPE and "a GIF" in refused.value.reason, refused.value.reason


def test_the_sync_fetch_runs_in_a_worker_thread_off_the_callers_loop() -> None:
    async def submit(url: str) -> bytes:
        return await anyio.to_thread.run_sync(FETCHER.fetch, url)

    with serving({"/a.png": Page(body=PNG)}) as server:
        assert anyio.run(submit, server.url("/a.png")) == PNG


@pytest.mark.parametrize(("status", "said"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500"), (304, "HTTP 304")])
def test_a_status_other_than_2xx_is_refused_naming_it(status: int, said: str) -> None:
    with serving({"/a.png": Page(status, body=b"no")}) as server:
        refused = _refused(FETCHER, server.url("/a.png"))
    assert refused.code == ImageProblem.STATUS and said in refused.reason, refused.reason


def test_up_to_three_redirects_are_followed_each_from_where_it_points() -> None:
    pages = {"/1": Page(301, {"Location": "/2"}), "/2": Page(302, {"Location": "3"}),
             "/3": Page(307, {"Location": "/a.png"}), "/a.png": Page(body=PNG)}  # relative Locations
    with serving(pages) as server:
        assert FETCHER.fetch(server.url("/1")) == PNG
    assert server.paths == ["/1", "/2", "/3", "/a.png"], server.paths


def test_a_fourth_redirect_is_refused_and_not_followed() -> None:
    pages = {f"/{n}": Page(308, {"Location": f"/{n + 1}"}) for n in range(1, 5)} | {"/5": Page(body=PNG)}
    with serving(pages) as server:
        refused = _refused(FETCHER, server.url("/1"))
    assert refused.code == ImageProblem.REDIRECTS and "more than 3" in refused.reason, refused.reason
    assert server.paths == ["/1", "/2", "/3", "/4"], server.paths


@pytest.mark.parametrize(("location", "code"), [
    ("http://[fe80::1%25lo]:80/a.png", "url_host"),  # a zone: an interface of this server, refused even allowed
    ("ftp://127.0.0.1/a.png", "url_scheme"),
    ("file:///etc/passwd", "url_scheme"),
    ("gopher://127.0.0.1:70/", "url_scheme"),
    ("http://user:secret@127.0.0.1/a.png", "url_credentials"),
])
def test_each_redirect_is_parsed_and_checked_again_before_it_is_followed(location: str, code: str) -> None:
    with serving({"/a.png": Page(302, {"Location": location})}) as server:
        refused = _refused(FETCHER, server.url("/a.png"))
    assert refused.code == code and refused.reason.startswith("was redirected to '"), (refused.code, refused.reason)
    assert server.paths == ["/a.png"], server.paths


def test_a_redirect_without_a_location_is_refused() -> None:
    with serving({"/a.png": Page(302)}) as server:
        refused = _refused(FETCHER, server.url("/a.png"))
    assert refused.code == ImageProblem.REDIRECTS and "without a Location" in refused.reason, refused.reason


def test_a_slow_sender_is_cut_off_by_the_total_deadline() -> None:
    trickle = Page(headers={"Content-Type": "image/png"}, stream=lambda: (PNG[i:i + 1] for i in range(len(PNG))),
                   every=0.05)  # each byte well within any per-read timeout; the whole would take minutes
    with serving({"/slow.png": trickle, "/stall.png": Page(body=PNG, stall=5.0)}) as server:
        for path in ["/slow.png", "/stall.png"]:
            began = time.monotonic()
            refused = _refused(ImageFetcher(allow_private=True, deadline_seconds=0.5), server.url(path))
            took = time.monotonic() - began
            assert refused.code == ImageProblem.TIMEOUT and "within 0.5 s" in refused.reason, refused.reason
            assert took < 2.0, f"{path}: the fetch took {took:.1f} s under a 0.5 s deadline"


def test_reading_stops_past_50_mb() -> None:
    endless = Page(headers={"Content-Type": "image/png"},
                   stream=lambda: itertools.chain([PNG], itertools.repeat(bytes(MIB), 200)))  # 200 MiB, if read
    with serving({"/big.png": endless}) as server:
        refused = _refused(FETCHER, server.url("/big.png"))
        server.wait_for_requests(1)
    assert refused.code == ImageProblem.TOO_LARGE and "more than 52,428,800 bytes" in refused.reason, refused.reason
    # What the server managed to write: what was read, plus what the two sockets' buffers held.
    assert MAX_IMAGE_BYTES < server.bytes_written < MAX_IMAGE_BYTES + 32 * MIB, server.bytes_written


def test_a_declared_length_over_50_mb_is_refused_before_the_body_is_read() -> None:
    declared = Page(headers={"Content-Length": str(MAX_IMAGE_BYTES + 1)},
                    stream=lambda: itertools.chain([PNG], itertools.repeat(bytes(MIB), 200)))
    with serving({"/big.png": declared}) as server:
        refused = _refused(FETCHER, server.url("/big.png"))
        server.wait_for_requests(1)
    assert refused.code == ImageProblem.TOO_LARGE and "declares 52,428,801 bytes" in refused.reason, refused.reason
    assert server.bytes_written < 32 * MIB, server.bytes_written


def test_a_compressed_answer_is_not_inflated() -> None:
    bomb = gzip.compress(bytes(20 * MIB))  # 20 MiB of zeros in about 20 kB
    with serving({"/a.png": Page(headers={"Content-Encoding": "gzip"}, body=bomb)}) as server:
        data = FETCHER.fetch(server.url("/a.png"))
        with pytest.raises(InputImageError) as refused:
            open_input_image(server.url("/a.png"), FETCHER)
    assert data == bomb and refused.value.code == ImageProblem.TYPE, (len(data), refused.value.reason)


def test_a_closed_port_is_unreachable() -> None:
    refused = _refused(FETCHER, "http://127.0.0.1:9/a.png")
    assert refused.code == ImageProblem.UNREACHABLE and "ConnectError" in refused.reason, refused.reason


def test_https_names_the_host_in_the_handshake_and_checks_its_certificate(tmp_path: Path) -> None:
    names_seen: list[str | None] = []
    with serving({"/a.png": Page(body=PNG)}, tls=server_context(tmp_path, names_seen)) as server:
        url = server.url("/a.png").replace("127.0.0.1", "localhost")
        refused = _refused(FETCHER, url)
    # The connection went to the resolved address; the handshake still named the URL's host, and the
    # self-signed certificate was refused, as any certificate no authority vouches for is.
    assert names_seen == ["localhost"], names_seen
    assert refused.code == ImageProblem.UNREACHABLE and "CERTIFICATE_VERIFY_FAILED" in refused.reason, refused.reason
    assert server.asked == [], server.asked
