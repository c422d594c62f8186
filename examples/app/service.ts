// Helpdesk Co's ticket summariser: renders `prompts/summarisation/` through the Prompt CI runtime,
// which picks the version each tenant gets (rollback, pin, rollout) from the control plane, and
// sends the request with the Anthropic SDK inside a span that `prompt-ci replay` can rebuild.
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { Tracer } from '@opentelemetry/api';
import { createPromptRuntime } from 'prompt-ci/runtime';
import type { PromptRuntime } from 'prompt-ci/runtime';

/** One support ticket to summarise, for one tenant (a customer account of Helpdesk Co). */
export interface Ticket {
  tenantId: string;
  tier: string;
  customerName: string;
  plan: string;
  priority: string;
  thread: string;
}

/** What the service answered, and which prompt version answered it. */
export interface Summary {
  tenantId: string;
  requestId: string;
  version: number;
  reason: string;
  /** The version's share of this tenant's traffic (rollouts only), e.g. 10 for 10%. */
  sharePercent: number | null;
  text: string;
}

export interface SummariserOptions {
  /** The repository whose `prompts/` are served (its embedded control plane is `.prompt-ci/control/`). */
  repoRoot: string;
  tracer: Tracer;
  /** A Postgres URL; omitted: the repository's embedded control plane. */
  controlPlane?: string;
  log?: (line: string) => void;
}

export interface Summariser {
  summarise(ticket: Ticket, requestId: string): Promise<Summary>;
  runtime: PromptRuntime;
  close(): Promise<void>;
}

export async function startSummariser(options: SummariserOptions): Promise<Summariser> {
  const runtime = await createPromptRuntime({
    // The prompts directory of the checkout (development); production deploys a `prompt-ci bundle` file.
    prompts: join(options.repoRoot, 'prompts'),
    ...(options.controlPlane ? { controlPlane: options.controlPlane } : {}),
    tracer: options.tracer,
    // The demo records variables and messages on its spans, so a span replays on its own.
    captureContent: true,
    pollIntervalMs: 1000,
    ...(options.log ? { log: options.log } : {}),
  });
  // ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL come from the environment, as the SDK reads them.
  const client = new Anthropic();
  return {
    runtime,
    async summarise(ticket, requestId) {
      const rendered = runtime.render('summarisation', {
        tenantId: ticket.tenantId,
        requestId,
        // A tenant's whole account stays on one version during a rollout.
        stickyKey: ticket.tenantId,
        tier: ticket.tier,
        variables: { customer_name: ticket.customerName, plan: ticket.plan, ticket_priority: ticket.priority, document: ticket.thread },
      });
      const message = await runtime.createMessage(client, rendered);
      const text = (message.content ?? []).map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : '')).join('');
      return {
        tenantId: ticket.tenantId,
        requestId,
        version: rendered.version,
        reason: rendered.reason,
        sharePercent: rendered.shareBasisPoints === null ? null : rendered.shareBasisPoints / 100,
        text,
      };
    },
    close: () => runtime.close(),
  };
}
