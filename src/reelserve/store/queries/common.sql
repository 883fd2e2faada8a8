-- Every query the store runs, by name, written once for both backends. aiosql's format: each query is
-- named with its parameters, and a suffix says what it returns (`^` one row, `!` a row count, none:
-- all rows); queries take `:name` parameters on either driver. `sqlite.sql` and
-- `postgres.sql` hold only what the two dialects really spell differently; together with this file,
-- each defines every name once (tests/store/test_queries.py checks).
--
-- The state rules live here: every transition is one conditional write (`... AND status = 'in_queue'`,
-- `... AND lease_owner = :worker`), so two processes can never both win the same job. The store's
-- concerns (store/jobs.py, keys.py, ...) turn "0 rows changed" into the right exception.


-- name: insert_key(id, name, key_hash, prefix, created_at)!
INSERT INTO api_keys (id, name, key_hash, prefix, created_at) VALUES (:id, :name, :key_hash, :prefix, :created_at);

-- name: insert_first_key(id, name, key_hash, prefix, created_at)!
-- One statement; the caller holds the write lock, so two "no key yet" checks cannot both pass.
INSERT INTO api_keys (id, name, key_hash, prefix, created_at)
SELECT :id, :name, :key_hash, :prefix, :created_at WHERE NOT EXISTS (SELECT 1 FROM api_keys);

-- name: key_by_hash(key_hash)^
SELECT * FROM api_keys WHERE key_hash = :key_hash;

-- name: list_keys()
SELECT * FROM api_keys ORDER BY created_at;

-- name: revoke_key(id, now)!
UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL;


-- name: insert_job(id, owner, model_id, input, created_at, webhook_url, webhook_events)!
-- A new job is always queued; `seq` (its place in the queue) is assigned by the database.
INSERT INTO jobs (id, owner, model_id, input, status, created_at, webhook_url, webhook_events)
VALUES (:id, :owner, :model_id, :input, 'in_queue', :created_at, :webhook_url, :webhook_events);

-- name: get_job(id)^
SELECT * FROM jobs WHERE id = :id;

-- name: get_owned_job(id, owner)^
SELECT * FROM jobs WHERE id = :id AND owner = :owner;

-- name: get_owned_job_with_position(id, owner)^
-- A status poll in one round trip: the job and, while it is queued, how many queued jobs are ahead.
SELECT j.*, CASE WHEN j.status = 'in_queue'
                 THEN (SELECT COUNT(*) FROM jobs q WHERE q.status = 'in_queue' AND q.seq < j.seq) END AS ahead
FROM jobs j WHERE j.id = :id AND j.owner = :owner;

-- name: history_page(owner, before, limit)
-- Newest first and strictly older than the cursor, so a page never shifts when requests are
-- submitted meanwhile (they get higher seqs). Index: jobs_owner_seq.
SELECT * FROM jobs WHERE owner = :owner AND seq < :before ORDER BY seq DESC LIMIT :limit;

-- name: cancel_if_queued(id, owner, now)^
-- The model, for the outcome metric: counted by the call that cancelled (no row: not queued, nothing done).
UPDATE jobs SET status = 'cancelled', finished_at = :now WHERE id = :id AND owner = :owner AND status = 'in_queue'
RETURNING model_id;


-- name: active_by_model()
SELECT model_id, status, COUNT(*) AS jobs FROM jobs WHERE status IN ('in_queue', 'in_progress') GROUP BY model_id, status;

-- name: active_count(owner)^
SELECT COUNT(*) AS active FROM jobs WHERE owner = :owner AND status IN ('in_queue', 'in_progress');

-- name: submits_since(owner, since)^
SELECT COUNT(*) AS submits, MIN(created_at) AS oldest FROM jobs WHERE owner = :owner AND created_at >= :since;

-- name: idempotent_job(owner, key, since)^
SELECT job_id, request_hash FROM idempotency_keys WHERE owner = :owner AND key = :key AND created_at >= :since;

-- name: record_idempotency(owner, key, request_hash, job_id, now)!
-- Replaces a record older than the TTL (the lookup above ignores those).
INSERT INTO idempotency_keys (owner, key, request_hash, job_id, created_at)
VALUES (:owner, :key, :request_hash, :job_id, :now)
ON CONFLICT (owner, key) DO UPDATE
SET request_hash = excluded.request_hash, job_id = excluded.job_id, created_at = excluded.created_at;


-- Everything a worker writes is fenced on its lease: only while the job is in_progress and leased to it.
-- The fenced writes return the job's model (no row: the lease is lost), which the outcome metric names.

-- name: set_progress(id, worker, progress)^
UPDATE jobs SET progress = :progress WHERE id = :id AND status = 'in_progress' AND lease_owner = :worker
RETURNING model_id;

-- name: renew_lease(id, worker, expires)!
UPDATE jobs SET lease_expires_at = :expires WHERE id = :id AND status = 'in_progress' AND lease_owner = :worker;

