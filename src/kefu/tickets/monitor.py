"""The SLA monitor: warns owners before a breach, tells supervisors of breaches, escalates.

It reads the stored, indexed deadline columns (never recomputes them) and marks each ticket
with a conditional UPDATE before notifying, so a pass is idempotent: running it twice, or on two
workers at once, notifies once. A pass after downtime catches up on everything past due.
On-hold tickets are skipped: their clock is stopped and resume moves their deadlines.

Hotline hand-offs (B6) not accepted within ``TICKET_HANDOFF_MINUTES`` are marked the same way
(``handoff_breached_at``, read through the partial index ``ticket_handoff_pending``) and told to
the supervisors and to the engineer named, once per hand-off.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from kefu.core.notify import notify
from kefu.tickets.models import RunningIndexTerm, Ticket, TicketEvent
from kefu.tickets.routing import supervisors, tell, ticket_url
from kefu.tickets.services import ESCALATION_TIERS, handoff_window

RUNNING = Ticket.RUNNING_STATUSES
BATCH = 500


def _mark(pk, field, now):
    """Set ``field`` if still empty; True for the one caller that set it."""
    return Ticket.objects.filter(pk=pk, **{f"{field}__isnull": True}).update(**{field: now}) == 1


def _due_ids(queryset):
    return list(queryset.order_by().values_list("pk", flat=True)[:BATCH])


def sla_monitor_pass(now=None):
    """One pass; returns counts of warnings, breaches, response breaches and late hand-offs."""
    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0, "response_breached": 0, "handoff_breached": 0}
    bosses = None

    # RunningIndexTerm: SQLite reads the partial indexes ticket_warn_pending / _breach_pending /
    # _unanswered_due only with their status term repeated in literals (models.IndexTerm).
    warn_q = Ticket.objects.filter(RunningIndexTerm(), status__in=RUNNING, sla_warned_at__isnull=True,
                                   resolve_warn_at__lte=now)
    breach_q = Ticket.objects.filter(RunningIndexTerm(), status__in=RUNNING, sla_breached_at__isnull=True,
                                     resolve_due_at__lte=now)
    response_q = Ticket.objects.filter(
        RunningIndexTerm(), status__in=RUNNING, first_responded_at__isnull=True,
        response_breached_at__isnull=True,
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
                           url=ticket_url(ticket), dedupe_key=f"sla-breach:{pk}:{ticket.reopen_count}")
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
                           url=ticket_url(ticket), dedupe_key=f"sla-warn:{pk}:{ticket.reopen_count}")
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
                           url=ticket_url(ticket), dedupe_key=f"response-breach:{pk}")
                counts["response_breached"] += 1
    counts["handoff_breached"] = _handoff_pass(now)
    return counts


def _handoff_pass(now):
    """Hand-offs nobody accepted in time: marked and told once. The mark is conditional on
    the hand-off still being pending and due, so an accept racing the monitor is not reported
    late; the dedupe key carries the due time, so a later hand-off of the same ticket is told
    afresh. Hand-offs of tickets resolved meanwhile are not reported (nor marked)."""
    sent, bosses = 0, None
    # handoff_due_at__isnull=False spells out the partial index's condition for the planner.
    late_q = Ticket.objects.filter(handoff_due_at__isnull=False, handoff_breached_at__isnull=True,
                                   handoff_due_at__lte=now, status__in=Ticket.OPEN_STATUSES)
    while ids := _due_ids(late_q):
        for pk in ids:
            with transaction.atomic():
                marked = Ticket.objects.filter(
                    pk=pk, handoff_breached_at__isnull=True, handoff_due_at__lte=now,
                ).update(handoff_breached_at=now)
                if not marked:
                    continue
                ticket = Ticket.objects.select_related("handoff_to").get(pk=pk)
                due = ticket.handoff_due_at
                TicketEvent.objects.create(
                    ticket=ticket, verb="handoff_breached", at=now,
                    summary=gettext("转交超过 %(minutes)s 分钟仍无人接手") % {
                        "minutes": _handoff_minutes()},
                    data={"due_at": due.isoformat()},
                )
                bosses = supervisors() if bosses is None else bosses
                tell([*bosses, ticket.handoff_to], ticket=ticket, kind="handoff_breach",
                     title=gettext("工单 %(number)s 转交超时，尚无工程师接手") % {
                         "number": ticket.number},
                     dedupe_key=f"handoff-breach:{pk}:{int(due.timestamp())}")
                sent += 1
    return sent


def _handoff_minutes():
    return int(handoff_window().total_seconds() // 60)
