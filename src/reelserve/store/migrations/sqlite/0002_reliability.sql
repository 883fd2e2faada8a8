-- Idempotency keys, retention tombstones, and the indexes the limits, reaper and purge query by.

-- One row per (API key, Idempotency-Key); deleted with its job, or after 24 h by the purge.
CREATE TABLE idempotency_keys (
    owner         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,                          -- sha256 of the model id and validated body
    job_id        TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    created_at    REAL NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);

-- A purged request leaves its id behind, so it answers "expired" instead of "not found".
CREATE TABLE expired_jobs (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expired_at  REAL NOT NULL
);
CREATE INDEX expired_jobs_expired_at ON expired_jobs (expired_at);

CREATE INDEX jobs_owner_status ON jobs (owner, status);
CREATE INDEX jobs_owner_created ON jobs (owner, created_at);
CREATE INDEX jobs_status_finished ON jobs (status, finished_at);
CREATE INDEX jobs_status_lease ON jobs (status, lease_expires_at);
DROP INDEX jobs_owner;
