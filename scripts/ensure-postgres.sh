#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use is up: start this machine's cluster if it is down.
# The tests use REELSERVE_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test).
set -euo pipefail
url="${REELSERVE_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"

ready() { pg_isready -q -d "$url" 2>/dev/null; }

ready && exit 0
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
        echo "starting PostgreSQL $version (cluster main)" >&2
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
fi
for _ in $(seq 1 30); do
    ready && exit 0
    sleep 1
done
echo "PostgreSQL is not reachable at $url. Start a server, or point REELSERVE_TEST_DATABASE_URL at one." >&2
exit 1
