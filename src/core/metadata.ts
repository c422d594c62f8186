import { isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';
import type { z } from 'zod';
import type { Finding, Range } from './finding';
import { closestName, didYouMean } from './closestName';
import { SDK_API_VERSION, acceptsSamplingParameters, closestModel, modelInfo, modelLifecycle } from './modelCatalog';
import { LineIndex } from './lineIndex';
import { metadataJsonSchema, promptMetadataSchema } from './metadataSchema';
import type { PromptMetadata } from './metadataSchema';

/** Files larger than this are refused: metadata is a few hundred bytes, and a huge file is a mistake or an attack. */
export const MAX_METADATA_BYTES = 256 * 1024;
/** More aliases than this in one file is refused (the "billion laughs" alias bomb). */
export const MAX_ALIAS_COUNT = 50;

/** Where a metadata.yaml lives: what its `name`/`version` must agree with and which files exist. */
export interface MetadataContext {
  /** The `<name>` directory. */
  promptName: string;
  /** N of the `v<N>` directory. */
  version: number;
  /** Repo-relative POSIX path of the prompt version directory, e.g. `prompts/summarisation/v2`. */
  versionDir: string;
  /** Whether a repo-relative POSIX path exists; used for `output_schema`. */
  exists: (repoRelativePath: string) => boolean;
  /** Today (ISO date): a model past its retirement date is an error. Absent: retirement dates are not checked. */
  today?: string;
}

/** The outcome of validating one metadata.yaml: findings, and the metadata when it is usable. */
export interface MetadataValidation {
  findings: Finding[];
  /** Present when the schema accepted the document (warnings allowed). */
  metadata?: PromptMetadata;
}

/**
 * Validates the text of a metadata.yaml against the schema and its directory. Every finding sits
 * on the exact YAML node it concerns: a wrong value on the value, an unknown key on the key, a
 * missing key on the key of the map that lacks it.
 */
export function validateMetadata(text: string, context: MetadataContext): MetadataValidation {
  const lines = new LineIndex(text);
  const findings: Finding[] = [];
  const whole = lines.lineRange(0);

  if (text.length > MAX_METADATA_BYTES) {
    return {
      findings: [
        {
          code: 'metadata/too-large',
          severity: 'error',
          range: whole,
          message: `metadata.yaml is ${text.length} characters; files over ${MAX_METADATA_BYTES} are refused unread`,
        },
      ],
    };
  }

  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true });
  for (const error of doc.errors) {
    findings.push({
      code: 'metadata/yaml-syntax',
      severity: 'error',
      range: lines.rangeOf(error.pos[0], Math.max(error.pos[1], error.pos[0])),
      message: firstLine(error.message),
    });
  }
  for (const warning of doc.warnings) {
    findings.push({
      code: 'metadata/yaml-warning',
      severity: 'warning',
      range: lines.rangeOf(warning.pos[0], warning.pos[1]),
      message: firstLine(warning.message),
    });
  }
  if (doc.errors.length > 0) return { findings };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    return {
      findings: [
        ...findings,
        {
          code: 'metadata/alias-bomb',
          severity: 'error',
          range: whole,
          message: `refused: ${(error as Error).message} (more than ${MAX_ALIAS_COUNT} alias expansions)`,
        },
      ],
    };
  }
  if (value === null || value === undefined) {
    findings.push({ code: 'metadata/empty', severity: 'error', range: whole, message: 'metadata.yaml is empty' });
    return { findings };
  }

  const locate = (path: readonly PropertyKey[], on: 'key' | 'value'): Range => nodeRange(doc, lines, path, on);
  const parsed = promptMetadataSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) findings.push(...issueFindings(issue, doc, lines, locate));
  }
  // Unknown keys are warnings: validate again with them removed to know if the rest is sound.
  const onlyUnknown = !parsed.success && parsed.error.issues.every((i) => i.code === 'unrecognized_keys');
  const metadata = parsed.success
    ? parsed.data
    : onlyUnknown
      ? promptMetadataSchema.safeParse(stripUnknown(value, parsed.error.issues)).data
      : undefined;

  if (isPlainObject(value)) {
    const raw = value as Record<string, unknown>;
    if (typeof raw.name === 'string' && raw.name !== context.promptName) {
      findings.push({
        code: 'metadata/name-mismatch',
        severity: 'error',
        range: locate(['name'], 'value'),
        message: `name is "${raw.name}" but the directory is prompts/${context.promptName}/; they must match`,
      });
    }
    if (typeof raw.version === 'number' && raw.version !== context.version) {
      findings.push({
        code: 'metadata/version-mismatch',
        severity: 'error',
        range: locate(['version'], 'value'),
        message: `version is ${raw.version} but the directory is v${context.version}; they must match`,
      });
    }
    if (typeof raw.output_schema === 'string' && raw.output_schema.length > 0) {
      const schemaPath = raw.output_schema;
      const candidates = outputSchemaCandidates(context.versionDir, schemaPath);
      if (candidates.length === 0) {
        findings.push({
          code: 'metadata/output-schema-path',
          severity: 'error',
          range: locate(['output_schema'], 'value'),
          message: `output_schema "${schemaPath}" must be a relative path inside the repository`,
        });
      } else if (!candidates.some((c) => context.exists(c))) {
        findings.push({
          code: 'metadata/output-schema-missing',
          severity: 'error',
          range: locate(['output_schema'], 'value'),
          message: `output_schema "${schemaPath}" does not exist (looked for ${candidates.join(' and ')})`,
        });
      }
    }
    if (metadata) findings.push(...modelFindings(raw, metadata, context, locate));
  }
  return { findings, metadata };
}

