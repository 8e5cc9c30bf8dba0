"""Tickets over HTTP: /api/v1/tickets.

Thin endpoints: parse (the schemas below), load the ticket through the one access helper
(``get_ticket_for_user``: 404 outside the user's scope, 403 without the action's permission),
call one service, answer with the ticket. Refused moves are the services' ``InvalidTransition``
(409 ``invalid_transition``), stale versions their ``Conflict`` (409 ``conflict``).

Lists show no personal data in clear: the customer's name as the queue page shows it (person
names masked), no phone, no address, no ID number. Every input is bounded to what its column
holds (the ``Text`` type of the customer API), so odd input is a 422, never a 500.

``GET /tickets/events`` is the feed a webhook dispatcher pages through: every ticket event the
caller may see, in id order, ``after`` the last id it handled.
"""

import base64
import binascii
import datetime
import re
from typing import Annotated, Any, Literal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Header, Path, Query, Router, Schema
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from kefu.accounts.backends import access_key
from kefu.accounts.models import Department, person_name
from kefu.core.compiled import Compiled
from kefu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kefu.core.history import check_version
from kefu.customers.api import (
    MAX_ID,
    UNKNOWN_CONTACT,
    ErrorOut,
    InputSchema,
    ObjectId,
    Text,
    Version,
)
from kefu.customers.models import Customer
from kefu.tickets import config, keyset, services, views
from kefu.tickets.forms import staff_choices
from kefu.tickets.models import (
    Channel,
    Priority,
    ServiceMode,
    Ticket,
    TicketType,
)
from kefu.tickets.queries import LIST_FIELDS, attach_related, event_feed, get_ticket_for_user

router = Router(tags=["tickets"])

BAD_CURSOR = _("分页游标无效，请从第一页重新开始。")
UNKNOWN_CODE = _("“%(code)s”不是有效的选项。")
UNKNOWN_CUSTOMER = _("客户不存在，或不在您的可见范围内。")
UNKNOWN_OWNER = _("该用户不存在，或不能处理工单。")
IDEMPOTENCY_KEY_TAKEN = _("该幂等键已被另一张工单使用，请换一个键。")
DATE_RANGE_REVERSED = _("结束日期不能早于开始日期。")
MOMENT_OUT_OF_RANGE = _("时间须在 1900 年到 2999 年之间。")
SLA_MET = _("按时解决")
SLA_MISSED = _("超时解决")

CHANGE = "tickets.change_ticket"
# The permission each action needs: the ticket page's (views.ACTIONS; its "note" is "notes"
# here) and the bulk priority change's.
ACTION_PERMS = {
    "claim": "tickets.claim_ticket", "queue": "tickets.assign_ticket",
    "assign": "tickets.assign_ticket", "hold": CHANGE, "resume": CHANGE, "resolve": CHANGE,
    "confirm": CHANGE, "close": CHANGE, "reopen": CHANGE, "escalate": CHANGE, "chase": CHANGE,
    "handoff": CHANGE, "handoff_accept": "tickets.claim_ticket", "flag_major": CHANGE,
    "follow_up": "tickets.add_ticket", "notes": CHANGE, "priority": "tickets.assign_ticket",
}
QUEUE_NAMES = ("all", "mine", "pool", "due_soon", "overdue", "on_hold", "awaiting")
RUNNING = Ticket.RUNNING_STATUSES
DONE = (Ticket.Status.RESOLVED, Ticket.Status.AWAITING_CALLBACK, Ticket.Status.CLOSED)
LAST_EVENTS = 10


# --- input building blocks -------------------------------------------------------------------

def _moment(value: datetime.datetime) -> datetime.datetime:
    """An aware time within what every database stores; naive times are read as local time."""
    if not 1900 <= value.year <= 2999:
        raise PydanticCustomError("moment_range", str(MOMENT_OUT_OF_RANGE))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


Moment = Annotated[datetime.datetime, AfterValidator(_moment)]
Code = Text(32, 1)
StatusValue = Literal[tuple(Ticket.Status.values)]
CompensationValue = Literal[tuple(Ticket.Compensation.values)]
QueueName = Literal[QUEUE_NAMES]
# As text or a number; the service checks it (≥ 0, two decimals) with its own messages.
Amount = Text(32) | float | None


# --- input schemas ---------------------------------------------------------------------------

class TicketCreateIn(InputSchema):
    customer_id: ObjectId = Field(description="客户 id / customer id")
    channel: Code = Field(description="受理渠道代码，如 phone、wechat / channel code")
    ticket_type: Code = Field(description="工单类型代码，如 fault、consult / type code")
    priority: Code = Field(description="优先级代码：urgent、normal、low / priority code")
    subject: Text(200, 1) = Field(description="问题摘要 / subject")
    description: Text(10000) = ""
    contact_id: ObjectId | None = Field(None, description="该客户的联系人 id / the customer's contact")
    asset_id: ObjectId | None = Field(None, description="该客户的设备 id / the customer's asset")
    department: Code | None = Field(None, description="处理部门代码，不填按工单类型默认 / department")
    service_mode: Code | None = Field(None, description="服务方式代码，如 onsite / service mode")
    occurred_at: Moment | None = None
    environment: Text(200) = ""
    error_shown: Text(500) = ""
    customer_expects_at: Moment | None = None
    message_id: Text(95, 1) | None = Field(
        None, description="渠道消息 id：同一渠道同一消息只建一张工单 / a channel's message id; "
        "the same message creates one ticket",
    )


