"""Ticket pages: the agent's queues and the ticket with its actions.
Thin: parse → access helper → service → render."""

import datetime
import html

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from kefu.accounts.models import person_name
from kefu.core.compiled import Compiled
from kefu.core.errors import DomainError, ValidationFailed
from kefu.tickets import config, keyset, services, workflow
from kefu.tickets.confirmation import confirmation_url
from kefu.tickets.forms import (
    ActionForm,
    AssignForm,
    BulkForm,
    ChaseForm,
    ConfirmForm,
    EscalateForm,
    FollowUpForm,
    HandoffForm,
    HoldForm,
    MajorForm,
    NoteForm,
    QueueFilterForm,
    ReopenForm,
    ResolveForm,
    SavedFilterForm,
)
from kefu.tickets.models import SavedFilter, Ticket
from kefu.tickets.phrases import phrases_by_kind
from kefu.tickets.queries import LIST_FIELDS, attach_related, count_each, get_ticket_for_user

PAGE_SIZE = 25
DUE_SOON_WITHIN = datetime.timedelta(hours=4)

QUEUES = {
    "mine": gettext_lazy("我的工单"),
    "pool": gettext_lazy("待抢单"),
    "due_soon": gettext_lazy("即将超时"),
    "overdue": pgettext_lazy("queue", "已超时"),  # the field label reads "Breached at"
    "on_hold": gettext_lazy("挂起"),
    "awaiting": gettext_lazy("待确认"),
    "major": gettext_lazy("重大问题"),
}

MISSING_VERSION = gettext_lazy("页面缺少版本信息，请刷新页面后重试。")
ACTION_DONE = gettext_lazy("%(action)s：操作成功。")
NOTE_ADDED = gettext_lazy("已添加进展。")
SAVED_FILTERS_MAX = 20


def _queue(name, base, user, now):
    """One of the QUEUES; ``base`` is the user's visible tickets, ``visible_to(user)``."""
    if name == "mine":
        # A ticket the user owns is in their scope (TicketScope.q: their own, or ...): the
        # scope's OR over owner, taker-in and department only made PostgreSQL combine four
        # indexes to count what the owner's index holds (22 -> 2 ms at one million tickets).
        return Ticket.objects.mine(user)
    if name == "pool":
        return base.pool()
    if name == "due_soon":
        return base.due_soon(now, DUE_SOON_WITHIN)
    if name == "overdue":
        return base.overdue(now)
    if name == "on_hold":
        return base.on_hold()
    if name == "major":
        return base.major()
    return base.awaiting_confirmation()


def _day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


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


# Every queue page lists the agent's saved filters: the statement is built once per process.
_saved_filters = Compiled(lambda user_id: SavedFilter.objects.filter(user_id=user_id).order_by("name", "pk"),
                         user_id=-918_273_645)


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_queue(request):
    name = request.GET.get("q") or "mine"
    if name not in QUEUES:
        name = "mine"
    now = timezone.now()
    qs = _queue(name, Ticket.objects.visible_to(request.user), request.user, now)
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
        if data["region"]:
            qs = qs.filter(customer__region=data["region"])
        if data["department"]:
            qs = qs.filter(department=data["department"])
        if data["created_from"]:
            qs = qs.filter(created_at__gte=_day_start(data["created_from"]))
        if data["created_to"]:
            qs = qs.filter(created_at__lt=_day_start(data["created_to"] + datetime.timedelta(days=1)))
    rows = attach_related(keyset.page(qs.only(*LIST_FIELDS), _cursor(request),
                                      PAGE_SIZE + 1), users=[request.user])
    next_query = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        query = request.GET.copy()
        query["after_due"] = last.resolve_due_at.isoformat() if last.resolve_due_at else ""
        query["after_id"] = str(last.pk)
        next_query = query.urlencode()
    # What each row shows, worked out here once instead of by template lookups per cell
    # (get_status_display, {% url %} and the date filter were a third of the page's time).
    can_assign = request.user.has_perm("tickets.assign_ticket")
    labels = {value: str(label) for value, label in Ticket.Status.choices}
    detail_base = reverse("tickets:queue")  # a ticket's page is <queue>/<pk>/
    for ticket in rows:
        ticket.sla_css, ticket.sla_label = sla_state(
            ticket.resolve_due_at, now, running=ticket.status != Ticket.Status.ON_HOLD)
        ticket.row = _queue_row(ticket, can_assign, f"{detail_base}{ticket.pk}/", labels[ticket.status])
    filters = request.GET.copy()
    for key in ("q", "after_due", "after_id"):
        filters.pop(key, None)
    saved_query = request.GET.copy()
    for key in ("after_due", "after_id"):
        saved_query.pop(key, None)
    tabs = [{"name": key, "label": label, "active": key == name} for key, label in QUEUES.items()]
    return render(request, "tickets/queue.html", {
        "tabs": tabs, "queue": name, "tickets": rows, "form": form,
        "next_query": next_query, "filters": filters.urlencode(),
        "saved_filters": _saved_filters.fetch(user_id=request.user.pk),
        "saved_query": saved_query.urlencode(),
        "bulk_form": BulkForm() if can_assign else None,
    })


