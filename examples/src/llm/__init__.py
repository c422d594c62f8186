"""LLM features of the Helpdesk Co agent workspace: thread summaries and ticket triage."""
