"""Shared mechanisms' tables: working calendar, number sequences, access log, timeline base."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    """One calendar date and whether it is a working day.

    Seeded from ``chinesecalendar`` (statutory holidays and 调休 working days) for the years it
    knows; next year's dates are published late, so admins edit this table and it is the truth.
    """

    date = models.DateField(_("日期"), primary_key=True)
    is_workday = models.BooleanField(_("工作日"))
    note = models.CharField(_("说明"), max_length=64, blank=True, help_text=_("如 国庆节、调休上班"))
    source = models.CharField(
        _("来源"),
        max_length=16,
        default="manual",
        choices=[("chinesecalendar", _("法定日历")), ("import", _("按通知导入")), ("manual", _("手工维护"))],
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self):
        kind = _("工作日") if self.is_workday else _("休息日")
        return f"{self.date} {kind} {self.note}".strip()


class NumberSequence(models.Model):
    """The last number handed out for one (prefix, period), e.g. ("CS", "202611") → 17."""

    prefix = models.CharField(max_length=16)
    period = models.CharField(max_length=16, blank=True)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("编号序列")
        verbose_name_plural = _("编号序列")
        constraints = [
            models.UniqueConstraint(fields=["prefix", "period"], name="core_sequence_prefix_period")
        ]

    def __str__(self):
        return f"{self.prefix}{self.period}: {self.last_value}"


class AccessLog(models.Model):
    """Who revealed which personal-data field of which record, when and why (K3)."""

    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("查看人")
    )
    object_type = models.CharField(_("记录类型"), max_length=64)
    object_id = models.CharField(_("记录编号"), max_length=64)
    object_label = models.CharField(_("记录"), max_length=200, blank=True)
    field = models.CharField(_("字段"), max_length=64)
    reason = models.CharField(_("原因"), max_length=200)
    channel = models.CharField(_("途径"), max_length=16, default="web")
    ip_address = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)

    class Meta:
        verbose_name = _("查看日志")
        verbose_name_plural = _("查看日志")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="core_access_object")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.object_type}#{self.object_id}.{self.field}"


class TimelineEvent(models.Model):
    """Base of every business timeline (customer events now, ticket events next).

    Concrete subclasses add the foreign key to their subject. ``verb`` is a stable code
    (``created``, ``asset_added`` …); ``summary`` is the sentence shown to people.
    """

    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("操作人"),
    )
    verb = models.CharField(_("事件"), max_length=32)
    summary = models.CharField(_("摘要"), max_length=500)
    data = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.summary}"


class Notification(models.Model):
    """An in-app notification (the bell). Other channels (email, WeCom, DingTalk) hang off
    ``kefu.core.notify`` and may read the same rows."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
        verbose_name=_("接收人"),
    )
    kind = models.CharField(_("类型"), max_length=32)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True, default="")
    url = models.CharField(_("链接"), max_length=300, blank=True, default="")
    dedupe_key = models.CharField(max_length=160, null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")
        ]

    def __str__(self):
        return self.title
