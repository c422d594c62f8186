"""Draft replies to refund requests for the billing team to review."""

from helpdesk.llm.prompts import render_prompt


def draft_reply(ticket, invoice):
    return render_prompt("refunds", version=1, customer_name=ticket.account_name, invoice_number=invoice.number, amount=invoice.total_display)


def draft_reply_localised(ticket, invoice):
    return render_prompt("refunds", version=1, customer_name=ticket.account_name, invoice_number=invoice.number, amount=invoice.total_display, reason=ticket.body, locale=ticket.locale)


def draft_policy_answer(ticket):
    return render_prompt("refund_policy", customer_name=ticket.account_name, question=ticket.body)


def draft_reply_from_form(form):
    fields = {key: value for key, value in form.items() if not key.startswith("_")}
    return render_prompt("refunds", version=1, **fields)
