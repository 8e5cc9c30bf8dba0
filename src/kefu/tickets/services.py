"""Every write to tickets. Pages, the API, jobs and the CLI call these.

Each service locks the ticket row, checks the move against the transition table, writes the
ticket, a ``TicketEvent`` and the history row in one transaction.
"""

import datetime
import decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import person_name
from kefu.core.compiled import Compiled, insert
from kefu.core.errors import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from kefu.core.history import check_version, save_attributed
from kefu.core.sequences import next_number
from kefu.tickets import routing, sla, stats, workflow
from kefu.tickets.models import Channel, Priority, Ticket, TicketEvent, TicketType

SUBJECT_REQUIRED = _("请填写问题摘要。")
SOLUTION_REQUIRED = _("请填写解决方案和处理结果。")
STALE_VERSION = _("工单已被他人修改（当前版本 %(current)s，您提交的是 %(given)s），请刷新后重试。")
REOPEN_WINDOW_PASSED = _("工单已超过 %(days)s 天的重开期限，不能重开；如故障复现，请新建一张关联原工单的复发工单。")
ASSET_NOT_OWNED = _("该设备不属于这个客户。")


def _event(ticket, actor, verb, summary, *, customer_visible=False, expected=None, at=None, **data):
    # One INSERT built once per process (kefu.core.compiled): every service writes an event.
    return insert(TicketEvent(
        ticket=ticket, actor=actor, verb=verb, summary=str(summary), at=at or timezone.now(),
        customer_visible=customer_visible, expected_completion_at=expected, data=data,
    ))


# A repeated intake (same channel message or Idempotency-Key) answers with the first ticket.
_by_idempotency_key = Compiled(
    lambda idempotency_key: Ticket.objects.filter(idempotency_key=idempotency_key),
    idempotency_key="sample key, never sent by a client")


def _save(ticket, actor, fields, now=None):
    # The history row carries the business time (now=), not the time the code ran.
    ticket.version += 1
    return save_attributed(ticket, actor, at=now, update_fields=[*fields, "version", "updated_at"])


def _locked(ticket, version=None):
    row = Ticket.objects.select_for_update(of=("self",)).select_related("sla_policy").get(pk=ticket.pk)
    check_version(row, version, STALE_VERSION)
    return row


def ticket_create(*, actor, customer, channel, ticket_type, priority, subject, description="",
                  contact=None, asset=None, department=None, service_mode=None, occurred_at=None,
                  environment="", error_shown="", customer_expects_at=None, idempotency_key=None,
                  now=None):
    """Take a ticket in: number CS+YYYYMM+seq, SLA deadlines from the matching policy.

    With ``idempotency_key`` (a channel message id or an Idempotency-Key header) the same key
    returns the ticket created the first time instead of a second one.

    Everything that only reads (the key's earlier ticket, the checks, the policy, the deadlines
    on the working calendar) is done before the write transaction: on SQLite that transaction
    holds the database's one write lock, which every concurrent intake waits for.
    """
    if idempotency_key:
        existing = _by_idempotency_key.first(idempotency_key=idempotency_key)
        if existing is not None:
            return existing
    now = now or timezone.now()
    ticket = _new_ticket(
        customer=customer, contact=contact, asset=asset, channel=channel, ticket_type=ticket_type,
        priority=priority, department=department, service_mode=service_mode, subject=subject,
        description=description, occurred_at=occurred_at, environment=environment,
        error_shown=error_shown, customer_expects_at=customer_expects_at, now=now)
    ticket.created_by, ticket.idempotency_key = actor, idempotency_key or None
    try:
        return _take_in(ticket, actor, now)
    except IntegrityError:
        # The key was free when checked and taken at the INSERT: a concurrent intake committed
        # in between. The whole intake was undone (its number too, so no gap): hand back that
        # intake's ticket. Inside a caller's transaction the undoing is a savepoint's; as the
        # whole transaction (the API's) it costs no savepoint around the INSERT.
        existing = Ticket.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
        if existing is None:
            raise
        return existing


