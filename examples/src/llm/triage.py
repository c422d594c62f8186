"""Triage of tickets that arrive by email: pick the queue before an agent sees them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .anthropic_client import complete
from .prompts import prompt_settings, render_prompt

# Must match the enum in schemas/triage_label.json.
LABELS = frozenset({"billing", "bug", "outage", "account-access", "feature-request", "how-to"})

# Long bodies are mostly quoted history and signatures; the first part decides the label.
_MAX_BODY_CHARS = 6000


@dataclass(frozen=True)
class IncomingTicket:
    tenant_id: str
    subject: str
    body: str
    customer_tier: str  # Starter | Team | Business | Enterprise


def triage(ticket: IncomingTicket, request_id: str) -> str | None:
    """The label for the ticket's queue, or None to leave it in the manual triage queue."""
    system, user = render_prompt(
        "classification",
        subject=ticket.subject.strip() or "(no subject)",
        body=ticket.body[:_MAX_BODY_CHARS],
        customer_tier=ticket.customer_tier,
    )
    reply = complete(
        prompt_settings("classification"),
        system,
        user,
        tenant_id=ticket.tenant_id,
        request_id=request_id,
    )
    try:
        label = json.loads(reply)["label"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return None
    return label if label in LABELS else None
