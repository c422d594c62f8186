import type { CliIo } from './cliIo';

/** Carriage return and "erase line": the one control sequence the CLI writes on purpose. */
export const REDRAW_LINE = '\r\x1b[2K';

/**
 * A progress line redrawn in place on a terminal, at most every 100 ms (and always for the last
 * step), shared by the commands that show one. `end()` leaves the terminal as `ending` says: the
 * last line kept (a newline after it) or erased.
 */
export class ProgressLine {
  private lastDrawn = 0;
  private drawn = false;

  constructor(
    private readonly io: CliIo,
    private readonly ending: 'keep' | 'erase',
    private readonly minIntervalMs = 100,
  ) {}

  /** Draws `text` unless the last draw was too recent and this is not the final step. */
  draw(text: string, final: boolean): void {
    const now = Date.now();
    if (now - this.lastDrawn < this.minIntervalMs && !final) return;
    this.lastDrawn = now;
    this.io.stdout(`${REDRAW_LINE}${text}`);
    this.drawn = true;
  }

  /** Ends the line, if one was drawn. */
  end(): void {
    if (this.drawn) this.io.stdout(this.ending === 'keep' ? '\n' : REDRAW_LINE);
    this.drawn = false;
  }
}
