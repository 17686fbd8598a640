-- Usage rows keyed by a server-generated id. Until now the caller's x-request-id was the primary key and
-- rows were written with INSERT OR REPLACE, so a caller could overwrite its own or another tenant's row.
-- Now: `id` is ours (time-ordered, `use_<26 chars>`), `request_id` is ours too (the x-request-id we
-- answer with), and `client_request_id` is what the caller sent, kept verbatim (NULL when none).
-- Forward-only: the old rows are copied over with id = their old request_id.

CREATE TABLE usage_events_v3 (
  id                 TEXT PRIMARY KEY,
  request_id         TEXT NOT NULL,
  client_request_id  TEXT,
  org_id             TEXT NOT NULL,
  instance_id        TEXT NOT NULL,
  project_id         TEXT,
  key_id             TEXT NOT NULL,
  endpoint           TEXT NOT NULL,
  model              TEXT NOT NULL,
  provider           TEXT,
  upstream_model     TEXT,
  status             INTEGER NOT NULL,
  error_code         TEXT,
  stream             INTEGER NOT NULL DEFAULT 0,
  cached             INTEGER NOT NULL DEFAULT 0,
  attempts           INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  cost_usd           REAL NOT NULL DEFAULT 0,
  latency_ms         REAL NOT NULL,
  upstream_ms        REAL NOT NULL DEFAULT 0,
  overhead_ms        REAL NOT NULL DEFAULT 0,
  created_at         INTEGER NOT NULL
);

INSERT INTO usage_events_v3 (
  id, request_id, client_request_id, org_id, instance_id, project_id, key_id, endpoint, model, provider,
  upstream_model, status, error_code, stream, cached, attempts, prompt_tokens, completion_tokens, cost_usd,
  latency_ms, upstream_ms, overhead_ms, created_at
)
SELECT
  request_id, request_id, NULL, org_id, instance_id, project_id, key_id, endpoint, model, provider,
  upstream_model, status, error_code, stream, cached, attempts, prompt_tokens, completion_tokens, cost_usd,
  latency_ms, upstream_ms, overhead_ms, created_at
FROM usage_events;

DROP TABLE usage_events;
ALTER TABLE usage_events_v3 RENAME TO usage_events;
CREATE INDEX usage_events_by_instance ON usage_events(instance_id, created_at);
CREATE INDEX usage_events_by_key ON usage_events(key_id, created_at);
CREATE INDEX usage_events_by_request ON usage_events(request_id);
