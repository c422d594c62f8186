/**
 * The example workspace's service (examples/app/): its packages and its control plane, as `start`
 * and the demo's test set them up in a git copy of examples/.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.mjs';

/** The app's folder inside the workspace. */
export const DEMO_APP_DIR = 'app';

/**
 * Gives `app/` its packages without a registry: `app/node_modules/prompt-ci` is this repository
 * (so `prompt-ci/runtime` is the built dist/runtime.js, through the package's exports), and every
 * other dependency of app/package.json is the repository's own installed copy. `.bin/` gets `tsx`
 * and `prompt-ci`, as an install would link them.
 */
export function linkDemoApp(workspaceDir) {
  const appDir = path.join(workspaceDir, DEMO_APP_DIR);
  const manifest = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8'));
  const own = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const runtimeFile = path.join(repoRoot, own.exports['./runtime'].default);
  if (!fs.existsSync(runtimeFile)) throw new Error(`${path.relative(repoRoot, runtimeFile)} is missing: build first with \`node esbuild.mjs\`.`);
  const modules = path.join(appDir, 'node_modules');
  fs.rmSync(modules, { recursive: true, force: true });
  const link = (target, at) => {
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.symlinkSync(target, at);
  };
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
    const target = name === own.name ? repoRoot : path.join(repoRoot, 'node_modules', name);
    if (!fs.existsSync(target)) throw new Error(`app/package.json needs ${name}, which is not installed in this repository: run \`npm ci\` first.`);
    link(target, path.join(modules, name));
  }
  const bin = (name, file) => link(path.join('..', file), path.join(modules, '.bin', name));
  const tsx = JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', 'tsx', 'package.json'), 'utf8'));
  bin('tsx', path.join('tsx', typeof tsx.bin === 'string' ? tsx.bin : tsx.bin.tsx));
  bin(own.name, path.join(own.name, own.bin[own.name]));
  return appDir;
}

/**
 * Migrates the workspace's embedded control plane (`.prompt-ci/control/`) with the built CLI and
 * records production as it starts in the demo: summarisation v1 serving 100%.
 */
export function prepareDemoControlPlane(workspaceDir, { env = process.env } = {}) {
  const cli = path.join(repoRoot, 'dist', 'cli.js');
  const run = (...args) =>
    execFileSync(process.execPath, [cli, ...args], {
      cwd: workspaceDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, PROMPT_CI_DATABASE_URL: '', PROMPT_CI_ACTOR: 'release-bot@helpdesk.example' },
    });
  run('db', 'migrate');
  run('rollout', 'summarisation', '1', '--share', '100', '--reason', 'v1 is production');
}
