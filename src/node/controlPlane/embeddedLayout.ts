import { join } from 'node:path';

// The embedded store's layout, in a module of its own that loads no driver: `check` asks whether a
// store exists before it loads pg or PGlite.

/** Where a repository keeps its embedded control plane. */
export const EMBEDDED_DIR = join('.prompt-ci', 'control');

/** The port number in the name of the store's unix socket (Postgres's naming: `.s.PGSQL.<port>`). */
export const SOCKET_PORT = 5432;

/** The files of an embedded store in `dir`: its data, the socket it is served on, and who serves it. */
export function embeddedPaths(dir: string): { data: string; socket: string; holder: string } {
  return { data: join(dir, 'data'), socket: join(dir, `.s.PGSQL.${SOCKET_PORT}`), holder: join(dir, 'holder.json') };
}
