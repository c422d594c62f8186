import { Client, Pool } from 'pg';
import type { ClientConfig, PoolClient } from 'pg';
import { ControlPlaneError } from './controlPlaneError';

// In its own module so that the runtime's declaration files don't import pg's types (a devDependency).
export { ControlPlaneError };

/**
 * The control plane's database, behind one interface with one set of SQL (DESIGN.md section 7):
 * `pg` against a real Postgres server, or against the embedded PGlite store served on a unix
 * socket (see embedded.ts). Every statement the control plane runs goes through `SqlRunner`.
 */

/** Runs one statement with `$1`-style parameters and returns its rows. */
export interface SqlRunner {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** Where a driver's database is, for messages (never a password). */
export type DriverKind = 'postgres' | 'pglite';

/** A connection to the control plane's database. */
export interface ControlDriver extends SqlRunner {
  readonly kind: DriverKind;
  /** Where the database is, for messages: `postgres://user@host:5432/db`, or the embedded store's folder. */
  readonly description: string;
  /** Runs several statements (a migration); no parameters. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /**
   * `LISTEN`s on `channel` on a connection of its own. `onNotify` runs for each notification,
   * `onLost` once when that connection drops. Resolves to the function that stops listening, or to
   * undefined when this database can't deliver notifications across processes (the embedded store:
   * its runtimes poll).
   */
  listen(channel: string, onNotify: () => void, onLost: (error: Error) => void): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

/** A connection string without its password, for messages and logs. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    const host = parsed.searchParams.get('host');
    const base = `${parsed.protocol}//${parsed.username ? `${decodeURIComponent(parsed.username)}@` : ''}${parsed.host}${parsed.pathname}`;
    return host ? `${base} (socket ${host})` : base;
  } catch {
    return '(an unreadable connection string)';
  }
}

/** Options of `connectPostgres`. */
export interface PostgresDriverOptions {
  /** Connections in the pool (the listening connection is extra). Default 4. */
  poolSize?: number;
  /** Milliseconds to wait for a connection. Default 5000. */
  connectTimeoutMs?: number;
  /** What `description` says. Default: the URL without its password. */
  description?: string;
  /** Embedded store served over a socket: it has no cross-process notifications. */
  kind?: DriverKind;
}

/**
 * Connects with `pg`, checking the connection once so a wrong URL fails here with a clear message
 * rather than at the first query.
 * @throws ControlPlaneError when the server can't be reached.
 */
export async function connectPostgres(config: string | ClientConfig, options: PostgresDriverOptions = {}): Promise<ControlDriver> {
  const clientConfig: ClientConfig = typeof config === 'string' ? { connectionString: config } : config;
  const description = options.description ?? (typeof config === 'string' ? describeUrl(config) : `${config.host ?? 'localhost'}:${config.port ?? 5432}`);
  const timeout = options.connectTimeoutMs ?? 5000;
  const pool = new Pool({ ...clientConfig, max: options.poolSize ?? 4, connectionTimeoutMillis: timeout, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server went away) must not crash the process: the next query reports it.
  pool.on('error', () => undefined);
  const wrap = (error: unknown): never => {
    throw toControlPlaneError(error, description);
  };
  try {
    const probe = await pool.connect();
    probe.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    wrap(error);
  }
  const kind = options.kind ?? 'postgres';
  const runner = (client: Pool | PoolClient): SqlRunner => ({
    async query<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]> {
      try {
        return (await client.query(sql, params as unknown[] | undefined)).rows as Row[];
      } catch (error) {
        return rethrow(error, description);
      }
    },
  });
  const poolRunner = runner(pool);
  let closed = false;
  const listeners = new Set<Client>();
  return {
    kind,
    description,
    query: poolRunner.query,
    async exec(sql) {
      await poolRunner.query(sql);
    },
    async transaction(fn) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        return wrap(error);
      }
      let broken = false;
      // A checked-out client's connection error would otherwise be an uncaught 'error' event; the query reports it.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        return rethrow(error, description);
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    async listen(channel, onNotify, onLost) {
      if (kind === 'pglite') return undefined;
      const client = new Client({ ...clientConfig, connectionTimeoutMillis: timeout });
      let lost = false;
      const lose = (error: Error) => {
        if (lost) return;
        lost = true;
        listeners.delete(client);
        client.end().catch(() => undefined);
        onLost(error);
      };
      client.on('error', lose);
      client.on('end', () => lose(new Error('the listening connection closed')));
      client.on('notification', (message) => {
        if (message.channel === channel) onNotify();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${escapeIdentifier(channel)}`);
      } catch (error) {
        lost = true;
        await client.end().catch(() => undefined);
        return wrap(error);
      }
      listeners.add(client);
      return async () => {
        lost = true;
        listeners.delete(client);
        await client.end().catch(() => undefined);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const client of listeners) await client.end().catch(() => undefined);
      listeners.clear();
      await pool.end().catch(() => undefined);
    },
  };
}

function escapeIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Errors the server reported about a statement pass through (with their SQLSTATE `code`); losing the server becomes a ControlPlaneError. */
function rethrow(error: unknown, description: string): never {
  if (isConnectionError(error)) throw toControlPlaneError(error, description);
  throw error;
}

/** True for errors that mean the database is not there (rather than a statement it refused). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof ControlPlaneError) return true;
  const e = error as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    if (/^(ECONNREFUSED|ECONNRESET|ENOENT|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(e.code)) return true;
    // 08: connection exception; 57P01-57P03: the server is shutting down or not accepting connections
    if (/^(08...|57P0[123])$/.test(e.code)) return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended/i.test(e?.message ?? '');
}

function toControlPlaneError(error: unknown, description: string): ControlPlaneError {
  if (error instanceof ControlPlaneError) return error;
  const reason = (error as Error)?.message || String(error);
  return new ControlPlaneError(`can't reach the control plane at ${description}: ${reason}`);
}
