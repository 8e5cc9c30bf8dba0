import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.crypto import EncryptedTextField
from kefu.core.history import history_records
from kefu.core.masking import mask_phone


class Region(models.Model):
    """片区: a service zone; customers, engineers and agents belong to regions."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("上级片区"),
    )
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("片区")
        verbose_name_plural = _("片区")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Department(models.Model):
    """部门: 客服中心, 技术支持, 产品, 运营, 财务, 研发 …"""

    class AutoAssign(models.TextChoices):
        OFF = "off", _("不自动派单")
        ROUND_ROBIN = "round_robin", _("轮流派单")
        LEAST_LOADED = "least_loaded", _("派给手上工单最少的人")

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64, unique=True)
    auto_assign = models.CharField(
        _("自动派单"), max_length=16, choices=AutoAssign.choices, default=AutoAssign.OFF,
        help_text=_("新工单进入本部门时，自动派给可接单且具备所需技能的员工"),
    )

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门")
        ordering = ["code"]

    def __str__(self):
        return self.name


class Skill(models.Model):
    """Engineer skills used for routing (D14): PC, server, hardware, system, application …"""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)

    class Meta:
        verbose_name = _("技能")
        verbose_name_plural = _("技能")
        ordering = ["code"]

    def __str__(self):
        return self.name


def person_name(user):
    """How a person is named to others: their staff display name, or the username of an
    account without a staff profile."""
    profile = getattr(user, "staff", None)
    return profile.display_name if profile else user.get_username()


class StaffProfile(models.Model):
    class Level(models.TextChoices):
        JUNIOR = "junior", _("初级")
        INTERMEDIATE = "intermediate", _("中级")
        SENIOR = "senior", _("高级")

    class EngineerLevel(models.TextChoices):
        NONE = "", _("非工程师")
        L1 = "L1", _("一级工程师")
        L2 = "L2", _("二级工程师")
        L3 = "L3", _("三级工程师")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("用户")
    )
    display_name = models.CharField(_("姓名"), max_length=64)
    employee_no = models.CharField(_("工号"), max_length=32, unique=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("部门")
    )
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices, default=Level.JUNIOR)
    engineer_level = models.CharField(
        _("工程师级别"), max_length=2, choices=EngineerLevel.choices, blank=True, default=""
    )
    skills = models.ManyToManyField(Skill, blank=True, verbose_name=_("技能"))
    regions = models.ManyToManyField(Region, blank=True, verbose_name=_("负责片区"))
    phone = EncryptedTextField(_("电话"), blank=True)
    available = models.BooleanField(_("可接单"), default=True)
    last_assigned_at = models.DateTimeField(_("最近自动派单"), null=True, blank=True, editable=False)
    # Bumped whenever the person's permissions, groups or regions change: the key of their
    # cached permissions (kefu.accounts.backends).
    access_version = models.PositiveIntegerField(default=0, editable=False)
    history = history_records(excluded_fields=["access_version"])

    class Meta:
        verbose_name = _("员工档案")
        verbose_name_plural = _("员工档案")
        ordering = ["employee_no"]

    def __str__(self):
        return f"{self.display_name}（{self.employee_no}）"

    @property
    def phone_masked(self):
        return mask_phone(self.phone)


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once at creation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens",
        verbose_name=_("用户"),
    )
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=12, help_text=_("令牌开头，便于辨认"))
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "kefu_" + secrets.token_urlsafe(32)

    @property
    def is_active(self):
        return self.revoked_at is None
