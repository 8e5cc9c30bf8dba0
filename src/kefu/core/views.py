from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from kefu.core.checks import calendar_gaps
from kefu.core.models import AccessLog, Notification
from kefu.core.notify import unread_count


@login_required
def home(request):
    from kefu.accounts.roles import ROLE_LABELS, role_of
    from kefu.customers.models import Customer

    role = role_of(request.user)
    context = {
        "role_label": ROLE_LABELS.get(role, ""),
        "customer_count": Customer.objects.visible_to(request.user).count(),
        "calendar_gaps": (
            calendar_gaps() if request.user.has_perm("core.change_calendarday") else []
        ),
    }
    return render(request, "home.html", context)


@login_required
@permission_required("core.view_accesslog", raise_exception=True)
def access_log(request):
    rows = AccessLog.objects.select_related("user", "user__staff")
    if obj := request.GET.get("object"):
        object_type, _sep, object_id = obj.partition(":")
        rows = rows.filter(object_type=object_type, object_id=object_id)
    if user := request.GET.get("user"):
        rows = rows.filter(user__username=user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/access_log.html", {"page": page, "query": query.urlencode()})


@login_required
def notification_bell(request):
    """htmx-polled: the bell with the unread count (one indexed COUNT)."""
    # Rendered without the request: the bell needs no context processors (menus, permissions).
    html = render_to_string("base.html#bell", {"unread": unread_count(request.user)})
    return HttpResponse(html)


@login_required
def notifications(request):
    rows = Notification.objects.filter(recipient=request.user)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@login_required
@require_POST
def notifications_read(request):
    Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("core:notifications")