def _new_ticket(*, customer, contact, asset, channel, ticket_type, priority, department,
                service_mode, subject, description, occurred_at, environment, error_shown,
                customer_expects_at, now):
    """The ticket checked and with its policy and deadlines, not yet numbered or saved."""
    subject = (subject or "").strip()
    if not subject:
        raise ValidationFailed(fields={"subject": [SUBJECT_REQUIRED]})
    if asset is not None and asset.customer_id != customer.pk:
        raise ValidationFailed(fields={"asset": [ASSET_NOT_OWNED]})
    for value, model, name in ((channel, Channel, "channel"), (ticket_type, TicketType, "ticket_type"),
                               (priority, Priority, "priority")):
        if not isinstance(value, model):
            raise ValidationFailed(fields={name: [gettext("请选择有效的选项。")]})
    policy = sla.select_policy(priority=priority, technical=ticket_type.is_technical,
                               customer_kind=customer.kind)
    resolve_due = sla.resolve_due(policy, now)
    return Ticket(
        customer=customer, contact=contact, asset=asset, channel=channel, ticket_type=ticket_type,
        priority=priority, department=department or ticket_type.default_department,
        service_mode=service_mode, subject=subject[:200], description=description,
        occurred_at=occurred_at, environment=environment, error_shown=error_shown,
        in_warranty=asset.in_warranty if asset is not None else None,
        customer_expects_at=customer_expects_at, sla_policy=policy,
        response_due_at=sla.response_due(policy, now), resolve_due_at=resolve_due,
        resolve_warn_at=sla.warn_at(policy, now, resolve_due), created_at=now,
    )


@transaction.atomic
def _take_in(ticket, actor, now):
    """Number and write the prepared ``ticket``, its history and its first event."""
    ticket.number = next_number("CS", timezone.localtime(now).strftime("%Y%m"))
    save_attributed(ticket, actor, at=now)
    # The events written here, oldest first: the API answers with them without reading back.
    ticket.new_events = [_event(ticket, actor, "created", gettext("受理工单"), at=now)]
    # The department object is already loaded: intake without auto-assignment costs no query.
    department = ticket.department
    if department is not None and department.auto_assign != routing.Mode.OFF:
        ticket.new_events.append(_auto_assign(ticket, actor, now))
    return ticket


@transaction.atomic
def ticket_queue(*, actor, ticket, version=None, now=None):
    """转入待派单: a new ticket goes to the pool for a dispatcher or a claim."""
    row = _locked(ticket, version)
    row.status = workflow.target(row, "queue")
    _save(row, actor, ["status"], now)
    _event(row, actor, "queued", gettext("转入待派单"), at=now)
    return row


@transaction.atomic
def ticket_assign(*, actor, ticket, owner, version=None, reason="", now=None):
    """派单 / 转派: the new owner is notified (unless they assigned it to themselves). A pending
    hand-off (B6) ends here too: the coordinator has passed the 任务单 on."""
    row = _locked(ticket, version)
    to = workflow.target(row, "assign")
    previous = row.owner
    row.owner, row.status = owner, to
    fields = ["owner", "status"]
    handoff = {}
    if row.handoff_due_at is not None:
        handoff = _end_handoff(row, now)
        fields += ["handoff_to", "handoff_due_at"]
    _save(row, actor, fields, now)
    if previous is None:
        summary = gettext("派单给 %(owner)s") % {"owner": person_name(owner)}
    else:
        summary = gettext("由 %(old)s 转派给 %(owner)s") % {"old": person_name(previous), "owner": person_name(owner)}
    _event(row, actor, "assigned", summary, at=now, owner=owner.pk, reason=reason, **handoff)
    _tell_new_owner(row, owner, actor)
    return row


@transaction.atomic
def ticket_hold(*, actor, ticket, reason, version=None, now=None):
    """挂起: waiting for the customer or for parts; the SLA clock stops until resume."""
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [gettext("请填写挂起原因。")]})
    row = _locked(ticket, version)
    row.status = workflow.target(row, "hold")
    row.on_hold_since = now or timezone.now()
    _save(row, actor, ["status", "on_hold_since"], now)
    _event(row, actor, "held", gettext("挂起：%(reason)s") % {"reason": reason}, reason=reason, at=now)
    return row


