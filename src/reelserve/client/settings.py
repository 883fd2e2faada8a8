"""What the SDK and the client commands (`run`, `submit`, ...) read from the environment when not given
arguments: the SDK's own settings, apart from the server's (reelserve/settings.py), which it never imports."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """`REELSERVE_BASE_URL` and `REELSERVE_API_KEY`."""

    model_config = SettingsConfigDict(env_prefix="REELSERVE_", extra="ignore")

    base_url: str = Field("http://127.0.0.1:8000", description="The server the client talks to.")
    api_key: str | None = Field(None, description="The bearer key the client sends.")
