"""Typed accessors for what handlers need; no globals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from reelserve.errors import AuthenticationError
from reelserve.settings import Settings
from reelserve.storage import MediaStorage
from reelserve.store import ApiKey, JobStore, SubmitLimits


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: JobStore
    storage: MediaStorage

    @property
    def submit_limits(self) -> SubmitLimits:
        return SubmitLimits(max_active=self.settings.max_active_per_key or None,
                            per_minute=self.settings.submits_per_minute or None)


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


def current_key(request: Request, svc: ServicesDep) -> ApiKey:
    """The API key in `Authorization: Bearer <key>`; 401001 for missing, malformed, unknown or revoked."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError()
    key = svc.store.authenticate(token.strip())
    if key is None:
        raise AuthenticationError("Invalid or revoked API key: create one with `reelserve keys create --name NAME`.")
    return key


KeyDep = Annotated[ApiKey, Depends(current_key)]