class TicketUpdateIn(InputSchema):
    """Only the fields sent change. ``department``, ``service_mode`` and ``customer_expects_at``
    may be null to clear them."""

    version: Version
    subject: Text(200, 1) = None
    description: Text(10000) = None
    priority: Code = None
    ticket_type: Code = None
    department: Code | None = None
    service_mode: Code | None = None
    environment: Text(200) = None
    error_shown: Text(500) = None
    customer_expects_at: Moment | None = None


class ActionIn(InputSchema):
    version: Version | None = Field(
        None, description="读取时的版本号；提交则过期时返回 409 / the version read; stale → 409",
    )


class AssignIn(ActionIn):
    owner_id: ObjectId = Field(description="处理人的用户 id / the new owner's user id")
    reason: Text(200) = ""


class ReasonIn(ActionIn):
    reason: Text(200) = ""


class ResolveIn(ActionIn):
    solution: Text(5000) = ""
    result: Text(200) = ""
    compensation_kind: CompensationValue = ""
    compensation_amount: Amount = Field(
        None, description="补偿金额（元），≥0，最多两位小数 / amount in yuan, two decimals")
    acknowledge_wording: bool = Field(False, description="措辞已确认 / wording confirmed")


class ConfirmIn(ActionIn):
    how: Text(100) = Field("", description="确认方式，如电话回访 / how the customer confirmed")


class ChaseIn(ActionIn):
    note: Text(200) = ""


class EscalateIn(ActionIn):
    reason: Text(200) = ""
    major: bool = Field(False, description="重大问题（含批量故障） / a major or batch problem")


class NoteIn(ActionIn):
    text: Text(500) = ""
    customer_visible: bool = Field(False, description="同步给客户 / shown to the customer")
    expected_completion_at: Moment | None = None
    acknowledge_wording: bool = Field(False, description="措辞已确认 / wording confirmed")


class PriorityIn(ActionIn):
    priority: Code
    reason: Text(200) = ""


class HandoffIn(ActionIn):
    to_id: ObjectId | None = Field(
        None, description="指定热线工程师的用户 id，不填则任一工程师可接手 / one engineer, or any",
    )
    reason: Text(200) = ""


class MajorIn(ActionIn):
    major: bool = Field(description="true 标记，false 取消 / flag or clear")
    reason: Text(200) = ""


class FollowUpIn(ActionIn):
    reason: Text(200) = Field("", description="复发情况 / how the fault came back")


# --- filter schema ---------------------------------------------------------------------------

class TicketFilters(Schema):
    queue: QueueName = Field(
        "all", description="all | mine 我的工单 | pool 待抢单 | due_soon 即将超时 | overdue 已超时 "
        "| on_hold 挂起 | awaiting 待确认",
    )
    ticket_type: Code | None = Field(None, description="工单类型代码 / type code")
    priority: Code | None = Field(None, description="优先级代码 / priority code")
    status: StatusValue | None = None
    department: Code | None = Field(None, description="处理部门代码 / department code")
    region: Code | None = Field(None, description="客户所在片区代码 / the customer's region")
    customer_id: ObjectId | None = None
    created_from: datetime.date | None = Field(None, description="受理日期从（含） / from, inclusive")
    created_to: datetime.date | None = Field(None, description="受理日期到（含） / to, inclusive")


# --- output schemas --------------------------------------------------------------------------

class CodeNameOut(Schema):
    code: str
    name: str


class PersonOut(Schema):
    id: int
    name: str = Field(description="员工姓名 / staff name")

    @staticmethod
    def resolve_name(obj):
        return person_name(obj)


class CustomerRefOut(Schema):
    id: int
    number: str
    display_name: str = Field(description="个人客户姓名已打码 / person names masked")


class ContactRefOut(Schema):
    id: int
    name_masked: str
    role: str


class AssetRefOut(Schema):
    id: int
    product_model: str
    serial: str
    plate: str


class EventOut(Schema):
    id: int
    verb: str = Field(description="created、assigned、held、resolved、note … / stable code")
    summary: str
    at: datetime.datetime
    actor: PersonOut | None
    customer_visible: bool = Field(description="已同步客户 / part of the customer sync record")
    expected_completion_at: datetime.datetime | None
    data: dict[str, Any]


class FeedEventOut(EventOut):
    ticket_id: int
    ticket_number: str  # annotated by queries.event_feed


def _sla(ticket, due, now):
    """(state, label) of a deadline: none, on_track, due_soon, overdue, paused (on hold),
    met / missed (resolved or closed)."""
    if due is None:
        return "none", "—"
    if ticket.status in DONE:
        missed = ticket.resolved_at is not None and ticket.resolved_at > due
        return ("missed", str(SLA_MISSED)) if missed else ("met", str(SLA_MET))
    css, label = views.sla_state(due, now, running=ticket.status in RUNNING)
    state = {"sla-red": "overdue", "sla-amber": "due_soon", "sla-green": "on_track"}.get(css, "paused")
    return state, str(label)


