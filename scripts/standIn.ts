/**
 * Runs the Anthropic Messages API stand-in on loopback, for the demo and for manual runs:
 *
 *   npx tsx scripts/standIn.ts [--port N] [--api-key KEY] [--latency-ms N] [--rate-limit-every N]
 *       [--max-in-flight N] [--max-in-flight-retry-after S] [--requests-per-minute N] [--tokens-per-minute N]
 *
 * Prints its URL on the first line of stdout, then serves until interrupted.
 * Point a client at it with ANTHROPIC_BASE_URL=<url> ANTHROPIC_API_KEY=<key>.
 * `--rate-limit-every N` answers every Nth request with a 429 and `retry-after: 1`,
 * to show retries in the demo. The limit flags enforce the API's limits (see
 * test/support/standIn/rateLimits.ts): at most N requests answered at once (one more is a 429 with
 * `retry-after: S`, default 1), and requests- or tokens-per-minute windows.
 */
import { startStandIn } from '../test/support/standIn/server';
import type { StandInOptions } from '../test/support/standIn/server';

const USAGE =
  'usage: standIn.ts [--port N] [--api-key KEY] [--latency-ms N] [--rate-limit-every N] [--max-in-flight N] [--max-in-flight-retry-after S] [--requests-per-minute N] [--tokens-per-minute N]';

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): StandInOptions {
  const options: StandInOptions = { port: 0 };
  const count = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0) fail(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--port':
        options.port = count(flag, argv[++i]);
        if ((options.port ?? 0) > 65535) fail('--port must be at most 65535');
        break;
      case '--api-key': {
        const key = argv[++i];
        if (!key) fail('--api-key needs a value');
        options.apiKey = key;
        break;
      }
      case '--latency-ms':
        options.latencyMs = count(flag, argv[++i]);
        break;
      case '--rate-limit-every': {
        const every = count(flag, argv[++i]);
        if (every < 1) fail('--rate-limit-every must be at least 1');
        options.behaviour = (req) =>
          (req.index + 1) % every === 0 ? { kind: 'rate-limit', retryAfterSeconds: 1 } : undefined;
        break;
      }
      case '--max-in-flight':
      case '--requests-per-minute':
      case '--tokens-per-minute': {
        const n = count(flag, argv[++i]);
        if (n < 1) fail(`${flag} must be at least 1`);
        const limits = (options.rateLimits ??= {});
        if (flag === '--max-in-flight') limits.maxInFlight = n;
        else if (flag === '--requests-per-minute') limits.requestsPerMinute = n;
        else limits.tokensPerMinute = n;
        break;
      }
      case '--max-in-flight-retry-after': {
        const value = argv[++i];
        const seconds = Number(value);
        if (value === undefined || !Number.isFinite(seconds) || seconds < 0) fail(`${flag} needs a number of seconds`);
        (options.rateLimits ??= {}).maxInFlightRetryAfterSeconds = seconds;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
      default:
        fail(`unknown argument: ${flag}`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const standIn = await startStandIn(options);
  process.stdout.write(`${standIn.url}\n`);
  process.stderr.write(
    `Anthropic Messages API stand-in (deterministic demo server, not a model).\n` +
      `  ANTHROPIC_BASE_URL=${standIn.url} ANTHROPIC_API_KEY=${options.apiKey ?? 'test-key'}\n` +
      `Ctrl-C to stop.\n`,
  );
  const stop = (): void => {
    const { total, byStatus, maxConcurrent } = standIn.stats();
    process.stderr.write(`served ${total} requests ${JSON.stringify(byStatus)}, at most ${maxConcurrent} at once\n`);
    standIn.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
