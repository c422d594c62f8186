import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One event an application process printed (see runtimeApp.cjs). */
export interface AppEvent {
  pid: number;
  at: number;
  version?: number;
  reason?: string;
  ready?: boolean;
  state?: string;
  log?: string;
  error?: string;
  closed?: boolean;
}

/** A running application process and what it printed. */
export interface AppProcess {
  child: ChildProcessWithoutNullStreams;
  events: AppEvent[];
  /** Resolves with the first event (from now on, or already printed when `past`) that `match` accepts. */
  waitFor(match: (e: AppEvent) => boolean, options?: { past?: boolean; timeoutMs?: number }): Promise<AppEvent>;
  stop(): Promise<void>;
}

/**
 * Starts an application process rendering `stickyKey` of `tenantId`. `module`: the runtime to load,
 * the built `dist/runtime.js` or the TypeScript entry (then tsx compiles it).
 */
export function startApp(options: { prompts: string; controlPlane?: string; tenantId?: string; stickyKey?: string; module?: string; env?: Record<string, string> }): AppProcess {
  const module = options.module ?? join(__dirname, '..', '..', 'src', 'runtime.ts');
  const args = [...(module.endsWith('.ts') ? ['-r', 'tsx/cjs'] : []), join(__dirname, 'runtimeApp.cjs'), options.prompts, options.controlPlane ?? '-', options.tenantId ?? 'acme', options.stickyKey ?? 'conversation-1'];
  const child = spawn(process.execPath, args, { env: { ...process.env, PROMPT_CI_RUNTIME_MODULE: module, ...options.env }, stdio: 'pipe' });
  const events: AppEvent[] = [];
  const waiters: { match: (e: AppEvent) => boolean; resolve: (e: AppEvent) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let event: AppEvent;
    try {
      event = JSON.parse(line) as AppEvent;
    } catch {
      return;
    }
    events.push(event);
    for (const w of [...waiters]) {
      if (w.match(event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    events,
    waitFor(match, { past = false, timeoutMs = 60_000 } = {}) {
      if (past) {
        const found = events.find(match);
        if (found) return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`app ${child.pid}: no matching event in ${timeoutMs} ms; events: ${JSON.stringify(events.slice(-10))}; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
        exited.then(() => setTimeout(() => reject(new Error(`app ${child.pid} exited; events: ${JSON.stringify(events.slice(-10))}; stderr: ${stderr.slice(-2000)}`)), 100));
      });
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