def _sla_out(t, now, resolve=None):
    """A SlaOut as a dict: the deadlines, their state and label (``resolve``: the resolution
    deadline's (state, label) when already worked out)."""
    if t.first_responded_at:
        response_state, response_label = "responded", str(_("已响应"))
    else:
        response_state, response_label = _sla(t, t.response_due_at, now)
    resolve_state, resolve_label = resolve or _sla(t, t.resolve_due_at, now)
    return {
        "policy": t.sla_policy.name if t.sla_policy else None,
        "response_due_at": t.response_due_at, "first_responded_at": t.first_responded_at,
        "response_state": response_state, "response_label": response_label,
        "response_breached_at": t.response_breached_at,
        "resolve_due_at": t.resolve_due_at, "resolve_warn_at": t.resolve_warn_at,
        "resolve_state": resolve_state, "resolve_label": resolve_label,
        "warned_at": t.sla_warned_at, "breached_at": t.sla_breached_at,
        "on_hold_since": t.on_hold_since, "paused_seconds": t.paused_seconds,
    }


class TicketListItemOut(Schema):
    id: int
    number: str
    subject: str
    status: str
    status_label: str
    priority: CodeNameOut
    ticket_type: CodeNameOut
    channel: CodeNameOut
    department: CodeNameOut | None
    customer: CustomerRefOut
    owner: PersonOut | None
    response_due_at: datetime.datetime | None
    resolve_due_at: datetime.datetime | None
    sla_state: str = Field(
        description="解决时限：none、on_track、due_soon（4 小时内）、overdue、paused（挂起）、"
        "met、missed / resolution deadline state",
    )
    sla_label: str
    escalation_tier: int
    is_major: bool
    chase_count: int
    version: int
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_status_label(obj):
        return str(obj.get_status_display())

    @staticmethod
    def resolve_sla_state(obj):
        return _sla(obj, obj.resolve_due_at, timezone.now())[0]

    @staticmethod
    def resolve_sla_label(obj):
        return _sla(obj, obj.resolve_due_at, timezone.now())[1]


class SlaOut(Schema):
    policy: str | None
    response_due_at: datetime.datetime | None
    first_responded_at: datetime.datetime | None
    response_state: str = Field(description="responded 已响应，或同 sla_state / as sla_state")
    response_label: str
    response_breached_at: datetime.datetime | None
    resolve_due_at: datetime.datetime | None
    resolve_warn_at: datetime.datetime | None
    resolve_state: str
    resolve_label: str
    warned_at: datetime.datetime | None
    breached_at: datetime.datetime | None
    on_hold_since: datetime.datetime | None
    paused_seconds: int


class TicketOut(TicketListItemOut):
    description: str
    occurred_at: datetime.datetime | None
    environment: str
    error_shown: str
    in_warranty: bool | None
    customer_expects_at: datetime.datetime | None
    contact: ContactRefOut | None
    asset: AssetRefOut | None
    service_mode: CodeNameOut | None
    sla: SlaOut
    solution: str
    result: str
    compensation_kind: str
    compensation_amount: str | None = Field(description="元，两位小数的字符串 / yuan, as a string")
    resolved_at: datetime.datetime | None
    confirmed_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    reopen_count: int
    linked_to_id: int | None
    handoff_to: PersonOut | None
    handoff_due_at: datetime.datetime | None
    created_by: PersonOut | None
    actions: list[str] = Field(description="您现在可以执行的操作 / the actions you may take now")
    last_events: list[EventOut] = Field(description="最近 10 条动态，新的在前 / latest events")

    @staticmethod
    def resolve_sla(obj):
        return _sla_out(obj, timezone.now())

    @staticmethod
    def resolve_compensation_amount(obj):
        return None if obj.compensation_amount is None else str(obj.compensation_amount)


class TicketPage(Schema):
    items: list[TicketListItemOut]
    next_cursor: str | None = Field(description="下一页游标，没有下一页时为 null / null on the last page")


class EventFeedPage(Schema):
    items: list[FeedEventOut]
    next_after: int = Field(
        description="下次请求的 after：本页取满时为最后一条的 id，否则为已查看到的最后一条 / "
                    "pass as after next time: the page's last event, or the last one examined",
    )
    has_more: bool = Field(description="是否还有更多，为 true 时立即再取 / more may be waiting: fetch again")


ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS = {409: ErrorOut, **ERRORS}
TicketPath = Annotated[int, Path(ge=1, le=MAX_ID, description="工单 id / ticket id")]


# --- helpers ---------------------------------------------------------------------------------

def _require(user, perm):
    if not user.has_perm(perm):
        raise PermissionDenied()


