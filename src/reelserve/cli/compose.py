"""The composition root's builders: Settings in, each layer's frozen config out, and the parts built from them.

The only place that maps a setting onto a layer (each setting once, into that layer's config: `StorageConfig`,
`EngineConfig`, `DeliveryConfig`, `ApiConfig`, `WorkerConfig`), and the only place that chooses between backends
(PostgreSQL or SQLite, S3 or the data dir). No layer below the CLI sees a `Settings`: each takes its config or
plain values, so it can be built and tested without one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reelserve.cli.signing_key import read_or_create_signing_key
from reelserve.settings import Settings
from reelserve.storage import LocalStorageConfig, MediaStorage, S3StorageConfig, StorageConfig, open_storage
from reelserve.store import JobStore, StoreConfig, SubmitLimits, open_configured

# The API, the worker, the engine and webhook delivery pull in FastAPI, uvicorn, PyAV, torch and anyio: each is
# imported where it is built, so that `reelserve keys ...` starts in a fraction of a second.
if TYPE_CHECKING:
    import uvicorn

    from reelserve.api import ApiConfig
    from reelserve.delivery import Deliverer
    from reelserve.delivery.config import DeliveryConfig
    from reelserve.engines import Engine, EngineConfig
    from reelserve.worker import Worker


def settings_from(**overrides: Any) -> Settings:
    """The environment's settings, with what the command line gave (None: not given) on top."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})


def store_config(settings: Settings) -> StoreConfig:
    """PostgreSQL when `database_url` is set, else SQLite in the data dir."""
    return StoreConfig(sqlite_path=settings.database_path, database_url=settings.database_url,
                       pool_size=settings.database_pool_size)


def store_for(settings: Settings) -> JobStore:
    """The store the settings name, migrated and ready."""
    return open_configured(store_config(settings))


def storage_config(settings: Settings) -> StorageConfig:
    """S3 when `storage_url` is set; else the data dir, whose links the API serves, signed with `signing_secret`
    or, unset, the data dir's own key (made by the first process that needs it)."""
    if settings.storage_url:
        return S3StorageConfig(
            settings.storage_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
            access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key,
            url_ttl_seconds=settings.url_ttl_seconds, part_size_bytes=settings.s3_part_size_mib * 1024 * 1024)
    if settings.signing_secret:
        secret = settings.signing_secret.encode()
    else:
        secret = read_or_create_signing_key(settings.data_dir)
    return LocalStorageConfig(settings.media_dir, settings.base_url, secret, settings.url_ttl_seconds)


def storage_for(settings: Settings) -> MediaStorage:
    """The storage the settings name, opened (an S3 bucket is checked to be there)."""
    return open_storage(storage_config(settings))


def engine_config(settings: Settings) -> EngineConfig:
    """The engine a worker loads: the weights of the family, on the device, with the GPU settings."""
    from reelserve.engines import EngineConfig, RuntimeOptions

    options = RuntimeOptions(
        dtype=settings.dtype, attention_backend=settings.attention_backend, compile=settings.compile,
        vae_tiling=settings.vae_tiling, offload_text_encoder=settings.offload_text_encoder, fp8=settings.fp8,
    )
    return EngineConfig(settings.weights, family=settings.model_family, device=settings.device,
                        cache_dir=settings.cache_dir, options=options, enhance_prompt=settings.enhance_prompt)


def engine_loader(settings: Settings) -> Callable[[], Engine]:
    """What the worker calls once to load its engine (in its own thread, so startup is not held up)."""
    from reelserve.engines import load_engine

    return functools.partial(load_engine, engine_config(settings))


def api_config(settings: Settings) -> ApiConfig:
    from reelserve.api import ApiConfig
    from reelserve.engines.ltx2.families import family_named

    return ApiConfig(
        family=settings.model_family, checkpoint=family_named(settings.model_family).checkpoint,
        base_url=settings.base_url, max_body_bytes=settings.max_body_bytes,
        retention_seconds=settings.retention_seconds, metrics_token=settings.metrics_token or None,
        # 0 turns a limit off in the settings; None is "unlimited" below.
        submit_limits=SubmitLimits(max_active=settings.max_active_per_key or None,
                                   per_minute=settings.submits_per_minute or None),
        webhook_allow_private=settings.webhook_allow_private,
        max_image_body_bytes=settings.max_image_body_bytes, media_allow_private=settings.media_allow_private,
        media_fetch_seconds=settings.media_fetch_seconds,
    )


def build_http_server(settings: Settings, store: JobStore, storage: MediaStorage) -> uvicorn.Server:
    """The API app under uvicorn, on the settings' host and port; `run()` serves until SIGTERM/SIGINT."""
    import uvicorn

    from reelserve.api import create_app

    app = create_app(api_config(settings), store, storage)
    # access_log off: uvicorn's writes each URL whole, and a media link's query is its signature
    # (the API's access middleware logs the path). log_config None: uvicorn's lines go through setup_logging's
    # format, with timestamps. No `server: uvicorn` banner.
    return uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                                         access_log=False, log_config=None, server_header=False))


def build_worker(settings: Settings) -> Worker:
    """A worker with its own store and storage, and the housekeeping every worker does between jobs."""
    from reelserve.worker import Janitor, Worker, WorkerConfig

    store, storage = store_for(settings), storage_for(settings)
    config = WorkerConfig(lease_seconds=settings.lease_seconds, poll_seconds=settings.worker_poll_seconds,
                          scratch_dir=settings.data_dir / "tmp")
    janitor = Janitor(store, storage, retention_seconds=settings.retention_seconds, reap_every=config.reap_seconds)
    return Worker(store, storage, engine_loader(settings), config, janitor=janitor)


def delivery_config(settings: Settings) -> DeliveryConfig:
    """How a process delivers webhooks: the one place the receiver's timeout is read (an event's lease and
    a stopping process's wait for the attempts in flight follow from it)."""
    from reelserve.delivery import RetryPolicy
    from reelserve.delivery.config import DeliveryConfig

    retry = RetryPolicy(first_delay_seconds=settings.webhook_retry_seconds,
                        give_up_after_seconds=settings.webhook_retry_window_seconds)
    return DeliveryConfig(timeout_seconds=settings.webhook_timeout_seconds, retry=retry,
                          concurrency=settings.webhook_concurrency, allow_private=settings.webhook_allow_private)


def build_deliverer(settings: Settings, store: JobStore, storage: MediaStorage) -> Deliverer:
    """The webhook delivery loop every server and worker process runs, on that process's store and storage."""
    return delivery_config(settings).deliverer(store, storage)
