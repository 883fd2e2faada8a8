-- What PostgreSQL spells differently from SQLite (the rest is in common.sql): row locks that
-- concurrent workers skip, array parameters, advisory locks and NOTIFY.

-- name: create_migrations_table()!
CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL);

-- name: claim_oldest(worker, now, expires)^
-- SKIP LOCKED: a row another worker is claiming (or a canceller is cancelling) is passed over,
-- not waited on; the outer status check re-reads the row once it holds the lock.
UPDATE jobs
SET status = 'in_progress', started_at = :now, attempts = attempts + 1,
    lease_owner = :worker, lease_expires_at = :expires, progress = 0
WHERE seq = (SELECT seq FROM jobs WHERE status = 'in_queue' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
  AND status = 'in_queue'
RETURNING *;

-- name: claim_webhook_events(lease_owner, now, expires, limit, per_owner)
-- As SQLite's, but with other processes claiming at once: each key's oldest due rows, as many as its
-- share leaves, are locked with SKIP LOCKED before the turns are counted, so a concurrent claim takes
-- the rows after them rather than nothing, and no more than the shares (at most `limit` a key) are
-- ever locked. The outer conditions re-read each row once locked.
WITH owners AS (
    SELECT DISTINCT owner FROM webhook_events
    WHERE state = 'pending' AND next_attempt_at <= :now AND (lease_expires_at IS NULL OR lease_expires_at < :now)),
held AS (
    SELECT owner, COUNT(*) AS n FROM webhook_events
    WHERE state = 'pending' AND lease_owner = :lease_owner AND lease_expires_at >= :now GROUP BY owner),
turns AS (
    SELECT due.id, due.next_attempt_at,
           COALESCE(held.n, 0) + ROW_NUMBER() OVER (PARTITION BY owners.owner ORDER BY due.next_attempt_at) AS turn
    FROM owners LEFT JOIN held ON held.owner = owners.owner
    CROSS JOIN LATERAL (
        SELECT id, next_attempt_at FROM webhook_events e
        WHERE e.owner = owners.owner AND e.state = 'pending' AND e.next_attempt_at <= :now
          AND (e.lease_expires_at IS NULL OR e.lease_expires_at < :now)
        ORDER BY e.next_attempt_at LIMIT LEAST(GREATEST(:per_owner - COALESCE(held.n, 0), 0), :limit)
        FOR UPDATE SKIP LOCKED) AS due)
UPDATE webhook_events SET lease_owner = :lease_owner, lease_expires_at = :expires
WHERE id IN (SELECT id FROM turns ORDER BY turn, next_attempt_at LIMIT :limit)
  AND state = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at < :now)
RETURNING *;

-- name: tombstone_jobs(ids, now)!
INSERT INTO expired_jobs (id, owner, expired_at)
SELECT id, owner, :now FROM jobs WHERE id = ANY(:ids)
ON CONFLICT (id) DO NOTHING;

-- name: delete_jobs(ids)!
DELETE FROM jobs WHERE id = ANY(:ids);

-- name: advisory_lock(namespace, name)^
-- Held until the transaction ends. `:namespace` keeps our locks apart from any other application's.
SELECT pg_advisory_xact_lock(:namespace, hashtext(:name));

-- name: notify(channel, payload)^
-- Delivered on commit, to every process LISTENing on the channel (a job may have become claimable,
-- a webhook is due, a job changed). The payload starts with the committing process's token: its
-- own subscribers were told directly and skip it.
SELECT pg_notify(:channel, :payload);
