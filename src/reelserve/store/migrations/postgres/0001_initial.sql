-- The same schema as SQLite's 0001 + 0002, in PostgreSQL's types: timestamptz for times, jsonb for
-- bodies, a bigint identity for queue order.

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    key_hash    text NOT NULL UNIQUE,
    prefix      text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE TABLE jobs (
    seq               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- queue order
    id                text NOT NULL UNIQUE,                             -- the wire's request_id
    owner             text NOT NULL REFERENCES api_keys(id),
    model_id          text NOT NULL,
    input             jsonb NOT NULL,                                   -- the validated request body
    status            text NOT NULL CHECK (status IN ('in_queue', 'in_progress', 'completed', 'failed', 'cancelled')),
    created_at        timestamptz NOT NULL,
    started_at        timestamptz,
    finished_at       timestamptz,
    attempts          integer NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_expires_at  timestamptz,
    progress          double precision,
    output_key        text,
    error_code        text,
    error_message     text,
    metadata          jsonb NOT NULL DEFAULT '{}'                       -- what was produced
);

-- Claims scan only queued rows, in order: a partial index stays as small as the queue, however
-- many finished requests the table holds.
CREATE INDEX jobs_queue ON jobs (seq) WHERE status = 'in_queue';
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE status = 'in_progress';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX jobs_owner_active ON jobs (owner) WHERE status IN ('in_queue', 'in_progress');
CREATE INDEX jobs_owner_created ON jobs (owner, created_at);

CREATE TABLE workers (
    id            text PRIMARY KEY,
    engine        jsonb NOT NULL,                                   -- the loaded engine, described
    started_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL
);

-- One row per (API key, Idempotency-Key); deleted with its job, or after 24 h by the purge.
CREATE TABLE idempotency_keys (
    owner         text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,                                    -- sha256 of the model id and validated body
    job_id        text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_job ON idempotency_keys (job_id);

-- A purged request leaves its id behind, so it answers "expired" instead of "not found".
CREATE TABLE expired_jobs (
    id          text PRIMARY KEY,
    owner       text NOT NULL,
    expired_at  timestamptz NOT NULL
);
CREATE INDEX expired_jobs_expired_at ON expired_jobs (expired_at);
