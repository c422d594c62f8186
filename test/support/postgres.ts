import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway Postgres cluster for tests: `initdb` in a temporary folder owned by the `postgres`
 * system user, started with `pg_ctl` on a loopback port (and a unix socket in that folder), stopped
 * and removed by `stop()`. As root the server runs through `runuser -u postgres --`, since Postgres
 * refuses to run as root.
 */

/** A running throwaway cluster. */
export interface TestPostgres {
  /** `postgresql://postgres@127.0.0.1:PORT/postgres`. */
  url: string;
  port: number;
  /** The folder holding data, socket and log. */
  dir: string;
  /** The unix socket folder (`host=` for pg). */
  socketDir: string;
  /** A fresh database in the cluster, for one test's isolation; returns its URL. */
  createDatabase(name: string): string;
  /** Stops the server (fast shutdown) without removing it: the "database down" fault. */
  stopServer(): void;
  /** Starts it again on the same port. */
  startServer(): void;
  /** Stops and removes the cluster. */
  stop(): void;
}

/** The directory of the highest installed PostgreSQL's server binaries, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function asPostgres(command: string, args: string[]): void {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const result = spawnSync(file, argv, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}

/**
 * Creates and starts a cluster.
 * @throws Error when PostgreSQL isn't installed (`node scripts/systemPackages.mjs` installs it).
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries are not installed: run `node scripts/systemPackages.mjs` as root, or apt-get install postgresql');
  if (isRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) execFileSync('useradd', ['-r', '-M', 'postgres']);
  const dir = mkdtempSync(join(tmpdir(), 'prompt-ci-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  if (isRoot) execFileSync('chown', ['postgres', dir]);
  asPostgres('mkdir', ['-p', data, socketDir]);
  asPostgres(join(bin, 'initdb'), ['-D', data, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const start = () =>
    asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-k ${socketDir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
  const stopServer = () => asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  let stopped = false;
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir,
    socketDir,
    createDatabase(name) {
      asPostgres(join(bin, 'psql'), ['-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE "${name}"`]);
      return `postgresql://postgres@127.0.0.1:${port}/${name}`;
    },
    stopServer,
    startServer: start,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        stopServer();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
