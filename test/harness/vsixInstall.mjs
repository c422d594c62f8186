/**
 * Installs a .vsix the way a user does (`code-server --install-extension`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureCodeServer, entryJs } from './codeServerInstall.mjs';
import { QUIET_GALLERY_ENV } from './codeServerProcess.mjs';

/**
 * Installs a .vsix into `extensionsDir` the way a user does (`code-server --install-extension`).
 */
export async function installVsix(vsixPath, extensionsDir, { userDataDir } = {}) {
  await ensureCodeServer();
  fs.mkdirSync(extensionsDir, { recursive: true });
  const scratch = userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'prompt-ci-install-'));
  fs.mkdirSync(scratch, { recursive: true });
  const configFile = path.join(scratch, 'code-server.yaml');
  if (!fs.existsSync(configFile)) fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  try {
    return execFileSync(
      process.execPath,
      [
        entryJs,
        '--config', configFile,
        '--user-data-dir', scratch,
        '--extensions-dir', extensionsDir,
        '--install-extension', path.resolve(vsixPath),
        '--force',
      ],
      { env: { ...process.env, ...QUIET_GALLERY_ENV }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    throw new Error(`Installing ${vsixPath} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  } finally {
    if (!userDataDir) fs.rmSync(scratch, { recursive: true, force: true });
  }
}
