"""Every write to tickets. Pages, the API, jobs and the CLI call these.

Each service locks the ticket row, checks the move against the transition table, writes the
ticket, a ``TicketEvent`` and the history row in one transaction.
"""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core.errors import Conflict, InvalidTransition, ValidationFailed
from kefu.core.history import check_version, save_attributed
from kefu.core.sequences import next_number
from kefu.tickets import sla, workflow
from kefu.tickets.models import Channel, Priority, Ticket, TicketEvent, TicketType

SUBJECT_REQUIRED = _("请填写问题摘要。")
SOLUTION_REQUIRED = _("请填写解决方案和处理结果。")
STALE_VERSION = _("工单已被他人修改（当前版本 %(current)s，您提交的是 %(given)s），请刷新后重试。")
REOPEN_WINDOW_PASSED = _("工单已超过 %(days)s 天的重开期限，请新建工单并关联原工单。")
ASSET_NOT_OWNED = _("该设备不属于这个客户。")


def _event(ticket, actor, verb, summary, *, customer_visible=False, expected=None, at=None, **data):
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, verb=verb, summary=str(summary), at=at or timezone.now(),
        customer_visible=customer_visible, expected_completion_at=expected, data=data,
    )


def _save(ticket, actor, fields, now=None):
    # The history row carries the business time (now=), not the time the code ran.
    ticket.version += 1
    return save_attributed(ticket, actor, at=now, update_fields=[*fields, "version", "updated_at"])


def _name(user):
    profile = getattr(user, "staff", None)
    return profile.display_name if profile else user.get_username()


def _locked(ticket, version=None):
    row = Ticket.objects.select_for_update(of=("self",)).select_related("sla_policy").get(pk=ticket.pk)
    check_version(row, version, STALE_VERSION)
    return row


@transaction.atomic
def ticket_create(*, actor, customer, channel, ticket_type, priority, subject, description="",
                  contact=None, asset=None, department=None, service_mode=None, occurred_at=None,
                  environment="", error_shown="", customer_expects_at=None, idempotency_key=None,
                  now=None):
    """Take a ticket in: number CS+YYYYMM+seq, SLA deadlines from the matching policy.

    With ``idempotency_key`` (a channel message id or an Idempotency-Key header) the same key
    returns the ticket created the first time instead of a second one.
    """
    if idempotency_key:
        existing = Ticket.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    subject = (subject or "").strip()
    if not subject:
        raise ValidationFailed(fields={"subject": [SUBJECT_REQUIRED]})
    if asset is not None and asset.customer_id != customer.pk:
        raise ValidationFailed(fields={"asset": [ASSET_NOT_OWNED]})
    for value, model, name in ((channel, Channel, "channel"), (ticket_type, TicketType, "ticket_type"),
                               (priority, Priority, "priority")):
        if not isinstance(value, model):
            raise ValidationFailed(fields={name: [gettext("请选择有效的选项。")]})
    now = now or timezone.now()
    policy = sla.select_policy(priority=priority, technical=ticket_type.is_technical,
                               customer_kind=customer.kind)
    resolve_due = sla.resolve_due(policy, now)
    ticket = Ticket(
        number=next_number("CS", timezone.localtime(now).strftime("%Y%m")),
        customer=customer, contact=contact, asset=asset, channel=channel, ticket_type=ticket_type,
        priority=priority, department=department or ticket_type.default_department,
        service_mode=service_mode, subject=subject[:200], description=description,
        occurred_at=occurred_at, environment=environment, error_shown=error_shown,
        in_warranty=asset.in_warranty if asset is not None else None,
        customer_expects_at=customer_expects_at, sla_policy=policy,
        response_due_at=sla.response_due(policy, now), resolve_due_at=resolve_due,
        resolve_warn_at=sla.warn_at(policy, now, resolve_due),
        created_at=now, created_by=actor, idempotency_key=idempotency_key or None,
    )
    try:
        with transaction.atomic():
            save_attributed(ticket, actor, at=now)
    except IntegrityError:
        # A concurrent intake with the same key won the race: hand back its ticket.
        if idempotency_key:
            return Ticket.objects.get(idempotency_key=idempotency_key)
        raise
    _event(ticket, actor, "created", gettext("受理工单"), at=now)
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
    row = _locked(ticket, version)
    to = workflow.target(row, "assign")
    previous = row.owner
    row.owner, row.status = owner, to
    _save(row, actor, ["owner", "status"], now)
    if previous is None:
        summary = gettext("派单给 %(owner)s") % {"owner": _name(owner)}
    else:
        summary = gettext("由 %(old)s 转派给 %(owner)s") % {"old": _name(previous), "owner": _name(owner)}
    _event(row, actor, "assigned", summary, at=now, owner=owner.pk, reason=reason)
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


