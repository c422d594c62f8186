import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Attributes, Tracer } from '@opentelemetry/api';
import type { RenderedPrompt, RuntimeMessagesRequest } from '../../core/runtime/render';

/**
 * The span of `runtime.createMessage` (DESIGN.md section 7): the Messages API call inside an
 * OpenTelemetry CLIENT span named `chat {model}`, with the GenAI conventions' attributes and ours
 * (`prompt.*`, `tenant.id`, `request.id`) that `prompt-ci replay` reads. Only `@opentelemetry/api`:
 * the application brings the SDK and the exporter.
 */

/** The part of an `@anthropic-ai/sdk` client the runtime calls. */
export interface MessagesClient {
  messages: { create(body: RuntimeMessagesRequest & { stream?: false }, options?: { signal?: AbortSignal }): PromiseLike<MessageResult> };
}

/** The fields of a Messages API response the span records. */
export interface MessageResult {
  id?: string;
  model?: string;
  stop_reason?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number };
  content?: ({ type: string; text?: string } | Record<string, unknown>)[];
}

/** Options of one call. */
export interface CreateMessageOptions {
  signal?: AbortSignal;
}

/** The attributes known before the call. */
export function requestAttributes(rendered: RenderedPrompt, captureContent: boolean): Attributes {
  const attributes: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'anthropic',
    'gen_ai.request.model': rendered.request.model,
    'gen_ai.request.max_tokens': rendered.request.max_tokens,
    'gen_ai.prompt.name': rendered.name,
    'gen_ai.prompt.version': String(rendered.version),
    'prompt.name': rendered.name,
    'prompt.version': rendered.version,
    'prompt.commit_sha': rendered.commitSha,
    'prompt.selection_reason': rendered.reason,
    'prompt.sha256': rendered.promptSha256,
    'tenant.id': rendered.tenantId,
    'request.id': rendered.requestId,
  };
  if (rendered.shareBasisPoints !== null) attributes['prompt.share_basis_points'] = rendered.shareBasisPoints;
  if (rendered.dirty) attributes['prompt.bundle_dirty'] = true;
  if (captureContent) {
    attributes['prompt.variables'] = JSON.stringify(rendered.variables);
    if (rendered.request.system !== undefined) {
      attributes['gen_ai.system_instructions'] = JSON.stringify([{ type: 'text', content: rendered.request.system }]);
    }
    attributes['gen_ai.input.messages'] = JSON.stringify(
      rendered.request.messages.map((m) => ({ role: m.role, parts: [{ type: 'text', content: m.content }] })),
    );
  }
  return attributes;
}

/** The attributes of the response. */
export function responseAttributes(message: MessageResult, captureContent: boolean): Attributes {
  const attributes: Attributes = {};
  if (message.id !== undefined) attributes['gen_ai.response.id'] = message.id;
  if (message.model !== undefined) attributes['gen_ai.response.model'] = message.model;
  if (message.stop_reason) attributes['gen_ai.response.finish_reasons'] = [message.stop_reason];
  if (message.usage?.input_tokens !== undefined) attributes['gen_ai.usage.input_tokens'] = message.usage.input_tokens;
  if (message.usage?.output_tokens !== undefined) attributes['gen_ai.usage.output_tokens'] = message.usage.output_tokens;
  if (captureContent) {
    const parts = (message.content ?? [])
      .filter((block): block is { type: 'text'; text: string } => block.type === 'text' && typeof block.text === 'string')
      .map((block) => ({ type: 'text', content: block.text }));
    attributes['gen_ai.output.messages'] = JSON.stringify([{ role: 'assistant', parts, ...(message.stop_reason ? { finish_reason: message.stop_reason } : {}) }]);
  }
  return attributes;
}

/** Sends `rendered.request` with `client` inside the span; errors set the span's status and record the exception. */
export async function createMessageInSpan<M extends MessageResult>(
  tracer: Tracer,
  client: { messages: { create(body: RuntimeMessagesRequest & { stream?: false }, options?: { signal?: AbortSignal }): PromiseLike<M> } },
  rendered: RenderedPrompt,
  captureContent: boolean,
  options: CreateMessageOptions = {},
): Promise<M> {
  const span = tracer.startSpan(`chat ${rendered.request.model}`, { kind: SpanKind.CLIENT, attributes: requestAttributes(rendered, captureContent) });
  return context.with(trace.setSpan(context.active(), span), async () => {
    try {
      const message = await client.messages.create({ ...rendered.request, stream: false }, options.signal ? { signal: options.signal } : undefined);
      span.setAttributes(responseAttributes(message, captureContent));
      return message;
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      span.recordException(e);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
      const status = (error as { status?: unknown }).status;
      span.setAttribute('error.type', typeof status === 'number' ? String(status) : e.name || 'Error');
      throw error;
    } finally {
      span.end();
    }
  });
}
