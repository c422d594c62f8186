import type { ControlDriver } from './driver';
import { ControlPlaneError } from './driver';
import { MIGRATIONS, MIGRATION_LOCK_KEY, SCHEMA_VERSION } from './migrations';

/** What `migrate` did. */
export interface MigrationOutcome {
  /** The schema version before. */
  from: number;
  /** The schema version after. */
  to: number;
  applied: { version: number; name: string }[];
}

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS prompt_ci_schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The schema version the database is at: 0 for a database the control plane never touched. */
export async function schemaVersion(driver: ControlDriver): Promise<number> {
  const rows = await driver.query<{ exists: boolean }>(`SELECT to_regclass('prompt_ci_schema_migrations') IS NOT NULL AS exists`);
  if (!rows[0]?.exists) return 0;
  const [row] = await driver.query<{ version: number | null }>('SELECT MAX(version) AS version FROM prompt_ci_schema_migrations');
  return row?.version ?? 0;
}

/**
 * Brings the schema up to date, in one transaction under an advisory lock, so two processes
 * starting at once apply each migration exactly once (the second waits, then finds nothing to do).
 * @throws ControlPlaneError when the database is newer than this code.
 */
export async function migrate(driver: ControlDriver): Promise<MigrationOutcome> {
  return driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(BOOKKEEPING);
    const [row] = await tx.query<{ version: number | null }>('SELECT MAX(version) AS version FROM prompt_ci_schema_migrations');
    const from = row?.version ?? 0;
    if (from > SCHEMA_VERSION) {
      throw new ControlPlaneError(
        `the control plane at ${driver.description} has schema version ${from}, newer than this prompt-ci knows (${SCHEMA_VERSION}); upgrade prompt-ci`,
        'schema',
      );
    }
    const applied: MigrationOutcome['applied'] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      await tx.query(migration.sql);
      await tx.query('INSERT INTO prompt_ci_schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      applied.push({ version: migration.version, name: migration.name });
    }
    return { from, to: Math.max(from, SCHEMA_VERSION), applied };
  });
}
