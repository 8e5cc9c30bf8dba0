"""周复盘 (B14) pages: the weekly review and its Excel export.

Who: ``tickets.view_all_tickets``. The review counts every department's and region's tickets
and lists complaints with customer names, which is exactly what that permission already lets
its holders (dispatchers/group leaders, supervisors, managers, admins) see in the queues; agents
and engineers, scoped to their own tickets, get 403. No new permission, so no role change.
"""

import datetime
import io

import openpyxl
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from kefu.accounts.models import person_name
from kefu.core.access import export_logged
from kefu.customers.excel.format import text_cell
from kefu.tickets.models import Ticket
from kefu.tickets.review import Week, parse_week, weekly_review
from kefu.tickets.views import sla_state

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERMISSION = "tickets.view_all_tickets"


def _age(delta):
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)s 天 %(hours)s 小时") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)s 小时 %(minutes)s 分钟") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s 分钟") % {"minutes": minutes}


def _owner_name(ticket):
    return person_name(ticket.owner) if ticket.owner is not None else ""


def _decorate(review):
    """Age, SLA state and owner name on the listed tickets (no queries)."""
    for ticket in review.open_complaints:
        ticket.age_label = _age(review.now - ticket.created_at)
        ticket.sla_css, ticket.sla_label = sla_state(
            ticket.resolve_due_at, review.now, running=ticket.status != Ticket.Status.ON_HOLD)
        ticket.owner_name = _owner_name(ticket)
    for ticket in review.suggestions:
        ticket.owner_name = _owner_name(ticket)
    return review


def _load(request):
    now = timezone.now()
    week, error = parse_week(request.GET.get("week", ""), now)
    return _decorate(weekly_review(week, now)), error


def _page(request, review, error):
    current = Week.current(review.now)
    context = {
        "review": review, "week": review.week, "error": error,
        "previous_week": review.previous_week,
        "next_week": review.week.next() if review.week.start < current.start else None,
        "current_week": current,
        "is_current": review.week == current,
    }
    return render(request, "tickets/review.html", context, status=400 if error else 200)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@never_cache
def weekly_review_page(request):
    review, error = _load(request)
    return _page(request, review, error)


@login_required
@permission_required(PERMISSION, raise_exception=True)
@never_cache
def weekly_review_export(request):
    """The review as .xlsx, a sheet per section. It lists customers' names and complaints, so
    every export leaves an access-log row, as the customer export does."""
    review, error = _load(request)
    if error:
        return _page(request, review, error)
    content = review_workbook(review)
    export_logged(user=request.user, model=Ticket,
                  count=len(review.open_complaints) + len(review.suggestions),
                  ip_address=request.META.get("REMOTE_ADDR"))
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="kefu-review-{review.week.code}.xlsx"'
    return response


# ---------------------------------------------------------------------------------------------
# Workbook


def _local(value):
    """openpyxl cannot store an aware datetime: local wall time, minutes precision."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None, second=0, microsecond=0)


def _cell(ws, value):
    if isinstance(value, datetime.datetime):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if value is None:
        return None
    if isinstance(value, int | float):
        return value
    return text_cell(str(value))


def _sheet(workbook, title, headers, rows, widths):
    ws = workbook.create_sheet(title[:31])
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    header = []
    for text in headers:
        cell = WriteOnlyCell(ws, value=str(text))
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([_cell(ws, v) for v in row])


def _rate(value):
    return "—" if value is None else f"{value}%"


def _summary_rows(review):
    sla, act = review.sla, review.activity
    return [
        (_("周次"), review.week.code, review.previous_week.code),
        (_("日期"), f"{review.week.monday:%Y-%m-%d} ~ {review.week.sunday:%Y-%m-%d}",
         f"{review.previous_week.monday:%Y-%m-%d} ~ {review.previous_week.sunday:%Y-%m-%d}"),
        (_("受理工单"), review.total, review.previous_total),
        (_("重开次数"), act["reopened"], act["reopened_previous"]),
        (_("催单次数"), act["chased"], act["chased_previous"]),
        (_("本周解决"), sla["resolved"], sla["resolved_previous"]),
        (_("按时解决"), sla["met"], sla["met_previous"]),
        (_("超时解决"), sla["breached"], sla["breached_previous"]),
        (_("无时限"), sla["no_deadline"], sla["no_deadline_previous"]),
        (_("按时解决率"), _rate(sla["met_rate"]), _rate(sla["met_rate_previous"])),
        (_("未结投诉"), len(review.open_complaints), None),
    ]


def review_workbook(review) -> bytes:
    """概览, 按类型, 高频问题, 产品型号, 未结投诉, 建议: one sheet per section of the page."""
    workbook = openpyxl.Workbook(write_only=True)
    _sheet(workbook, _("概览"), (_("项目"), _("本周"), _("上周")), _summary_rows(review), (14, 26, 26))
    _sheet(workbook, _("按类型"), (_("工单类型"), _("本周"), _("占比 %"), _("上周"), _("变化")),
           [(r.name, r.count, r.share, r.previous, r.change) for r in review.by_type],
           (16, 8, 8, 8, 8))
    _sheet(workbook, _("高频问题"), (_("问题摘要"), _("工单类型"), _("工单数"), _("客户数")),
           [(r["subject"], r["ticket_type__name"], r["count"], r["customers"])
            for r in review.top_subjects], (40, 14, 8, 8))
    _sheet(workbook, _("产品型号"), (_("产品型号"), _("工单类型"), _("工单数"), _("客户数")),
           [(r["product"] or _("未关联设备"), r["ticket_type__name"], r["count"], r["customers"])
            for r in review.by_product], (24, 14, 8, 8))
    _sheet(workbook, _("未结投诉"),
           (_("工单编号"), _("客户"), _("问题摘要"), _("状态"), _("处理人"), _("受理时间"), _("已受理"),
            _("解决时限")),
           [(t.number, t.customer.display_name, t.subject, t.get_status_display(), t.owner_name,
             _local(t.created_at), t.age_label, t.sla_label) for t in review.open_complaints],
           (16, 16, 36, 10, 10, 17, 14, 16))
    _sheet(workbook, _("建议"),
           (_("工单编号"), _("客户"), _("问题摘要"), _("状态"), _("处理人"), _("受理时间")),
           [(t.number, t.customer.display_name, t.subject, t.get_status_display(), t.owner_name,
             _local(t.created_at)) for t in review.suggestions],
           (16, 16, 40, 10, 10, 17))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