/**
 * What the model catalog says about the models a metadata.yaml names: unknown (with the closest
 * known id), deprecated, retired; `max_output_tokens` above the model's limit; `temperature` set
 * where the API version the SDK speaks (or the model) refuses sampling parameters.
 */
function modelFindings(
  raw: Record<string, unknown>,
  metadata: PromptMetadata,
  context: MetadataContext,
  locate: (path: readonly PropertyKey[], on: 'key' | 'value') => Range,
): Finding[] {
  const findings: Finding[] = [];
  const today = context.today ?? '0000-00-00';
  const checkModel = (id: string, path: readonly PropertyKey[], what: string): void => {
    const lifecycle = modelLifecycle(id, today);
    const info = modelInfo(id);
    if (lifecycle === 'unknown') {
      const near = closestModel(id);
      findings.push({
        code: 'metadata/unknown-model',
        severity: 'warning',
        range: locate(path, 'value'),
        message: `${what} "${id}" is not a model Prompt CI knows${near ? `; ${didYouMean(near)}` : ' (a newer model, or a typo?)'}`,
      });
    } else if (lifecycle === 'retired') {
      findings.push({
        code: 'metadata/retired-model',
        severity: 'error',
        range: locate(path, 'value'),
        message: `${what} ${id} was retired on ${info?.retires}: requests to it fail${info?.replacement ? `; Anthropic recommends ${info.replacement}` : ''}`,
      });
    } else if (lifecycle === 'deprecated') {
      findings.push({
        code: 'metadata/deprecated-model',
        severity: 'warning',
        range: locate(path, 'value'),
        message: `${what} ${id} is deprecated${info?.retires ? ` and retires on ${info.retires}` : ''}${info?.replacement ? `; Anthropic recommends ${info.replacement}` : ''}`,
      });
    }
  };
  checkModel(metadata.model, ['model'], 'model');
  if (metadata.eval.judge?.model) checkModel(metadata.eval.judge.model, ['eval', 'judge', 'model'], 'judge model');
  if (metadata.eval.synthesis?.model) checkModel(metadata.eval.synthesis.model, ['eval', 'synthesis', 'model'], 'synthesis model');
  const limit = modelInfo(metadata.model)?.maxOutputTokens;
  if (limit !== undefined && metadata.max_output_tokens > limit) {
    findings.push({
      code: 'metadata/max-output-tokens-above-limit',
      severity: 'error',
      range: locate(['max_output_tokens'], 'value'),
      message: `max_output_tokens ${metadata.max_output_tokens} is above the ${limit} that ${metadata.model} can write; use 1 to ${limit}`,
    });
  }
  // temperature 0 records the intent of deterministic output; another value would change answers if it were sent.
  if (typeof raw.temperature === 'number' && raw.temperature !== 0 && !acceptsSamplingParameters(metadata.model, SDK_API_VERSION)) {
    findings.push({
      code: 'metadata/sampling-not-sent',
      severity: 'warning',
      range: locate(['temperature'], 'value'),
      message: `temperature ${raw.temperature} is not sent: the Messages API version ${SDK_API_VERSION} has no sampling parameters (it refuses temperature, top_p and top_k for every model); steer the output with the prompt instead`,
    });
  }
  return findings;
}