@transaction.atomic
def ticket_resume(*, actor, ticket, version=None, now=None):
    """Resume: the time on hold (on the policy's clock) is added to both open deadlines."""
    row = _locked(ticket, version)
    row.status = workflow.target(row, "resume")
    now = now or timezone.now()
    paused = sla.paused_duration(row.sla_policy, row.on_hold_since, now)
    if row.first_responded_at is None:
        row.response_due_at = sla.shift(row.sla_policy, row.response_due_at, paused)
    row.resolve_due_at = sla.shift(row.sla_policy, row.resolve_due_at, paused)
    row.resolve_warn_at = sla.shift(row.sla_policy, row.resolve_warn_at, paused)
    row.paused_seconds += int(paused.total_seconds())
    row.on_hold_since = None
    _save(row, actor, ["status", "response_due_at", "resolve_due_at", "resolve_warn_at",
                       "paused_seconds", "on_hold_since"], now)
    _event(row, actor, "resumed", gettext("恢复处理，时限顺延 %(minutes)s 分钟") % {
        "minutes": int(paused.total_seconds() // 60)}, paused_seconds=int(paused.total_seconds()), at=now)
    return row


COMPENSATION_KIND_INVALID = _("请选择有效的补偿方式。")
COMPENSATION_KIND_NEEDED = _("填写了补偿金额，请同时选择补偿方式。")
COMPENSATION_AMOUNT_INVALID = _("补偿金额须为不小于 0、最多两位小数的数字（元）。")
COMPENSATION_AMOUNT_MAX = decimal.Decimal("99999999.99")  # max_digits=10, decimal_places=2


def _compensation(kind, amount):
    """(kind, amount) checked: a kind from Ticket.Compensation, an amount only with a kind,
    ≥ 0 with at most two decimals. A refund or coupon without an amount is fine."""
    kind = kind or ""
    if kind not in Ticket.Compensation.values:
        raise ValidationFailed(fields={"compensation_kind": [COMPENSATION_KIND_INVALID]})
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return kind, None
    try:
        value = decimal.Decimal(str(amount).strip())
    except (decimal.InvalidOperation, ValueError):
        raise ValidationFailed(fields={"compensation_amount": [COMPENSATION_AMOUNT_INVALID]}) from None
    if (not value.is_finite() or value < 0 or value > COMPENSATION_AMOUNT_MAX
            or value != value.quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_DOWN)):
        raise ValidationFailed(fields={"compensation_amount": [COMPENSATION_AMOUNT_INVALID]})
    if not kind:
        raise ValidationFailed(fields={"compensation_kind": [COMPENSATION_KIND_NEEDED]})
    return kind, value.quantize(decimal.Decimal("0.01"))


def _short(text, limit=200):
    """Free text inside an event summary (500 characters at most): the whole text is in data."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


@transaction.atomic
def ticket_resolve(*, actor, ticket, solution, result, compensation_kind="", compensation_amount=None,
                   acknowledge_wording=False, version=None, now=None):
    """解决 (B9): the solution (customer-visible, checked against the 服务禁语), the result and
    any compensation given. The ticket then waits for the customer's confirmation."""
    if not (solution or "").strip() or not (result or "").strip():
        raise ValidationFailed(fields={"solution": [SOLUTION_REQUIRED]})
    kind, amount = _compensation(compensation_kind, compensation_amount)
    from kefu.tickets.phrases import check_wording

    flagged = check_wording(solution, acknowledged=acknowledge_wording, field="solution")
    row = _locked(ticket, version)
    row.status = workflow.target(row, "resolve")
    row.resolved_at = now or timezone.now()
    row.solution, row.result = solution.strip(), result.strip()[:200]
    row.compensation_kind, row.compensation_amount = kind, amount
    row.confirmed_at = None
    _save(row, actor, ["status", "resolved_at", "solution", "result", "compensation_kind",
                       "compensation_amount", "confirmed_at"], now)
    summary = gettext("已解决：%(solution)s") % {"solution": _short(row.solution)}
    if kind:
        label = Ticket.Compensation(kind).label
        if amount is not None:
            summary += gettext("；补偿：%(kind)s %(amount)s 元") % {"kind": label, "amount": amount}
        else:
            summary += gettext("；补偿：%(kind)s") % {"kind": label}
    data = {"wording_acknowledged": [p.text for p in flagged]} if flagged else {}
    _event(row, actor, "resolved", summary, customer_visible=True, solution=row.solution,
           result=row.result, compensation_kind=kind,
           compensation_amount=None if amount is None else str(amount), at=now, **data)
    return row


@transaction.atomic
def ticket_confirm(*, actor, ticket, how, version=None, now=None):
    """The customer confirms the fix (B9: no 假性解决); until then the ticket stays resolved."""
    row = _locked(ticket, version)
    row.status = workflow.target(row, "confirm")
    row.confirmed_at = now or timezone.now()
    _save(row, actor, ["status", "confirmed_at"], now)
    _event(row, actor, "confirmed", gettext("客户确认已解决（%(how)s）") % {"how": _short(how)},
           how=how, at=now)
    return row


@transaction.atomic
def ticket_close(*, actor, ticket, version=None, now=None):
    row = _locked(ticket, version)
    row.status = workflow.target(row, "close")
    row.closed_at = now or timezone.now()
    _save(row, actor, ["status", "closed_at"], now)
    _event(row, actor, "closed", gettext("关闭工单"), at=now)
    return row


def reopen_window():
    return datetime.timedelta(days=getattr(settings, "TICKET_REOPEN_DAYS", 7))


@transaction.atomic
def ticket_reopen(*, actor, ticket, reason, version=None, now=None):
    """重开 within the window restarts the resolution clock and is counted (reopen rate).
    After the window the fault is a new ticket linked to this one: ``ticket_follow_up``."""
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [gettext("请填写重开原因。")]})
    row = _locked(ticket, version)
    to = workflow.target(row, "reopen")
    now = now or timezone.now()
    if row.resolved_at and now - row.resolved_at > reopen_window():
        raise InvalidTransition(gettext(REOPEN_WINDOW_PASSED) % {"days": reopen_window().days},
                                code="reopen_window_passed")
    row.status = to
    row.reopen_count += 1
    row.resolved_at = row.closed_at = row.confirmed_at = None  # the old confirmation no longer holds
    row.resolve_due_at = sla.resolve_due(row.sla_policy, now)
    row.resolve_warn_at = sla.warn_at(row.sla_policy, now, row.resolve_due_at)
    row.sla_warned_at = row.sla_breached_at = None  # a new resolution clock warns afresh
    _save(row, actor, ["status", "reopen_count", "resolved_at", "closed_at", "confirmed_at",
                       "resolve_due_at", "resolve_warn_at", "sla_warned_at", "sla_breached_at"], now)
    _event(row, actor, "reopened", gettext("重开：%(reason)s") % {"reason": _short(reason)},
           reason=reason, at=now)
    return row


