"""周复盘 (B14): the week's tickets for the supervisors' weekly review. The queries only; the page
and the workbook are in ``review_views``.

A week is an ISO week (Monday 00:00 to the next Monday 00:00) in the desk's local time
(settings.TIME_ZONE, Asia/Shanghai). Every section is one query, whatever the number of tickets:
seven in all (``REVIEW_QUERIES``).
"""

import datetime
import re
from dataclasses import dataclass, field

from django.db.models import Count, DateTimeField, F, Func, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.tickets.models import OpenIndexTerm, Ticket, TicketEvent

COMPLAINT = "complaint"
SUGGESTION = "suggestion"
TOP = 10  # rows in the frequent-problem tables
LIST_LIMIT = 200  # open complaints and suggestions shown (the page says when there are more)
REVIEW_QUERIES = 7

BAD_WEEK = _("“%(value)s”不是有效的周，请按 YYYY-Www 的格式填写（如 2026-W48）。下面显示的是本周。")
WEEK_LABEL = _("%(year)s 年第 %(week)s 周")
_WEEK_RE = re.compile(r"\s*(\d{4})-?[Ww](\d{1,2})\s*")


@dataclass(frozen=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text):
        """``2026-W48`` (as <input type="week"> sends it); ValueError for anything else."""
        match = _WEEK_RE.fullmatch(text or "")
        if not match:
            raise ValueError(text)
        year, number = int(match.group(1)), int(match.group(2))
        datetime.date.fromisocalendar(year, number, 1)  # ValueError for week 0, 54, 53 of most years
        return cls(year, number)

    @classmethod
    def containing(cls, moment):
        year, number, _day = timezone.localtime(moment, timezone.get_default_timezone()).isocalendar()
        return cls(year, number)

    @classmethod
    def current(cls, now=None):
        return cls.containing(now or timezone.now())

    @property
    def monday(self):
        return datetime.date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self):
        return self.monday + datetime.timedelta(days=6)

    @property
    def start(self):
        return datetime.datetime.combine(self.monday, datetime.time.min,
                                         tzinfo=timezone.get_default_timezone())

    @property
    def end(self):
        """The next Monday 00:00 local: the week is ``start <= t < end``."""
        return datetime.datetime.combine(self.monday + datetime.timedelta(days=7), datetime.time.min,
                                         tzinfo=timezone.get_default_timezone())

    def previous(self):
        return Week.containing(self.start - datetime.timedelta(days=1))

    def next(self):
        return Week.containing(self.end + datetime.timedelta(days=1))

    @property
    def code(self):
        return f"{self.year}-W{self.number:02d}"

    @property
    def label(self):
        return gettext(WEEK_LABEL) % {"year": self.year, "week": self.number}

    def __str__(self):
        return self.code


def parse_week(value, now=None):
    """(week, error message or None): no value is the current week; a bad one is the current
    week with a message saying so."""
    if not value:
        return Week.current(now), None
    try:
        return Week.parse(value), None
    except ValueError:
        return Week.current(now), gettext(BAD_WEEK) % {"value": value[:40]}


@dataclass
class TypeRow:
    code: str
    name: str
    count: int
    previous: int
    share: float = 0.0  # per cent of the week's tickets

    @property
    def change(self):
        return self.count - self.previous


@dataclass
class Review:
    week: Week
    previous_week: Week
    now: datetime.datetime
    by_type: list = field(default_factory=list)
    total: int = 0
    previous_total: int = 0
    top_subjects: list = field(default_factory=list)
    by_product: list = field(default_factory=list)
    open_complaints: list = field(default_factory=list)
    more_complaints: bool = False
    suggestions: list = field(default_factory=list)
    more_suggestions: bool = False
    activity: dict = field(default_factory=dict)
    sla: dict = field(default_factory=dict)

    @property
    def complaints_received(self):
        return sum(r.count for r in self.by_type if r.code == COMPLAINT)

    @property
    def suggestions_received(self):
        return sum(r.count for r in self.by_type if r.code == SUGGESTION)


def _in(field_name, start, end):
    return Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})


def _by_type(week, previous):
    """Tickets taken in by type, this week and the one before: one grouped query."""
    rows = (Ticket.objects.filter(_in("created_at", previous.start, week.end))
            .values("ticket_type__code", "ticket_type__name", "ticket_type__sort_order")
            .annotate(current=Count("id", filter=Q(created_at__gte=week.start)),
                      before=Count("id", filter=Q(created_at__lt=week.start)))
            .order_by("-current", "ticket_type__sort_order", "ticket_type__code"))
    result = [TypeRow(r["ticket_type__code"], r["ticket_type__name"], r["current"], r["before"])
              for r in rows]
    total = sum(r.count for r in result)
    for row in result:
        row.share = round(100 * row.count / total, 1) if total else 0.0
    return result, total, sum(r.previous for r in result)


