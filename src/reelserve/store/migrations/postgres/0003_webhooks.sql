-- Webhooks (docs/reliability.md): a request's subscription, each key's signing secret, and the
-- outbox. An event row is written in the transaction of the change it announces, so none is lost
-- and none is sent for a change that did not commit; deliveries claim rows with a lease, like jobs.
ALTER TABLE jobs ADD COLUMN webhook_url text;
ALTER TABLE jobs ADD COLUMN webhook_events text NOT NULL DEFAULT '';  -- optional events asked for, comma-separated
ALTER TABLE api_keys ADD COLUMN webhook_secret text;                  -- whsec_...; made on first use

CREATE TABLE webhook_events (
    id                text PRIMARY KEY,                                -- the webhook-id header: msg_<job>_<kind>
    job_id            text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    owner             text NOT NULL,
    type              text NOT NULL,                                   -- request.started, request.completed...
    url               text NOT NULL,
    created_at        timestamptz NOT NULL,
    state             text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    lease_owner       text,
    lease_expires_at  timestamptz
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_events_job ON webhook_events (job_id);

CREATE TABLE webhook_attempts (
    event_id     text NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL,
    status_code  integer,                                              -- NULL: no answer (see error)
    latency_ms   double precision NOT NULL,
    error        text,
    PRIMARY KEY (event_id, attempt)
);
