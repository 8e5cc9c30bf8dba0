"""The ticket transition table: the only moves a ticket can make.

Each action names the statuses it may start from and the status it leads to. Anything else is
an ``InvalidTransition`` naming the ticket's status and the action, never a silent no-op.
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.core.errors import InvalidTransition
from kefu.tickets.models import Ticket

S = Ticket.Status

TRANSITIONS = {
    # action: (allowed from, leads to)
    "queue": ({S.NEW}, S.UNASSIGNED),
    "assign": ({S.NEW, S.UNASSIGNED, S.IN_PROGRESS, S.ON_HOLD}, S.IN_PROGRESS),
    "claim": ({S.NEW, S.UNASSIGNED}, S.IN_PROGRESS),
    "hold": ({S.IN_PROGRESS}, S.ON_HOLD),
    "resume": ({S.ON_HOLD}, S.IN_PROGRESS),
    "resolve": ({S.IN_PROGRESS}, S.RESOLVED),
    "confirm": ({S.RESOLVED}, S.AWAITING_CALLBACK),
    "close": ({S.AWAITING_CALLBACK}, S.CLOSED),
    "reopen": ({S.RESOLVED, S.AWAITING_CALLBACK, S.CLOSED}, S.IN_PROGRESS),
    # 接手转交 (B6): an engineer takes a handed-off ticket; not on hold (resume does that).
    "handoff_accept": ({S.NEW, S.UNASSIGNED, S.IN_PROGRESS}, S.IN_PROGRESS),
}

ACTION_LABELS = {
    "queue": _("转入待派单"), "assign": _("派单"), "claim": _("抢单"), "hold": pgettext_lazy("action", "挂起"),
    "resume": _("恢复处理"), "resolve": _("解决"), "confirm": _("客户确认"), "close": _("关闭"),
    "reopen": _("重开"), "handoff_accept": _("接手转交"),
}

NOT_ALLOWED = _("工单 %(number)s 当前状态为“%(status)s”，不能“%(action)s”。")


def target(ticket, action):
    """The status ``action`` leads to from the ticket's status, or InvalidTransition."""
    allowed_from, to = TRANSITIONS[action]
    if ticket.status not in allowed_from:
        raise InvalidTransition(
            str(NOT_ALLOWED) % {
                "number": ticket.number, "status": ticket.get_status_display(),
                "action": ACTION_LABELS[action],
            }
        )
    return to


def allowed_actions(ticket):
    return [a for a, (allowed_from, _to) in TRANSITIONS.items() if ticket.status in allowed_from]
