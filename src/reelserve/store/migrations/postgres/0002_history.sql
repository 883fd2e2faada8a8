-- Request history (GET /v1/requests) pages through one key's requests by seq, newest first; and a
-- completed request's poster image sits beside its video.
CREATE INDEX jobs_owner_seq ON jobs (owner, seq);
ALTER TABLE jobs ADD COLUMN poster_key text;
