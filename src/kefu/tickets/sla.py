"""SLA arithmetic for tickets: choosing the policy, computing and shifting the deadlines.

Deadlines are computed once (at intake, and when a policy-relevant field changes), stored in
indexed columns, and shifted on resume by the time spent on hold, measured on the same clock
as the policy, so queues and the SLA monitor never recompute them.
"""

import datetime
import time

from django.utils.translation import gettext_lazy as _

from kefu.core import workcalendar
from kefu.core.errors import ValidationFailed
from kefu.tickets.models import SlaPolicy

NO_POLICY = _("没有适用的 SLA 规则（优先级 %(priority)s）：请管理员在“SLA 时效规则”中配置。")


# Active policies, read once per process and kept for POLICY_CACHE_SECONDS: intake is the hot
# path and policies change rarely. A save or delete in this process clears the cache at once
# (signals in apps.py); other processes pick the change up within the TTL.
POLICY_CACHE_SECONDS = 60
_policies = {"at": None, "rows": ()}


def clear_policy_cache(**_kwargs):
    _policies["at"] = None


def _active_policies():
    now = time.monotonic()
    if _policies["at"] is None or now - _policies["at"] > POLICY_CACHE_SECONDS:
        _policies["rows"] = tuple(SlaPolicy.objects.filter(is_active=True).order_by("pk"))
        _policies["at"] = now
    return _policies["rows"]


def select_policy(*, priority, technical: bool, customer_kind: str):
    """The most specific active policy: exact kind over any kind, exact technical over any."""
    best, best_score = None, -1
    for policy in _active_policies():
        if policy.priority_id != priority.pk:
            continue
        if policy.technical is not None and policy.technical != technical:
            continue
        if policy.customer_kind and policy.customer_kind != customer_kind:
            continue
        score = (2 if policy.customer_kind else 0) + (1 if policy.technical is not None else 0)
        if score > best_score:  # rows come in pk order: the oldest wins a tie
            best, best_score = policy, score
    if best is None:
        raise ValidationFailed(str(NO_POLICY) % {"priority": priority})
    return best


def _add(start, amount, unit, clock):
    if unit == SlaPolicy.Unit.WORKING_DAYS:
        return workcalendar.add_working_days(start, amount)
    delta = datetime.timedelta(minutes=amount) if unit == SlaPolicy.Unit.MINUTES else datetime.timedelta(hours=amount)
    return workcalendar.add_time(start, delta, working=clock == SlaPolicy.Clock.WORKING)


def response_due(policy, start):
    return _add(start, policy.response_amount, policy.response_unit, policy.clock)


def resolve_due(policy, start):
    return _add(start, policy.resolve_amount, policy.resolve_unit, policy.clock)


def _uses_calendar(policy):
    return policy.clock == SlaPolicy.Clock.WORKING or SlaPolicy.Unit.WORKING_DAYS in (
        policy.response_unit, policy.resolve_unit,
    )


def paused_duration(policy, held_from, resumed_at):
    """Time on hold as the policy's clock counts it (working time for calendar policies)."""
    if _uses_calendar(policy):
        return workcalendar.working_time_between(held_from, resumed_at)
    return resumed_at - held_from


def shift(policy, deadline, paused):
    """Move a stored deadline later by ``paused`` on the policy's clock."""
    if deadline is None or paused <= datetime.timedelta(0):
        return deadline
    if _uses_calendar(policy):
        return workcalendar.add_working_time(deadline, paused)
    return deadline + paused


def warn_at(policy, start, due):
    """When ``warn_ratio`` of the time from ``start`` to ``due`` has passed, on the policy's clock."""
    ratio = float(policy.warn_ratio)
    if _uses_calendar(policy):
        total = workcalendar.working_time_between(start, due)
        return workcalendar.add_working_time(start, total * ratio)
    return start + (due - start) * ratio
