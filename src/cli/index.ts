import { main } from './main';

// The process entry of dist/cli.js: wires the real process into the CLI's io.
const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  // What really happens: the calls in flight are aborted (the API may still bill one it had begun),
  // nothing new starts, and the command reports what finished before exiting.
  process.stderr.write(
    '\nprompt-ci: interrupted; cancelling the calls in flight (the API may still bill those it had started) and starting no more; what finished is kept and reported, cached answers stay cached (Ctrl-C again to quit at once)\n',
  );
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
