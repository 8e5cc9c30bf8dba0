"""Routing (B6): who gets a new ticket (自动派单) and who is told about a ticket.

Which staff can take work at all is asked of ``accounts.availability.available_staff`` only, so
the duty rota can later answer it without touching this module.
"""

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.urls import reverse

from kefu.accounts.availability import available_staff
from kefu.accounts.models import Department, StaffProfile
from kefu.accounts.roles import SUPERVISOR
from kefu.core.notify import notify
from kefu.tickets.models import Ticket

Mode = Department.AutoAssign

# How often a pick that lost a race is retried before the last pick is taken anyway.
ATTEMPTS = 3


def candidates(ticket, *, now):
    """The department's available staff with the ticket type's required skill, best pick first
    for the department's mode; ``None`` when the ticket is not auto-assigned."""
    department = ticket.department
    mode = department.auto_assign if department is not None else Mode.OFF
    if mode not in (Mode.ROUND_ROBIN, Mode.LEAST_LOADED):
        return None
    staff = available_staff(department=department, skill=ticket.ticket_type.required_skill_id,
                            at=now).select_related("user")
    # Never-assigned first, then the longest waiting; the id keeps ties stable.
    waited = (F("last_assigned_at").asc(nulls_first=True), "pk")
    if mode == Mode.ROUND_ROBIN:
        return staff.order_by(*waited)
    # One query: the open tickets each person owns, counted in the same SELECT (a left join,
    # so people with none count 0). Ties go to whoever waited longest.
    return staff.annotate(
        open_tickets=Count("user__owned_tickets",
                           filter=Q(user__owned_tickets__status__in=Ticket.OPEN_STATUSES)),
    ).order_by("open_tickets", *waited)


def auto_assign(ticket, *, now):
    """Pick the owner of a new ticket by its department's mode; the chosen user, or None when
    the department does not auto-assign or nobody is available.

    ``round_robin``: the available staff with the required skill whose ``last_assigned_at`` is
    oldest (never assigned first, ties by id). ``least_loaded``: fewest open tickets owned,
    ties to the oldest ``last_assigned_at``. The pick's ``last_assigned_at`` becomes ``now``.

    Concurrency: the pick is read without a lock (PostgreSQL refuses FOR UPDATE with the GROUP
    BY of the load count) and then claimed with a conditional UPDATE — compare-and-set on the
    ``last_assigned_at`` value that was read. Of two intakes that read the same person at the
    same moment, the second one's UPDATE waits for the first's row lock, then matches no row
    (the value changed) and reads again, so it picks the next person instead of doubling up.
    After ``ATTEMPTS`` lost races the last pick is taken unconditionally: under such contention
    an uneven turn is better than no owner. (Under ``least_loaded`` the first intake's ticket is
    not yet visible to the second before commit; the changed ``last_assigned_at`` still moves
    the second to the next person on a tie, which is what matters for a burst of intake.)
    """
    ordered = candidates(ticket, now=now)
    if ordered is None:
        return None
    for attempt in range(ATTEMPTS):
        chosen = ordered.first()
        if chosen is None:
            return None
        claim = StaffProfile.objects.filter(pk=chosen.pk)
        if attempt < ATTEMPTS - 1:
            claim = claim.filter(last_assigned_at=chosen.last_assigned_at)  # None → IS NULL
        if claim.update(last_assigned_at=now) == 1:
            chosen.last_assigned_at = now
            return chosen.user
    return None


# Who is told ------------------------------------------------------------------------------


def ticket_url(ticket):
    return reverse("tickets:detail", args=[ticket.pk])


def supervisors():
    """The active supervisors (客服主管): told of breaches, late hand-offs and unowned chases."""
    return list(get_user_model().objects.filter(groups__name=SUPERVISOR, is_active=True))


def tell(recipients, *, ticket, kind, title, dedupe_key, actor=None):
    """Notify each recipient once per ``dedupe_key``, never ``actor`` (nobody is told of what
    they just did themselves); returns how many notifications were stored."""
    sent, seen = 0, set()
    for user in recipients:
        if user is None or user.pk in seen or (actor is not None and user.pk == actor.pk):
            continue
        seen.add(user.pk)
        if notify(recipient=user, kind=kind, title=title, body=ticket.subject,
                  url=ticket_url(ticket), dedupe_key=dedupe_key):
            sent += 1
    return sent