ALREADY_CLAIMED = _("工单 %(number)s 已被他人接单。")
CHANGED_MEANWHILE = _("工单 %(number)s 刚被他人修改，请刷新后重试。")


def ticket_claim(*, actor, ticket, now=None):
    """抢单: one conditional UPDATE; of any number of concurrent claims exactly one wins."""
    with transaction.atomic():
        # The status the claim starts from, matched by the UPDATE: the daily counts move from it.
        seen = Ticket.objects.filter(pk=ticket.pk).values("status", "ticket_type_id", "created_at").first()
        won = seen is not None and Ticket.objects.filter(
            pk=ticket.pk, owner__isnull=True, status=seen["status"],
            status__in=workflow.TRANSITIONS["claim"][0],
        ).update(owner=actor, status=Ticket.Status.IN_PROGRESS, version=F("version") + 1,
                 updated_at=now or timezone.now())
        if won:
            stats.move(stats.local_day(seen["created_at"]), seen["ticket_type_id"],
                       Ticket.Status.IN_PROGRESS, old_status=seen["status"],
                       old_type_id=seen["ticket_type_id"])
        else:
            current = Ticket.objects.get(pk=ticket.pk)
            if current.owner_id is not None:
                raise Conflict(gettext(ALREADY_CLAIMED) % {"number": current.number})
            workflow.target(current, "claim")  # raises InvalidTransition with the status
            # Still claimable, but its status moved between the read and the UPDATE.
            raise Conflict(gettext(CHANGED_MEANWHILE) % {"number": current.number})
        row = Ticket.objects.get(pk=ticket.pk)
        fields, handoff = ["updated_at"], {}
        if row.handoff_due_at is not None:  # a claim takes a pending hand-off too
            handoff = _end_handoff(row, now or timezone.now())
            fields += ["handoff_to", "handoff_due_at"]
        save_attributed(row, actor, at=now, update_fields=fields)  # the claim's history row
        _event(row, actor, "claimed", gettext("%(owner)s 抢单") % {"owner": person_name(actor)}, at=now,
               **handoff)
    return row


