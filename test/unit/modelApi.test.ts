import { strict as assert } from 'node:assert';
import { startStandIn } from '../support/standIn/server';
import type { StandIn } from '../support/standIn/server';
import { baseUrlProblem, describeKeyFrom, resolveModelApi } from '../../src/node/modelApi';
import { MissingApiKeyError, ModelCallError, ModelClient } from '../../src/node/modelClient';
import { callReplay } from '../../src/node/replayRunner';

describe('modelApi: one resolver of key and base URL', () => {
  it('takes the explicit key and base URL over the environment, trimmed, without a trailing slash', () => {
    const env = { ANTHROPIC_API_KEY: 'env-key', ANTHROPIC_BASE_URL: 'http://env.example:1/' };
    assert.deepEqual(resolveModelApi({ env }), {
      apiKey: 'env-key',
      baseURL: 'http://env.example:1',
      keyFrom: 'environment',
      source: { kind: 'custom', host: 'env.example:1' },
    });
    assert.deepEqual(resolveModelApi({ apiKey: ' stored ', apiKeyFrom: 'secret-storage', baseURL: 'https://proxy.example/v/', env }), {
      apiKey: 'stored',
      baseURL: 'https://proxy.example/v',
      keyFrom: 'secret-storage',
      source: { kind: 'custom', host: 'proxy.example' },
    });
  });

  it('falls back to the public API and says when there is no key; blank values count as unset', () => {
    const api = resolveModelApi({ apiKey: '  ', baseURL: '', env: { ANTHROPIC_API_KEY: '', ANTHROPIC_BASE_URL: ' ' } });
    assert.deepEqual(api, { apiKey: undefined, baseURL: undefined, keyFrom: 'none', source: { kind: 'anthropic', host: 'api.anthropic.com' } });
    assert.equal(describeKeyFrom('environment'), 'ANTHROPIC_API_KEY');
  });

  it('in the demo uses the environment pair together, never a stored key, unless a base URL is given', () => {
    const env = { ANTHROPIC_API_KEY: 'demo-key', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9', PROMPT_CI_DEMO: '1' };
    const demo = resolveModelApi({ apiKey: 'real-stored-key', apiKeyFrom: 'secret-storage', env });
    assert.deepEqual(demo, { apiKey: 'demo-key', baseURL: 'http://127.0.0.1:9', keyFrom: 'environment', source: { kind: 'demo', host: '127.0.0.1:9' } });
    const elsewhere = resolveModelApi({ apiKey: 'real-stored-key', apiKeyFrom: 'secret-storage', baseURL: 'https://api.anthropic.com', env });
    assert.equal(elsewhere.apiKey, 'real-stored-key');
    assert.equal(elsewhere.source.kind, 'anthropic');
  });

  it('names a base URL that is not an http(s) URL, and the client refuses it before any call', () => {
    assert.equal(baseUrlProblem(undefined), undefined);
    assert.equal(baseUrlProblem('http://127.0.0.1:1'), undefined);
    assert.match(baseUrlProblem('localhost:8080') ?? '', /is not an http\(s\) URL/);
    assert.match(baseUrlProblem('not a url') ?? '', /"not a url" is not a URL/);
    assert.throws(
      () => new ModelClient({ apiKey: 'k', baseURL: 'ftp://example.org', env: {} }),
      (e: unknown) => e instanceof ModelCallError && e.fatal && /ftp:\/\/example\.org.*no call was made/.test(e.message),
    );
    assert.throws(() => new ModelClient({ env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1' } }), MissingApiKeyError);
  });
});

describe('modelApi: one client, one retry policy (the replayed call included)', () => {
  let standIn: StandIn | undefined;
  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  it('a replayed call waits out rate limits as an eval does (the SDK alone gave up after 3 attempts)', async () => {
    standIn = await startStandIn({ behaviour: (req) => (req.index < 4 ? { kind: 'rate-limit', retryAfterSeconds: 0 } : undefined) });
    const api = resolveModelApi({ apiKey: 'test-key', baseURL: standIn.url, env: {} });
    const outcome = await callReplay(
      { model: 'claude-sonnet-4-6', max_tokens: 50, temperature: 0, system: 'Summarise in one sentence.', messages: [{ role: 'user', content: 'The parcel arrived late.' }] },
      'The parcel arrived late.',
      { api },
    );
    assert.equal(standIn.requests.length, 5);
    assert.equal(outcome.model, 'claude-sonnet-4-6');
    assert.match(outcome.text, /parcel/);
    // The sampling parameter was sent under the API version that had it.
    assert.equal(standIn.requests[4].headers['anthropic-version'], '2023-06-01');
  });
});
