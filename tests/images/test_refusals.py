"""The address rules for input-image URLs, as functions: every refused form is refused before any
connection, and private addresses only where the operator allowed them. Only loopback is ever connected to."""

from __future__ import annotations

import httpx
import pytest

from reelserve import addresses
from reelserve.api.errors import status_and_code
from reelserve.errors import InputImageError
from reelserve.images import ImageFetcher, ImageProblem
from tests.images.pictures import encoded
from tests.images.server import Page, serving

PRIVATE_FORMS = {
    "127.0.0.1": "loopback", "2130706433": "loopback", "[::1]": "loopback", "[::ffff:127.0.0.1]": "loopback",
    "10.0.0.1": "private", "172.16.5.4": "private", "192.168.1.1": "private", "[fd00::1]": "private",
    "169.254.169.254": "link-local", "[fe80::1]": "link-local", "[::ffff:169.254.169.254]": "link-local",
    "[::ffff:10.0.0.1]": "private", "0.0.0.0": "unspecified", "[::]": "unspecified", "100.64.0.1": "not a public",
    "224.0.0.1": "multicast",
}
DEFAULT = ImageFetcher()  # the default: private addresses refused
ALLOWING = ImageFetcher(allow_private=True)


def _refused_parse(fetcher: ImageFetcher, url: str, *, redirect: bool = False) -> InputImageError:
    with pytest.raises(InputImageError) as refused:
        fetcher.parse(url, redirect=redirect)
    return refused.value


@pytest.mark.parametrize("host", sorted(PRIVATE_FORMS))
def test_each_private_address_form_is_refused_at_parse_unless_allowed(host: str) -> None:
    refused = _refused_parse(DEFAULT, f"https://{host}/a.png")
    assert refused.code == "url_refused" and PRIVATE_FORMS[host] in refused.reason, (host, refused.reason)
    assert "REELSERVE_MEDIA_ALLOW_PRIVATE=true" in refused.reason, refused.reason
    assert ALLOWING.parse(f"https://{host}/a.png").address is not None  # the setting lifts the rule


@pytest.mark.parametrize("host", sorted(PRIVATE_FORMS))
def test_a_redirect_to_each_private_address_form_is_refused(host: str) -> None:
    first = DEFAULT.parse("https://images.example/a.png")  # a name: resolved only when fetched, never here
    response = httpx.Response(302, headers={"Location": f"http://{host}/latest/meta-data/"})
    with pytest.raises(InputImageError) as refused:
        DEFAULT.next_target(first, response)
    assert refused.value.code == "url_refused" and PRIVATE_FORMS[host] in refused.value.reason, refused.value.reason
    assert refused.value.reason.startswith(f"was redirected to 'http://{host}/latest/meta-data/'"), refused.value.reason


def test_a_name_resolving_to_loopback_is_refused_at_resolve() -> None:
    assert DEFAULT.parse("http://localhost/a.png").address is None  # judged where it is resolved:
    with pytest.raises(addresses.AddressRefused, match="localhost resolves to .* loopback"):
        addresses.resolve("localhost", 80, allow_private=False)


@pytest.mark.parametrize("spelled", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0x7f.1"])
def test_loopback_is_refused_by_the_fetch_itself_without_a_connection(spelled: str) -> None:
    with serving({"/a.png": Page(body=encoded(400, 400))}) as server:
        url = server.url("/a.png").replace("127.0.0.1", spelled)
        with pytest.raises(InputImageError) as refused:
            DEFAULT.fetch(url)
        assert server.asked == [], f"the server was asked {server.paths}"
        assert ALLOWING.fetch(url) == encoded(400, 400)  # the same URL, private allowed: fetched
    assert refused.value.code == "url_refused" and "loopback" in refused.value.reason, refused.value.reason


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://images.example/a.png", "url_scheme"), ("file:///etc/passwd", "url_scheme"),
    ("gopher://images.example/", "url_scheme"), ("//images.example/a.png", "url_scheme"),
    ("images.example/a.png", "url_scheme"), ("https://user:pw@images.example/a.png", "url_credentials"),
    ("https://images.example/a.png#x", "url_fragment"), ("https://" + "a" * 2048 + ".example/", "url_too_long"),
    ("https://images.example/a\nb.png", "url_control_character"), ("https://[fe80::1%25eth0]/a.png", "url_host"),
])
def test_a_url_that_could_never_be_fetched_is_refused_before_any_connection(url: str, code: str) -> None:
    for fetcher in (DEFAULT, ALLOWING):
        with pytest.raises(InputImageError) as refused:
            fetcher.fetch(url)  # refused at parse: no name resolved, nothing connected (the guard would say)
        assert refused.value.code == code, (url, refused.value.code, refused.value.reason)
    if code == "url_credentials":
        assert "fetchable without logging in" in refused.value.reason, refused.value.reason


def test_the_refusal_names_the_field_in_a_422() -> None:
    refused = _refused_parse(DEFAULT, "http://169.254.169.254/latest/meta-data/")
    named = refused.at("start_image_url")
    assert status_and_code(named) == (422, 422001), status_and_code(named)
    assert named.detail == [{"loc": ["body", "start_image_url"], "msg": refused.reason, "type": "url_refused"}]
    assert named.message.startswith("Invalid input image start_image_url: is refused: 169.254.169.254 is link-local")
    assert (named.code, named.reason, named.field) == ("url_refused", refused.reason, "start_image_url")
    assert refused.detail == [] and refused.field is None  # unnamed until the caller names it
    assert ImageProblem.TIMEOUT == "image_timeout"  # codes are plain strings in the JSON
