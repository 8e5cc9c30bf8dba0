from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Region
from kefu.core.access import REVEAL_REASONS
from kefu.core.forms import StyledForm
from kefu.customers.models import Asset, Attachment, Customer


class DateInput(forms.DateInput):
    input_type = "date"


class CustomerForm(StyledForm):
    """Profile fields; contact, phone and address on create only (edited on the detail page)."""

    party_type = forms.ChoiceField(label=_("客户类型"), choices=Customer.PartyType.choices)
    name = forms.CharField(label=_("客户名称"), max_length=128)
    kind = forms.ChoiceField(label=_("客户类别"), choices=Customer.Kind.choices)
    outlet_level = forms.ChoiceField(
        label=_("网点级别"), choices=Customer.OutletLevel.choices, required=False
    )
    region = forms.ModelChoiceField(
        label=_("片区"), queryset=Region.objects.filter(is_active=True), required=False
    )
    birthday = forms.DateField(label=_("生日"), required=False, widget=DateInput)
    id_number = forms.CharField(label=_("证件号码"), max_length=32, required=False)
    tags = forms.CharField(label=_("标签"), required=False, help_text=_("多个标签用逗号分隔"))
    notes = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class CustomerCreateForm(CustomerForm):
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)
    contact_role = forms.CharField(label=_("职务/关系"), max_length=64, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=32, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)


class AssetForm(StyledForm):
    product_model = forms.CharField(label=_("产品型号"), max_length=128)
    serial = forms.CharField(label=_("序列号/车架号"), max_length=64, required=False)
    plate = forms.CharField(label=_("车牌号"), max_length=16, required=False)
    purchase_date = forms.DateField(label=_("购买日期"), required=False, widget=DateInput)
    agreed_install_date = forms.DateField(label=_("约定安装日期"), required=False, widget=DateInput)
    installed_on = forms.DateField(label=_("实际安装日期"), required=False, widget=DateInput)
    warranty_end = forms.DateField(label=_("保修截止"), required=False, widget=DateInput)
    contract_number = forms.CharField(label=_("合同编号"), max_length=64, required=False)
    notes = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    FIELDS = (
        "product_model", "serial", "plate", "purchase_date", "agreed_install_date",
        "installed_on", "warranty_end", "contract_number", "notes",
    )

    @classmethod
    def initial_from(cls, asset: Asset):
        return {k: getattr(asset, k) for k in cls.FIELDS}


class PhoneForm(StyledForm):
    number = forms.CharField(label=_("电话号码"), max_length=32)


class AttachmentForm(StyledForm):
    kind = forms.ChoiceField(label=_("类型"), choices=Attachment.Kind.choices)
    file = forms.FileField(label=_("文件"))


class RevealForm(StyledForm):
    field = forms.CharField(widget=forms.HiddenInput)
    item = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.ChoiceField(
        label=_("查看原因"), choices=[("", "---------"), *REVEAL_REASONS], required=False
    )
    reason_text = forms.CharField(label=_("其他原因"), max_length=200, required=False)

    def reason_value(self):
        return self.cleaned_data.get("reason_text") or self.cleaned_data.get("reason") or ""


class SearchForm(StyledForm):
    q = forms.CharField(label=_("搜索"), required=False)
    region = forms.ModelChoiceField(
        label=_("片区"), queryset=Region.objects.all(), required=False, empty_label=_("全部片区")
    )
    kind = forms.ChoiceField(
        label=_("客户类别"), choices=[("", _("全部类别")), *Customer.Kind.choices], required=False
    )
    created_from = forms.DateField(label=_("建档起"), required=False, widget=DateInput)
    created_to = forms.DateField(label=_("建档止"), required=False, widget=DateInput)


class ImportForm(StyledForm):
    file = forms.FileField(label=_("Excel 文件 (.xlsx)"))
    all_or_nothing = forms.BooleanField(
        label=_("全部成功才导入"), required=False,
        help_text=_("勾选后，只要有一行出错就什么都不导入。"),
    )