def _by_code(model, code, field, errors, *, active_only=True):
    """The row with ``code``, or None with a message under ``field`` in ``errors``."""
    if code is None:
        return None
    row = config.by_code(model, code, active_only=active_only)
    if row is None:
        errors[field] = [str(UNKNOWN_CODE) % {"code": code}]
    return row


def _raise_if(errors):
    if errors:
        raise ValidationFailed(fields=errors)


def _customer_query(user, pk):
    return Customer.objects.visible_to(user).filter(pk=pk)


_customers = Compiled(_customer_query, pk=-918_273_645)


def customer_in_scope(user, pk):
    """The customer ``pk`` if ``user`` may see it, else None. The scope shapes the SQL, so it
    is kept per user and access version (``backends.access_key``)."""
    key = access_key(user)
    if key is None:
        return _customer_query(user, pk).first()
    return _customers.first(user, key=key, pk=pk)


def offered_actions(user, ticket):
    """The actions the ticket's state offers and the user may do: the ticket page's rule, plus
    the priority change on open tickets."""
    offered = {"notes" if name == "note" else name for name in views._offered(ticket, timezone.now())}
    if ticket.is_open:
        offered.add("priority")
    return [name for name in ACTION_PERMS if name in offered and user.has_perm(ACTION_PERMS[name])]


def _detail(user, pk):
    """The ticket with everything the detail shows, read after a write too (no scope check:
    the caller just acted on it)."""
    # At most 10 tables in the join: from 12 PostgreSQL plans with the genetic optimizer
    # (geqo_threshold), and a 16-table join took 9–33 ms to plan for a 1 ms read. The often
    # empty links (contact, asset, department, mode, hand-off) come by id, skipped when empty.
    ticket = (
        Ticket.objects.select_related(
            "customer", "channel", "ticket_type", "priority", "sla_policy", "owner__staff",
            "created_by__staff",
        ).prefetch_related(
            "contact", "asset", "department", "service_mode", "handoff_to__staff",
        ).get(pk=pk)
    )
    ticket.last_events = list(ticket.events.select_related("actor__staff")[:LAST_EVENTS])
    ticket.actions = offered_actions(user, ticket)
    return ticket


def _ticket(request, ticket_id, perm):
    return get_ticket_for_user(request.auth, ticket_id, perm)


