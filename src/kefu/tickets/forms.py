"""Forms of the ticket pages. They only read the request: the services check the business rules
(an empty solution, a missing reason) so pages, the API and the CLI show the same messages."""

import uuid

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Department, Region
from kefu.core.forms import FastSelect, StyledForm
from kefu.tickets import config
from kefu.tickets.models import Channel, Priority, ServiceMode, Ticket, TicketType

DATETIME_INPUT = {"type": "datetime-local"}


class ConfigChoiceField(forms.ChoiceField):
    """A choice of a configuration row (type, priority, region, department) read from the
    per-process configuration cache (kefu.tickets.config), not a query per form. Cleans to the
    row; an unknown or retired row is an invalid choice."""

    widget = FastSelect

    def __init__(self, model, *, empty_label, **kwargs):
        self.model = model
        super().__init__(choices=lambda: [("", empty_label), *((row.pk, str(row)) for row in config.rows(model))],
                         **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        row = config.by_pk(self.model, int(value)) if str(value).isdigit() else None
        if row is None or not getattr(row, "is_active", True):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                        params={"value": value})
        return row

    def validate(self, value):
        forms.Field.validate(self, value)  # to_python has checked the row


class QueueFilterForm(StyledForm):
    ticket_type = ConfigChoiceField(TicketType, label=_("工单类型"), required=False, empty_label=_("全部类型"))
    priority = ConfigChoiceField(Priority, label=_("优先级"), required=False, empty_label=_("全部优先级"))
    status = forms.ChoiceField(
        label=_("状态"), choices=[("", _("全部状态")), *Ticket.Status.choices], required=False,
        widget=FastSelect,
    )
    region = ConfigChoiceField(Region, label=_("片区"), required=False, empty_label=_("全部片区"))
    department = ConfigChoiceField(Department, label=_("处理部门"), required=False, empty_label=_("全部部门"))
    created_from = forms.DateField(label=_("受理日期从"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label=_("受理日期到"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("结束日期不能早于开始日期。"))
        return data


class SavedFilterForm(StyledForm):
    name = forms.CharField(label=_("筛选名称"), max_length=40)
    query = forms.CharField(widget=forms.HiddenInput, max_length=500, required=False)


def staff_choices():
    """People a ticket can be given to: active staff who may work on tickets."""
    User = get_user_model()
    perm = Q(groups__permissions__codename="change_ticket",
             groups__permissions__content_type__app_label="tickets")
    # The choices are labelled from values (_StaffChoices); a chosen person comes with the
    # profile, as the services and the API answer name them.
    return (User.objects.filter(is_active=True, staff__isnull=False).filter(perm | Q(is_superuser=True))
            .select_related("staff").order_by("staff__employee_no").distinct())


class _StaffChoices(forms.models.ModelChoiceIterator):
    """The people as (id, label), read as plain values in one query. Django's iterator streams
    whole users (``queryset.iterator()``: on PostgreSQL a server-side cursor, DECLARE, FETCH and
    CLOSE) and builds a user, a staff profile and a department for each: 3.5-7 ms for the few
    dozen people of a ticket page's assign and hand-off forms, against under 1 ms as values."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for pk, *label in self.queryset.values_list("pk", *STAFF_LABEL_COLUMNS):
            yield (pk, staff_label(*label))


STAFF_LABEL_COLUMNS = ("staff__display_name", "staff__employee_no", "staff__department__name",
                       "staff__available")


def staff_label(display_name, employee_no, department, available):
    """How a person is offered in a choice: 姓名（工号） · 部门, and whether they take tickets now."""
    suffix = "" if available else _("（暂不可接单）")
    dept = f" · {department}" if department else ""
    return f"{display_name}（{employee_no}）{dept}{suffix}"


class StaffChoiceField(forms.ModelChoiceField):
    """A person to give a ticket to, offered as ``staff_label`` says (``_StaffChoices``)."""

    widget = FastSelect
    iterator = _StaffChoices


class TicketCreateForm(StyledForm):
    """新建工单. ``form_token`` makes a double submit (a second click, a retried POST) return
    the ticket the first one created instead of a duplicate."""

    customer = forms.IntegerField(widget=forms.HiddenInput)
    form_token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    channel = forms.ModelChoiceField(label=_("受理渠道"), queryset=Channel.objects.filter(is_active=True))
    ticket_type = forms.ModelChoiceField(label=_("工单类型"),
                                         queryset=TicketType.objects.filter(is_active=True))
    priority = forms.ModelChoiceField(label=_("优先级"), queryset=Priority.objects.filter(is_active=True))
    contact = forms.TypedChoiceField(label=_("联系人"), required=False, coerce=int, empty_value=None)
    asset = forms.TypedChoiceField(label=_("设备"), required=False, coerce=int, empty_value=None)
    subject = forms.CharField(label=_("问题摘要"), max_length=200, required=False)
    description = forms.CharField(label=_("问题描述"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    occurred_at = forms.DateTimeField(label=_("发生时间"), required=False,
                                      widget=forms.DateTimeInput(attrs=DATETIME_INPUT))
    environment = forms.CharField(label=_("使用环境"), max_length=200, required=False)
    error_shown = forms.CharField(label=_("错误提示"), max_length=500, required=False)
    customer_expects_at = forms.DateTimeField(label=_("客户期望解决时间"), required=False,
                                              widget=forms.DateTimeInput(attrs=DATETIME_INPUT))
    department = forms.ModelChoiceField(label=_("处理部门"), queryset=Department.objects.all(),
                                        required=False, empty_label=_("按工单类型默认"))
    service_mode = forms.ModelChoiceField(label=_("服务方式"), required=False, empty_label=_("（未指定）"),
                                          queryset=ServiceMode.objects.filter(is_active=True))

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form_token"].initial = uuid.uuid4().hex
        contacts = list(customer.contacts.all()) if customer else []
        assets = list(customer.assets.all()) if customer else []
        self.fields["contact"].choices = [("", _("（未指定）"))] + [
            (c.pk, f"{c.name_masked} {c.role}".strip()) for c in contacts]
        self.fields["asset"].choices = [("", _("（未指定）"))] + [
            (a.pk, f"{a} · {a.warranty_status_label}") for a in assets]
        self.contacts = {c.pk: c for c in contacts}
        self.assets = {a.pk: a for a in assets}
        if customer is not None:
            self.fields["customer"].initial = customer.pk


class ActionForm(StyledForm):
    """An action without fields (抢单, 恢复处理, 关闭): the version travels as a hidden input."""

    def __init__(self, *args, action="", **kwargs):
        # Several action forms share a page: keep their element ids apart, not their names.
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        super().__init__(*args, **kwargs)


class AssignForm(ActionForm):
    owner = StaffChoiceField(label=_("处理人"), queryset=None, empty_label=_("请选择"))
    reason = forms.CharField(label=_("转派原因"), max_length=200, required=False,
                             help_text=_("转派给他人时请写明原因"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_choices()


class HoldForm(ActionForm):
    reason = forms.CharField(label=_("挂起原因"), max_length=200, required=False)


class ResolveForm(ActionForm):
    solution = forms.CharField(label=_("解决方案"), required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))
    result = forms.CharField(label=_("处理结果"), max_length=200, required=False)
    compensation_kind = forms.ChoiceField(label=_("补偿方式"), choices=Ticket.Compensation.choices,
                                          required=False)
    compensation_amount = forms.DecimalField(label=_("补偿金额（元）"), required=False,
                                             max_digits=10, decimal_places=2)
    acknowledge_wording = forms.BooleanField(label=_("措辞已确认"), required=False)


class ConfirmForm(ActionForm):
    how = forms.CharField(label=_("确认方式"), max_length=100, required=False,
                          help_text=_("如：电话回访、客户微信确认"))


class ReopenForm(ActionForm):
    reason = forms.CharField(label=_("重开原因"), max_length=200, required=False)


class EscalateForm(ActionForm):
    reason = forms.CharField(label=_("升级原因"), max_length=200, required=False)
    major = forms.BooleanField(label=_("重大问题（含批量故障）"), required=False)


class ChaseForm(ActionForm):
    note = forms.CharField(label=_("催单说明"), max_length=200, required=False)


class FollowUpForm(ActionForm):
    reason = forms.CharField(label=_("复发情况"), max_length=200, required=False,
                             help_text=_("超过重开期限的复发问题：新建一张关联原工单的工单"))


class MajorForm(ActionForm):
    reason = forms.CharField(label=_("原因"), max_length=200, required=False,
                             help_text=_("如：同一型号多台设备出现相同故障"))


class HandoffForm(ActionForm):
    to = StaffChoiceField(label=_("热线工程师"), queryset=None, required=False,
                          empty_label=_("任一热线工程师"))
    reason = forms.CharField(label=_("转交说明"), max_length=200, required=False,
                             help_text=_("热线工程师忙时转交，须在 15 分钟内由工程师接手"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = staff_choices().filter(staff__engineer_level__gt="")


class NoteForm(ActionForm):
    text = forms.CharField(label=_("进展内容"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}))
    customer_visible = forms.BooleanField(label=_("同步给客户"), required=False)
    expected_completion_at = forms.DateTimeField(label=_("预计完成时间"), required=False,
                                                 widget=forms.DateTimeInput(attrs=DATETIME_INPUT))
    acknowledge_wording = forms.BooleanField(label=_("措辞已确认"), required=False)


class BulkForm(StyledForm):
    """Bulk actions on the queue: the chosen tickets, and either an owner or a priority."""

    ACTIONS = [("assign", _("批量派单")), ("priority", _("批量修改优先级"))]

    action = forms.ChoiceField(label=_("批量操作"), choices=ACTIONS)
    tickets = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False)
    owner = StaffChoiceField(label=_("处理人"), queryset=None, required=False, empty_label=_("请选择处理人"))
    priority = forms.ModelChoiceField(label=_("优先级"), queryset=Priority.objects.filter(is_active=True),
                                      required=False, empty_label=_("请选择优先级"))

    MAX = 100

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = staff_choices()
        raw = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        self.fields["tickets"].choices = [(v, v) for v in raw if str(v).isdigit()]

    def clean(self):
        data = super().clean()
        if not data.get("tickets"):
            self.add_error("tickets", _("请先勾选工单。"))
        elif len(data["tickets"]) > self.MAX:
            self.add_error("tickets", _("一次最多处理 %(n)s 张工单。") % {"n": self.MAX})
        if data.get("action") == "assign" and not data.get("owner"):
            self.add_error("owner", _("请选择处理人。"))
        if data.get("action") == "priority" and not data.get("priority"):
            self.add_error("priority", _("请选择优先级。"))
        return data
