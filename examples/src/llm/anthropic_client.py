"""The one place the Python services call the Anthropic Messages API.

Each call is traced with the prompt's name, version and the commit it was deployed from, so
a span from production can be replayed against the exact prompt files that produced it.
"""

from __future__ import annotations

import json
import os

import anthropic
from opentelemetry import trace

from .prompts import PromptSettings

_tracer = trace.get_tracer("helpdesk.llm")

# Reads ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL, when set) from the environment. The SDK
# retries 429, 529 and connection errors with backoff, honouring retry-after.
_client = anthropic.Anthropic(max_retries=3, timeout=30.0)

# Set by the deploy pipeline to the commit the service was built from.
_COMMIT_SHA = os.environ.get("HELPDESK_COMMIT_SHA", "unknown")


def complete(
    settings: PromptSettings,
    system: str,
    user: str,
    *,
    tenant_id: str,
    request_id: str,
) -> str:
    """Send one rendered prompt and return the text of the reply."""
    with _tracer.start_as_current_span("llm.messages.create") as span:
        span.set_attribute("prompt.name", settings.name)
        span.set_attribute("prompt.version", settings.version)
        span.set_attribute("prompt.commit_sha", _COMMIT_SHA)
        span.set_attribute("gen_ai.request.model", settings.model)
        span.set_attribute("tenant.id", tenant_id)
        span.set_attribute("request.id", request_id)
        # Ticket text is customer data: these spans go only to our own collector, which
        # keeps them for 14 days.
        span.set_attribute(
            "gen_ai.input.messages",
            json.dumps([{"role": "system", "content": system}, {"role": "user", "content": user}]),
        )

        # No temperature: API version 2026-10-21, which the SDK sends, rejects sampling
        # parameters. metadata.yaml still records the 0.0 the prompt was written for.
        response = _client.messages.create(
            model=settings.model,
            max_tokens=settings.max_output_tokens,
            system=system,
            messages=[{"role": "user", "content": user}],
        )

        text = "".join(block.text for block in response.content if block.type == "text")
        span.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)
        span.set_attribute(
            "gen_ai.output.messages", json.dumps([{"role": "assistant", "content": text}])
        )
        if response.stop_reason == "max_tokens":
            span.add_event("truncated", {"max_tokens": settings.max_output_tokens})
        return text
