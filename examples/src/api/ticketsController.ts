import { complete } from './llmClient';
import { renderPrompt } from './renderPrompt';

/** Must match the enum in schemas/triage_label.json. */
const TRIAGE_LABELS = ['billing', 'bug', 'outage', 'account-access', 'feature-request', 'how-to'] as const;
export type TriageLabel = (typeof TRIAGE_LABELS)[number];

/** Body of POST /api/tickets/triage, sent by the web form and the public API before a ticket is created. */
export interface TriageRequest {
  subject: string;
  body: string;
  customer_tier: 'Starter' | 'Team' | 'Business' | 'Enterprise';
}

/** The queue to route to; `null` leaves the ticket in the manual triage queue. */
export interface TriageResponse {
  label: TriageLabel | null;
}

export async function triageTicket(request: TriageRequest, signal?: AbortSignal): Promise<TriageResponse> {
  const { subject, body, customer_tier } = request;
  const prompt = renderPrompt('classification', { subject, body, customer_tier });
  const reply = await complete(prompt, signal);
  return { label: parseLabel(reply) };
}

function parseLabel(reply: string): TriageLabel | null {
  try {
    const parsed: unknown = JSON.parse(reply);
    const label = (parsed as { label?: unknown }).label;
    return TRIAGE_LABELS.find((known) => known === label) ?? null;
  } catch {
    return null;
  }
}

/** What the agent workspace sends for GET /api/tickets/:id/summary. */
export interface TicketView {
  id: number;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  account: { name: string; planLabel: string };
  /** The whole thread as the export renders it, internal notes included. */
  threadText: string;
}

export interface SidebarSummary {
  summary: string;
  actionItems: string[];
}

/** The handover summary in the ticket sidebar, computed when an agent opens the ticket. */
export async function ticketSummary(ticket: TicketView, signal?: AbortSignal): Promise<SidebarSummary> {
  const prompt = renderPrompt('summarisation', {
    version: 2,
    customer_name: ticket.account.name,
    plan: ticket.account.planLabel,
    ticket_priority: ticket.priority,
    document: ticket.threadText,
  });
  const reply = await complete(prompt, signal);
  const marker = reply.indexOf('Action items:');
  if (marker < 0) return { summary: reply.trim(), actionItems: [] };
  const actionItems = reply
    .slice(marker + 'Action items:'.length)
    .split(';')
    .map((item) => item.trim().replace(/\.$/, ''))
    .filter((item) => item !== '' && item.toLowerCase() !== 'none');
  return { summary: reply.slice(0, marker).trim(), actionItems };
}
