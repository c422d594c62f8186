import { rmSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { makeIgnoredDirectory } from '../outputFiles';
import type { ControlDriver } from './driver';
import { ControlPlaneError, connectPostgres } from './driver';
import { SOCKET_PORT, embeddedPaths } from './embeddedLayout';

/**
 * The embedded control plane: PGlite, file-backed under `.prompt-ci/control/` (DESIGN.md section 7).
 * PGlite is single-connection, so the first process to open the folder holds the store and serves
 * it with `@electric-sql/pglite-socket` on a unix socket beside it; every process, the holder
 * included, talks to it with `pg` over that socket, so transactions of different processes never
 * interleave. A process that can neither reach the socket nor take the store says which process
 * holds it.
 */

// `pg` reaches `<dir>/.s.PGSQL.<port>` when `host` is the folder.
export { embeddedPaths };

/** What `holder.json` records about the process serving the store. */
export interface EmbeddedHolder {
  pid: number;
  startedAt: string;
  command: string;
}

/** Options of `openEmbedded`. */
export interface EmbeddedOptions {
  /** How long to wait for a holder that is still starting (opening PGlite takes seconds). Default 60 s. */
  waitForHolderMs?: number;
  /** Called with a line when this process becomes the holder or connects to one. */
  log?: (line: string) => void;
}

/** Unix socket paths longer than this can't be bound (sun_path is 108 bytes on Linux). */
const MAX_SOCKET_PATH = 107;

/**
 * Opens the embedded store in `dir`: connects to the holder's socket, or becomes the holder.
 * @throws ControlPlaneError naming the holding process when neither works.
 */
export async function openEmbedded(dir: string, options: EmbeddedOptions = {}): Promise<ControlDriver> {
  const paths = embeddedPaths(dir);
  if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) {
    throw new ControlPlaneError(
      `the embedded control plane's socket path ${paths.socket} is longer than ${MAX_SOCKET_PATH} bytes, which a unix socket can't have; move the repository to a shorter path or set PROMPT_CI_DATABASE_URL`,
      'config',
    );
  }
  // The store is local state, never committed: its folder ignores itself.
  await makeIgnoredDirectory(dir);
  const deadline = Date.now() + (options.waitForHolderMs ?? 60_000);
  for (;;) {
    const viaSocket = await connectSocket(dir, paths.socket);
    if (viaSocket) {
      options.log?.(`control plane: connected to the embedded store in ${dir}, served by process ${(await readHolder(paths.holder))?.pid ?? '?'}`);
      return viaSocket;
    }
    const taken = await takeHolderLock(paths.holder);
    if (taken) return becomeHolder(dir, paths, taken, options);
    const holder = await readHolder(paths.holder);
    if (holder && !isAlive(holder.pid)) {
      // The holder died without cleaning up: its lock and socket are stale.
      await rm(paths.holder, { force: true });
      await rm(paths.socket, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      const who = holder ? `process ${holder.pid} (${holder.command}, since ${holder.startedAt})` : 'another process';
      throw new ControlPlaneError(
        `the embedded control plane in ${dir} is held by ${who}, which does not answer on ${paths.socket}; stop that process, or set PROMPT_CI_DATABASE_URL to a Postgres server`,
        'held',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function connectSocket(dir: string, socket: string): Promise<ControlDriver | undefined> {
  try {
    await stat(socket);
  } catch {
    return undefined;
  }
  try {
    return await connectPostgres(
      { host: dir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' },
      { description: `the embedded store in ${dir}`, kind: 'pglite', poolSize: 2, connectTimeoutMs: 3000 },
    );
  } catch {
    return undefined;
  }
}

async function readHolder(path: string): Promise<EmbeddedHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as EmbeddedHolder;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function takeHolderLock(path: string): Promise<EmbeddedHolder | undefined> {
  const holder: EmbeddedHolder = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    command: process.argv.slice(1).map((a) => a.replace(/^.*[\\/]/, '')).join(' ').slice(0, 200) || 'node',
  };
  try {
    const handle = await open(path, 'wx');
    await handle.writeFile(JSON.stringify(holder));
    await handle.close();
    return holder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}

async function becomeHolder(
  dir: string,
  paths: ReturnType<typeof embeddedPaths>,
  holder: EmbeddedHolder,
  options: EmbeddedOptions,
): Promise<ControlDriver> {
  const release = async () => {
    await rm(paths.socket, { force: true });
    const current = await readHolder(paths.holder);
    if (current?.pid === process.pid) await rm(paths.holder, { force: true });
  };
  // Loaded here, not at the top: only the holding process needs PGlite's WebAssembly.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  let db: InstanceType<typeof PGlite>;
  let server: InstanceType<typeof PGLiteSocketServer>;
  try {
    await rm(paths.socket, { force: true });
    db = await PGlite.create({ dataDir: paths.data });
    server = new PGLiteSocketServer({ db, path: paths.socket, maxConnections: 64 });
    await server.start();
  } catch (error) {
    await release();
    throw new ControlPlaneError(`can't open the embedded control plane in ${dir}: ${(error as Error).message}`, 'unreachable');
  }
  let driver: ControlDriver;
  try {
    driver = await connectPostgres(
      { host: dir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' },
      { description: `the embedded store in ${dir}`, kind: 'pglite', poolSize: 2 },
    );
  } catch (error) {
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    await release();
    throw error;
  }
  options.log?.(`control plane: this process (${holder.pid}) holds the embedded store in ${dir} and serves it on ${paths.socket}`);
  const onExit = () => {
    // Last resort on exit without close(): the lock must not outlive the process.
    try {
      rmSync(paths.holder, { force: true });
      rmSync(paths.socket, { force: true });
    } catch {
      // nothing more to do while exiting
    }
  };
  process.once('exit', onExit);
  let closed = false;
  return {
    ...driver,
    async close() {
      if (closed) return;
      closed = true;
      process.removeListener('exit', onExit);
      await driver.close();
      await server.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      await release();
    },
  };
}
