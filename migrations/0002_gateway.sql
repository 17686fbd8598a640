-- Text generation: where a provider account lives, key model allow-lists, rate-limit policies, usage.

-- An upstream endpoint per provider key (OpenAI-compatible servers, proxies, the local simulator).
-- A model config's own base_url wins over it.
ALTER TABLE provider_keys ADD COLUMN base_url TEXT;

-- NULL: every model of the instance; else a JSON array of model ids this key may use.
ALTER TABLE api_keys ADD COLUMN allowed_models TEXT;

-- Requests/min and tokens/min per (instance, provider key name) and per API key. target '*' is the default
-- for every provider / every key of the instance; a specific target replaces it.
CREATE TABLE rate_limit_policies (
  instance_id          TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  scope                TEXT NOT NULL CHECK (scope IN ('provider', 'key')),
  target               TEXT NOT NULL,
  requests_per_minute  INTEGER CHECK (requests_per_minute IS NULL OR requests_per_minute > 0),
  tokens_per_minute    INTEGER CHECK (tokens_per_minute IS NULL OR tokens_per_minute > 0),
  created_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  PRIMARY KEY (instance_id, scope, target)
);

-- One row per API request that reached the generation path (written after the response).
CREATE TABLE usage_events (
  request_id         TEXT PRIMARY KEY,
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
CREATE INDEX usage_events_by_instance ON usage_events(instance_id, created_at);
CREATE INDEX usage_events_by_key ON usage_events(key_id, created_at);
