/**
 * The control plane's schema, as numbered migrations (DESIGN.md section 7). One SQL text for both
 * drivers: a real Postgres server through `pg`, and PGlite. A migration is never edited once
 * released; a change is a new number.
 */

/** One numbered migration. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The key of the advisory lock every migrating process takes, so two processes starting at once don't race. */
export const MIGRATION_LOCK_KEY = 0x70726f6d; // 'prom'

/** The channel every control change notifies on. */
export const CONTROL_CHANNEL = 'prompt_ci_control';

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'control plane: rollouts, pins, rollbacks, audit intervals, control log',
    sql: `
CREATE TABLE prompt_ci_rollout (
  prompt text PRIMARY KEY,
  -- bumped by every change of the prompt's rollout: what an operator's change is checked against
  revision bigint NOT NULL DEFAULT 0,
  -- the version that last had 100% of the traffic: what a rollback restores
  last_full_version integer,
  -- a rollback in force: selection serves this version before pins and shares
  rollback_version integer,
  rollback_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);

CREATE TABLE prompt_ci_share (
  prompt text NOT NULL REFERENCES prompt_ci_rollout (prompt) ON DELETE CASCADE,
  version integer NOT NULL CHECK (version > 0),
  -- integer basis points: 10000 is all the traffic; a prompt's shares sum to exactly 10000
  basis_points integer NOT NULL CHECK (basis_points BETWEEN 0 AND 10000),
  excluded_tiers text[] NOT NULL DEFAULT '{}',
  -- when this version last went from no traffic to some: the start of its soak
  since timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prompt, version)
);

-- Checked at commit, so a change may move shares between rows within its transaction.
CREATE FUNCTION prompt_ci_check_shares() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p text;
  total bigint;
BEGIN
  p := COALESCE(NEW.prompt, OLD.prompt);
  SELECT SUM(basis_points) INTO total FROM prompt_ci_share WHERE prompt = p;
  IF total IS NOT NULL AND total <> 10000 THEN
    RAISE EXCEPTION 'the shares of % sum to % basis points; they must sum to exactly 10000', p, total
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER prompt_ci_share_sum
  AFTER INSERT OR UPDATE OR DELETE ON prompt_ci_share
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION prompt_ci_check_shares();

CREATE TABLE prompt_ci_pin (
  tenant_id text NOT NULL,
  prompt text NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  expires_at timestamptz,
  reason text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL,
  PRIMARY KEY (tenant_id, prompt)
);

CREATE TABLE prompt_ci_audit_interval (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL,
  prompt text NOT NULL,
  version integer NOT NULL,
  reason text NOT NULL,
  -- the rollout share of the version when the interval opened (reason 'rollout')
  basis_points integer,
  started_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  ended_at timestamptz,
  CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- at most one open interval per (tenant, prompt, version), whichever process serves it
CREATE UNIQUE INDEX prompt_ci_audit_open ON prompt_ci_audit_interval (tenant_id, prompt, version) WHERE ended_at IS NULL;
CREATE INDEX prompt_ci_audit_lookup ON prompt_ci_audit_interval (tenant_id, prompt, started_at);

CREATE TABLE prompt_ci_control_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  prompt text NOT NULL,
  tenant_id text,
  version integer,
  reason text NOT NULL DEFAULT '',
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX prompt_ci_control_log_prompt ON prompt_ci_control_log (prompt, at);

CREATE FUNCTION prompt_ci_notify_control() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${CONTROL_CHANNEL}', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER prompt_ci_rollout_notify AFTER INSERT OR UPDATE OR DELETE ON prompt_ci_rollout
  FOR EACH STATEMENT EXECUTE FUNCTION prompt_ci_notify_control();
CREATE TRIGGER prompt_ci_share_notify AFTER INSERT OR UPDATE OR DELETE ON prompt_ci_share
  FOR EACH STATEMENT EXECUTE FUNCTION prompt_ci_notify_control();
CREATE TRIGGER prompt_ci_pin_notify AFTER INSERT OR UPDATE OR DELETE ON prompt_ci_pin
  FOR EACH STATEMENT EXECUTE FUNCTION prompt_ci_notify_control();
`,
  },
];

/** The schema version this code needs. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