@transaction.atomic
def ticket_resolve(*, actor, ticket, solution, result, version=None, now=None):
    if not (solution or "").strip() or not (result or "").strip():
        raise ValidationFailed(fields={"solution": [SOLUTION_REQUIRED]})
    row = _locked(ticket, version)
    row.status = workflow.target(row, "resolve")
    row.resolved_at = now or timezone.now()
    _save(row, actor, ["status", "resolved_at"], now)
    _event(row, actor, "resolved", gettext("已解决：%(solution)s") % {"solution": solution},
           customer_visible=True, solution=solution, result=result, at=now)
    return row


@transaction.atomic
def ticket_confirm(*, actor, ticket, how, version=None, now=None):
    """The customer confirms the fix (B9: no 假性解决); until then the ticket stays resolved."""
    row = _locked(ticket, version)
    row.status = workflow.target(row, "confirm")
    _save(row, actor, ["status"], now)
    _event(row, actor, "confirmed", gettext("客户确认已解决（%(how)s）") % {"how": how}, how=how, at=now)
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
    """重开 within the window restarts the resolution clock and is counted (reopen rate)."""
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [gettext("请填写重开原因。")]})
    row = _locked(ticket, version)
    to = workflow.target(row, "reopen")
    now = now or timezone.now()
    if row.resolved_at and now - row.resolved_at > reopen_window():
        raise InvalidTransition(gettext(REOPEN_WINDOW_PASSED) % {"days": reopen_window().days})
    row.status = to
    row.reopen_count += 1
    row.resolved_at = row.closed_at = None
    row.resolve_due_at = sla.resolve_due(row.sla_policy, now)
    row.resolve_warn_at = sla.warn_at(row.sla_policy, now, row.resolve_due_at)
    row.sla_warned_at = row.sla_breached_at = None  # a new resolution clock warns afresh
    _save(row, actor, ["status", "reopen_count", "resolved_at", "closed_at", "resolve_due_at",
                       "resolve_warn_at", "sla_warned_at", "sla_breached_at"], now)
    _event(row, actor, "reopened", gettext("重开：%(reason)s") % {"reason": reason}, reason=reason, at=now)
    return row


ALREADY_CLAIMED = _("工单 %(number)s 已被他人接单。")


def ticket_claim(*, actor, ticket, now=None):
    """抢单: one conditional UPDATE; of any number of concurrent claims exactly one wins."""
    with transaction.atomic():
        won = Ticket.objects.filter(
            pk=ticket.pk, owner__isnull=True, status__in=workflow.TRANSITIONS["claim"][0],
        ).update(owner=actor, status=Ticket.Status.IN_PROGRESS, version=F("version") + 1,
                 updated_at=now or timezone.now())
        if not won:
            current = Ticket.objects.get(pk=ticket.pk)
            if current.owner_id is not None:
                raise Conflict(gettext(ALREADY_CLAIMED) % {"number": current.number})
            workflow.target(current, "claim")  # raises InvalidTransition with the status
        row = Ticket.objects.get(pk=ticket.pk)
        save_attributed(row, actor, at=now, update_fields=["updated_at"])  # the claim's history row
        _event(row, actor, "claimed", gettext("%(owner)s 抢单") % {"owner": _name(actor)}, at=now)
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
    return row


CHASES_PER_PRIORITY_STEP = 2
ESCALATION_TIERS = {1: _("一线客服"), 2: _("二线热线工程师"), 3: _("技术中心/专家")}


@transaction.atomic
def ticket_escalate(*, actor, ticket, reason, major=False, version=None, now=None):
    """疑难升级: tier 1 agent → tier 2 hotline engineer → tier 3 technical centre (B8)."""
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [gettext("请填写升级原因。")]})
    row = _locked(ticket, version)
    if not row.is_open:
        raise InvalidTransition(gettext("只有处理中的工单可以升级。"))
    if row.escalation_tier >= max(ESCALATION_TIERS):
        raise InvalidTransition(gettext("工单已在最高升级层级。"))
    row.escalation_tier += 1
    _save(row, actor, ["escalation_tier"], now)
    _event(row, actor, "escalated", gettext("升级至%(tier)s：%(reason)s") % {
        "tier": ESCALATION_TIERS[row.escalation_tier], "reason": reason}, reason=reason, major=major, at=now)
    return row


@transaction.atomic
def ticket_add_note(*, actor, ticket, text, customer_visible=False, expected_completion_at=None,
                    now=None):
    """进展: a progress note; customer-visible ones are the 客户同步记录 and count as the first
    response when none has been given yet."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={"text": [gettext("请填写进展内容。")]})
    row = _locked(ticket)
    now = now or timezone.now()
    if customer_visible and row.first_responded_at is None:
        row.first_responded_at = now
        _save(row, actor, ["first_responded_at"], now)
    return _event(row, actor, "note", text, customer_visible=customer_visible,
                  expected=expected_completion_at, at=now)
