import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Region
from kefu.core.crypto import EncryptedTextField
from kefu.core.history import history_records
from kefu.core.masking import mask_address, mask_id_number, mask_name, mask_phone
from kefu.core.models import TimelineEvent

WARRANTY_EXPIRING_DAYS = 30


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Customers this user may see: all for desk roles, own regions for region-scoped ones."""
        from kefu.accounts.roles import REGION_SCOPED_ROLES, role_of

        if not user.is_authenticated or not user.has_perm("customers.view_customer"):
            return self.none()
        if user.is_superuser or role_of(user) not in REGION_SCOPED_ROLES:
            return self
        profile = getattr(user, "staff", None)
        if profile is None:
            return self.none()
        return self.filter(region__in=profile.regions.all())

    def with_list_data(self):
        return self.select_related("region").prefetch_related("tags")


class Tag(models.Model):
    name = models.CharField(_("名称"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("标签")
        verbose_name_plural = _("标签")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(models.Model):
    class PartyType(models.TextChoices):
        PERSON = "person", _("个人")
        ORGANISATION = "organisation", _("单位")

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("普通客户")
        CONTRACT = "contract", _("合同客户")
        RENTAL = "rental", _("租赁客户")
        VIP = "vip", _("VIP 客户")
        MAJOR = "major", _("大客户")

    class OutletLevel(models.TextChoices):
        NONE = "", _("无")
        FIRST = "1", _("一级网点")
        SECOND = "2", _("二级网点")

    number = models.CharField(_("客户编号"), max_length=32, unique=True)
    party_type = models.CharField(
        _("客户类型"), max_length=16, choices=PartyType.choices, default=PartyType.PERSON
    )
    name = models.CharField(_("客户名称"), max_length=128, db_index=True)
    kind = models.CharField(_("客户类别"), max_length=16, choices=Kind.choices, default=Kind.ORDINARY)
    outlet_level = models.CharField(
        _("网点级别"), max_length=1, choices=OutletLevel.choices, blank=True, default=""
    )
    region = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.PROTECT, related_name="customers",
        verbose_name=_("片区"),
    )
    birthday = models.DateField(_("生日"), null=True, blank=True)
    id_number = EncryptedTextField(_("证件号码"), blank=True, default="")
    id_number_index = models.CharField(max_length=40, blank=True, default="", db_index=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("标签"))
    notes = models.TextField(_("备注"), blank=True, default="")
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("建档时间"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("建档人"),
    )
    history = history_records(excluded_fields=["updated_at"])

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户档案")
        ordering = ["-id"]
        permissions = [
            ("reveal_customer_pii", _("查看客户完整个人信息（留痕）")),
            ("import_customers", _("从 Excel 导入客户")),
            ("export_customers", _("导出客户到 Excel")),
        ]
        indexes = [models.Index(fields=["region", "kind"], name="customer_region_kind")]

    def __str__(self):
        return f"{self.number} {self.display_name}"

    @property
    def display_name(self):
        """The name as staff see it: person names masked, organisation names in full."""
        if self.party_type == self.PartyType.PERSON:
            return mask_name(self.name)
        return self.name

    @property
    def id_number_masked(self):
        return mask_id_number(self.id_number)


class Contact(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("客户")
    )
    name = models.CharField(_("联系人"), max_length=64)
    role = models.CharField(_("职务/关系"), max_length=64, blank=True, default="")
    is_primary = models.BooleanField(_("主要联系人"), default=False)
    history = history_records()

    class Meta:
        verbose_name = _("联系人")
        verbose_name_plural = _("联系人")
        ordering = ["-is_primary", "id"]

    def __str__(self):
        return mask_name(self.name)

    @property
    def name_masked(self):
        return mask_name(self.name)


class Phone(models.Model):
    """A phone number of a customer (optionally of one contact), encrypted, with a blind index."""

    class Label(models.TextChoices):
        MOBILE = "mobile", _("手机")
        LANDLINE = "landline", _("座机")
        WORK = "work", _("办公电话")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="phones", verbose_name=_("客户")
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="phones",
        verbose_name=_("联系人"),
    )
    number = EncryptedTextField(_("电话号码"))
    number_index = models.CharField(max_length=40, db_index=True)
    label = models.CharField(_("类型"), max_length=16, choices=Label.choices, default=Label.MOBILE)
    history = history_records()

    class Meta:
        verbose_name = _("电话")
        verbose_name_plural = _("电话")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "number_index"], name="phone_unique_per_customer")
        ]

    def __str__(self):
        return self.masked

    @property
    def masked(self):
        return mask_phone(self.number)


class Address(models.Model):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("客户")
    )
    label = models.CharField(_("名称"), max_length=32, blank=True, default="", help_text=_("如 校区、仓库"))
    text = EncryptedTextField(_("地址"))
    is_default = models.BooleanField(_("默认地址"), default=False)
    history = history_records()

    class Meta:
        verbose_name = _("地址")
        verbose_name_plural = _("地址")
        ordering = ["-is_default", "id"]

    def __str__(self):
        return self.masked

    @property
    def masked(self):
        return mask_address(self.text)


class AssetQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.has_perm("customers.view_asset"):
            return self.none()
        return self.filter(customer__in=Customer.objects.visible_to(user))


class Asset(models.Model):
    """A product, device or vehicle a customer owns (A2)."""

    class WarrantyStatus(models.TextChoices):
        IN_WARRANTY = "in", _("保修期内")
        EXPIRING = "expiring", _("即将过保")
        EXPIRED = "expired", _("已过保")
        UNKNOWN = "unknown", _("未知")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="assets", verbose_name=_("客户")
    )
    product_model = models.CharField(_("产品型号"), max_length=128)
    serial = models.CharField(_("序列号/车架号"), max_length=64, blank=True, default="", db_index=True)
    plate = models.CharField(_("车牌号"), max_length=16, blank=True, default="", db_index=True)
    purchase_date = models.DateField(_("购买日期"), null=True, blank=True)
    agreed_install_date = models.DateField(_("约定安装日期"), null=True, blank=True)
    installed_on = models.DateField(_("实际安装日期"), null=True, blank=True)
    warranty_end = models.DateField(_("保修截止"), null=True, blank=True)
    contract_number = models.CharField(_("合同编号"), max_length=64, blank=True, default="")
    notes = models.TextField(_("备注"), blank=True, default="")
    version = models.PositiveIntegerField(_("版本"), default=1)
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    history = history_records()

    objects = AssetQuerySet.as_manager()

    class Meta:
        verbose_name = _("客户设备")
        verbose_name_plural = _("客户设备")
        ordering = ["id"]

    def __str__(self):
        ident = self.serial or self.plate
        return f"{self.product_model} {ident}".strip()

    def warranty_status_on(self, day: datetime.date):
        if self.warranty_end is None:
            return self.WarrantyStatus.UNKNOWN
        if self.warranty_end < day:
            return self.WarrantyStatus.EXPIRED
        if (self.warranty_end - day).days <= WARRANTY_EXPIRING_DAYS:
            return self.WarrantyStatus.EXPIRING
        return self.WarrantyStatus.IN_WARRANTY

    @property
    def warranty_status(self):
        return self.warranty_status_on(timezone.localdate())

    @property
    def warranty_status_label(self):
        return self.WarrantyStatus(self.warranty_status).label

    @property
    def in_warranty(self):
        return self.warranty_status in (self.WarrantyStatus.IN_WARRANTY, self.WarrantyStatus.EXPIRING)


def attachment_path(instance, filename):
    # The stored name is random; the original name is kept in the row for downloads.
    import uuid

    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"attachments/{instance.customer_id}/{uuid.uuid4().hex}.{suffix}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        CONTRACT = "contract", _("合同")
        INVOICE = "invoice", _("发票")
        PHOTO = "photo", _("照片")
        OTHER = "other", _("其他")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("客户")
    )
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments",
        verbose_name=_("设备"),
    )
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(_("文件类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("上传人"),
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["-uploaded_at"]

    def __str__(self):
        return self.original_name


class CustomerEvent(TimelineEvent):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="events", verbose_name=_("客户")
    )

    class Meta(TimelineEvent.Meta):
        verbose_name = _("客户动态")
        verbose_name_plural = _("客户动态")
        indexes = [models.Index(fields=["customer", "-at"], name="customer_event_timeline")]