@transaction.atomic
def ticket_chase(*, actor, ticket, note="", now=None):
    """催单: the customer chases. Counted; every second chase raises the priority one rank."""
    row = _locked(ticket)
    if not row.is_open:
        raise InvalidTransition(gettext("工单已解决或关闭，不能催单；如故障复现请重开。"))
    row.chase_count += 1
    fields = ["chase_count"]
    summary = gettext("客户催单（第 %(n)s 次）") % {"n": row.chase_count}
    if row.chase_count % CHASES_PER_PRIORITY_STEP == 0:
        higher = Priority.objects.filter(rank__lt=row.priority.rank, is_active=True).order_by("-rank").first()
        if higher is not None:
            row.priority = higher
            fields.append("priority")
            summary += gettext("，优先级升为 %(priority)s") % {"priority": higher}
    _save(row, actor, fields, now)
    _event(row, actor, "chased", summary, note=note, at=now)
    # The owner hears of the chase; an unowned ticket's chase goes to the supervisors.
    recipients = [row.owner] if row.owner_id else routing.supervisors()
    routing.tell(recipients, ticket=row, kind="chase",
                 title=gettext("客户催单：工单 %(number)s（第 %(n)s 次）") % {
                     "number": row.number, "n": row.chase_count},
                 dedupe_key=f"chase:{row.pk}:{row.chase_count}", actor=actor)
    return row


CHASES_PER_PRIORITY_STEP = 2
ESCALATION_TIERS = {1: _("一线客服"), 2: _("二线热线工程师"), 3: _("技术中心/专家")}


@transaction.atomic
def ticket_escalate(*, actor, ticket, reason, major=False, version=None, now=None):
    """疑难升级: tier 1 agent → tier 2 hotline engineer → tier 3 technical centre (B8).
    ``major`` also flags the ticket as a 重大问题 (batch faults included); it never clears one."""
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [gettext("请填写升级原因。")]})
    row = _locked(ticket, version)
    if not row.is_open:
        raise InvalidTransition(gettext("只有处理中的工单可以升级。"))
    if row.escalation_tier >= max(ESCALATION_TIERS):
        raise InvalidTransition(gettext("工单已在最高升级层级。"))
    row.escalation_tier += 1
    fields = ["escalation_tier"]
    summary = gettext("升级至%(tier)s：%(reason)s") % {
        "tier": ESCALATION_TIERS[row.escalation_tier], "reason": _short(reason)}
    if major and not row.is_major:
        row.is_major = True
        fields.append("is_major")
        summary += gettext("（标记为重大问题）")
    _save(row, actor, fields, now)
    _event(row, actor, "escalated", summary, reason=reason, major=bool(major), at=now)
    return row


NOTE_MAX_LENGTH = 500  # a note is its event's summary


@transaction.atomic
def ticket_add_note(*, actor, ticket, text, customer_visible=False, expected_completion_at=None,
                    acknowledge_wording=False, now=None):
    """进展: a progress note; customer-visible ones are the 客户同步记录 and count as the first
    response when none has been given yet.

    A customer-visible note is checked for 服务禁语 (B13) before anything is saved: a ``block``
    phrase refuses it, a ``warn`` phrase unless ``acknowledge_wording`` (措辞已确认); the warn
    phrases let through are kept on the event. Internal notes are not checked."""
    from kefu.tickets.phrases import check_wording

    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={"text": [gettext("请填写进展内容。")]})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationFailed(fields={"text": [gettext("进展内容最多 %(n)s 个字，当前 %(len)s 个字。") % {
            "n": NOTE_MAX_LENGTH, "len": len(text)}]})
    flagged = check_wording(text, acknowledged=acknowledge_wording) if customer_visible else []
    row = _locked(ticket)
    now = now or timezone.now()
    if customer_visible and row.first_responded_at is None:
        row.first_responded_at = now
        _save(row, actor, ["first_responded_at"], now)
    data = {"wording_acknowledged": [p.text for p in flagged]} if flagged else {}
    return _event(row, actor, "note", text, customer_visible=customer_visible,
                  expected=expected_completion_at, at=now, **data)


