"""Pages customers open without logging in: the confirmation link /t/confirm/<token>/ (B9).

The page shows only what the customer needs to judge the fix (ticket number, subject,
solution), never personal data: the link may be forwarded or land in a shared chat.
"""

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kefu.core.errors import Conflict, InvalidTransition
from kefu.core.forms import StyledForm
from kefu.tickets import services
from kefu.tickets.confirmation import (
    ConfirmationLinkGone,
    ConfirmationLinkInvalid,
    read_confirmation_token,
)
from kefu.tickets.models import Ticket

SOLVED, NOT_SOLVED = "solved", "not_solved"
ANSWER_MISSING = _("请选择“已解决”或“仍未解决”。")


class ConfirmAnswerForm(StyledForm):
    answer = forms.ChoiceField(choices=[(SOLVED, _("已解决")), (NOT_SOLVED, _("仍未解决"))],
                               error_messages={"required": ANSWER_MISSING,
                                               "invalid_choice": ANSWER_MISSING})
    comment = forms.CharField(label=_("仍未解决？请简单描述现在的情况（选填）"), max_length=500,
                              required=False, widget=forms.Textarea(attrs={"rows": 3}))


def _page(request, state, *, ticket=None, form=None, message="", status=200):
    response = render(request, "tickets/public_confirm.html", {
        "state": state, "ticket": ticket, "form": form, "message": message,
    }, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def ticket_confirm_public(request, token):
    now = timezone.now()
    try:
        ticket = read_confirmation_token(token, now=now)
    except (ConfirmationLinkInvalid, ConfirmationLinkGone) as exc:
        return _page(request, "invalid", message=exc.message, status=exc.status)
    if ticket.status != Ticket.Status.RESOLVED:
        return _page(request, "handled", ticket=ticket,
                     status=409 if request.method == "POST" else 200)
    if request.method != "POST":
        return _page(request, "ask", ticket=ticket, form=ConfirmAnswerForm())
    form = ConfirmAnswerForm(request.POST)
    if not form.is_valid():
        return _page(request, "ask", ticket=ticket, form=form, status=400)
    comment = form.cleaned_data["comment"].strip()
    try:
        # The version read with the token: anything done to the ticket since then wins.
        if form.cleaned_data["answer"] == SOLVED:
            services.ticket_confirm(actor=None, ticket=ticket, how=gettext("客户通过链接确认"),
                                    version=ticket.version, now=now)
            return _page(request, "confirmed", ticket=ticket)
        reason = (gettext("客户通过链接反馈未解决：%(comment)s") % {"comment": comment} if comment
                  else gettext("客户通过链接反馈未解决"))
        services.ticket_reopen(actor=None, ticket=ticket, reason=reason, version=ticket.version,
                               now=now)
        return _page(request, "reopened", ticket=ticket)
    except (Conflict, InvalidTransition):
        return _page(request, "handled", ticket=ticket, status=409)
