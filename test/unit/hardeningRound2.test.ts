import * as assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError, buildBundle, parseBundle } from '../../src/core/runtime/bundle';
import { NewVersionError, createNextVersion } from '../../src/node/newVersion';
import { MAX_BUNDLE_BYTES, loadPrompts } from '../../src/node/runtime/promptSource';

const EXAMPLES = join(__dirname, '..', '..', 'examples');
const SECRET = '# SECRET=hunter2';

/** Attacks on this round's code that found something: each test failed before its fix. */
describe('hardening, second round', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'prompt-ci-round2-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('prompt-ci new', () => {
    beforeEach(() => cpSync(join(EXAMPLES, 'prompts', 'classification'), join(dir, 'prompts', 'classification'), { recursive: true }));

    it('refuses a linked metadata.yaml instead of copying its target into the repository', async () => {
      const target = join(dir, 'outside.yaml');
      writeFileSync(target, `name: classification\nversion: 1\nmodel: claude-haiku-4-5\n${SECRET}\n`);
      unlinkSync(join(dir, 'prompts', 'classification', 'v1', 'metadata.yaml'));
      symlinkSync(target, join(dir, 'prompts', 'classification', 'v1', 'metadata.yaml'));
      await assert.rejects(createNextVersion(dir, 'classification'), (error: unknown) => error instanceof NewVersionError && /^prompts\/classification\/v1\/metadata\.yaml is a symbolic link/.test((error as Error).message));
      assert.equal(existsSync(join(dir, 'prompts', 'classification', 'v2')), false, 'nothing created');
    });

    it('refuses a linked file in the source version rather than copying the link', async () => {
      unlinkSync(join(dir, 'prompts', 'classification', 'v1', 'system.md'));
      symlinkSync('/etc/passwd', join(dir, 'prompts', 'classification', 'v1', 'system.md'));
      await assert.rejects(createNextVersion(dir, 'classification'), /prompts\/classification\/v1\/system\.md is a symbolic link/);
      assert.equal(existsSync(join(dir, 'prompts', 'classification', 'v2')), false);
    });
  });

  describe('runtime bundles', () => {
    it('refuses an oversized bundle file unread, with a sentence', async () => {
      const path = join(dir, 'prompt-bundle.json');
      writeFileSync(path, '');
      truncateSync(path, MAX_BUNDLE_BYTES + 1); // sparse: nothing is written to disk
      await assert.rejects(loadPrompts(path), (error: unknown) => error instanceof BundleError && /is 67108865 bytes; a prompt bundle over 67108864 bytes \(64 MiB\) is refused unread/.test((error as Error).message));
    });

    it("shows a tampered bundle's directory name with its control characters made visible", () => {
      const metadataYaml = 'name: p\nversion: 1\nmodel: claude-haiku-4-5\n';
      const bundle = buildBundle({ versions: [{ name: 'p', version: 1, dir: 'prompts/p/v1', userTemplate: '{q}', metadataYaml }], commitSha: 'c'.repeat(40), dirty: false, builtAt: 'now' });
      const tampered = structuredClone(bundle);
      tampered.versions[0].dir = '../../etc\u001b[2J';
      tampered.versions[0].files.userTemplate = '{q} and more';
      assert.throws(() => parseBundle(JSON.stringify(tampered), 'b.json'), (error: unknown) => {
        assert.ok(error instanceof BundleError);
        assert.doesNotMatch((error as Error).message, /\u001b/);
        assert.match((error as Error).message, /the files of \.\.\/\.\.\/etc␛\[2J don't match/);
        return true;
      });
    });
  });
});