@transaction.atomic
def ticket_set_priority(*, actor, ticket, priority, reason="", version=None, now=None):
    """改优先级 (a dispatcher's or a bulk change): the SLA policy is chosen again and the
    deadlines recomputed from intake on the new policy, moved by the time already on hold, so an
    urgent ticket gets urgent deadlines. The monitor's marks are cleared when the new deadline
    lies ahead, so it warns afresh."""
    if not isinstance(priority, Priority):
        raise ValidationFailed(fields={"priority": [gettext("请选择有效的选项。")]})
    row = _locked(ticket, version)
    if not row.is_open:
        raise InvalidTransition(gettext("工单已解决或关闭，不能修改优先级。"))
    if row.priority_id == priority.pk:
        return row
    now = now or timezone.now()
    old = row.priority
    policy = sla.select_policy(priority=priority, technical=row.ticket_type.is_technical,
                               customer_kind=row.customer.kind)
    start = row.created_at
    paused = datetime.timedelta(seconds=row.paused_seconds)
    row.priority, row.sla_policy = priority, policy
    fields = ["priority", "sla_policy"]
    if row.first_responded_at is None:
        row.response_due_at = sla.shift(policy, sla.response_due(policy, start), paused)
        fields.append("response_due_at")
    if not row.reopen_count:  # a reopened ticket's clock runs from the reopening: keep it
        due = sla.resolve_due(policy, start)
        row.resolve_warn_at = sla.shift(policy, sla.warn_at(policy, start, due), paused)
        row.resolve_due_at = sla.shift(policy, due, paused)
        fields += ["resolve_due_at", "resolve_warn_at"]
        if row.resolve_due_at > now:
            row.sla_breached_at = None
            fields.append("sla_breached_at")
        if row.resolve_warn_at > now:
            row.sla_warned_at = None
            fields.append("sla_warned_at")
    _save(row, actor, fields, now)
    summary = gettext("优先级由 %(old)s 改为 %(new)s") % {"old": old, "new": priority}
    if reason:
        summary += gettext("：%(reason)s") % {"reason": reason}
    _event(row, actor, "priority_changed", summary, old=old.code, new=priority.code,
           reason=reason, at=now)
    return row


FOLLOW_UP_FROM = (Ticket.Status.RESOLVED, Ticket.Status.AWAITING_CALLBACK, Ticket.Status.CLOSED)


@transaction.atomic
def ticket_follow_up(*, actor, ticket, reason, now=None):
    """复发新建 (B11): the fault came back after the reopen window. A new ticket for the same
    customer, contact, asset, channel, type, priority and department, linked to the original;
    both timelines point at each other. Returns the new ticket."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [gettext("请填写复发情况。")]})
    original = _locked(ticket)
    if original.status not in FOLLOW_UP_FROM:
        raise InvalidTransition(gettext(
            "工单 %(number)s 当前状态为“%(status)s”，仍在处理中，请直接处理原工单，不需新建复发工单。"
        ) % {"number": original.number, "status": original.get_status_display()})
    now = now or timezone.now()
    asset = original.asset if original.asset and original.asset.customer_id == original.customer_id else None
    new = ticket_create(
        actor=actor, customer=original.customer, contact=original.contact, asset=asset,
        channel=original.channel, ticket_type=original.ticket_type, priority=original.priority,
        department=original.department,
        subject=gettext("复发：%(subject)s") % {"subject": original.subject},
        description=gettext("原工单 %(number)s 的问题复发：%(reason)s") % {
            "number": original.number, "reason": reason},
        now=now,
    )
    new.linked_to = original
    _save(new, actor, ["linked_to"], now)
    _event(new, actor, "linked", gettext("关联工单：由 %(number)s 复发新建") % {"number": original.number},
           linked_ticket=original.pk, linked_number=original.number, reason=reason, at=now)
    _event(original, actor, "linked", gettext("关联工单：问题复发，已新建 %(number)s") % {"number": new.number},
           linked_ticket=new.pk, linked_number=new.number, reason=reason, at=now)
    return new


@transaction.atomic
def ticket_flag_major(*, actor, ticket, major, reason, version=None, now=None):
    """重大问题 (B8): flag a ticket as a major or batch problem, or clear the flag, with a reason.
    Flagged open tickets form the major-problem list (``Ticket.objects.major()``)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [gettext("请填写原因。")]})
    row = _locked(ticket, version)
    major = bool(major)
    if row.is_major == major:  # never a silent no-op
        message = (gettext("工单 %(number)s 已标记为重大问题。") if major
                   else gettext("工单 %(number)s 未标记为重大问题。"))
        raise InvalidTransition(message % {"number": row.number})
    row.is_major = major
    _save(row, actor, ["is_major"], now)
    if major:
        summary = gettext("标记为重大问题：%(reason)s") % {"reason": _short(reason)}
    else:
        summary = gettext("取消重大问题标记：%(reason)s") % {"reason": _short(reason)}
    _event(row, actor, "major_flagged" if major else "major_cleared", summary, reason=reason, at=now)
    return row


