-- What SQLite spells differently from PostgreSQL (the rest is in common.sql). Every write runs
-- inside BEGIN IMMEDIATE, which holds the database's one write lock: that alone serialises claims.

-- name: create_migrations_table()!
CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL NOT NULL);

-- name: claim_oldest(worker, now, expires)^
UPDATE jobs
SET status = 'in_progress', started_at = :now, attempts = attempts + 1,
    lease_owner = :worker, lease_expires_at = :expires, progress = 0
WHERE seq = (SELECT seq FROM jobs WHERE status = 'in_queue' ORDER BY seq LIMIT 1) AND status = 'in_queue'
RETURNING *;

-- name: tombstone_jobs(ids, now)!
-- `:ids` is a JSON array: SQLite has no array parameters.
INSERT INTO expired_jobs (id, owner, expired_at)
SELECT id, owner, :now FROM jobs WHERE id IN (SELECT value FROM json_each(:ids))
ON CONFLICT (id) DO NOTHING;

-- name: delete_jobs(ids)!
DELETE FROM jobs WHERE id IN (SELECT value FROM json_each(:ids));

-- name: claim_webhook_events(lease_owner, now, expires, limit, per_owner)
-- Due and not leased (or leased by a process that died: its lease ran out). A key's events take turns
-- after what `lease_owner` holds of that key already, and none past `per_owner`: the lowest turn
-- first, then the oldest due, so each key's first event goes before any key's second.
WITH due AS (
    SELECT id, owner, next_attempt_at FROM webhook_events
    WHERE state = 'pending' AND next_attempt_at <= :now AND (lease_expires_at IS NULL OR lease_expires_at < :now)),
held AS (
    SELECT owner, COUNT(*) AS n FROM webhook_events
    WHERE state = 'pending' AND lease_owner = :lease_owner AND lease_expires_at >= :now GROUP BY owner),
turns AS (
    SELECT due.id, due.next_attempt_at,
           COALESCE(held.n, 0) + ROW_NUMBER() OVER (PARTITION BY due.owner ORDER BY due.next_attempt_at) AS turn
    FROM due LEFT JOIN held ON held.owner = due.owner)
UPDATE webhook_events SET lease_owner = :lease_owner, lease_expires_at = :expires
WHERE id IN (SELECT id FROM turns WHERE turn <= :per_owner ORDER BY turn, next_attempt_at LIMIT :limit)
RETURNING *;
