/**
 * `--max-minutes N` of `eval` and `gate`: a cap on the run's wall time. When it passes, the run is
 * cancelled as Ctrl-C cancels it: the calls in flight are aborted, nothing new starts, and what
 * finished is kept and reported (a cancelled run is inconclusive).
 */
export interface RunDeadline {
  /** Aborts with the caller's signal, or when the time is up. */
  signal: AbortSignal;
  /** True once the time was up (not when the caller's signal aborted first). */
  expired(): boolean;
  /** The line saying so, for stderr. */
  notice(command: string): string;
  /** Clears the timer. */
  dispose(): void;
}

/** A signal that aborts with `signal` or after `minutes` (no cap when undefined). */
export function runDeadline(signal: AbortSignal | undefined, minutes: number | undefined): RunDeadline {
  const controller = new AbortController();
  let expired = false;
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    minutes === undefined
      ? undefined
      : setTimeout(() => {
          expired = true;
          controller.abort(new Error(`--max-minutes ${minutes} reached`));
        }, minutes * 60_000);
  timer?.unref?.();
  return {
    signal: controller.signal,
    expired: () => expired,
    notice: (command) =>
      `prompt-ci ${command}: stopped at --max-minutes ${minutes}: the calls in flight were cancelled, nothing new was started; what finished is kept below (and in the cache)\n`,
    dispose: () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}
