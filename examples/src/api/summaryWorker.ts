import { complete } from './llmClient';
import { renderPrompt } from './renderPrompt';

/** A job on the `tier2-escalations` queue: a ticket that was just escalated to Tier 2. */
export interface EscalationJob {
  ticketId: number;
  accountName: string;
  plan: string;
  thread: string;
}

/** Where the worker writes its result: an internal note on the ticket. */
export interface TicketNotes {
  addInternalNote(ticketId: number, body: string): Promise<void>;
}

/**
 * Writes a three-sentence summary as the first internal note Tier 2 sees on an escalated
 * ticket. Pinned to v1: Tier 2 asked for the summary without action items, since they
 * decide the next steps themselves.
 */
export async function summariseEscalation(job: EscalationJob, notes: TicketNotes, signal?: AbortSignal): Promise<void> {
  const prompt = renderPrompt('summarisation/v1', {
    customer_name: job.accountName,
    plan: job.plan,
    document: job.thread,
  });
  const summary = (await complete(prompt, signal)).trim();
  await notes.addInternalNote(job.ticketId, `Escalation summary (generated, check against the thread):\n\n${summary}`);
}

/** Drains a batch of jobs with a small fixed concurrency, so one slow ticket doesn't hold up the queue. */
export async function runBatch(
  jobs: readonly EscalationJob[],
  notes: TicketNotes,
  concurrency = 4,
  signal?: AbortSignal,
): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = new Array(jobs.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < jobs.length && !signal?.aborted) {
      const index = next++;
      try {
        await summariseEscalation(jobs[index], notes, signal);
        results[index] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
  return results;
}