def encode_cursor(ticket):
    """(deadline, id) of the last row, opaque: microseconds since the epoch or ``-`` for none."""
    due = ticket.resolve_due_at
    micros = "-" if due is None else str(
        (due - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)) // datetime.timedelta(microseconds=1)
    )
    return base64.urlsafe_b64encode(f"{micros}:{ticket.pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    if not cursor:
        return None
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = re.fullmatch(r"(-|-?\d{1,17}):([1-9]\d{0,18})", text)
        if not match or int(match[2]) > MAX_ID:
            raise ValueError(text)
        due = None
        if match[1] != "-":
            due = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(
                microseconds=int(match[1]))
            if not 1900 <= due.year <= 2999:
                raise ValueError(text)
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(BAD_CURSOR, fields={"cursor": [BAD_CURSOR]}) from None
    return due, int(match[2])


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _queue(name, base, user, now):
    """The page's queues (one definition, ``views._queue``), plus ``all``."""
    return base if name == "all" else views._queue(name, base, user, now)


def _filtered(queryset, filters):
    if filters.created_from and filters.created_to and filters.created_from > filters.created_to:
        raise ValidationFailed(fields={"created_to": [DATE_RANGE_REVERSED]})
    if filters.ticket_type:
        queryset = queryset.filter(ticket_type__code=filters.ticket_type)
    if filters.priority:
        queryset = queryset.filter(priority__code=filters.priority)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.department:
        queryset = queryset.filter(department__code=filters.department)
    if filters.region:
        queryset = queryset.filter(customer__region__code=filters.region)
    if filters.customer_id:
        queryset = queryset.filter(customer_id=filters.customer_id)
    # Days outside what an aware datetime can hold bound nothing.
    if filters.created_from and filters.created_from.year >= 1900:
        queryset = queryset.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to and filters.created_to.year <= 2999:
        queryset = queryset.filter(
            created_at__lt=_day_start(filters.created_to + datetime.timedelta(days=1)))
    return queryset


def _version_matches(ticket, version):
    """For services that take no version (claim, chase, notes): a stale one sent is a 409 too."""
    check_version(ticket, version, services.STALE_VERSION)


def _done(request, ticket):
    return _answer(request, _detail(request.auth, ticket.pk))


# --- tickets ---------------------------------------------------------------------------------

@router.get(
    "", response={200: TicketPage, **ERRORS}, operation_id="tickets_list",
    summary=_("工单列表 / List tickets"),
    description=_(
        "与工单队列页相同的队列和筛选，按解决截止时间排序（最近的在前，无截止时间的在最后），"
        "游标分页（cursor、limit 1–100）。客户姓名已打码。/ The queue page's queues and filters "
        "in deadline order, keyset pagination. Customer names masked."
    ),
)
def tickets_list(
    request,
    filters: Query[TicketFilters],
    cursor: Annotated[Text(64) | None, Query(description="上一页的 next_cursor / cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="每页条数 / page size")] = 25,
):
    user = request.auth
    _require(user, "tickets.view_ticket")
    after = decode_cursor(cursor)
    queryset = _filtered(
        _queue(filters.queue, Ticket.objects.visible_to(user), user, timezone.now()), filters)
    rows = attach_related(keyset.page(queryset.only(*LIST_FIELDS), after, limit + 1))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1])
    now = timezone.now()
    # Built here from trusted rows, exactly as TicketPage declares (a test validates it against
    # the schema), and rendered as is: ninja's validation of 25 items walked every field through
    # its attribute resolver in Python, about a third of the request.
    return _render(request, {"items": [_list_item(t, now) for t in rows], "next_cursor": next_cursor})


def _render(request, body, status=200):
    """A body built from trusted rows exactly as its schema declares, rendered without ninja's
    validation (the list, ticket answers, the event feed; tests compare each with its schema)."""
    from kefu.api import api  # the NinjaAPI this router is mounted on

    return api.create_response(request, body, status=status)


def _code_name(row):
    return {"code": row.code, "name": row.name} if row is not None else None


def _person(user):
    return {"id": user.pk, "name": person_name(user)} if user is not None else None


def _event_out(e):
    return {"id": e.pk, "verb": e.verb, "summary": e.summary, "at": e.at, "actor": _person(e.actor),
            "customer_visible": e.customer_visible,
            "expected_completion_at": e.expected_completion_at, "data": dict(e.data)}


def feed_event_out(e):
    """A FeedEventOut as a plain dict (the event annotated with its ticket's number)."""
    out = _event_out(e)
    out["ticket_id"], out["ticket_number"] = e.ticket_id, e.ticket_number
    return out


def ticket_out(t, now=None):
    """A TicketOut as a plain dict (``t`` with ``last_events`` and ``actions`` set), the values
    as the schema would give them. Validating the schema from the model walked every field
    through ninja's resolver: about 1 ms, a seventh of an intake through the API. A test
    checks this against the schema's own answer for tickets in every state."""
    now = now or timezone.now()
    out = _list_item(t, now)
    contact, asset = t.contact, t.asset
    out.update({
        "description": t.description, "occurred_at": t.occurred_at, "environment": t.environment,
        "error_shown": t.error_shown, "in_warranty": t.in_warranty,
        "customer_expects_at": t.customer_expects_at,
        "contact": {"id": contact.pk, "name_masked": contact.name_masked, "role": contact.role}
        if contact is not None else None,
        "asset": {"id": asset.pk, "product_model": asset.product_model, "serial": asset.serial,
                  "plate": asset.plate} if asset is not None else None,
        "service_mode": _code_name(t.service_mode),
        "sla": _sla_out(t, now, resolve=(out["sla_state"], out["sla_label"])),
        "solution": t.solution, "result": t.result, "compensation_kind": t.compensation_kind,
        "compensation_amount": None if t.compensation_amount is None else str(t.compensation_amount),
        "resolved_at": t.resolved_at, "confirmed_at": t.confirmed_at, "closed_at": t.closed_at,
        "reopen_count": t.reopen_count, "linked_to_id": t.linked_to_id,
        "handoff_to": _person(t.handoff_to), "handoff_due_at": t.handoff_due_at,
        "created_by": _person(t.created_by), "actions": list(t.actions),
        "last_events": [_event_out(e) for e in t.last_events],
    })
    return out


def _answer(request, ticket, status=200):
    """The ticket as TicketOut, rendered without ninja's validation (``ticket_out``)."""
    return _render(request, ticket_out(ticket), status)


def _list_item(t, now):
    """A TicketListItemOut as a plain dict, the values as the schema would give them."""
    state, label = _sla(t, t.resolve_due_at, now)
    owner = t.owner
    return {
        "id": t.pk, "number": t.number, "subject": t.subject, "status": t.status,
        "status_label": t.get_status_display(),
        "priority": _code_name(t.priority), "ticket_type": _code_name(t.ticket_type),
        "channel": _code_name(t.channel), "department": _code_name(t.department),
        "customer": {"id": t.customer.pk, "number": t.customer.number,
                     "display_name": t.customer.display_name},
        "owner": _person(owner),
        "response_due_at": t.response_due_at, "resolve_due_at": t.resolve_due_at,
        "sla_state": state, "sla_label": label,
        "escalation_tier": t.escalation_tier, "is_major": t.is_major, "chase_count": t.chase_count,
        "version": t.version, "created_at": t.created_at, "updated_at": t.updated_at,
    }


@router.post(
    "", response={201: TicketOut, 200: TicketOut, **WRITE_ERRORS}, operation_id="tickets_create",
    summary=_("受理工单 / Create a ticket"),
    description=_(
        "新建返回 201。带 Idempotency-Key 请求头（或渠道的 message_id，键为“渠道代码:message_id”）"
        "时，同一个键只建一张工单：重复提交返回 200 和第一次建的工单。/ 201 when created. With an "
        "Idempotency-Key header (or a channel message_id, keyed \"channel:message_id\") the same "
        "key creates one ticket; repeats answer 200 with that ticket."
    ),
)
def tickets_create(
    request,
    payload: TicketCreateIn,
    idempotency_key: Annotated[
        Text(128, 1) | None,
        Header(alias="Idempotency-Key", description="幂等键 / idempotency key"),
    ] = None,
):
    user = request.auth
    _require(user, "tickets.add_ticket")
    errors = {}
    customer = customer_in_scope(user, payload.customer_id)
    if customer is None:
        errors["customer_id"] = [str(UNKNOWN_CUSTOMER)]
    refs = {
        "channel": _by_code(Channel, payload.channel, "channel", errors),
        "ticket_type": _by_code(TicketType, payload.ticket_type, "ticket_type", errors),
        "priority": _by_code(Priority, payload.priority, "priority", errors),
        "service_mode": _by_code(ServiceMode, payload.service_mode, "service_mode", errors),
        "department": _by_code(Department, payload.department, "department", errors,
                               active_only=False),
    }
    if customer is not None and payload.contact_id is not None:
        refs["contact"] = customer.contacts.filter(pk=payload.contact_id).first()
        if refs["contact"] is None:
            errors["contact_id"] = [str(UNKNOWN_CONTACT)]
    if customer is not None and payload.asset_id is not None:
        refs["asset"] = customer.assets.filter(pk=payload.asset_id).first()
        if refs["asset"] is None:
            errors["asset_id"] = [str(services.ASSET_NOT_OWNED)]
    _raise_if(errors)
    key = idempotency_key
    if key is None and payload.message_id:
        key = f"{payload.channel}:{payload.message_id}"
    now = timezone.now()
    data = payload.model_dump(exclude={"customer_id", "contact_id", "asset_id", "message_id",
                                       *refs})
    ticket = services.ticket_create(actor=user, customer=customer, idempotency_key=key, now=now,
                                    **refs, **data)
    created = ticket.created_at == now  # a repeat hands back the ticket of the first call
    if not created:
        if not Ticket.objects.visible_to(user).filter(pk=ticket.pk).exists():
            raise Conflict(IDEMPOTENCY_KEY_TAKEN, fields={"Idempotency-Key": [IDEMPOTENCY_KEY_TAKEN]})
        return _answer(request, _detail(user, ticket.pk))
    # The new ticket is in hand with its customer, codes and policy, and its events are the
    # ones the intake just wrote (newest first, as the timeline orders them): no re-read.
    ticket.last_events = ticket.new_events[::-1]
    ticket.actions = offered_actions(user, ticket)
    return _answer(request, ticket, 201)


@router.get(
    "/events", response={200: EventFeedPage, **ERRORS}, operation_id="tickets_events_feed",
    summary=_("工单动态订阅 / Ticket event feed"),
    description=_(
        "您可见的所有工单动态，按 id 从小到大。把上次返回的 next_after 作为 after 再次请求，"
        "即可不重不漏地取到新动态（供 webhook 推送程序轮询）。/ Every event on tickets you may see, "
        "in id order; pass next_after back as after to get what is new (for a webhook "
        "dispatcher)."
    ),
)
def tickets_events_feed(
    request,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="上次最后一条的 id / last id seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="条数 / page size")] = 100,
):
    user = request.auth
    _require(user, "tickets.view_ticket")
    rows, next_after, has_more = event_feed(user, after, limit)
    return _render(request, {"items": [feed_event_out(e) for e in rows], "next_after": next_after,
                             "has_more": has_more})


@router.get(
    "/{ticket_id}", response={200: TicketOut, **ERRORS}, operation_id="tickets_detail",
    summary=_("工单详情 / Ticket detail"),
    description=_(
        "含 SLA 时限与状态、版本号、您可执行的操作和最近 10 条动态。/ With the SLA deadlines and "
        "their state, the version, the actions you may take and the latest 10 events."
    ),
)
def tickets_detail(request, ticket_id: TicketPath):
    ticket = _ticket(request, ticket_id, "tickets.view_ticket")
    return _answer(request, _detail(request.auth, ticket.pk))


@router.get(
    "/{ticket_id}/events", response={200: list[EventOut], **ERRORS},
    operation_id="tickets_events",
    summary=_("工单动态 / A ticket's timeline"),
    description=_(
        "新的在前。customer_visible=true 只看已同步客户的记录。/ Newest first; "
        "customer_visible=true for the customer sync record only."
    ),
)
def tickets_events(
    request,
    ticket_id: TicketPath,
    customer_visible: Annotated[bool | None, Query(description="只看已同步客户的 / filter")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="条数 / how many")] = 100,
):
    ticket = _ticket(request, ticket_id, "tickets.view_ticket")
    events = ticket.events.select_related("actor__staff")
    if customer_visible is not None:
        events = events.filter(customer_visible=customer_visible)
    return list(events[:limit])


