"""客户确认链接 (B9: no 假性解决): a signed link the agent sends with the solution; the customer
opens it without logging in and answers 已解决 or 仍未解决.

The token is signed (salted, so no other signed value of the project can stand in for it) and
names the ticket and the moment it was resolved. A reopen clears or changes that moment, so a
link sent before it is dead. It is valid for ``TICKET_REOPEN_DAYS`` days after the resolution,
the same window in which the customer's "still not solved" may still reopen the ticket.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.errors import DomainError, InvalidTransition
from kefu.tickets.models import Ticket

SALT = "kefu.tickets.confirmation"

NOT_RESOLVED = _("只有“已解决”状态的工单可以发送客户确认链接。")
LINK_INVALID = _("确认链接无效，请核对链接是否完整，或联系客服重新发送。")
LINK_EXPIRED = _("确认链接已过期。如问题仍未解决，请联系客服。")
LINK_REPLACED = _("确认链接已失效：该工单已重新处理。请使用客服最新发送的链接，或联系客服。")


class ConfirmationLinkInvalid(DomainError):
    code = "confirmation_link_invalid"
    status = 400
    default_message = LINK_INVALID


class ConfirmationLinkGone(DomainError):
    """Expired, or from a resolution that a reopen has undone."""

    code = "confirmation_link_gone"
    status = 410
    default_message = LINK_EXPIRED


def validity():
    return datetime.timedelta(days=getattr(settings, "TICKET_REOPEN_DAYS", 7))


def _stamp(moment):
    """The resolution moment as whole microseconds: exact on SQLite and PostgreSQL alike."""
    return int(moment.timestamp() * 1_000_000) if moment else None


def confirmation_token(ticket):
    """The token for a resolved ticket's current resolution."""
    if ticket.status != Ticket.Status.RESOLVED or ticket.resolved_at is None:
        raise InvalidTransition(NOT_RESOLVED)
    return signing.dumps({"t": ticket.pk, "r": _stamp(ticket.resolved_at)}, salt=SALT)


def read_confirmation_token(token, now=None):
    """The ticket a token names, or ConfirmationLinkInvalid (tampered, garbled, unknown ticket)
    or ConfirmationLinkGone (expired, or the ticket was reopened since the link was made).

    A ticket that is no longer 已解决 for the same resolution (the customer already confirmed,
    it was closed) is returned as is: the caller says it has been handled."""
    now = now or timezone.now()
    try:
        payload = signing.loads(token, salt=SALT, max_age=validity())
    except signing.SignatureExpired:
        raise ConfirmationLinkGone(LINK_EXPIRED) from None
    except signing.BadSignature:
        raise ConfirmationLinkInvalid() from None
    if not isinstance(payload, dict) or not isinstance(payload.get("t"), int):
        raise ConfirmationLinkInvalid()
    ticket = Ticket.objects.filter(pk=payload["t"]).first()
    if ticket is None:
        raise ConfirmationLinkInvalid()
    if ticket.resolved_at is None or _stamp(ticket.resolved_at) != payload.get("r"):
        raise ConfirmationLinkGone(LINK_REPLACED)
    if now - ticket.resolved_at > validity():
        raise ConfirmationLinkGone(LINK_EXPIRED)
    return ticket


def confirmation_url(ticket, request=None):
    """The absolute link agents send. Built from the request's host; without a request (jobs,
    the CLI) from ``settings.SITE_URL`` when set, else the path alone."""
    path = reverse("ticket_confirm_public", kwargs={"token": confirmation_token(ticket)})
    if request is not None:
        return request.build_absolute_uri(path)
    base = getattr(settings, "SITE_URL", "") or ""
    return base.rstrip("/") + path
