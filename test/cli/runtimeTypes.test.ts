import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * `prompt-ci/runtime` as a consumer's TypeScript sees it: the files `npm pack` would publish
 * (the .npmignore allow-list), installed into a consumer's node_modules beside the package's
 * dependencies, compiled with the repository's tsc under `moduleResolution` node16 and bundler.
 * A correct use of the whole API of DESIGN.md section 7 compiles; a misuse fails with the
 * diagnostics a user would get.
 */

const repo = join(__dirname, '..', '..');
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

const correctUse = `
import Anthropic from '@anthropic-ai/sdk';
import { trace } from '@opentelemetry/api';
import {
  BundleError, ControlPlaneError, PromptRequestError, PromptVariableError, TemplateCompileError,
  createPromptRuntime, rolloutBucket,
} from 'prompt-ci/runtime';
import type {
  ControlSyncState, PromptRuntime, PromptRuntimeOptions, RenderRequest, RenderedPrompt, SelectionReason, VersionAtAnswer,
} from 'prompt-ci/runtime';

export async function serve(conversationId: string, document: string): Promise<string> {
  const options: PromptRuntimeOptions = {
    prompts: 'prompt-bundle.json',
    controlPlane: process.env.PROMPT_CI_DATABASE_URL,
    tracer: trace.getTracer('app'),
    captureContent: false,
    allowStale: true,
    pollIntervalMs: 5000,
    audit: true,
    auditIdleMs: 3_600_000,
    auditFlushMs: 1000,
    log: (line: string) => console.error(line),
  };
  const runtime: PromptRuntime = await createPromptRuntime(options);
  const request: RenderRequest = {
    tenantId: 'acme', requestId: 'req-42', stickyKey: conversationId, tier: 'enterprise',
    variables: { customer_name: 'Acme', document },
  };
  try {
    const r: RenderedPrompt = runtime.render('summarisation', request);
    const reason: SelectionReason = r.reason;
    const fields: [string, number, string, string] = [r.name, r.version, r.commitSha, r.model];
    const body: { model: string; max_tokens: number } = r.request;
    const anthropic = new Anthropic({ apiKey: 'key', baseURL: 'http://127.0.0.1:1' });
    const message = await runtime.createMessage(anthropic, r, { signal: AbortSignal.timeout(30_000) });
    // With the SDK's overloaded create(), the result is typed as the runtime's MessageResult.
    const text = (message.content ?? []).map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : '')).join('');
    const usage: number | undefined = message.usage?.output_tokens;
    const history: VersionAtAnswer[] = await runtime.versionAt('acme', 'summarisation', new Date(Date.now() - 60_000));
    const first = history[0];
    const state: ControlSyncState = runtime.controlPlaneState;
    await runtime.refresh();
    return [reason, fields.join(' '), body.model, body.max_tokens, text, first?.version, first?.basisPoints, first?.startedAt.toISOString(), first?.endedAt?.toISOString(), state, usage, runtime.commitSha, rolloutBucket('summarisation', 'acme', conversationId)].join(' ');
  } catch (error) {
    if (error instanceof PromptVariableError || error instanceof PromptRequestError || error instanceof TemplateCompileError) return error.message;
    if (error instanceof BundleError || error instanceof ControlPlaneError) return error.message;
    throw error;
  } finally {
    await runtime.close();
  }
}
`;

// Line numbers of the misuses are asserted: keep them on lines 5 and 6.
const misuse = `import { createPromptRuntime } from 'prompt-ci/runtime';

export async function wrong(): Promise<void> {
  const runtime = await createPromptRuntime({ prompts: 'prompt-bundle.json' });
  await createPromptRuntime({ prompts: 'prompt-bundle.json', captureContent: 'yes' });
  await runtime.rollback('summarisation');
}
`;

const resolutions = [
  { name: 'node16', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'bundler', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
];

describe('prompt-ci/runtime declaration files, compiled by a consumer', function () {
  this.timeout(300_000);
  let consumer = '';

  before(() => {
    consumer = mkdtempSync(join(tmpdir(), 'prompt-ci-consumer-'));
    // What would be published: npm's own reading of package.json and .npmignore.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, encoding: 'utf8' })) as { files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    assert.ok(files.includes('dist/types/runtime.d.ts'), `the package ships dist/types/runtime.d.ts (it ships ${files.filter((f) => f.startsWith('dist/')).slice(0, 20).join(', ')}…)`);
    assert.ok(files.includes('dist/runtime.js'));
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests are published');
    const installed = join(consumer, 'node_modules', 'prompt-ci');
    for (const file of files) {
      mkdirSync(dirname(join(installed, file)), { recursive: true });
      cpSync(join(repo, file), join(installed, file));
    }
    // The package's dependencies, as npm would install them beside it, and the consumer's own.
    const manifest = JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], { cwd: repo, encoding: 'utf8' })) as { dependencies: Record<string, string> };
    for (const dep of [...Object.keys(manifest.dependencies), '@types/node']) {
      const target = join(consumer, 'node_modules', dep);
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(join(repo, 'node_modules', dep), target, 'dir');
    }
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { 'prompt-ci': 'file:prompt-ci', '@anthropic-ai/sdk': '*' } }));
  });

  after(() => rmSync(consumer, { recursive: true, force: true }));

  function compile(resolution: (typeof resolutions)[number], source: string): { status: number | null; output: string } {
    const dir = join(consumer, `${resolution.name}-${source === correctUse ? 'ok' : 'misuse'}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { ...resolution.compilerOptions, target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(consumer, 'node_modules', '@types')] }, files: ['index.ts'] }),
    );
    const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  for (const resolution of resolutions) {
    it(`compile a correct use of the whole API under moduleResolution ${resolution.name}`, () => {
      const r = compile(resolution, correctUse);
      assert.equal(r.status, 0, r.output);
    });

    it(`refuse a wrong option type and an unknown method under moduleResolution ${resolution.name}`, () => {
      const r = compile(resolution, misuse);
      assert.notEqual(r.status, 0);
      const errors = r.output.split('\n').filter((l) => / error TS\d+/.test(l));
      assert.equal(errors.length, 2, r.output);
      assert.match(errors[0], /^index\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'boolean \| undefined'/, r.output);
      assert.match(errors[1], /^index\.ts\(6,\d+\): error TS2339: Property 'rollback' does not exist on type 'PromptRuntime'/, r.output);
    });
  }
});
