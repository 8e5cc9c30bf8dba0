"""The tickets section of the customer page's history panel (A4)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kefu.customers.history import HistorySection

HISTORY_LIMIT = 20


def customer_tickets(customer):
    tickets = customer.tickets.select_related("ticket_type").order_by("-created_at")[:HISTORY_LIMIT]
    rows = [
        {"at": t.created_at, "title": f"{t.number} {t.ticket_type} · {t.subject}",
         "status": t.get_status_display(), "url": reverse("tickets:detail", args=[t.pk])}
        for t in tickets
    ]
    return HistorySection("tickets", _("工单"), rows=rows)
