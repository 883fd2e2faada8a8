"""`?webhook=<url>&webhook_events=started` on a submit: checked here, before anything is stored.

A URL is refused when it is not absolute http(s), is too long, carries credentials or a fragment,
or names an address webhooks may not reach (reelserve.addresses). Only a literal address (or a
`localhost` name, which is loopback by definition, RFC 6761) can be judged here: any other name is
resolved, and judged, at each delivery attempt, whose error then says why it was refused.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from reelserve.addresses import AddressRefused, check_literal
from reelserve.errors import InvalidInputError
from reelserve.store import EVENT_KINDS, OPTIONAL_EVENTS, Webhook

MAX_URL_LENGTH = 2048
ALWAYS_SENT = [kind for kind in EVENT_KINDS if kind not in OPTIONAL_EVENTS]


def _refused(field: str, msg: str, type_: str) -> InvalidInputError:
    return InvalidInputError(f"Invalid {field} query parameter: {msg}.",
                             detail=[{"loc": ["query", field], "msg": msg, "type": type_}])


def webhook_from(url: str | None, events: str | None, *, allow_private: bool) -> Webhook | None:
    """The subscription a submit asked for, or None; InvalidInputError (422001) naming the parameter."""
    if url is None:
        if events is not None:
            raise _refused("webhook_events", "needs a webhook URL: add webhook=<url> to the query", "webhook_missing")
        return None
    return Webhook(_checked_url(url, allow_private), _checked_events(events))


def _checked_url(url: str, allow_private: bool) -> str:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise _refused("webhook", f"is longer than {MAX_URL_LENGTH} characters", "url_too_long")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number in 0-65535
    except ValueError as exc:
        raise _refused("webhook", f"is not a URL ({exc}); send an absolute http or https URL, URL-encoded",
                       "url_parsing") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused("webhook", "must be an absolute http:// or https:// URL with a host, URL-encoded", "url_scheme")
    if parts.username is not None or parts.password is not None:
        raise _refused("webhook", "must not carry credentials (user:password@); authenticate the request by its "
                       "webhook-signature header instead", "url_credentials")
    if parts.fragment:
        raise _refused("webhook", "must not have a #fragment, which is never sent", "url_fragment")
    if port == 0:
        raise _refused("webhook", "names port 0; give the port the receiver listens on", "url_port")
    host = parts.hostname
    try:
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise AddressRefused(f"{host} is a loopback name")
        check_literal(host, allow_private=allow_private)
    except AddressRefused as exc:
        raise _refused("webhook", f"is refused: {exc}; webhooks go only to public addresses (an operator can allow "
                       "private ones with REELSERVE_WEBHOOK_ALLOW_PRIVATE=true)", "url_refused") from exc
    return url


def _checked_events(events: str | None) -> frozenset[str]:
    if events is None:
        return frozenset()
    names = [name.strip().removeprefix("request.") for name in events.split(",") if name.strip()]
    unknown = [name for name in names if name not in EVENT_KINDS]
    if unknown:
        raise _refused("webhook_events", f"{', '.join(map(repr, unknown))} is not an event; name any of "
                       f"{', '.join(EVENT_KINDS)}, comma-separated", "webhook_event_unknown")
    # Every ending is always sent: only the optional events need remembering.
    return frozenset(name for name in names if name in OPTIONAL_EVENTS)
