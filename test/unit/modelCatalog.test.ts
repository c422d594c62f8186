import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  acceptsSamplingParameters,
  catalogPricing,
  closestModel,
  MODEL_CATALOG,
  modelInfo,
  modelLifecycle,
  SDK_API_VERSION,
  selectableModels,
} from '../../src/core/modelCatalog';
import { DEFAULT_PRICING } from '../../src/core/repoSettings';

const sdk = join(__dirname, '..', '..', 'node_modules', '@anthropic-ai', 'sdk');

describe('model catalog', () => {
  it('knows every model id the bundled SDK names, and no id twice', () => {
    const types = readFileSync(join(sdk, 'resources', 'messages', 'messages.d.ts'), 'utf8');
    const union = /export type Model = ([^;]+);/.exec(types)?.[1] ?? '';
    const sdkIds = [...union.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    assert.ok(sdkIds.length > 10, 'the SDK lists its models');
    for (const id of sdkIds) assert.ok(modelInfo(id), `${id} is in the catalog`);
    assert.equal(new Set(MODEL_CATALOG.map((m) => m.id)).size, MODEL_CATALOG.length);
  });

  it('has the retirement date of every model the SDK warns about as deprecated', () => {
    const table = readFileSync(join(sdk, 'internal', 'data', 'deprecated-models.js'), 'utf8');
    const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
    for (const [, id, month, day, year] of table.matchAll(/'([^']+)': '(\w+) (\d+)\w\w, (\d{4})'/g)) {
      const iso = `${year}-${String(months.indexOf(month) + 1).padStart(2, '0')}-${day.padStart(2, '0')}`;
      assert.equal(modelInfo(id)?.retires, iso, id);
      assert.equal(modelInfo(id)?.deprecated, true, id);
    }
  });

  it('speaks the API version the SDK sends', () => {
    const client = readFileSync(join(sdk, 'client.js'), 'utf8');
    assert.match(client, new RegExp(`'anthropic-version': '${SDK_API_VERSION}'`));
  });

  it('tells the lifecycle of a model on a day', () => {
    assert.equal(modelLifecycle('claude-sonnet-4-5', '2026-11-29'), 'deprecated');
    assert.equal(modelLifecycle('claude-sonnet-4-5', '2026-11-30'), 'retired');
    assert.equal(modelLifecycle('claude-sonnet-4-6', '2026-12-01'), 'legacy');
    assert.equal(modelLifecycle('claude-opus-5-5', '2026-12-01'), 'active');
    assert.equal(modelLifecycle('claude-sonet-4-6', '2026-12-01'), 'unknown');
    const offered = selectableModels('2026-12-01').map((m) => m.id);
    assert.ok(!offered.includes('claude-sonnet-4-5'), 'retired models are not offered');
    assert.ok(offered.indexOf('claude-opus-5-5') < offered.indexOf('claude-sonnet-4-6'), 'current models first');
  });

  it('refuses sampling parameters under the SDK API version for every model, and per model under 2023-06-01', () => {
    assert.equal(acceptsSamplingParameters('claude-haiku-4-5'), false);
    assert.equal(acceptsSamplingParameters('claude-haiku-4-5', '2023-06-01'), true);
    assert.equal(acceptsSamplingParameters('claude-opus-4-7', '2023-06-01'), false);
  });

  it('is where the cost estimate gets its default prices', () => {
    assert.deepEqual(DEFAULT_PRICING, catalogPricing());
    assert.deepEqual(DEFAULT_PRICING['claude-sonnet-4-6'], { input: 3, output: 15 });
    assert.deepEqual(DEFAULT_PRICING['claude-opus-4-7'], { input: 5, output: 25 });
    assert.equal(modelInfo('claude-sonnet-4-6')?.maxOutputTokens, 64_000);
  });

  it('suggests the closest known model for a misspelt one', () => {
    assert.equal(closestModel('claude-sonet-4-6'), 'claude-sonnet-4-6');
    assert.equal(closestModel('gpt-4o'), undefined);
  });
});
