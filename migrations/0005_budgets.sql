-- Budgets: spend limits per scope (org, instance, project, API key) and period, enforced by the Budgets
-- Durable Object of the scope's org (its ledger holds the running spend and the reservations); these rows
-- are the definitions (what the admin API lists, what the generation path's snapshot reads to know a
-- request's chain has a budget) and the events the ledger raised. Forward-only.

CREATE TABLE budgets (
  -- 'org:<id>', 'instance:<id>', 'project:<id>' or 'key:<id>'.
  scope         TEXT NOT NULL,
  period        TEXT NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly', 'total')),
  org_id        TEXT NOT NULL,
  -- NULL for an org's own budget.
  instance_id   TEXT,
  -- The project of a project budget, or of a key budget's key (a project-bound admin key sees those).
  project_id    TEXT,
  -- Limits: micro-dollars and tokens (at least one is set).
  usd_micros    INTEGER CHECK (usd_micros IS NULL OR usd_micros >= 0),
  tokens        INTEGER CHECK (tokens IS NULL OR tokens >= 0),
  soft_percent  INTEGER CHECK (soft_percent IS NULL OR (soft_percent BETWEEN 1 AND 100)),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (scope, period),
  CHECK (usd_micros IS NOT NULL OR tokens IS NOT NULL)
);
CREATE INDEX budgets_by_instance ON budgets(instance_id);
CREATE INDEX budgets_by_org ON budgets(org_id);

-- Soft-threshold and exhaustion events (and reservations that expired unsettled), once each: the ledger
-- keeps them in its own storage until they are written here.
CREATE TABLE budget_events (
  id               TEXT PRIMARY KEY,
  org_id           TEXT NOT NULL,
  -- NULL for a reservation that expired or was forgotten (request_id names it).
  scope            TEXT,
  type             TEXT NOT NULL CHECK (type IN ('soft_threshold', 'exhausted', 'expired', 'forgotten')),
  period           TEXT,
  period_start_ms  INTEGER,
  dimension        TEXT,
  threshold        INTEGER,
  used             INTEGER,
  request_id       TEXT,
  at_ms            INTEGER NOT NULL
);
CREATE INDEX budget_events_by_org ON budget_events(org_id, at_ms);
CREATE INDEX budget_events_by_scope ON budget_events(scope, at_ms);

-- Spend per scope and period is rebuilt from the usage rows (a new budget starts from what its scope
-- already spent this period): by project and by org.
CREATE INDEX usage_events_by_project ON usage_events(project_id, created_at);
CREATE INDEX usage_events_by_org ON usage_events(org_id, created_at);