@router.patch(
    "/{ticket_id}", response={200: TicketOut, **WRITE_ERRORS}, operation_id="tickets_update",
    summary=_("修改工单 / Update a ticket"),
    description=_(
        "只修改提交的字段，必须带上读取时的 version；版本过期返回 409 conflict，不做任何修改。"
        "修改优先级或类型不会重算时限。/ Only the fields sent change; send the version you read "
        "(409 conflict when stale, nothing changed). Deadlines are kept."
    ),
)
def tickets_update(request, ticket_id: TicketPath, payload: TicketUpdateIn):
    ticket = _ticket(request, ticket_id, CHANGE)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    errors = {}
    for field, model, active_only in (
        ("priority", Priority, True), ("ticket_type", TicketType, True),
        ("service_mode", ServiceMode, True), ("department", Department, False),
    ):
        if field in changes:
            changes[field] = _by_code(model, changes[field], field, errors, active_only=active_only)
    _raise_if(errors)
    services.ticket_update(actor=request.auth, ticket=ticket, version=version, **changes)
    return _done(request, ticket)


# --- actions ---------------------------------------------------------------------------------

def _action(name, summary, description):
    """Register POST /{ticket_id}/<path> for one action (all answer with the ticket)."""
    path = name.replace("_", "-")
    return router.post(
        f"/{{ticket_id}}/{path}", response={200: TicketOut, **WRITE_ERRORS},
        operation_id=f"tickets_{name}", summary=summary, description=description,
    )


