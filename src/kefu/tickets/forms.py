"""Forms of the ticket pages. They only read the request: the services check the business rules
(an empty solution, a missing reason) so pages, the API and the CLI show the same messages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.core.forms import StyledForm
from kefu.tickets.models import Priority, Ticket, TicketType


class QueueFilterForm(StyledForm):
    ticket_type = forms.ModelChoiceField(
        label=_("工单类型"), queryset=TicketType.objects.filter(is_active=True), required=False,
        empty_label=_("全部类型"),
    )
    priority = forms.ModelChoiceField(
        label=_("优先级"), queryset=Priority.objects.filter(is_active=True), required=False,
        empty_label=_("全部优先级"),
    )
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部状态")), *Ticket.Status.choices], required=False,
    )


class ActionForm(StyledForm):
    """An action without fields (抢单, 恢复处理, 关闭): the version travels as a hidden input."""

    def __init__(self, *args, action="", **kwargs):
        # Several action forms share a page: keep their element ids apart, not their names.
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        super().__init__(*args, **kwargs)


class HoldForm(ActionForm):
    reason = forms.CharField(label=_("挂起原因"), max_length=200, required=False)


class ResolveForm(ActionForm):
    solution = forms.CharField(label=_("解决方案"), required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    result = forms.CharField(label=_("处理结果"), max_length=200, required=False)


class ConfirmForm(ActionForm):
    how = forms.CharField(label=_("确认方式"), max_length=100, required=False,
                          help_text=_("如：电话回访、客户微信确认"))


class ReopenForm(ActionForm):
    reason = forms.CharField(label=_("重开原因"), max_length=200, required=False)


class NoteForm(ActionForm):
    text = forms.CharField(label=_("进展内容"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    customer_visible = forms.BooleanField(label=_("同步给客户"), required=False)
