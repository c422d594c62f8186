import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** prompts/<name>/v<N>/ at the repository root. */
const PROMPTS_DIR = path.resolve(__dirname, '..', '..', 'prompts');

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const VERSION_DIR = /^v([1-9][0-9]*)$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The template variables of one render, plus an optional version pin.
 * Prompt CI checks object literals passed here against the template, so write them inline.
 */
export interface PromptVariables {
  version?: number;
  [variable: string]: string | number | undefined;
}

/** A prompt version with its user template filled in, ready for the Messages API. */
export interface RenderedPrompt {
  name: string;
  version: number;
  system: string;
  user: string;
}

/**
 * Renders `prompts/<name>/v<N>/`: `name` is "summarisation" or "summarisation/v1"; without a
 * version, the highest on disk. Throws when a template variable is missing, so a half-filled
 * prompt never reaches the model.
 */
export function renderPrompt(name: string, vars: PromptVariables): RenderedPrompt {
  const { version: requested, ...variables } = vars;
  const [promptName, version] = resolveVersion(name, requested);
  const versionDir = path.join(PROMPTS_DIR, promptName, `v${version}`);
  const system = readFileSync(path.join(versionDir, 'system.md'), 'utf8');
  const template = readFileSync(path.join(versionDir, 'user.template.md'), 'utf8');
  const user = formatTemplate(template, variables, `${promptName}/v${version}`);
  return { name: promptName, version, system, user };
}

function resolveVersion(name: string, requested: number | undefined): [string, number] {
  let promptName = name;
  let version = requested;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    promptName = name.slice(0, slash);
    const pinned = VERSION_DIR.exec(name.slice(slash + 1));
    if (!pinned) throw new Error(`expected name/vN, got "${name}"`);
    if (version !== undefined && version !== Number(pinned[1])) {
      throw new Error(`"${name}" conflicts with version: ${version}`);
    }
    version = Number(pinned[1]);
  }
  if (!NAME.test(promptName)) throw new Error(`invalid prompt name "${promptName}"`);
  const versions = readdirSync(path.join(PROMPTS_DIR, promptName), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && VERSION_DIR.test(entry.name))
    .map((entry) => Number(entry.name.slice(1)))
    .sort((a, b) => a - b);
  if (version === undefined) {
    if (versions.length === 0) throw new Error(`prompt "${promptName}" has no versions`);
    return [promptName, versions[versions.length - 1]];
  }
  if (!versions.includes(version)) {
    throw new Error(`prompt "${promptName}" has no v${version} (have ${versions.join(', ')})`);
  }
  return [promptName, version];
}

/**
 * The subset of Python's str.format our templates use: `{name}` fields and the `{{` / `}}`
 * escapes. The Python services render the same files with str.format itself; a template that
 * needs format specs or attribute access should fail here loudly rather than render differently.
 */
function formatTemplate(
  template: string,
  variables: Record<string, string | number | undefined>,
  label: string,
): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const ch = template[i];
    if (ch === '{' && template[i + 1] === '{') {
      out += '{';
      i += 2;
    } else if (ch === '}' && template[i + 1] === '}') {
      out += '}';
      i += 2;
    } else if (ch === '{') {
      const close = template.indexOf('}', i);
      if (close < 0) throw new Error(`${label}: single '{' encountered in format string`);
      const field = template.slice(i + 1, close);
      if (!IDENTIFIER.test(field)) throw new Error(`${label}: unsupported field {${field}}`);
      const value = variables[field];
      if (value === undefined) throw new Error(`${label} needs variable "${field}"`);
      out += String(value);
      i = close + 1;
    } else if (ch === '}') {
      throw new Error(`${label}: single '}' encountered in format string`);
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}
