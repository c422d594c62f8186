"""Ticket thread summaries for agents who pick up a ticket they have not worked on."""

from __future__ import annotations

from dataclasses import dataclass, field

from .anthropic_client import complete
from .prompts import prompt_settings, render_prompt


@dataclass(frozen=True)
class TicketThread:
    """What the summariser needs to know about one ticket."""

    ticket_id: int
    tenant_id: str
    account_name: str
    plan_label: str  # "Business", "Enterprise", "Business (trial)"
    priority: str  # low | normal | high | urgent
    thread_text: str  # the whole thread as the export renders it, internal notes included


@dataclass(frozen=True)
class HandoverSummary:
    summary: str
    action_items: list[str] = field(default_factory=list)


def summarise_for_handover(ticket: TicketThread, request_id: str) -> HandoverSummary:
    """Summary shown in the sidebar when a ticket is reassigned or reopened."""
    system, user = render_prompt(
        "summarisation",
        version=2,
        customer_name=ticket.account_name,
        plan=ticket.plan_label,
        ticket_priority=ticket.priority,
        document=ticket.thread_text,
    )
    reply = complete(
        prompt_settings("summarisation", 2),
        system,
        user,
        tenant_id=ticket.tenant_id,
        request_id=request_id,
    )
    summary, _, action_line = reply.partition("Action items:")
    items = [item.strip().rstrip(".") for item in action_line.split(";")]
    return HandoverSummary(
        summary=summary.strip(),
        action_items=[item for item in items if item and item.lower() != "none"],
    )


def summarise_for_digest(ticket: TicketThread, request_id: str) -> str:
    """One paragraph per ticket in the weekly account digest emailed to team leads.

    The digest stays on v1: it has no room for action items, and its readers are not the
    agents who would act on them.
    """
    system, user = render_prompt("summarisation", version=1, customer_name=ticket.account_name, plan=ticket.plan_label, document=ticket.thread_text)
    reply = complete(
        prompt_settings("summarisation", 1),
        system,
        user,
        tenant_id=ticket.tenant_id,
        request_id=request_id,
    )
    return reply.strip()
