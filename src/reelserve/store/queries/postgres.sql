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

-- name: claim_webhook_events(lease_owner, now, expires, limit)
-- Due and not leased (or leased by a process that died: its lease ran out), oldest due first; rows
-- another process is claiming are skipped, and the outer conditions re-read each row once locked.
UPDATE webhook_events SET lease_owner = :lease_owner, lease_expires_at = :expires
WHERE id IN (SELECT id FROM webhook_events
             WHERE state = 'pending' AND next_attempt_at <= :now AND (lease_expires_at IS NULL OR lease_expires_at < :now)
             ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED)
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
