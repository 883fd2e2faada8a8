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

-- name: tombstone_jobs(ids, now)!
INSERT INTO expired_jobs (id, owner, expired_at)
SELECT id, owner, :now FROM jobs WHERE id = ANY(:ids)
ON CONFLICT (id) DO NOTHING;

-- name: delete_jobs(ids)!
DELETE FROM jobs WHERE id = ANY(:ids);

-- name: advisory_lock(namespace, name)^
-- Held until the transaction ends. `:namespace` keeps our locks apart from any other application's.
SELECT pg_advisory_xact_lock(:namespace, hashtext(:name));

-- name: notify_claimable(channel, sender)^
-- Delivered on commit, to every worker LISTENing: a job may have become claimable. `sender` names
-- the committing process, whose own workers were woken directly and skip it.
SELECT pg_notify(:channel, :sender);
