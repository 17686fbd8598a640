-- Tenancy hierarchy, users, API keys, provider keys, model configs, audit log.
-- Timestamps are integers: milliseconds since the Unix epoch. Ids are time-ordered (see tenancy::ids), so
-- "ORDER BY id" is creation order and keyset pagination is "WHERE id > ?cursor".

CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  slug        TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE instances (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  slug        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (org_id, slug),
  -- lets children reference (org_id, id) so a child can never point at another org's instance
  UNIQUE (org_id, id)
);

CREATE TABLE projects (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL,
  instance_id  TEXT NOT NULL,
  name         TEXT NOT NULL,
  slug         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  UNIQUE (instance_id, slug),
  UNIQUE (instance_id, id),
  FOREIGN KEY (org_id, instance_id) REFERENCES instances(org_id, id) ON DELETE CASCADE
);

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  email       TEXT NOT NULL,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (org_id, email),
  UNIQUE (org_id, id)
);

CREATE TABLE user_instance_access (
  user_id      TEXT NOT NULL,
  instance_id  TEXT NOT NULL,
  org_id       TEXT NOT NULL,
  PRIMARY KEY (user_id, instance_id),
  FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, instance_id) REFERENCES instances(org_id, id) ON DELETE CASCADE
);
CREATE INDEX user_instance_access_by_instance ON user_instance_access(instance_id);

CREATE TABLE api_keys (
  id               TEXT PRIMARY KEY,
  org_id           TEXT NOT NULL,
  instance_id      TEXT NOT NULL,
  project_id       TEXT,
  user_id          TEXT,
  name             TEXT NOT NULL,
  prefix           TEXT NOT NULL,
  -- HMAC-SHA-256(KEY_HASH_SECRET, key) in hex; the key itself is never stored
  key_hash         TEXT NOT NULL UNIQUE,
  scopes           TEXT NOT NULL,          -- JSON array of scope names
  environment      TEXT NOT NULL CHECK (environment IN ('live', 'test')),
  created_at       INTEGER NOT NULL,
  expires_at       INTEGER,
  revoked_at       INTEGER,
  last_rotated_at  INTEGER,
  FOREIGN KEY (org_id, instance_id) REFERENCES instances(org_id, id) ON DELETE CASCADE,
  FOREIGN KEY (instance_id, project_id) REFERENCES projects(instance_id, id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_by_instance ON api_keys(instance_id, id);
CREATE INDEX api_keys_by_project ON api_keys(project_id, id);
CREATE INDEX api_keys_by_user ON api_keys(user_id);

CREATE TABLE provider_keys (
  instance_id  TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  provider     TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic', 'openai_compatible', 'ideogram')),
  -- AES-256-GCM "v1.<nonce>.<ciphertext>", bound to "<instance_id>/<name>" as associated data
  sealed_key   TEXT NOT NULL,
  hint         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (instance_id, name)
);

CREATE TABLE model_configs (
  instance_id            TEXT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
  id                     TEXT NOT NULL,
  provider               TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic', 'openai_compatible', 'ideogram')),
  upstream_model         TEXT NOT NULL,
  provider_key           TEXT,
  base_url               TEXT,
  capabilities           TEXT NOT NULL,    -- JSON array
  input_price_per_mtok   REAL,
  output_price_per_mtok  REAL,
  price_per_image        REAL,
  max_output_tokens      INTEGER,
  fallbacks              TEXT NOT NULL,    -- JSON array of model ids
  enabled                INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL,
  PRIMARY KEY (instance_id, id)
);

-- No foreign keys: the audit trail outlives what it describes.
CREATE TABLE audit_log (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL,
  instance_id  TEXT,
  actor        TEXT NOT NULL,
  action       TEXT NOT NULL,
  target_type  TEXT NOT NULL,
  target_id    TEXT NOT NULL,
  request_id   TEXT NOT NULL,
  detail       TEXT NOT NULL,              -- JSON object, never a secret
  created_at   INTEGER NOT NULL
);
CREATE INDEX audit_log_by_org ON audit_log(org_id, id);
CREATE INDEX audit_log_by_instance ON audit_log(instance_id, id);
