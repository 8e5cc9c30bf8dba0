"""Ticket pages: the agent's queues and the ticket with its actions.
Thin: parse → access helper → service → render."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from kefu.core.errors import DomainError, ValidationFailed
from kefu.tickets import services, workflow
from kefu.tickets.forms import (
    ActionForm,
    ConfirmForm,
    HoldForm,
    NoteForm,
    QueueFilterForm,
    ReopenForm,
    ResolveForm,
)
from kefu.tickets.models import Ticket
from kefu.tickets.queries import get_ticket_for_user

PAGE_SIZE = 25
DUE_SOON_WITHIN = datetime.timedelta(hours=4)

QUEUES = {
    "mine": gettext_lazy("我的工单"),
    "pool": gettext_lazy("待抢单"),
    "due_soon": gettext_lazy("即将超时"),
    "overdue": pgettext_lazy("queue", "已超时"),  # the field label reads "Breached at"
    "on_hold": gettext_lazy("挂起"),
    "awaiting": gettext_lazy("待确认"),
}

MISSING_VERSION = gettext_lazy("页面缺少版本信息，请刷新页面后重试。")
ACTION_DONE = gettext_lazy("%(action)s：操作成功。")
NOTE_ADDED = gettext_lazy("已添加进展。")


def _queue(name, base, user, now):
    if name == "mine":
        return base.mine(user)
    if name == "pool":
        return base.pool()
    if name == "due_soon":
        return base.due_soon(now, DUE_SOON_WITHIN)
    if name == "overdue":
        return base.overdue(now)
    if name == "on_hold":
        return base.on_hold()
    return base.awaiting_confirmation()


def _cursor(request):
    """The keyset cursor (due, id); None for the first page, also when garbled.
    ``after_due`` is empty for tickets without a deadline (they sort last)."""
    raw_id = request.GET.get("after_id") or ""
    if not raw_id.isdigit():
        return None
    raw_due = request.GET.get("after_due") or ""
    if not raw_due:
        return None, int(raw_id)
    try:
        due = parse_datetime(raw_due)
    except ValueError:
        return None
    if due is None:
        return None
    if timezone.is_naive(due):
        due = timezone.make_aware(due)
    return due, int(raw_id)


def _duration(delta):
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)s 天 %(hours)s 小时") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s 小时 %(minutes)s 分钟") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s 分钟") % {"minutes": minutes}


def sla_state(due, now, *, running=True):
    """(css class, label) of a deadline: red when passed, amber within 4 hours, green otherwise.
    A ticket on hold shows its deadline without a colour: the clock is stopped."""
    if due is None:
        return "", "—"
    if not running:
        return "", _("已暂停计时")
    left = due - now
    if left <= datetime.timedelta(0):
        hours = int(-left.total_seconds() // 3600)
        if hours:
            return "sla-red", _("已超时 %(hours)s 小时") % {"hours": hours}
        return "sla-red", _("已超时 %(minutes)s 分钟") % {
            "minutes": int(-left.total_seconds() // 60)}
    css = "sla-amber" if left <= DUE_SOON_WITHIN else "sla-green"
    return css, _("剩余 %(left)s") % {"left": _duration(left)}


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_queue(request):
    name = request.GET.get("q") or "mine"
    if name not in QUEUES:
        name = "mine"
    now = timezone.now()
    base = Ticket.objects.visible_to(request.user)  # evaluates the user's scope once
    counts = {key: _queue(key, base, request.user, now).count() for key in QUEUES}
    qs = _queue(name, base, request.user, now)
    form = QueueFilterForm(request.GET)
    if not form.is_valid():
        qs = qs.none()  # a filter that cannot be read must not silently list everything
    else:
        data = form.cleaned_data
        if data["ticket_type"]:
            qs = qs.filter(ticket_type=data["ticket_type"])
        if data["priority"]:
            qs = qs.filter(priority=data["priority"])
        if data["status"]:
            qs = qs.filter(status=data["status"])
    cursor = _cursor(request)
    if cursor is not None:
        qs = qs.after(*cursor)
    rows = list(
        qs.by_deadline()
        .select_related("customer", "priority", "ticket_type", "owner", "owner__staff")
        .defer("customer__id_number", "customer__notes", "description")[:PAGE_SIZE + 1]
    )
    next_query = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        query = request.GET.copy()
        query["after_due"] = last.resolve_due_at.isoformat() if last.resolve_due_at else ""
        query["after_id"] = str(last.pk)
        next_query = query.urlencode()
    for ticket in rows:
        ticket.sla_css, ticket.sla_label = sla_state(
            ticket.resolve_due_at, now, running=ticket.status != Ticket.Status.ON_HOLD)
    filters = request.GET.copy()
    for key in ("q", "after_due", "after_id"):
        filters.pop(key, None)
    tabs = [{"name": key, "label": label, "count": counts[key], "active": key == name}
            for key, label in QUEUES.items()]
    return render(request, "tickets/queue.html", {
        "tabs": tabs, "queue": name, "tickets": rows, "form": form,
        "next_query": next_query, "filters": filters.urlencode(),
    })


# action: (form, permission the access helper checks)
ACTIONS = {
    "claim": (ActionForm, "tickets.claim_ticket"),
    "hold": (HoldForm, "tickets.change_ticket"),
    "resume": (ActionForm, "tickets.change_ticket"),
    "resolve": (ResolveForm, "tickets.change_ticket"),
    "confirm": (ConfirmForm, "tickets.change_ticket"),
    "close": (ActionForm, "tickets.change_ticket"),
    "reopen": (ReopenForm, "tickets.change_ticket"),
    "note": (NoteForm, "tickets.change_ticket"),
}


def _run(action, *, actor, ticket, version, data):
    if action == "claim":
        return services.ticket_claim(actor=actor, ticket=ticket)
    if action == "note":
        return services.ticket_add_note(actor=actor, ticket=ticket, text=data["text"],
                                        customer_visible=data["customer_visible"])
    service = getattr(services, f"ticket_{action}")
    return service(actor=actor, ticket=ticket, version=version, **data)


def _action_label(action):
    return _("添加进展") if action == "note" else str(workflow.ACTION_LABELS[action])


def _action_forms(user, ticket, bound=None):
    """The forms of the actions the ticket's status allows and the user may do; a form that just
    failed stays on the page with its message even if the status no longer offers it."""
    allowed = set(workflow.allowed_actions(ticket)) | {"note"}
    if ticket.owner_id is not None:
        allowed.discard("claim")
    result = []
    for action, (form_class, perm) in ACTIONS.items():
        if bound is not None and bound.action == action:
            form = bound
        elif action in allowed and user.has_perm(perm):
            form = form_class(action=action)
        else:
            continue
        result.append({"name": action, "label": _action_label(action), "form": form})
    return result


def _detail_context(request, ticket, bound=None):
    now = timezone.now()
    running = ticket.status in (Ticket.Status.NEW, Ticket.Status.UNASSIGNED,
                                Ticket.Status.IN_PROGRESS)
    resolve_css, resolve_label = sla_state(ticket.resolve_due_at, now, running=running)
    if ticket.first_responded_at:
        response_css, response_label = "", _("已响应")
    else:
        response_css, response_label = sla_state(ticket.response_due_at, now, running=running)
    return {
        "ticket": ticket,
        "events": ticket.events.select_related("actor", "actor__staff")[:100],
        "actions": _action_forms(request.user, ticket, bound),
        "resolve_css": resolve_css, "resolve_label": resolve_label,
        "response_css": response_css, "response_label": response_label,
    }


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_detail(request, pk):
    ticket = get_ticket_for_user(request.user, pk)
    if request.htmx and request.htmx.target == "timeline":
        events = ticket.events.select_related("actor", "actor__staff")[:100]
        return render(request, "tickets/detail.html#timeline", {"ticket": ticket, "events": events})
    return render(request, "tickets/detail.html", _detail_context(request, ticket))


def _form_errors(form, exc):
    """Put a service's field errors next to the form's fields (the rest on top)."""
    for name, msgs in exc.fields.items():
        for msg in msgs if isinstance(msgs, list | tuple) else [msgs]:
            form.add_error(name if name in form.fields else None, str(msg))
    if not exc.fields:
        form.add_error(None, str(exc.message))


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404
    form_class, perm = ACTIONS[action]
    ticket = get_ticket_for_user(request.user, pk, perm)
    form = form_class(request.POST, action=action)
    form.action = action
    raw = request.POST.get("version", "")
    version = int(raw) if raw.isdigit() else None
    status = 400
    if version is None:
        form.add_error(None, MISSING_VERSION)
    elif form.is_valid():
        try:
            _run(action, actor=request.user, ticket=ticket, version=version,
                 data=form.cleaned_data)
        except DomainError as exc:
            _form_errors(form, exc)
            status = 400 if isinstance(exc, ValidationFailed) else exc.status
        else:
            if action == "note":
                messages.success(request, NOTE_ADDED)
            else:
                messages.success(request, ACTION_DONE % {"action": _action_label(action)})
            return redirect("tickets:detail", pk=ticket.pk)
    return render(request, "tickets/detail.html",
                  _detail_context(request, ticket, bound=form), status=status)
