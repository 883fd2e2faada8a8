from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelserve.settings import Settings
from tests.netguard import Guard


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[Guard]:
    """Every test, in this process: connections to loopback only, and no name looked up but localhost
    (tests/netguard.py). A test that tried fails here even if the code under test swallowed the error."""
    guard = Guard()
    with pytest.MonkeyPatch.context() as patch:
        guard.install(patch.setattr)
        yield guard
    assert guard.refused == [], f"connections to addresses other than loopback were tried: {guard.refused}"


@pytest.fixture(autouse=True)
def no_outside_traffic(loopback_only: Guard) -> Iterator[None]:
    """Fails the very test that tried, even if the code under test caught the guard's error."""
    before = len(loopback_only.refused)
    yield
    assert loopback_only.refused[before:] == [], f"this test tried to leave loopback: {loopback_only.refused[before:]}"


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny checkpoint per model family per test session, built through the real save/load path."""
    from reelserve.engines.ltx2.families import FAMILIES
    from reelserve.engines.ltx2.tiny import ensure_tiny_weights

    cache = tmp_path_factory.mktemp("cache")
    for family in FAMILIES.values():
        ensure_tiny_weights(cache, family)
    return cache


@pytest.fixture
def settings(tmp_path: Path, tiny_cache: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", weights="tiny", device="cpu", cache_dir=tiny_cache,
                    port=8000, signing_secret="test-secret", worker_poll_seconds=0.05)


@pytest.fixture(scope="session")
def tiny_engine(tiny_cache: Path):
    from reelserve.engines.ltx2 import Ltx2Engine

    return Ltx2Engine.load("tiny", device="cpu", cache_dir=tiny_cache)  # the default family, LTX-2.5


# --- PostgreSQL: a real server (make test starts the local one); each test gets its own schema ---------

PG_URL = os.environ.get("REELSERVE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_server() -> str:
    import psycopg

    try:
        psycopg.connect(PG_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL} ({exc}); `make test` starts it "
                    "(scripts/ensure-postgres.sh), or set REELSERVE_TEST_DATABASE_URL")
    return PG_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A database URL whose search_path is a fresh schema, dropped afterwards: tests never see each other's rows."""
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


# --- S3: moto's server mode, a separate process spoken to over HTTP; each test gets its own bucket ------

S3_CREDENTIALS = {"s3_access_key_id": "test-access", "s3_secret_access_key": "test-secret", "s3_region": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import httpx

    from tests.live import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """A fresh bucket on the S3 server, as a storage URL with a prefix."""
    import boto3

    bucket = f"t-{secrets.token_hex(6)}"
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="test-access", aws_secret_access_key="test-secret",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/videos"


# --- the fast lane: `make check` runs everything but these (`-m "not whole"`) ---------------------------

# Whole processes, real browsers and multi-process faults: what `make test` adds to the fast lane.
WHOLE = ("browser/", "e2e/", "reliability/", "scale/", "delivery/test_processes.py", "worker/test_log_lines.py",
         "test_bench.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "whole: starts real servers, workers or a browser (left out of `make check`)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        where = Path(item.fspath).relative_to(tests).as_posix()
        if where.startswith(WHOLE) or "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.whole)