/** The repo-relative places an `output_schema` may be: the prompt directory first, then the repo root. */
export function outputSchemaCandidates(versionDir: string, schemaPath: string): string[] {
  if (schemaPath.startsWith('/') || /^[a-zA-Z]:/.test(schemaPath) || schemaPath.includes('\\')) return [];
  const inDir = normalisePosix(`${versionDir}/${schemaPath}`);
  const atRoot = normalisePosix(schemaPath);
  return [inDir, atRoot].filter((p): p is string => p !== undefined);
}

function normalisePosix(path: string): string | undefined {
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(segment);
  }
  return out.join('/');
}

function issueFindings(
  issue: z.core.$ZodIssue,
  doc: Document,
  lines: LineIndex,
  locate: (path: readonly PropertyKey[], on: 'key' | 'value') => Range,
): Finding[] {
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        code: 'metadata/unknown-key',
        severity: 'warning' as const,
        range: locate([...issue.path, key], 'key'),
        message: `unknown key "${key}"${issue.path.length ? ` in ${where}` : ''}${suggestion(key, knownKeys(issue.path))}`,
      }));
    case 'invalid_type': {
      const missing = !hasPath(doc, issue.path);
      if (missing) {
        const parent = issue.path.slice(0, -1);
        return [
          {
            code: 'metadata/missing-key',
            severity: 'error',
            range: parent.length ? locate(parent, 'key') : lines.lineRange(0),
            message: `missing required key "${String(issue.path[issue.path.length - 1])}"${parent.length ? ` in ${parent.join('.')}` : ''}`,
          },
        ];
      }
      return [
        {
          code: 'metadata/wrong-type',
          severity: 'error',
          range: locate(issue.path, 'value'),
          message: `${where}: expected ${issue.expected}, got ${describeValue(doc.getIn(issue.path))}`,
        },
      ];
    }
    case 'too_small':
    case 'too_big':
      return [
        {
          code: 'metadata/out-of-range',
          severity: 'error',
          range: locate(issue.path, 'value'),
          message: `${where}: ${rangeMessage(issue)}${rangeOf(issue.path)}, got ${describeValue(doc.getIn(issue.path))}`,
        },
      ];
    case 'invalid_value':
    case 'invalid_union':
      return [
        {
          code: 'metadata/invalid-value',
          severity: 'error',
          range: locate(issue.path, 'value'),
          message: `${where}: ${allowedValues(issue.path) ?? issue.message}, got ${describeValue(doc.getIn(issue.path))}`,
        },
      ];
    default:
      return [
        {
          code: 'metadata/invalid-value',
          severity: 'error',
          range: locate(issue.path, 'value'),
          message: `${where}: ${issue.message}`,
        },
      ];
  }
}

function rangeMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
  const inclusive = issue.inclusive !== false;
  const op = issue.code === 'too_small' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  if (issue.origin === 'array' || issue.origin === 'string') {
    return issue.code === 'too_small' ? `must not be empty` : `is too long (at most ${String(bound)})`;
  }
  return `must be ${op} ${String(bound)}`;
}

let jsonSchema: Record<string, unknown> | undefined;

