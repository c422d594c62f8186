// An application process for the propagation tests and the benchmark: starts a prompt runtime and
// renders one sticky conversation in a loop, printing a JSON line each time the version or the
// selection reason it gets changes, and every log line of the runtime. It exits when stdin closes.
//   PROMPT_CI_RUNTIME_MODULE=…/runtime.(js|ts) node [-r tsx/cjs] runtimeApp.cjs PROMPTS CONTROL_PLANE_URL|- TENANT STICKY
const { createPromptRuntime } = require(process.env.PROMPT_CI_RUNTIME_MODULE);

const [prompts, controlPlane, tenantId, stickyKey] = process.argv.slice(2);
const say = (event) => process.stdout.write(`${JSON.stringify({ pid: process.pid, at: Date.now(), ...event })}\n`);

(async () => {
  const runtime = await createPromptRuntime({
    prompts,
    ...(controlPlane && controlPlane !== '-' ? { controlPlane } : {}),
    pollIntervalMs: Number(process.env.PROMPT_CI_POLL_MS || 5000),
    allowStale: process.env.PROMPT_CI_ALLOW_STALE === '1',
    log: (line) => say({ log: line }),
  });
  const variables = { customer_name: 'Acme', plan: 'pro', document: 'A ticket.', ticket_priority: 'high' };
  let last = '';
  const tick = () => {
    const r = runtime.render('summarisation', { tenantId, requestId: `req-${Date.now()}`, stickyKey, variables });
    const now = `${r.version}/${r.reason}`;
    if (now !== last) {
      last = now;
      say({ version: r.version, reason: r.reason });
    }
  };
  tick();
  say({ ready: true, state: runtime.controlPlaneState });
  const timer = setInterval(tick, 2);
  process.stdin.on('end', async () => {
    clearInterval(timer);
    await runtime.close();
    say({ closed: true });
    process.exit(0);
  });
  process.stdin.resume();
})().catch((error) => {
  say({ error: error.message, name: error.name });
  process.exit(3);
});