@_action("queue", _("转入待派单 / Queue"), _("新建 → 待派单。需要派单权限。/ new → unassigned."))
def tickets_queue(request, ticket_id: TicketPath, payload: ActionIn = None):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["queue"])
    version = payload.version if payload else None
    return _done(request, services.ticket_queue(actor=request.auth, ticket=ticket, version=version))


@_action("assign", _("派单/转派 / Assign"), _(
    "派给可处理工单的员工（owner_id 为用户 id），转派请写原因。需要派单权限。"
    "/ Give the ticket to a staff member who works tickets; needs the assign permission."))
def tickets_assign(request, ticket_id: TicketPath, payload: AssignIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["assign"])
    owner = staff_choices().filter(pk=payload.owner_id).first()
    if owner is None:
        raise ValidationFailed(fields={"owner_id": [UNKNOWN_OWNER]})
    return _done(request, services.ticket_assign(
        actor=request.auth, ticket=ticket, owner=owner, reason=payload.reason,
        version=payload.version))


@_action("claim", _("抢单 / Claim"), _(
    "待抢单的工单归自己；同时抢单只有一人成功，其余 409 conflict。"
    "/ Take a pooled ticket; of concurrent claims one wins, the others get 409 conflict."))
def tickets_claim(request, ticket_id: TicketPath, payload: ActionIn = None):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["claim"])
    _version_matches(ticket, payload.version if payload else None)
    return _done(request, services.ticket_claim(actor=request.auth, ticket=ticket))


@_action("hold", _("挂起 / Hold"), _(
    "必须填写原因；挂起期间 SLA 停止计时。/ A reason is required; the SLA clock stops."))
def tickets_hold(request, ticket_id: TicketPath, payload: ReasonIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["hold"])
    return _done(request, services.ticket_hold(
        actor=request.auth, ticket=ticket, reason=payload.reason, version=payload.version))


@_action("resume", _("恢复处理 / Resume"), _(
    "挂起的时间顺延到时限上。/ The time on hold is added to the deadlines."))
def tickets_resume(request, ticket_id: TicketPath, payload: ActionIn = None):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["resume"])
    version = payload.version if payload else None
    return _done(request, services.ticket_resume(actor=request.auth, ticket=ticket, version=version))


@_action("resolve", _("解决 / Resolve"), _(
    "解决方案和处理结果必填；可填补偿方式与金额。解决方案会发给客户，含服务禁语时返回 422，"
    "需斟酌的措辞可用 acknowledge_wording 确认。/ Solution and result required; optional "
    "compensation. The solution is checked for forbidden phrases."))
def tickets_resolve(request, ticket_id: TicketPath, payload: ResolveIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["resolve"])
    return _done(request, services.ticket_resolve(
        actor=request.auth, ticket=ticket, solution=payload.solution, result=payload.result,
        compensation_kind=payload.compensation_kind,
        compensation_amount=None if payload.compensation_amount is None
        else str(payload.compensation_amount),
        acknowledge_wording=payload.acknowledge_wording, version=payload.version))


@_action("confirm", _("客户确认 / Confirm"), _(
    "客户确认已解决，进入待回访。/ The customer confirms the fix."))
def tickets_confirm(request, ticket_id: TicketPath, payload: ConfirmIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["confirm"])
    return _done(request, services.ticket_confirm(
        actor=request.auth, ticket=ticket, how=payload.how, version=payload.version))


@_action("close", _("关闭 / Close"), _("回访后关闭。/ Close after the callback."))
def tickets_close(request, ticket_id: TicketPath, payload: ActionIn = None):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["close"])
    version = payload.version if payload else None
    return _done(request, services.ticket_close(actor=request.auth, ticket=ticket, version=version))


@_action("reopen", _("重开 / Reopen"), _(
    "重开期限内可重开，必须填写原因；超过期限返回 409，请用 follow-up 新建复发工单。"
    "/ Within the reopen window, with a reason; past it 409, use follow-up."))