/** " (allowed: 0 to 1)", " (allowed: above 0, below 1)": the whole range of a number key, from the generated JSON Schema. */
function rangeOf(path: readonly PropertyKey[]): string {
  jsonSchema ??= metadataJsonSchema();
  let node: Record<string, unknown> | undefined = jsonSchema;
  for (const key of path) {
    const properties = node?.properties as Record<string, Record<string, unknown>> | undefined;
    node = properties?.[String(key)];
    // Optional blocks are `anyOf`/`allOf` wrappers in the generated schema: take the object branch.
    for (const wrapper of ['anyOf', 'allOf', 'oneOf'] as const) {
      const branch = (node?.[wrapper] as Record<string, unknown>[] | undefined)?.find((b) => b.type === 'object' || b.properties);
      if (branch) node = branch;
    }
  }
  if (!node || (node.type !== 'number' && node.type !== 'integer')) return '';
  const low = typeof node.minimum === 'number' ? `${node.minimum}` : typeof node.exclusiveMinimum === 'number' ? `above ${node.exclusiveMinimum}` : undefined;
  const high = typeof node.maximum === 'number' ? `${node.maximum}` : typeof node.exclusiveMaximum === 'number' ? `below ${node.exclusiveMaximum}` : undefined;
  const kind = node.type === 'integer' ? 'an integer' : 'a number';
  if (low !== undefined && high !== undefined) {
    return low.startsWith('above') || high.startsWith('below') ? ` (allowed: ${kind} ${low}, ${high})` : ` (allowed: ${kind} from ${low} to ${high})`;
  }
  if (low !== undefined) return low.startsWith('above') ? ` (allowed: ${kind} ${low})` : ` (allowed: ${kind} of at least ${low})`;
  if (high !== undefined) return high.startsWith('below') ? ` (allowed: ${kind} ${high})` : ` (allowed: ${kind} of at most ${high})`;
  return '';
}

const ENUM_HINTS: Record<string, string> = {
  template_format: 'must be "python" or "mustache"',
  'eval.paired_test': 'must be "mcnemar"',
  'eval.mcnemar_exact': 'must be auto, true or false',
};

function allowedValues(path: readonly PropertyKey[]): string | undefined {
  return ENUM_HINTS[path.join('.')];
}

function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: unknown = promptMetadataSchema;
  for (const key of path) {
    schema = unwrap(schema);
    const shape = (schema as { shape?: Record<string, unknown> }).shape;
    schema = shape?.[String(key)];
  }
  const shape = (unwrap(schema) as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { unwrap?: () => unknown; def?: { innerType?: unknown } } | undefined;
  while (s && (s.def?.innerType || typeof s.unwrap === 'function')) {
    s = (s.def?.innerType ?? s.unwrap?.()) as typeof s;
  }
  return s;
}

function suggestion(key: string, known: string[]): string {
  const best = closestName(key, known);
  return best !== undefined ? `; ${didYouMean(best)}` : '';
}

function hasPath(doc: Document, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return true;
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  return isMap(parent) && parent.has(path[path.length - 1]);
}

/**
 * The range of the key or value node at `path` in a metadata.yaml text (the nearest ancestor that
 * exists when it doesn't; the first line when the text isn't YAML): where findings about a key sit.
 */
export function metadataNodeRange(text: string, path: readonly PropertyKey[], on: 'key' | 'value'): Range {
  const lines = new LineIndex(text);
  const doc = parseDocument(text, { prettyErrors: false });
  return doc.errors.length > 0 ? lines.lineRange(0) : nodeRange(doc, lines, path, on);
}

/** The range of the key or value node at `path`; falls back to the nearest ancestor that exists. */
function nodeRange(doc: Document, lines: LineIndex, path: readonly PropertyKey[], on: 'key' | 'value'): Range {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const segment of path) {
    if (isMap(node)) {
      const found = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
      if (!found) break;
      pair = found as Pair;
      node = found.value;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      pair = undefined;
      node = node.items[segment];
    } else break;
  }
  const target = (on === 'key' && pair ? pair.key : node ?? pair?.key) as YamlNode | undefined;
  const range = target && (target as { range?: [number, number, number] }).range;
  if (range) return lines.rangeOf(range[0], range[1]);
  if (pair?.key && (pair.key as YamlNode).range) {
    const r = (pair.key as YamlNode).range!;
    return lines.rangeOf(r[0], r[1]);
  }
  return lines.lineRange(0);
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (isScalar(value)) return describeValue(value.value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (isSeq(value) || Array.isArray(value)) return 'a list';
  if (isMap(value) || typeof value === 'object') return 'a mapping';
  return typeof value;
}

function stripUnknown(value: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    let target: unknown = copy;
    for (const segment of issue.path) target = (target as Record<PropertyKey, unknown>)?.[segment as string];
    if (isPlainObject(target)) for (const key of issue.keys) delete (target as Record<string, unknown>)[key];
  }
  return copy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}
