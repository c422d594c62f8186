import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bumpVersion, planNewVersion } from '../../src/core/newVersion';
import { createNextVersion, NewVersionError } from '../../src/node/newVersion';

const METADATA = 'name: support_reply\n# bumped by prompt-ci new\nversion: 2   # the directory says so too\nmodel: claude-sonnet-4-6\n';

describe('new prompt version', () => {
  it('bumps version in place, keeping comments and order', () => {
    assert.equal(bumpVersion(METADATA, 3), METADATA.replace('version: 2', 'version: 3'));
    assert.equal(bumpVersion('name: x\nmodel: m\n', 2), 'name: x\nversion: 2\nmodel: m\n');
    assert.equal(bumpVersion('model: m\n', 2), 'version: 2\nmodel: m\n');
    assert.match((bumpVersion('name: [', 2) as { message: string }).message, /does not parse/);
    assert.match((bumpVersion('version: { a: 1 }\n', 2) as { message: string }).message, /not a plain number/);
  });

  it('plans the highest version + 1 and refuses an existing target', () => {
    const plan = planNewVersion({ name: 'support_reply', existingVersions: [1, 2], metadataYaml: METADATA });
    assert.ok(!('refused' in plan));
    assert.equal(plan.toDir, 'prompts/support_reply/v3');
    assert.equal(plan.fromDir, 'prompts/support_reply/v2');
    const refused = planNewVersion({ name: 'support_reply', fromVersion: 1, existingVersions: [1, 2], metadataYaml: METADATA });
    assert.ok('refused' in refused);
    assert.match(refused.message, /v2 already exists and is never overwritten; edit it, or make v3 from v2/);
    const missing = planNewVersion({ name: 'support_reply', fromVersion: 7, existingVersions: [1, 2], metadataYaml: METADATA });
    assert.ok('refused' in missing);
    assert.match(missing.message, /v7 does not exist; the versions are v1, v2/);
  });

  describe('on disk', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'prompt-ci-new-'));
      const v2 = join(root, 'prompts', 'support_reply', 'v2');
      mkdirSync(v2, { recursive: true });
      writeFileSync(join(v2, 'metadata.yaml'), METADATA);
      writeFileSync(join(v2, 'system.md'), 'Be kind.\n');
      writeFileSync(join(v2, 'user.template.md'), 'Hello {customer_name}\n');
      writeFileSync(join(v2, 'eval.jsonl'), '{"id":"a","inputs":{"customer_name":"Ann"}}\n');
      writeFileSync(join(v2, 'judge.md'), 'Grade it.\n');
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('copies every file, bumps the metadata and leaves the source alone', async () => {
      const created = await createNextVersion(root, 'support_reply');
      assert.equal(created.toDir, 'prompts/support_reply/v3');
      assert.deepEqual(created.files, ['eval.jsonl', 'judge.md', 'metadata.yaml', 'system.md', 'user.template.md']);
      const v3 = join(root, 'prompts', 'support_reply', 'v3');
      assert.equal(readFileSync(join(v3, 'metadata.yaml'), 'utf8'), METADATA.replace('version: 2', 'version: 3'));
      assert.equal(readFileSync(join(v3, 'judge.md'), 'utf8'), 'Grade it.\n');
      assert.equal(readFileSync(join(root, 'prompts', 'support_reply', 'v2', 'metadata.yaml'), 'utf8'), METADATA);
    });

    it('writes given texts instead of the source files (an edit moved into the new version)', async () => {
      await createNextVersion(root, 'support_reply', { overrides: { 'system.md': 'Be brief.\n' } });
      assert.equal(readFileSync(join(root, 'prompts', 'support_reply', 'v3', 'system.md'), 'utf8'), 'Be brief.\n');
      assert.equal(readFileSync(join(root, 'prompts', 'support_reply', 'v2', 'system.md'), 'utf8'), 'Be kind.\n');
    });

    it('refuses an existing target without touching it', async () => {
      await createNextVersion(root, 'support_reply');
      writeFileSync(join(root, 'prompts', 'support_reply', 'v3', 'system.md'), 'mine\n');
      await assert.rejects(createNextVersion(root, 'support_reply', { fromVersion: 2 }), (e: unknown) => e instanceof NewVersionError && /v3 already exists/.test(e.message));
      assert.equal(readFileSync(join(root, 'prompts', 'support_reply', 'v3', 'system.md'), 'utf8'), 'mine\n');
      await assert.rejects(createNextVersion(root, '../etc'), /not a prompt name/);
      await assert.rejects(createNextVersion(root, 'nothing_here'), /has no version directory/);
    });

    it('removes a half-made directory when the metadata cannot be bumped', async () => {
      writeFileSync(join(root, 'prompts', 'support_reply', 'v2', 'metadata.yaml'), 'name: [\n');
      await assert.rejects(createNextVersion(root, 'support_reply'), /does not parse/);
      assert.deepEqual(readdirSync(join(root, 'prompts', 'support_reply')), ['v2']);
    });
  });
});
