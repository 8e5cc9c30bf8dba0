"""Reads of tickets used by more than one caller."""

from kefu.core.errors import NotFound, PermissionDenied
from kefu.tickets.models import Ticket


def get_ticket_for_user(user, pk, perm="tickets.view_ticket"):
    """The one access helper for a ticket: NotFound outside the user's scope (no leak),
    PermissionDenied when they may see it but not do ``perm``."""
    if not user.has_perm("tickets.view_ticket"):
        raise PermissionDenied()
    ticket = Ticket.objects.visible_to(user).filter(pk=pk).select_related(
        "customer", "priority", "ticket_type", "channel", "owner__staff", "sla_policy").first()
    if ticket is None:
        raise NotFound()
    if perm and not user.has_perm(perm):
        raise PermissionDenied()
    return ticket
