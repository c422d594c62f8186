import { isMap, isScalar, parseDocument } from 'yaml';
import { PROMPT_NAME_PATTERN, promptVersionDir } from './promptLayout';

/**
 * The next version of a prompt (`prompt-ci new`, **Prompt CI: New Prompt Version**): vN copied to
 * v(N+1) with `version` bumped. Released versions are immutable (DESIGN.md section 11), so this is
 * the first step of every change. Pure: the caller lists the versions and reads the metadata;
 * `src/node/newVersion.ts` copies the files.
 */

/** What a new version will be: where it goes and its metadata.yaml text. */
export interface NewVersionPlan {
  name: string;
  fromVersion: number;
  /** Repo-relative POSIX path of the source directory, e.g. `prompts/support_reply/v2`. */
  fromDir: string;
  toVersion: number;
  toDir: string;
  /** The source's metadata.yaml with `version:` set to `toVersion`; everything else (comments, order) as written. */
  metadataYaml: string;
}

/** Why a new version can't be made; `message` says what to do instead. */
export interface NewVersionRefusal {
  refused: true;
  message: string;
}

/** What `planNewVersion` needs to know. */
export interface NewVersionInput {
  /** The prompt's `<name>` directory. */
  name: string;
  /** The version to copy; undefined: the highest. */
  fromVersion?: number;
  /** Every version directory the prompt has (N of each `v<N>`). */
  existingVersions: readonly number[];
  /** The source version's metadata.yaml text. */
  metadataYaml: string;
  /** The new version is one above the highest, not one above the source (an edit of an older version moved out of it). */
  afterHighest?: boolean;
}

/** Plans vN → v(N+1); refuses when v(N+1) exists, so nothing is ever overwritten. */
export function planNewVersion(input: NewVersionInput): NewVersionPlan | NewVersionRefusal {
  if (!PROMPT_NAME_PATTERN.test(input.name)) {
    return { refused: true, message: `"${input.name}" is not a prompt name: use lower-case letters, digits, "_" and "-"` };
  }
  const versions = [...input.existingVersions].sort((a, b) => a - b);
  const highest = versions[versions.length - 1];
  if (highest === undefined) return { refused: true, message: `prompts/${input.name} has no version directory (v1, v2, …) to copy` };
  const from = input.fromVersion ?? highest;
  if (!versions.includes(from)) {
    return { refused: true, message: `prompts/${input.name}/v${from} does not exist; the versions are ${versions.map((v) => `v${v}`).join(', ')}` };
  }
  const to = input.afterHighest ? highest + 1 : from + 1;
  if (versions.includes(to)) {
    return {
      refused: true,
      message: `prompts/${input.name}/v${to} already exists and is never overwritten; edit it, or make v${highest + 1} from v${highest} (prompt-ci new prompts/${input.name})`,
    };
  }
  const metadataYaml = bumpVersion(input.metadataYaml, to);
  if (typeof metadataYaml !== 'string') return metadataYaml;
  return {
    name: input.name,
    fromVersion: from,
    fromDir: promptVersionDir(input.name, from),
    toVersion: to,
    toDir: promptVersionDir(input.name, to),
    metadataYaml,
  };
}

/**
 * metadata.yaml text with the top-level `version:` value replaced (or, when absent, added after
 * `name:`, else first), leaving every other byte as written.
 */
export function bumpVersion(text: string, version: number): string | NewVersionRefusal {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) {
    return { refused: true, message: `metadata.yaml does not parse (${doc.errors[0].message.split('\n')[0]}); fix it before making a new version` };
  }
  const contents = doc.contents;
  if (contents !== null && !isMap(contents)) {
    return { refused: true, message: 'metadata.yaml is not a mapping of keys; fix it before making a new version' };
  }
  const pair = contents?.items.find((p) => isScalar(p.key) && p.key.value === 'version');
  if (pair && isScalar(pair.value) && pair.value.range) {
    const [start, end] = pair.value.range;
    return text.slice(0, start) + String(version) + text.slice(end);
  }
  if (pair) return { refused: true, message: 'metadata.yaml `version` is not a plain number; set it to a number before making a new version' };
  const namePair = contents?.items.find((p) => isScalar(p.key) && p.key.value === 'name');
  const line = `version: ${version}\n`;
  if (namePair && isScalar(namePair.value) && namePair.value.range) {
    const afterName = text.indexOf('\n', namePair.value.range[1]);
    if (afterName === -1) return `${text}\n${line}`;
    return text.slice(0, afterName + 1) + line + text.slice(afterName + 1);
  }
  return line + text;
}

/** Narrows a plan result. */
export function isRefusal(result: NewVersionPlan | NewVersionRefusal | string): result is NewVersionRefusal {
  return typeof result === 'object' && 'refused' in result;
}