@transaction.atomic
def ticket_update(*, actor, ticket, version, now=None, **fields):
    """Edit the intake fields (subject, description, priority, type, department, service mode,
    environment, error shown, the customer's expected time). Only the fields given change; the
    deadlines stay as they are, even when the priority or the type changes (a dispatcher's
    priority change that recomputes them is ``ticket_set_priority``). A stale ``version`` is a
    Conflict and nothing changes; an edit that changes nothing keeps the version."""
    from kefu.accounts.models import Department
    from kefu.tickets.models import ServiceMode

    editable = {  # field: (model the value must be, may it be None)
        "subject": (str, False), "description": (str, False), "priority": (Priority, False),
        "ticket_type": (TicketType, False), "department": (Department, True),
        "service_mode": (ServiceMode, True), "environment": (str, False),
        "error_shown": (str, False), "customer_expects_at": (datetime.datetime, True),
    }
    unknown = set(fields) - set(editable)
    if unknown:
        raise ValidationFailed(fields={name: [gettext("该字段不能修改。")] for name in sorted(unknown)})
    for name, value in fields.items():
        kind, nullable = editable[name]
        if value is None and nullable:
            continue
        if not isinstance(value, kind):
            raise ValidationFailed(fields={name: [gettext("请选择有效的选项。")]})
    if "subject" in fields:
        fields["subject"] = fields["subject"].strip()
        if not fields["subject"]:
            raise ValidationFailed(fields={"subject": [SUBJECT_REQUIRED]})
    row = _locked(ticket, version)
    if row.status == Ticket.Status.CLOSED:  # a closed ticket is a record: reports count it as is
        raise InvalidTransition(gettext("工单 %(number)s 已关闭，不能修改；如问题复现请重开。") % {
            "number": row.number})
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    if not changed:
        return row
    for name in changed:
        setattr(row, name, fields[name])
    _save(row, actor, changed, now)
    labels = "、".join(str(Ticket._meta.get_field(name).verbose_name) for name in changed)
    _event(row, actor, "updated", gettext("修改工单：%(fields)s") % {"fields": labels},
           fields=changed, at=now)
    return row


# 自动派单 and the hotline hand-off (B6) -------------------------------------------------------

HANDOFF_NOT_POSSIBLE = _("工单 %(number)s 当前状态为“%(status)s”，不能转交热线工程师。")
HANDOFF_TO_INVALID = _("只能转交给可以接单的在职员工。")
NO_HANDOFF_PENDING = _("工单 %(number)s 没有待接手的转交。")
HANDOFF_FOR_SOMEONE_ELSE = _("工单已指定转交给 %(name)s，只有本人或有派单权限的人可以接手。")
HANDOFF_OTHER_DEPARTMENT = _("工单属于其他部门，您不能接手这次转交。")


def handoff_window():
    return datetime.timedelta(minutes=getattr(settings, "TICKET_HANDOFF_MINUTES", 15))


def _tell_new_owner(row, owner, actor):
    routing.tell([owner], ticket=row, kind="assigned",
                 title=gettext("工单 %(number)s 已派给您") % {"number": row.number},
                 dedupe_key=f"assigned:{row.pk}:{row.version}", actor=actor)


def _auto_assign(ticket, actor, now):
    """自动派单 at intake: straight to in progress with the picked owner, or into the pool
    (待派单) when nobody is available. The event (returned) is the system's (no actor); the
    history row names the intake's actor."""
    department = ticket.department
    mode, label = department.auto_assign, department.get_auto_assign_display()
    owner = routing.auto_assign(ticket, now=now)
    if owner is None:
        ticket.status = workflow.target(ticket, "queue")
        _save(ticket, actor, ["status"], now)
        return _event(ticket, None, "auto_queued",
                      gettext("自动派单（%(mode)s）：暂无可接单的员工，已转入待派单") % {"mode": label},
                      mode=mode, at=now)
    ticket.owner, ticket.status = owner, workflow.target(ticket, "assign")
    _save(ticket, actor, ["owner", "status"], now)
    event = _event(ticket, None, "auto_assigned",
                   gettext("自动派单（%(mode)s）给 %(owner)s") % {"mode": label, "owner": person_name(owner)},
                   mode=mode, owner=owner.pk, at=now)
    _tell_new_owner(ticket, owner, actor)
    return event