def _top_subjects(week):
    """The problem summaries heard most often this week, with how many customers raised them."""
    return list(Ticket.objects.filter(_in("created_at", week.start, week.end))
                .values("subject", "ticket_type__name")
                .annotate(count=Count("id"), customers=Count("customer", distinct=True))
                .order_by("-count", "-customers", "subject")[:TOP])


def _by_product(week):
    """Ticket type × product model (of the ticket's asset; none when no asset was recorded)."""
    return list(Ticket.objects.filter(_in("created_at", week.start, week.end))
                .values("ticket_type__name", product=F("asset__product_model"))
                .annotate(count=Count("id"), customers=Count("customer", distinct=True))
                .order_by("-count", "ticket_type__name", "product")[:TOP])


def _activity(week, previous):
    """Reopens and chases recorded in the week (from the ticket events, so a ticket reopened
    twice counts twice), and the week before."""
    this_week, last_week = Q(at__gte=week.start), Q(at__lt=week.start)
    reopened, chased = Q(verb="reopened"), Q(verb="chased")
    return TicketEvent.objects.filter(_in("at", previous.start, week.end),
                                      verb__in=("reopened", "chased")).aggregate(
        reopened=Count("id", filter=reopened & this_week),
        reopened_tickets=Count("ticket", distinct=True, filter=reopened & this_week),
        reopened_previous=Count("id", filter=reopened & last_week),
        chased=Count("id", filter=chased & this_week),
        chased_tickets=Count("ticket", distinct=True, filter=chased & this_week),
        chased_previous=Count("id", filter=chased & last_week),
    )


def _sla(week, previous):
    """Tickets resolved in the week: resolved within the resolution deadline or past it
    (or flagged breached by the SLA monitor); those without a deadline apart."""
    breached = Q(sla_breached_at__isnull=False) | Q(resolved_at__gt=F("resolve_due_at"))
    no_deadline = Q(resolve_due_at__isnull=True, sla_breached_at__isnull=True)
    this_week, last_week = Q(resolved_at__gte=week.start), Q(resolved_at__lt=week.start)
    counts = Ticket.objects.filter(_in("resolved_at", previous.start, week.end)).aggregate(
        resolved=Count("id", filter=this_week),
        breached=Count("id", filter=this_week & breached),
        no_deadline=Count("id", filter=this_week & no_deadline),
        resolved_previous=Count("id", filter=last_week),
        breached_previous=Count("id", filter=last_week & breached),
        no_deadline_previous=Count("id", filter=last_week & no_deadline),
    )
    for suffix in ("", "_previous"):
        met = counts["resolved" + suffix] - counts["breached" + suffix] - counts["no_deadline" + suffix]
        counts["met" + suffix] = met
        measured = met + counts["breached" + suffix]
        counts["met_rate" + suffix] = round(100 * met / measured, 1) if measured else None
    return counts


def _listed(qs):
    return (qs.select_related("customer", "owner", "owner__staff", "priority", "ticket_type")
            .defer("customer__id_number", "customer__notes", "description"))


class _Unindexed(Func):
    """The column as is, kept out of SQLite's index choice there (a unary ``+``)."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


def _open_complaints(week):
    """Complaints still open, taken in before the week's end, oldest first.

    The oldest 201 are picked from the open tickets alone, then read with their customer and
    owner. At one million tickets SQLite otherwise walked the intake-time index from the first
    ticket ever, filtering for the few open complaints (150–210 ms; kept out of that index by
    ``_Unindexed``, and with the open-ticket index's own term, it reads that index and sorts:
    about 8 ms), and PostgreSQL joined the customer of every open complaint (1,300) before
    sorting and keeping 201.
    """
    created = _Unindexed("created_at", output_field=DateTimeField())
    oldest = (Ticket.objects.open().alias(created=created)
              .filter(OpenIndexTerm(), ticket_type__code=COMPLAINT, created__lt=week.end)
              .order_by("created_at", "id").values("pk")[:LIST_LIMIT + 1])
    rows = list(_listed(Ticket.objects.filter(pk__in=oldest)).order_by("created_at", "id"))
    return rows[:LIST_LIMIT], len(rows) > LIST_LIMIT


def _suggestions(week):
    rows = list(_listed(Ticket.objects.filter(_in("created_at", week.start, week.end),
                                              ticket_type__code=SUGGESTION))
                .order_by("created_at", "id")[:LIST_LIMIT + 1])
    return rows[:LIST_LIMIT], len(rows) > LIST_LIMIT


def weekly_review(week, now=None):
    """Everything the review shows for ``week``, in ``REVIEW_QUERIES`` queries."""
    previous = week.previous()
    review = Review(week=week, previous_week=previous, now=now or timezone.now())
    review.by_type, review.total, review.previous_total = _by_type(week, previous)
    review.top_subjects = _top_subjects(week)
    review.by_product = _by_product(week)
    review.activity = _activity(week, previous)
    review.sla = _sla(week, previous)
    review.open_complaints, review.more_complaints = _open_complaints(week)
    review.suggestions, review.more_suggestions = _suggestions(week)
    return review