def _minute(moment):
    """A time as the pages show it: local, to the minute (the ``date:"Y-m-d H:i"`` filter)."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _queue_row(t, pick, url, status_label):
    """One queue row's ``<tr>``. Written here rather than in the template: 25 rows of eight
    cells were some 200 template variables, each resolved and escaped through Django's lazy
    string wrapper, about a fifth of the page's time; ``html.escape`` is what that wrapper
    ends up calling."""
    esc = html.escape
    owner = person_name(t.owner) if t.owner else "—"
    due_title = _minute(t.resolve_due_at) if t.resolve_due_at else ""
    box = (f'<td><input type="checkbox" class="form-check-input bulk-pick" name="tickets" '
           f'value="{t.pk}" aria-label="{esc(t.number)}"></td>') if pick else ""
    major = ""
    if t.is_major:
        label = _("重大")  # outside the f-string, where makemessages finds it
        major = f' <span class="badge text-bg-danger">{esc(label)}</span>'
    return mark_safe(
        f'<tr data-ticket="{t.pk}">{box}<td><a href="{esc(url)}">{esc(t.number)}</a>{major}</td>'
        f"<td>{esc(t.subject)}</td><td>{esc(t.customer.display_name)}</td>"
        f"<td>{esc(t.priority.name)}</td><td>{esc(status_label)}</td><td>{esc(owner)}</td>"
        f'<td class="sla {t.sla_css}" title="{esc(due_title)}">{esc(str(t.sla_label))}</td></tr>')


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def queue_counts(request):
    """The number on each queue tab, fetched by the queue page after it has shown its rows
    (htmx, on load and every minute) and swapped into the tabs out of band: seven counts are
    most of a page's database time, and the agent should see the tickets first."""
    now = timezone.now()
    base = Ticket.objects.visible_to(request.user)  # evaluates the user's scope once
    numbers = count_each([_queue(key, base, request.user, now) for key in QUEUES])
    counts = [{"name": key, "count": n} for key, n in zip(QUEUES, numbers, strict=True)]
    return render(request, "tickets/_queue_counts.html", {"counts": counts})


class Action:
    """An action on the ticket page: its form, the permission the access helper checks, the
    service it calls, and whether the service takes the page's ``version`` (optimistic lock)."""

    def __init__(self, form, perm="tickets.change_ticket", *, service=None, versioned=True,
                 label=None, fieldless=False, extra=None):
        self.form, self.perm, self.versioned, self.fieldless = form, perm, versioned, fieldless
        self.service_name, self._label, self.extra = service, label, extra

    def service(self, name):
        return getattr(services, self.service_name or f"ticket_{name}")

    def label(self, name, ticket=None):
        if callable(self._label):
            return str(self._label(ticket))
        return str(self._label) if self._label else str(workflow.ACTION_LABELS[name])


ACTIONS = {
    "claim": Action(ActionForm, "tickets.claim_ticket", versioned=False, fieldless=True),
    "queue": Action(ActionForm, "tickets.assign_ticket", fieldless=True),
    "assign": Action(AssignForm, "tickets.assign_ticket"),
    "hold": Action(HoldForm),
    "resume": Action(ActionForm, fieldless=True),
    "resolve": Action(ResolveForm),
    "confirm": Action(ConfirmForm),
    "close": Action(ActionForm, fieldless=True),
    "reopen": Action(ReopenForm),
    "escalate": Action(EscalateForm, label=gettext_lazy("升级")),
    "chase": Action(ChaseForm, versioned=False, label=gettext_lazy("登记催单")),
    "handoff": Action(HandoffForm, label=gettext_lazy("转交热线工程师")),
    "handoff_accept": Action(ActionForm, "tickets.claim_ticket", versioned=False, fieldless=True,
                             label=gettext_lazy("接手转交")),
    "flag_major": Action(MajorForm, extra=lambda ticket: {"major": not ticket.is_major},
                         label=lambda ticket: MAJOR_LABELS[bool(ticket and ticket.is_major)]),
    "follow_up": Action(FollowUpForm, "tickets.add_ticket", versioned=False,
                        label=gettext_lazy("复发新建")),
    "note": Action(NoteForm, service="ticket_add_note", versioned=False,
                   label=gettext_lazy("添加进展")),
}
MAJOR_LABELS = {False: gettext_lazy("标记重大问题"), True: gettext_lazy("取消重大问题")}


