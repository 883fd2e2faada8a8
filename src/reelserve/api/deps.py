"""What handlers need, as typed accessors (no globals): the parts and the API's plain-valued config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reelserve.api.changes import ChangeFeed
from reelserve.api.images import ImageIntake
from reelserve.api.keycache import KeyCache
from reelserve.errors import AuthenticationError
from reelserve.images import fetch
from reelserve.storage import MediaStorage
from reelserve.store import ApiKey, JobStore, SubmitLimits


@dataclass(frozen=True)
class ApiConfig:
    """What the HTTP layer needs to know, as plain values (the CLI builds it from the settings)."""

    base_url: str  # every URL the API returns starts with it
    max_body_bytes: int = 1024 * 1024
    # The image-to-video submits' limit: the largest data URI (15 MiB of image, 20 MiB of base64) and the
    # rest of the body. Two images inline share it; a larger pair goes by URL.
    max_image_body_bytes: int = 21 * 1024 * 1024
    retention_seconds: int = 7 * 24 * 3600  # named in the "expired" message
    submit_limits: SubmitLimits = SubmitLimits()  # none
    metrics_token: str | None = None  # when set, GET /metrics needs `Authorization: Bearer <it>`
    key_cache_seconds: float = 1.0  # how long a key lookup is reused: a revocation takes effect within it
    webhook_allow_private: bool = False  # accept webhook URLs naming non-public addresses (reelserve.addresses)
    media_allow_private: bool = False  # fetch input images from non-public addresses too (the same rules)
    media_fetch_seconds: float = fetch.DEADLINE_SECONDS  # one input image's whole fetch, redirects and body included
    family: str = "ltx-2.5"  # the model family the workers are configured to run, for GET /v1/models
    checkpoint: str = "Lightricks/LTX-2.5-Diffusers"


@dataclass(frozen=True)
class Services:
    config: ApiConfig
    store: JobStore
    storage: MediaStorage
    keys: KeyCache
    changes: ChangeFeed  # what open event streams wait on
    images: ImageIntake  # an image-to-video submit's images: fetched once, checked, stored with the request


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


# Declares the bearer scheme in /openapi.json (so "Authorize" in /docs sends the key) on every
# operation that takes a key; auto_error off, so a missing key is our 401001, not FastAPI's 403.
bearer = HTTPBearer(auto_error=False, scheme_name="apiKey",
                    description="An API key from `reelserve keys create`, sent as `Authorization: Bearer rs_...`.")


def current_key(svc: ServicesDep,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ApiKey:
    """The API key in `Authorization: Bearer <key>`; 401001 for missing, malformed, unknown or revoked."""
    if credentials is None or not credentials.credentials.strip():
        raise AuthenticationError()
    key = svc.keys.authenticate(credentials.credentials.strip())
    if key is None:
        raise AuthenticationError("Invalid or revoked API key: create one with `reelserve keys create --name NAME`.")
    return key


KeyDep = Annotated[ApiKey, Depends(current_key)]
