import type { CompiledPrompt } from './compiledPrompt';
import { renderCompiled } from './compiledPrompt';
import type { RoutingTable, Selection, SelectionNote, SelectionReason } from './selection';
import { isWellFormedText } from './text';

/**
 * `runtime.render(name, request)` without its side effects: checks the request, selects the version
 * from the routing table and renders it into the Messages API request (DESIGN.md section 7).
 */

/** What the application passes to `render`. */
export interface RenderRequest {
  tenantId: string;
  requestId: string;
  /** The unit that stays on one version, e.g. a conversation id. Default: `requestId`. */
  stickyKey?: string;
  /** The tenant's tier; a rollout can exclude tiers. */
  tier?: string;
  variables: Record<string, unknown>;
}

/** The Messages API request body the runtime builds. */
export interface RuntimeMessagesRequest {
  model: string;
  max_tokens: number;
  system?: string;
  messages: { role: 'user'; content: string }[];
}

/** What `render` returns: the version chosen, why, and the request to send. */
export interface RenderedPrompt {
  name: string;
  version: number;
  commitSha: string;
  reason: SelectionReason;
  model: string;
  request: RuntimeMessagesRequest;
  tenantId: string;
  requestId: string;
  /** For a rollout: the version's share for this request, in basis points. */
  shareBasisPoints: number | null;
  /** The version's SHA-256 in the bundle. */
  promptSha256: string;
  /** True when the bundle was built from uncommitted prompt changes. */
  dirty: boolean;
  /** The variables the message was rendered with (on spans only with `captureContent`). */
  variables: Record<string, unknown>;
}

/** A request `render` can't serve: the message names the field and the rule. */
export class PromptRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptRequestError';
  }
}

/** Longest tenant id accepted (the control plane stores and indexes it). */
export const MAX_TENANT_ID = 256;
/** Longest request id and sticky key accepted. */
export const MAX_KEY = 64 * 1024;

/** Where a render looks things up: the routing table, the compiled versions, the bundle's commit. */
export interface RenderContext {
  table: RoutingTable;
  prompts: ReadonlyMap<string, ReadonlyMap<number, CompiledPrompt>>;
  commitSha: string;
  dirty: boolean;
  now: number;
  onNote?: (note: SelectionNote) => void;
}

/**
 * Selects and renders.
 * @throws PromptRequestError for a bad request or an unknown prompt; PromptVariableError for a missing variable.
 */
export function renderPrompt(context: RenderContext, name: string, request: RenderRequest): { rendered: RenderedPrompt; selection: Selection } {
  const versions = context.prompts.get(name);
  if (versions === undefined || !context.table.has(name)) {
    const known = [...context.prompts.keys()].sort();
    throw new PromptRequestError(`there is no prompt "${String(name).slice(0, 200)}" in the bundle; it has ${known.length ? known.join(', ') : 'no prompts'}`);
  }
  if (typeof request !== 'object' || request === null) throw new PromptRequestError(`render("${name}", request): request must be an object with tenantId, requestId and variables`);
  const { tenantId, requestId, tier } = request;
  checkKey('tenantId', tenantId, MAX_TENANT_ID);
  checkKey('requestId', requestId, MAX_KEY);
  const stickyKey = request.stickyKey ?? requestId;
  checkKey('stickyKey', stickyKey, MAX_KEY);
  if (tier !== undefined && (typeof tier !== 'string' || tier.length > 64)) throw new PromptRequestError('tier must be a string of at most 64 characters when given');
  const variables = request.variables;
  if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) {
    throw new PromptRequestError(`render("${name}"): variables must be an object of template variables`);
  }
  const selection = context.table.select(name, tenantId, stickyKey, tier, context.now, context.onNote);
  const prompt = versions.get(selection.version) as CompiledPrompt;
  const content = renderCompiled(prompt, variables);
  const messages: RuntimeMessagesRequest['messages'] = [{ role: 'user', content }];
  const request_: RuntimeMessagesRequest =
    prompt.system !== undefined
      ? { model: prompt.model, max_tokens: prompt.maxTokens, system: prompt.system, messages }
      : { model: prompt.model, max_tokens: prompt.maxTokens, messages };
  return {
    selection,
    rendered: {
      name,
      version: selection.version,
      commitSha: context.commitSha,
      reason: selection.reason,
      model: prompt.model,
      request: request_,
      tenantId,
      requestId,
      shareBasisPoints: selection.basisPoints,
      promptSha256: prompt.sha256,
      dirty: context.dirty,
      variables,
    },
  };
}

function checkKey(field: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length === 0) throw new PromptRequestError(`${field} is required: a non-empty string`);
  if (value.length > max) throw new PromptRequestError(`${field} is ${value.length} characters long; the limit is ${max}`);
  if (!isWellFormedText(value)) throw new PromptRequestError(`${field} is not well-formed Unicode (it holds a lone surrogate), so it has no stable bytes to hash`);
}