def _offered(ticket, now):
    """The actions the ticket's status offers, beyond the transition table's. After the reopen
    window a comeback is a new linked ticket (复发新建), not a reopening."""
    offered = set(workflow.allowed_actions(ticket)) | {"note"}
    window_passed = ticket.resolved_at is not None and now - ticket.resolved_at > services.reopen_window()
    if ticket.owner_id is not None:
        offered.discard("claim")
    if ticket.is_open:
        offered |= {"chase", "flag_major"}
        offered.discard("handoff_accept")  # in the transition table, offered only when pending
        offered.add("handoff_accept" if ticket.handoff_due_at else "handoff")
        if ticket.escalation_tier < max(services.ESCALATION_TIERS):
            offered.add("escalate")
    elif ticket.status in services.FOLLOW_UP_FROM and window_passed:
        offered.add("follow_up")
        offered.discard("reopen")
    return offered


def _action_forms(user, ticket, bound=None):
    """The forms of the actions the ticket's status allows and the user may do; a form that just
    failed stays on the page with its message even if the status no longer offers it."""
    offered = _offered(ticket, timezone.now())
    result = []
    for name, action in ACTIONS.items():
        if bound is not None and bound.action == name:
            form = bound
        elif name in offered and user.has_perm(action.perm):
            form = action.form(action=name)
        else:
            continue
        result.append({"name": name, "label": action.label(name, ticket), "form": form,
                       "fieldless": action.fieldless, "open": form is bound})
    return result


TIMELINE_LENGTH = 100  # the newest events shown on the ticket page


def timeline_items(ticket):
    """The ticket page's timeline: the ``<li>`` of each of its newest events, written here as
    the queue rows are (fifty events were some 400 template variables, each resolved and escaped
    through Django's lazy-string wrapper: a fifth of the page's time). The actors come from the
    per-process people cache, not a join per page. None when the ticket has no events."""
    events = list(ticket.events.only("ticket_id", "at", "actor_id", "summary", "customer_visible",
                                     "expected_completion_at")[:TIMELINE_LENGTH])
    if not events:
        return None
    esc = html.escape
    people = config.people({e.actor_id for e in events if e.actor_id})
    said, system = _("%(actor)s：%(summary)s"), _("系统")
    synced = f' <span class="badge text-bg-info synced">{esc(_("已同步客户"))}</span>'
    items = []
    for e in events:
        actor = people.get(e.actor_id)
        who = (person_name(actor) or actor.get_username()) if actor else system
        line = said % {"actor": esc(who), "summary": esc(e.summary)}
        expected = ""
        if e.expected_completion_at:
            # The msgid outside the f-string, where makemessages finds it.
            note = _("预计完成 %(at)s") % {"at": _minute(e.expected_completion_at)}
            expected = f' <small class="text-muted">{esc(note)}</small>'
        items.append(
            f'<li class="ticket-event{" customer-visible" if e.customer_visible else ""}">'
            f'<span class="text-muted">{_minute(e.at)}</span> '
            f'{line}{synced if e.customer_visible else ""}{expected}</li>')
    return mark_safe("\n".join(items))


def _detail_context(request, ticket, bound=None):
    now = timezone.now()
    running = ticket.status in Ticket.RUNNING_STATUSES
    resolve_css, resolve_label = sla_state(ticket.resolve_due_at, now, running=running)
    if ticket.first_responded_at:
        response_css, response_label = "", _("已响应")
    else:
        response_css, response_label = sla_state(ticket.response_due_at, now, running=running)
    actions = _action_forms(request.user, ticket, bound)
    wants_phrases = any(a["name"] in ("note", "resolve") for a in actions)
    return {
        "ticket": ticket,
        "timeline": timeline_items(ticket),
        "actions": actions,
        "phrases": phrases_by_kind() if wants_phrases else [],
        "resolve_css": resolve_css, "resolve_label": resolve_label,
        "response_css": response_css, "response_label": response_label,
        "tier_label": services.ESCALATION_TIERS.get(ticket.escalation_tier, ""),
        "confirm_url": confirmation_url(ticket, request)
        if ticket.status == Ticket.Status.RESOLVED and request.user.has_perm("tickets.change_ticket") else "",
    }


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
def ticket_detail(request, pk):
    ticket = get_ticket_for_user(request.user, pk)
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "tickets/detail.html#timeline", {"timeline": timeline_items(ticket)})
    return render(request, "tickets/detail.html", _detail_context(request, ticket))


def form_errors(form, exc):
    """Put a service's field errors next to the form's fields (the rest on top)."""
    for name, msgs in exc.fields.items():
        for msg in msgs if isinstance(msgs, list | tuple) else [msgs]:
            form.add_error(name if name in form.fields else None, str(msg))
    if not exc.fields:
        form.add_error(None, str(exc.message))


