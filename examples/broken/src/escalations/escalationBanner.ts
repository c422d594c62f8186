import { renderPrompt } from '../llm/renderPrompt';

interface EscalatedTicket {
  fields: Record<string, string>;
}

export function bannerPrompt(ticket: EscalatedTicket) {
  return renderPrompt('escalation', { ...ticket.fields });
}

export function refundPreview(customer_name: string, invoice_number: string, amount: string, reason: string) {
  return renderPrompt('refunds/v4', { customer_name, invoice_number, amount, reason });
}