def tickets_reopen(request, ticket_id: TicketPath, payload: ReasonIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["reopen"])
    return _done(request, services.ticket_reopen(
        actor=request.auth, ticket=ticket, reason=payload.reason, version=payload.version))


@_action("chase", _("登记催单 / Chase"), _(
    "客户催单，每两次催单优先级升一级。/ The customer chases; every second chase raises the "
    "priority."))
def tickets_chase(request, ticket_id: TicketPath, payload: ChaseIn = None):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["chase"])
    payload = payload or ChaseIn()
    _version_matches(ticket, payload.version)
    return _done(request, services.ticket_chase(actor=request.auth, ticket=ticket, note=payload.note))


@_action("escalate", _("升级 / Escalate"), _(
    "一线 → 二线热线工程师 → 技术中心，必须填写原因；major 同时标记为重大问题。"
    "/ Tier 1 → 2 → 3 with a reason; major also flags the ticket."))
def tickets_escalate(request, ticket_id: TicketPath, payload: EscalateIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["escalate"])
    return _done(request, services.ticket_escalate(
        actor=request.auth, ticket=ticket, reason=payload.reason,
        major=payload.major, version=payload.version))


@_action("notes", _("添加进展 / Add a note"), _(
    "customer_visible=true 的进展同步给客户（首次即为首次响应），并检查服务禁语。"
    "/ Customer-visible notes form the sync record (the first one is the first response) and "
    "are checked for forbidden phrases."))
def tickets_notes(request, ticket_id: TicketPath, payload: NoteIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["notes"])
    _version_matches(ticket, payload.version)
    services.ticket_add_note(
        actor=request.auth, ticket=ticket, text=payload.text,
        customer_visible=payload.customer_visible,
        expected_completion_at=payload.expected_completion_at,
        acknowledge_wording=payload.acknowledge_wording)
    return _done(request, ticket)


@_action("handoff", _("转交热线工程师 / Hand off"), _(
    "热线忙时转交，须在规定时间（默认 15 分钟）内由工程师接手；可用 to_id 指定一位工程师。"
    "/ Hand the call to a hotline engineer, who must accept within the limit (15 minutes by "
    "default); to_id names one."))
def tickets_handoff(request, ticket_id: TicketPath, payload: HandoffIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["handoff"])
    to = None
    if payload.to_id is not None:
        to = staff_choices().filter(pk=payload.to_id).first()
        if to is None or not to.has_perm("tickets.claim_ticket"):
            raise ValidationFailed(fields={"to_id": [services.HANDOFF_TO_INVALID]})
    return _done(request, services.ticket_handoff(
        actor=request.auth, ticket=ticket, to=to, reason=payload.reason, version=payload.version))


@_action("handoff_accept", _("接手转交 / Accept a hand-off"), _(
    "指定的工程师本人、未指定时同部门可接单的人，或有派单权限的人可以接手。"
    "/ The named engineer, any engineer who may claim when none is named, or a dispatcher."))
def tickets_handoff_accept(request, ticket_id: TicketPath, payload: ActionIn = None):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["handoff_accept"])
    _version_matches(ticket, payload.version if payload else None)
    return _done(request, services.ticket_handoff_accept(actor=request.auth, ticket=ticket))


@_action("priority", _("修改优先级 / Change the priority"), _(
    "按新优先级重新计算时限。需要派单权限。/ Deadlines recomputed on the new priority; needs "
    "the assign permission."))
def tickets_priority(request, ticket_id: TicketPath, payload: PriorityIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["priority"])
    errors = {}
    priority = _by_code(Priority, payload.priority, "priority", errors)
    _raise_if(errors)
    return _done(request, services.ticket_set_priority(
        actor=request.auth, ticket=ticket, priority=priority, reason=payload.reason,
        version=payload.version))


@_action("flag_major", _("重大问题标记 / Flag a major problem"), _(
    "major=true 标记、false 取消，必须填写原因；已是该状态返回 409。/ Flag or clear, with a "
    "reason; 409 when it already is."))
def tickets_flag_major(request, ticket_id: TicketPath, payload: MajorIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["flag_major"])
    return _done(request, services.ticket_flag_major(
        actor=request.auth, ticket=ticket, major=payload.major, reason=payload.reason,
        version=payload.version))


@router.post(
    "/{ticket_id}/follow-up", response={201: TicketOut, **WRITE_ERRORS},
    operation_id="tickets_follow_up",
    summary=_("复发新建 / Follow-up ticket"),
    description=_(
        "超过重开期限后问题复发：新建一张关联原工单的工单，返回新工单（201）。"
        "/ The fault came back after the reopen window: a new ticket linked to this one (201)."
    ),
)
def tickets_follow_up(request, ticket_id: TicketPath, payload: FollowUpIn):
    ticket = _ticket(request, ticket_id, ACTION_PERMS["follow_up"])
    _version_matches(ticket, payload.version)
    new = services.ticket_follow_up(actor=request.auth, ticket=ticket, reason=payload.reason)
    return _answer(request, _detail(request.auth, new.pk), 201)