def _end_handoff(row, now):
    """Close the pending hand-off on ``row`` (not saved): how many minutes it took from the
    last hand-off and whether within the limit, for the event that records the end."""
    now = now or timezone.now()
    started = (row.events.filter(verb="handed_off").order_by("-at", "-id")
               .values_list("at", flat=True).first())
    if started is None:
        started = row.handoff_due_at - handoff_window()
    within = now <= row.handoff_due_at
    row.handoff_to, row.handoff_due_at = None, None
    return {"handoff_minutes": max(0, int((now - started).total_seconds() // 60)),
            "handoff_within": within}


@transaction.atomic
def ticket_handoff(*, actor, ticket, to=None, reason="", version=None, now=None):
    """转交热线工程师 (B6, 热线接听流程): the agent or engineer cannot take the call now
    (“我们将会有更专业的工程师与您联系”); an engineer must take the 任务单 within
    ``TICKET_HANDOFF_MINUTES`` natural minutes. ``to`` names one engineer (notified); without
    it any engineer of the ticket's department who may claim tickets can accept. Handing off
    again restarts the clock. The SLA monitor tells supervisors when nobody accepted in time."""
    if to is not None and not (to.is_active and to.has_perm("tickets.claim_ticket")):
        raise ValidationFailed(fields={"to": [HANDOFF_TO_INVALID]})
    row = _locked(ticket, version)
    # Only where accepting is possible: an on-hold or resolved ticket is nobody's call to take.
    if row.status not in workflow.TRANSITIONS["handoff_accept"][0]:
        raise InvalidTransition(gettext(HANDOFF_NOT_POSSIBLE) % {
            "number": row.number, "status": row.get_status_display()})
    now = now or timezone.now()
    row.handoff_to = to
    row.handoff_due_at = now + handoff_window()
    row.handoff_breached_at = None
    _save(row, actor, ["handoff_to", "handoff_due_at", "handoff_breached_at"], now)
    minutes = int(handoff_window().total_seconds() // 60)
    if to is not None:
        summary = gettext("转交热线工程师 %(name)s，须在 %(minutes)s 分钟内接手") % {
            "name": person_name(to), "minutes": minutes}
    else:
        summary = gettext("转交热线工程师，须在 %(minutes)s 分钟内接手") % {"minutes": minutes}
    reason = (reason or "").strip()
    if reason:
        summary += gettext("：%(reason)s") % {"reason": reason[:200]}
    _event(row, actor, "handed_off", summary, to=to.pk if to else None, reason=reason,
           due_at=row.handoff_due_at.isoformat(), at=now)
    if to is not None:
        routing.tell([to], ticket=row, kind="handoff",
                     title=gettext("工单 %(number)s 转交给您，请在 %(minutes)s 分钟内接手") % {
                         "number": row.number, "minutes": minutes},
                     dedupe_key=f"handoff:{row.pk}:{int(row.handoff_due_at.timestamp())}",
                     actor=actor)
    return row


@transaction.atomic
def ticket_handoff_accept(*, actor, ticket, now=None):
    """接手转交: the engineer takes the handed-off ticket: owner, in progress, the hand-off
    cleared; the event records the minutes it took and whether within the limit.

    Who may: the named engineer; with no one named, whoever may claim tickets and is not in
    another department; anyone else only with the permission to assign (a dispatcher taking
    it over)."""
    row = _locked(ticket)
    if row.handoff_due_at is None:
        raise InvalidTransition(gettext(NO_HANDOFF_PENDING) % {"number": row.number})
    if row.handoff_to_id is not None and row.handoff_to_id != actor.pk:
        if not actor.has_perm("tickets.assign_ticket"):
            raise PermissionDenied(gettext(HANDOFF_FOR_SOMEONE_ELSE) % {"name": person_name(row.handoff_to)})
    elif row.handoff_to_id is None and not actor.has_perm("tickets.assign_ticket"):
        if not actor.has_perm("tickets.claim_ticket"):
            raise PermissionDenied()
        profile = getattr(actor, "staff", None)
        if (row.department_id and profile is not None and profile.department_id
                and profile.department_id != row.department_id):
            raise PermissionDenied(gettext(HANDOFF_OTHER_DEPARTMENT))
    row.status = workflow.target(row, "handoff_accept")
    now = now or timezone.now()
    row.owner = actor
    handoff = _end_handoff(row, now)
    _save(row, actor, ["owner", "status", "handoff_to", "handoff_due_at"], now)
    values = {"owner": person_name(actor), "minutes": handoff["handoff_minutes"],
              "limit": int(handoff_window().total_seconds() // 60)}
    if handoff["handoff_within"]:
        summary = gettext("%(owner)s 接手转交，用时 %(minutes)s 分钟") % values
    else:
        summary = gettext("%(owner)s 接手转交，用时 %(minutes)s 分钟，超过 %(limit)s 分钟时限") % values
    _event(row, actor, "handoff_accepted", summary, at=now, **handoff)
    return row
