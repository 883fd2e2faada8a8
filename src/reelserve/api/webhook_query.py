"""`?webhook=<url>&webhook_events=started` on a submit: checked here, before anything is stored.

A URL is refused when the webhook sender could never attempt it (reelserve.addresses.parse_webhook_url,
the one parser both use: not absolute http(s), too long, credentials, a fragment, a control character,
a host that is neither a DNS name nor an IP address), or when it names an address webhooks may not
reach. Only a literal address (or a
`localhost` name, which is loopback by definition, RFC 6761) can be judged here: any other name is
resolved, and judged, at each delivery attempt, whose error then says why it was refused.
"""

from __future__ import annotations

from reelserve.addresses import AddressRefused, UrlRefused, parse_webhook_url
from reelserve.errors import InvalidInputError
from reelserve.store import EVENT_KINDS, OPTIONAL_EVENTS, Webhook
from reelserve.webhooks import EventType

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
    try:
        target = parse_webhook_url(url, allow_private=allow_private)  # the sender's own parser
        if not allow_private and (target.host == "localhost" or target.host.endswith(".localhost")):
            raise AddressRefused(f"{target.host} is a loopback name")
    except AddressRefused as exc:
        raise _refused("webhook", f"is refused: {exc}; webhooks go only to public addresses (an operator can allow "
                       "private ones with REELSERVE_WEBHOOK_ALLOW_PRIVATE=true)", "url_refused") from exc
    except UrlRefused as exc:
        raise _refused("webhook", str(exc), exc.code) from exc
    return url


def _checked_events(events: str | None) -> frozenset[str]:
    if events is None:
        return frozenset()
    names, unknown = [], []
    for name in filter(str.strip, events.split(",")):
        try:
            names.append(EventType.named(name).kind)
        except ValueError:
            unknown.append(name.strip().removeprefix("request."))
    if unknown:
        raise _refused("webhook_events", f"{', '.join(map(repr, unknown))} is not an event; name any of "
                       f"{', '.join(EVENT_KINDS)}, comma-separated", "webhook_event_unknown")
    # Every ending is always sent: only the optional events need remembering.
    return frozenset(name for name in names if name in OPTIONAL_EVENTS)
