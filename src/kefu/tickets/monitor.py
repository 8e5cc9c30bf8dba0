"""The SLA monitor: warns owners before a breach, tells supervisors of breaches, escalates.

It reads the stored, indexed deadline columns (never recomputes them) and marks each ticket
with a conditional UPDATE before notifying, so a pass is idempotent: running it twice, or on two
workers at once, notifies once. A pass after downtime catches up on everything past due.
On-hold tickets are skipped: their clock is stopped and resume moves their deadlines.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from kefu.core.notify import notify
from kefu.tickets.models import Ticket, TicketEvent
from kefu.tickets.services import ESCALATION_TIERS

RUNNING = (Ticket.Status.NEW, Ticket.Status.UNASSIGNED, Ticket.Status.IN_PROGRESS)
BATCH = 500


def supervisors():
    return list(get_user_model().objects.filter(groups__name="supervisor", is_active=True))


def _mark(pk, field, now):
    """Set ``field`` if still empty; True for the one caller that set it."""
    return Ticket.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: now}) == 1


def _due_ids(queryset):
    return list(queryset.order_by().values_list("pk", flat=True)[:BATCH])


def _url(ticket):
    return f"/customers/{ticket.customer_id}/"


def sla_monitor_pass(now=None):
    """One pass; returns counts of warnings, breaches and response breaches sent."""
    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0, "response_breached": 0}
    bosses = None

    warn_q = Ticket.objects.filter(status__in=RUNNING, sla_warned_at__isnull=True, resolve_warn_at__lte=now)
    breach_q = Ticket.objects.filter(status__in=RUNNING, sla_breached_at__isnull=True, resolve_due_at__lte=now)
    response_q = Ticket.objects.filter(
        status__in=RUNNING, first_responded_at__isnull=True, response_breached_at__isnull=True,
        response_due_at__lte=now,
    )
    while ids := _due_ids(breach_q):
        for pk in ids:
            with transaction.atomic():
                if not _mark(pk, "sla_breached_at", now):
                    continue
                # A breach implies the warning: never send a warning after the breach.
                Ticket.objects.filter(pk=pk, sla_warned_at__isnull=True).update(sla_warned_at=now)
                ticket = Ticket.objects.select_related("owner").get(pk=pk)
                if ticket.escalation_tier < max(ESCALATION_TIERS):
                    Ticket.objects.filter(pk=pk).update(escalation_tier=F("escalation_tier") + 1,
                                                        version=F("version") + 1)
                    ticket.escalation_tier += 1
                TicketEvent.objects.create(
                    ticket=ticket, verb="sla_breached", at=now,
                    summary=gettext("超过解决时限，已升级至%(tier)s") % {
                        "tier": ESCALATION_TIERS[ticket.escalation_tier]},
                )
                bosses = supervisors() if bosses is None else bosses
                title = gettext("工单 %(number)s 已超时") % {"number": ticket.number}
                for user in {*bosses, *([ticket.owner] if ticket.owner else [])}:
                    notify(recipient=user, kind="sla_breach", title=title, body=ticket.subject,
                           url=_url(ticket), dedupe_key=f"sla-breach:{pk}:{ticket.reopen_count}")
                counts["breached"] += 1
    while ids := _due_ids(warn_q):
        for pk in ids:
            with transaction.atomic():
                if not _mark(pk, "sla_warned_at", now):
                    continue
                ticket = Ticket.objects.select_related("owner").get(pk=pk)
                bosses = supervisors() if bosses is None else bosses
                recipients = [ticket.owner] if ticket.owner else bosses
                title = gettext("工单 %(number)s 即将超时") % {"number": ticket.number}
                for user in recipients:
                    notify(recipient=user, kind="sla_warning", title=title, body=ticket.subject,
                           url=_url(ticket), dedupe_key=f"sla-warn:{pk}:{ticket.reopen_count}")
                counts["warned"] += 1
    while ids := _due_ids(response_q):
        for pk in ids:
            with transaction.atomic():
                if not _mark(pk, "response_breached_at", now):
                    continue
                ticket = Ticket.objects.get(pk=pk)
                bosses = supervisors() if bosses is None else bosses
                title = gettext("工单 %(number)s 超过响应时限") % {"number": ticket.number}
                for user in bosses:
                    notify(recipient=user, kind="response_breach", title=title, body=ticket.subject,
                           url=_url(ticket), dedupe_key=f"response-breach:{pk}")
                counts["response_breached"] += 1
    return counts
