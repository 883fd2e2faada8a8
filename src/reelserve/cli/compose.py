"""The composition root's builders: Settings in, the parts out, each built from plain values.

The only place that chooses between backends (PostgreSQL or SQLite, S3 or the data dir). No layer
below the CLI sees a `Settings`: each takes plain arguments, so it can be built and tested without one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reelserve.settings import Settings
from reelserve.storage import MediaStorage
from reelserve.store import JobStore, SubmitLimits, open_store

# The API, the worker and the engine pull in FastAPI, PyAV and torch: each is imported where it is
# built, so that `reelserve keys ...` starts in a fraction of a second.
if TYPE_CHECKING:
    from reelserve.api import ApiConfig
    from reelserve.delivery import Deliverer
    from reelserve.engines import Engine
    from reelserve.worker import Worker


def settings_from(**overrides: Any) -> Settings:
    """The environment's settings, with what the command line gave (None: not given) on top."""
    return Settings(**{name: value for name, value in overrides.items() if value is not None})


def store_for(settings: Settings) -> JobStore:
    """The store the settings name (PostgreSQL when `database_url` is set, else SQLite), migrated and ready."""
    return open_store(settings.database_url, sqlite_path=settings.database_path, pool_size=settings.database_pool_size)


def storage_for(settings: Settings) -> MediaStorage:
    """S3 when `storage_url` is set, else the data dir (whose links the API signs and serves)."""
    if settings.storage_url:
        from reelserve.storage.s3 import S3MediaStorage  # boto3 is only imported when asked for

        return S3MediaStorage.connect(
            settings.storage_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
            access_key_id=settings.s3_access_key_id, secret_access_key=settings.s3_secret_access_key,
            url_ttl_seconds=settings.url_ttl_seconds, part_size=settings.s3_part_size_mib * 1024 * 1024)
    from reelserve.storage import LocalMediaStorage, UrlSigner

    signer = UrlSigner(settings.resolved_signing_secret(), settings.url_ttl_seconds)
    return LocalMediaStorage(settings.media_dir, settings.base_url, signer)


def engine_loader(settings: Settings) -> Callable[[], Engine]:
    """What the worker calls once to load its engine (in its own thread, so startup is not held up)."""
    from reelserve.engines import RuntimeOptions, load_engine

    options = RuntimeOptions(
        dtype=settings.dtype, attention_backend=settings.attention_backend, compile=settings.compile,
        vae_tiling=settings.vae_tiling, offload_text_encoder=settings.offload_text_encoder, fp8=settings.fp8,
    )
    return functools.partial(load_engine, settings.weights, family=settings.model_family, device=settings.device,
                             cache_dir=settings.cache_dir, options=options, enhance_prompt=settings.enhance_prompt)


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
    )


def build_worker(settings: Settings) -> Worker:
    """A worker with its own store and storage, and the housekeeping every worker does between jobs."""
    from reelserve.worker import Janitor, Worker

    store, storage = store_for(settings), storage_for(settings)
    janitor = Janitor(store, storage, retention_seconds=settings.retention_seconds,
                      reap_every=min(5.0, settings.lease_seconds / 2))
    return Worker(store, storage, engine_loader(settings), lease_seconds=settings.lease_seconds,
                  poll_seconds=settings.worker_poll_seconds, scratch_dir=settings.data_dir / "tmp", janitor=janitor)


def build_deliverer(settings: Settings, store: JobStore, storage: MediaStorage) -> Deliverer:
    """The webhook delivery loop every server and worker process runs, on that process's store and storage."""
    from reelserve.delivery import Deliverer, EventBodies, RetryPolicy, Sender

    sender = Sender(timeout_seconds=settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private)
    retry = RetryPolicy(first_delay_seconds=settings.webhook_retry_seconds,
                        give_up_after_seconds=settings.webhook_retry_window_seconds)
    # The events' lease follows the sender's deadline (delivery/deliverer.py: lease_for).
    return Deliverer(store, sender, EventBodies(store, storage), concurrency=settings.webhook_concurrency, retry=retry)