-- name: complete_job(id, worker, now, output_key, poster_key, metadata)^
UPDATE jobs
SET status = 'completed', finished_at = :now, progress = 100, output_key = :output_key, poster_key = :poster_key,
    metadata = :metadata, lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND status = 'in_progress' AND lease_owner = :worker
RETURNING model_id;

-- name: fail_job(id, worker, now, code, message, metadata)^
UPDATE jobs
SET status = 'failed', finished_at = :now, error_code = :code, error_message = :message, metadata = :metadata,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND status = 'in_progress' AND lease_owner = :worker
RETURNING model_id;

-- name: release_job(id, worker)!
-- A worker shutting down hands the job back at once; the attempt is not counted.
UPDATE jobs
SET status = 'in_queue', attempts = attempts - 1, started_at = NULL, progress = NULL,
    lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND status = 'in_progress' AND lease_owner = :worker;

-- name: reap_interrupted(now, code, message, max_attempts)
-- Run before reap_requeue in the same transaction: a job already claimed max_attempts times fails.
UPDATE jobs
SET status = 'failed', finished_at = :now, error_code = :code, error_message = :message,
    lease_owner = NULL, lease_expires_at = NULL
WHERE status = 'in_progress' AND lease_expires_at < :now AND attempts >= :max_attempts
RETURNING id, model_id;

-- name: reap_requeue(now)
-- Back at its old place in the queue: `seq` is unchanged.
UPDATE jobs
SET status = 'in_queue', started_at = NULL, progress = NULL, lease_owner = NULL, lease_expires_at = NULL
WHERE status = 'in_progress' AND lease_expires_at < :now
RETURNING id;


-- name: finished_before(cutoff, limit)
SELECT * FROM jobs
WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < :cutoff
ORDER BY finished_at LIMIT :limit;

-- name: was_expired(id, owner)^
SELECT 1 AS expired FROM expired_jobs WHERE id = :id AND owner = :owner;

-- name: purge_idempotency(before)!
DELETE FROM idempotency_keys WHERE created_at < :before;

-- name: purge_tombstones(before)!
DELETE FROM expired_jobs WHERE expired_at < :before;


-- Webhooks. An event is written by the transaction of the change it announces (store/outbox.py);
-- deliveries lease it like a job, and record each attempt fenced on that lease.

-- name: enqueue_webhook(id, job_id, type, asked, now)!
-- `id` is the same for a job and kind whatever happens, so a job started twice (requeued after a
-- worker died) announces its start once. Nothing for a job without a webhook, or for an optional
-- event (`started`) it did not ask for: `asked` is `%,started,%` for one, `%` for the rest.
INSERT INTO webhook_events (id, job_id, owner, type, url, created_at, state, attempts, next_attempt_at)
SELECT :id, id, owner, :type, webhook_url, :now, 'pending', 0, :now FROM jobs
WHERE id = :job_id AND webhook_url IS NOT NULL
  AND ',' || webhook_events || ',' LIKE :asked
ON CONFLICT (id) DO NOTHING;

-- name: settle_webhook_event(id, lease_owner, attempts, state, next_attempt_at)!
-- Only the lease holder records an attempt: one whose lease ran out (and was maybe claimed again) cannot.
UPDATE webhook_events
SET attempts = :attempts, state = :state, next_attempt_at = :next_attempt_at, lease_owner = NULL, lease_expires_at = NULL
WHERE id = :id AND state = 'pending' AND lease_owner = :lease_owner;

-- name: insert_webhook_attempt(event_id, attempt, at, status_code, latency_ms, error)!
INSERT INTO webhook_attempts (event_id, attempt, at, status_code, latency_ms, error)
VALUES (:event_id, :attempt, :at, :status_code, :latency_ms, :error);

-- name: webhook_events_of_job(job_id)
SELECT * FROM webhook_events WHERE job_id = :job_id ORDER BY created_at, id;

-- name: webhook_attempts_of_job(job_id)
SELECT a.* FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id
WHERE e.job_id = :job_id ORDER BY a.event_id, a.attempt;

-- name: webhook_secret_of(id)^
SELECT webhook_secret FROM api_keys WHERE id = :id;

-- name: set_webhook_secret_if_none(id, secret)!
-- The first delivery (or GET /v1/webhooks/default/secret) makes it; of two racing, the first write wins.
UPDATE api_keys SET webhook_secret = :secret WHERE id = :id AND webhook_secret IS NULL;

-- name: set_webhook_secret(id, secret)!
UPDATE api_keys SET webhook_secret = :secret WHERE id = :id AND revoked_at IS NULL;


-- name: upsert_worker(id, engine, now)!
INSERT INTO workers (id, engine, started_at, last_seen_at) VALUES (:id, :engine, :now, :now)
ON CONFLICT (id) DO UPDATE SET engine = excluded.engine, last_seen_at = excluded.last_seen_at;

-- name: workers_since(since)
SELECT * FROM workers WHERE last_seen_at >= :since ORDER BY started_at;


-- name: applied_migrations()
SELECT version FROM schema_migrations;

-- name: record_migration(version, now)!
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now);
