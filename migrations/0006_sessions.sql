-- Browser sessions of the interfaces (sign-in with the platform token or an admin API key). The cookie holds
-- an opaque token; a row is keyed by the token's keyed hash, so a leaked table opens nothing. A key's
-- session names the key by its keyed hash and resolves it on every request, so revoking, rotating or
-- deleting the key ends its sessions at once. Forward-only.

CREATE TABLE sessions (
  id_hash     TEXT PRIMARY KEY,
  actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('platform', 'key')),
  key_hash    TEXT,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  CHECK ((actor_kind = 'key') = (key_hash IS NOT NULL))
);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
