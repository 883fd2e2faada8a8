-- Times are UTC seconds since the epoch (REAL): cheap to compare for leases and ordering.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    revoked_at  REAL
);

CREATE TABLE jobs (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,  -- queue order
    id                TEXT NOT NULL UNIQUE,               -- the wire's request_id
    owner             TEXT NOT NULL REFERENCES api_keys(id),
    model_id          TEXT NOT NULL,
    input             TEXT NOT NULL,                      -- the validated request body, JSON
    status            TEXT NOT NULL CHECK (status IN ('in_queue', 'in_progress', 'completed', 'failed', 'cancelled')),
    created_at        REAL NOT NULL,
    started_at        REAL,
    finished_at       REAL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  REAL,
    progress          REAL,
    output_key        TEXT,
    error_code        TEXT,
    error_message     TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}'          -- what was produced, JSON
);

CREATE INDEX jobs_status_seq ON jobs (status, seq);
CREATE INDEX jobs_owner ON jobs (owner);

CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    engine        TEXT NOT NULL,                          -- JSON description of the loaded engine
    started_at    REAL NOT NULL,
    last_seen_at  REAL NOT NULL
);
