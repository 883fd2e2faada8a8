"""The one `Settings` object of the server. The only server module that reads the environment.

The CLI builds a `Settings` once, and cli/compose.py maps it onto each layer's own frozen config
(`StoreConfig`, `StorageConfig`, `DeliveryConfig`, `EngineConfig`, `ApiConfig`...); nothing else calls
`os.environ`, and no layer below the CLI imports this module (an import contract in pyproject.toml says so).
It only reads: what is made on disk from it (the signing key) is made in the CLI (cli/signing_key.py).
Every field can be set as `REELSERVE_<FIELD>` (e.g. `REELSERVE_WEIGHTS=tiny`) or by a CLI flag.
The SDK's own settings (`REELSERVE_BASE_URL`, `REELSERVE_API_KEY`) are in reelserve/client/settings.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "reelserve"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REELSERVE_", extra="ignore")

    data_dir: Path = Field(
        Path("./data"), description="Where the SQLite database, local videos, scratch files and the signing key live."
    )
    database_url: str | None = Field(
        None, repr=False,
        description="`postgresql://user:pass@host:5432/db`: share one queue between API replicas and workers. "
        "Unset: SQLite in the data dir.",
    )
    database_pool_size: int = Field(10, ge=1, description="PostgreSQL connections each process may open (plus one "
                                    "per worker for LISTEN).")
    host: str = Field("127.0.0.1", description="Interface the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    public_url: str | None = Field(
        None, description="Base URL clients reach this server at; used in every URL the API returns."
    )
    model_family: Literal["ltx-2.5", "ltx-2.3", "ltx-2"] = Field(
        "ltx-2.5", description="Which LTX model family the engine runs: `ltx-2.5` (current), `ltx-2.3`, or "
        "`ltx-2` (legacy). docs/models.md compares them.",
    )
    weights: str = Field(
        "auto",
        description="`auto` (the family's checkpoint with CUDA, else `tiny`), `tiny`, `random-full`, a Hugging Face "
        "hub id, or a local directory, of the chosen family.",
    )
    enhance_prompt: bool = Field(
        True, description="Rewrite prompts with the family's prompt enhancer when a request does not say "
        "(`enhance_prompt`); enhancement is on by default only for families with a dedicated enhancer (LTX-2.5).",
    )
    device: str = Field("auto", description="torch device for the engine: `auto`, `cpu`, `cuda`, `cuda:1`...")
    # GPU settings (engines/runtime.py); docs/configuration.md says what each one costs and saves.
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="Model dtype: `auto` is bfloat16 on CUDA and float32 on CPU."
    )
    attention_backend: str | None = Field(
        None, description="diffusers attention backend (`native`, `flash`, `_native_cudnn`, `sage`...); unset: SDPA."
    )
    compile: bool = Field(False, description="torch.compile the repeated transformer blocks (slow first request).")
    vae_tiling: bool | None = Field(None, description="Decode video in tiles; unset: on with CUDA, off on CPU.")
    offload_text_encoder: bool = Field(False, description="Keep the text encoder on the CPU except while encoding.")
    fp8: bool = Field(False, description="Store transformer weights in fp8 (layerwise casting) for smaller GPUs.")
    storage_url: str | None = Field(
        None,
        description="`s3://bucket/prefix`: keep videos in an S3-compatible bucket shared by every process, and hand "
        "out presigned links. Unset: the data dir, served by the API.",
    )
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint for MinIO, R2, Ceph...; unset: AWS.")
    s3_region: str = Field("us-east-1", description="S3 region (R2: `auto`).")
    s3_access_key_id: str | None = Field(
        None, description="S3 credentials; unset: boto3's default chain (AWS_* variables, ~/.aws, instance role)."
    )
    s3_secret_access_key: str | None = Field(None, repr=False, description="The secret for `s3_access_key_id`.")
    s3_part_size_mib: int = Field(8, ge=5, le=5120, description="Multipart upload part size; S3's minimum is 5 MiB.")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where built tiny weights are cached.")
    signing_secret: str | None = Field(
        None, description="HMAC secret for output URLs; generated and kept in the data dir when unset."
    )
    url_ttl_seconds: int = Field(7 * 24 * 3600, ge=60, description="How long a signed output URL stays valid.")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest accepted request body.")
    max_image_body_bytes: int = Field(
        21 * 1024 * 1024, ge=1024, description="Largest accepted body on the image-to-video routes, whose images may "
        "come inline as data URIs (15 MiB decoded at most).",
    )
    worker_poll_seconds: float = Field(0.5, gt=0, description="How often an idle worker looks for queued requests.")
    lease_seconds: float = Field(
        60.0, gt=0, description="How long a claim lasts unless renewed; the worker renews it while generating."
    )
    shutdown_grace_seconds: float = Field(
        30.0, ge=0, description="On SIGTERM/SIGINT, how long a worker may finish its request before handing it back."
    )
    run_worker: bool = Field(True, description="Run a worker inside `reelserve serve`.")
    # Reliability limits (docs/reliability.md); 0 turns a limit off.
    max_active_per_key: int = Field(50, ge=0, description="Requests one API key may have queued or running at once.")
    submits_per_minute: int = Field(60, ge=0, description="Submits one API key may make in any rolling minute.")
    retention_seconds: int = Field(
        7 * 24 * 3600, ge=1, description="How long finished requests and their videos are kept before deletion."
    )
    # Webhooks (docs/reliability.md).
    webhook_allow_private: bool = Field(
        False, description="Let webhooks reach loopback, private, link-local and other non-public addresses. Off: "
        "such a URL is refused at submit (a literal address) or at delivery (a name resolving there). Turn on only "
        "where every API key holder may reach this network.",
    )
    # Input images (docs/http-api.md): fetched once at submit, under the webhooks' address rules.
    media_allow_private: bool = Field(
        False, description="Let input image URLs reach loopback, private, link-local and other non-public addresses. "
        "Off: such a URL is a 422 at submit. Turn on only where every API key holder may reach this network.",
    )
    media_fetch_seconds: float = Field(
        20.0, gt=0, description="How long fetching one input image may take in all (redirects and body included).",
    )
    webhook_concurrency: int = Field(8, ge=1, description="Webhook attempts each process makes at once.")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="How long a receiver has to answer an attempt.")
    webhook_retry_seconds: float = Field(
        15.0, gt=0, description="Wait before a failed webhook's second attempt; it doubles each time, up to 4 h."
    )
    webhook_retry_window_seconds: float = Field(
        24 * 3600.0, gt=0, description="How long after its event a webhook is still attempted before it is marked failed."
    )
    # Operations (docs/operations.md).
    metrics_token: str | None = Field(
        None, description="When set, GET /metrics needs `Authorization: Bearer <token>`; unset, it is open."
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql://user:password@host:5432/database URL; unset it to use SQLite")
        return value or None

    @field_validator("storage_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^s3://[^/]+(/.*)?$", value):
            raise ValueError("must look like s3://bucket or s3://bucket/prefix; unset it to keep videos in the data dir")
        return value or None

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "reelserve.db"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"
