import { createHash } from 'node:crypto';
import * as z from 'zod';
import { sanitizeUntrusted } from '../escaping/untrusted';
import { validateMetadata } from '../metadata';
import { parseTemplate } from '../template/template';

/**
 * The deployable bundle of `prompt-ci bundle` (DESIGN.md section 7): every prompt version of the
 * repository with its files, parsed metadata, template format and a SHA-256, and the commit it was
 * built from. The runtime loads it at start; nothing at request time reads git or files.
 */

/** The bundle's schema id. */
export const BUNDLE_SCHEMA = 'prompt-ci/bundle@1';

const versionSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  version: z.number().int().positive(),
  /** Repo-relative POSIX path, `prompts/<name>/v<N>`. */
  dir: z.string(),
  files: z.object({
    system: z.string().optional(),
    userTemplate: z.string(),
    metadataYaml: z.string(),
  }),
  metadata: z
    .object({
      model: z.string().min(1),
      max_output_tokens: z.number().int().positive(),
      temperature: z.number(),
      template_format: z.enum(['python', 'mustache']),
    })
    .passthrough(),
  /** `versionDigest` of the files: what a deployment can check the text against. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** The JSON document `prompt-ci bundle` writes. */
export const bundleSchema = z.object({
  schema: z.literal(BUNDLE_SCHEMA),
  /** The commit the bundle was built from (HEAD). */
  commitSha: z.string().regex(/^[0-9a-f]{40,64}$/),
  /** True when built with `--allow-dirty` from uncommitted prompt changes: the text may not be the commit's. */
  dirty: z.boolean(),
  /** Prompt files that differed from the commit, when dirty. */
  dirtyPaths: z.array(z.string()).default([]),
  builtAt: z.string(),
  versions: z.array(versionSchema),
});

/** A bundle. */
export type PromptBundle = z.infer<typeof bundleSchema>;
/** One prompt version of a bundle. */
export type BundleVersion = z.infer<typeof versionSchema>;

/** The SHA-256 of a version's files: of the JSON array `[system|null, userTemplate, metadataYaml]`. */
export function versionDigest(files: BundleVersion['files']): string {
  return createHash('sha256').update(JSON.stringify([files.system ?? null, files.userTemplate, files.metadataYaml]), 'utf8').digest('hex');
}

/** A bundle that can't be used: the message names what is wrong. */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/**
 * Reads a bundle's JSON text, checking its shape and every version's digest.
 * @throws BundleError naming the first problem.
 */
export function parseBundle(text: string, source: string): PromptBundle {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BundleError(`${source} is not JSON (${(error as Error).message}); build it with \`prompt-ci bundle --out ${source}\``);
  }
  if (typeof raw !== 'object' || raw === null || (raw as { schema?: unknown }).schema !== BUNDLE_SCHEMA) {
    throw new BundleError(`${source} is not a prompt bundle (no "schema": "${BUNDLE_SCHEMA}"); build one with \`prompt-ci bundle\``);
  }
  const parsed = bundleSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BundleError(`${source} is not a valid prompt bundle: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const v of parsed.data.versions) {
    const key = `${v.name}/v${v.version}`;
    if (seen.has(key)) throw new BundleError(`${source} holds ${key} twice`);
    seen.add(key);
    if (versionDigest(v.files) !== v.sha256) {
      // `dir` is the bundle's own text, untrusted until the digest matched: shown with its control characters made visible.
      throw new BundleError(`${source}: the files of ${sanitizeUntrusted(v.dir)} don't match their SHA-256; the bundle was edited or damaged: rebuild it with \`prompt-ci bundle\``);
    }
  }
  return parsed.data;
}

/** A prompt version's files as read from a working tree. */
export interface VersionSource {
  name: string;
  version: number;
  dir: string;
  system?: string;
  userTemplate?: string;
  metadataYaml?: string;
}

/**
 * Builds a bundle from prompt versions read from disk: validates each version's metadata with the
 * same rules as `check` (errors refuse the bundle; `output_schema` presence is `exists`'s answer)
 * and its template with the same template code.
 * @throws BundleError listing every version that can't be bundled.
 */
export function buildBundle(input: {
  versions: readonly VersionSource[];
  commitSha: string;
  dirty: boolean;
  dirtyPaths?: string[];
  builtAt: string;
  exists?: (repoRelativePath: string) => boolean;
}): PromptBundle {
  const problems: string[] = [];
  const versions: BundleVersion[] = [];
  for (const source of input.versions) {
    const missing = (['userTemplate', 'metadataYaml'] as const).filter((k) => source[k] === undefined);
    if (missing.length) {
      problems.push(`${source.dir} has no ${missing.map((m) => (m === 'userTemplate' ? 'user.template.md' : 'metadata.yaml')).join(' or ')}`);
      continue;
    }
    const validation = validateMetadata(source.metadataYaml as string, {
      promptName: source.name,
      version: source.version,
      versionDir: source.dir,
      exists: input.exists ?? (() => true),
    });
    const errors = validation.findings.filter((f) => f.severity === 'error');
    if (errors.length || !validation.metadata) {
      problems.push(`${source.dir}/metadata.yaml: ${errors.map((f) => `line ${f.range.start.line + 1}: ${f.message}`).join('; ') || 'not usable'}`);
      continue;
    }
    const metadata = validation.metadata;
    const template = parseTemplate(source.userTemplate as string, metadata.template_format);
    if (template.errors.length) {
      problems.push(`${source.dir}/user.template.md is not a valid ${metadata.template_format} template: ${template.errors[0].message}`);
      continue;
    }
    const files: BundleVersion['files'] = {
      ...(source.system !== undefined ? { system: source.system } : {}),
      userTemplate: source.userTemplate as string,
      metadataYaml: source.metadataYaml as string,
    };
    versions.push({ name: source.name, version: source.version, dir: source.dir, files, metadata: metadata as BundleVersion['metadata'], sha256: versionDigest(files) });
  }
  if (problems.length) throw new BundleError(`can't bundle the prompts: ${problems.join('; ')}`);
  versions.sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
  return { schema: BUNDLE_SCHEMA, commitSha: input.commitSha, dirty: input.dirty, dirtyPaths: input.dirtyPaths ?? [], builtAt: input.builtAt, versions };
}
