import { main } from './main';

// The process entry of dist/cli.js: wires the real process into the CLI's io.
const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\nprompt-ci: interrupted; finishing what is in flight (Ctrl-C again to quit at once)\n');
  controller.abort();
});

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: Boolean(process.stdout.isTTY),
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`prompt-ci: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 2;
  },
);
