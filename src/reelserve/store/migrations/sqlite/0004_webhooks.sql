-- Webhooks (docs/reliability.md): a request's subscription, each key's signing secret, and the
-- outbox. An event row is written in the transaction of the change it announces, so none is lost
-- and none is sent for a change that did not commit; deliveries claim rows with a lease, like jobs.
ALTER TABLE jobs ADD COLUMN webhook_url TEXT;
ALTER TABLE jobs ADD COLUMN webhook_events TEXT NOT NULL DEFAULT '';  -- optional events asked for, comma-separated
ALTER TABLE api_keys ADD COLUMN webhook_secret TEXT;                  -- whsec_...; made on first use

CREATE TABLE webhook_events (
    id                TEXT PRIMARY KEY,                                -- the webhook-id header: msg_<job>_<kind>
    job_id            TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    owner             TEXT NOT NULL,
    type              TEXT NOT NULL,                                   -- request.started, request.completed...
    url               TEXT NOT NULL,
    created_at        REAL NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL,
    lease_owner       TEXT,
    lease_expires_at  REAL
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_events_job ON webhook_events (job_id);

CREATE TABLE webhook_attempts (
    event_id     TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at           REAL NOT NULL,
    status_code  INTEGER,                                              -- NULL: no answer (see error)
    latency_ms   REAL NOT NULL,
    error        TEXT,
    PRIMARY KEY (event_id, attempt)
);