def _service_kwargs(action, form, version, ticket):
    data = dict(form.cleaned_data)
    if action.versioned:
        data["version"] = version
    if action.extra:
        data.update(action.extra(ticket))
    return data


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def ticket_action(request, pk, action):
    """One action's form. From htmx the ticket's part of the page comes back (header, timeline
    and actions refreshed, the outcome on top); without it, a redirect or the page with errors."""
    if action not in ACTIONS:
        raise Http404
    spec = ACTIONS[action]
    ticket = get_ticket_for_user(request.user, pk, spec.perm)
    form = spec.form(request.POST, action=action)
    form.action = action
    raw = request.POST.get("version", "")
    version = int(raw) if raw.isdigit() else None
    status = 400
    if version is None:
        form.add_error(None, MISSING_VERSION)
    elif form.is_valid():
        try:
            result = spec.service(action)(actor=request.user, ticket=ticket,
                                          **_service_kwargs(spec, form, version, ticket))
        except DomainError as exc:
            form_errors(form, exc)
            status = 400 if isinstance(exc, ValidationFailed) else exc.status
        else:
            done = NOTE_ADDED if action == "note" else ACTION_DONE % {"action": spec.label(action, ticket)}
            if isinstance(result, Ticket) and result.pk != ticket.pk:  # 复发新建: open the new one
                messages.success(request, _("已新建关联工单 %(number)s。") % {"number": result.number})
                target = reverse("tickets:detail", args=[result.pk])
                if request.htmx:
                    return HttpResponse(status=204, headers={"HX-Redirect": target})
                return redirect(target)
            if not request.htmx:
                messages.success(request, done)
                return redirect("tickets:detail", pk=ticket.pk)
            fresh = get_ticket_for_user(request.user, pk, None)
            context = _detail_context(request, fresh)
            context["flash"] = done
            return render(request, "tickets/detail.html#page", context)
    template = "tickets/detail.html#page" if request.htmx else "tickets/detail.html"
    return render(request, template, _detail_context(request, ticket, bound=form), status=status)


def _safe_next(request, fallback):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return fallback


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def saved_filter_create(request):
    form = SavedFilterForm(request.POST)
    queue_url = reverse("tickets:queue")
    if not form.is_valid():
        messages.error(request, _("请填写筛选名称（最多 40 个字）。"))
        return redirect(_safe_next(request, queue_url))
    data = form.cleaned_data
    if SavedFilter.objects.filter(user=request.user).count() >= SAVED_FILTERS_MAX:
        messages.error(request, _("常用筛选最多保存 %(n)s 个，请先删除不用的。") % {"n": SAVED_FILTERS_MAX})
    else:
        SavedFilter.objects.update_or_create(user=request.user, name=data["name"].strip(),
                                             defaults={"query": data["query"]})
        messages.success(request, _("已保存常用筛选“%(name)s”。") % {"name": data["name"].strip()})
    return redirect(f"{queue_url}?{data['query']}")


@login_required
@permission_required("tickets.view_ticket", raise_exception=True)
@require_POST
def saved_filter_delete(request, filter_id):
    saved = get_object_or_404(SavedFilter, pk=filter_id, user=request.user)
    saved.delete()
    messages.success(request, _("已删除常用筛选“%(name)s”。") % {"name": saved.name})
    return redirect("tickets:queue")


@login_required
@permission_required("tickets.assign_ticket", raise_exception=True)
@require_POST
def bulk_action(request):
    """批量派单 / 改优先级: each ticket is done on its own (its own access check, its own
    transaction); the page lists every ticket's outcome, successes and refusals alike."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_safe_next(request, reverse("tickets:queue")))
    data = form.cleaned_data
    outcomes = []
    for pk in data["tickets"]:
        outcome = {"pk": pk, "number": "", "ok": False, "message": ""}
        try:
            ticket = get_ticket_for_user(request.user, pk, "tickets.assign_ticket")
            outcome["number"] = ticket.number
            if data["action"] == "assign":
                services.ticket_assign(actor=request.user, ticket=ticket, owner=data["owner"],
                                       reason=_("批量派单"))
                outcome["message"] = _("已派给 %(owner)s") % {"owner": data["owner"].staff.display_name}
            else:
                services.ticket_set_priority(actor=request.user, ticket=ticket,
                                             priority=data["priority"])
                outcome["message"] = _("优先级改为 %(priority)s") % {"priority": data["priority"]}
            outcome["ok"] = True
        except DomainError as exc:
            outcome["message"] = str(exc.message) if not exc.fields else "；".join(
                str(m) for msgs in exc.fields.values() for m in msgs)
        outcomes.append(outcome)
    done = sum(o["ok"] for o in outcomes)
    return render(request, "tickets/bulk_result.html", {
        "outcomes": outcomes, "done": done, "failed": len(outcomes) - done,
        "back": _safe_next(request, reverse("tickets:queue")),
    })
