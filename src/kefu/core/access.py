"""Revealing masked personal data: a permission check and an access-log row, every time."""

from django.utils.translation import gettext_lazy as _

from kefu.core.errors import PermissionDenied, ValidationFailed
from kefu.core.models import AccessLog

REVEAL_REASONS = [
    ("callback", _("回访/回电客户")),
    ("ticket", _("处理工单")),
    ("dispatch", _("上门服务/派单")),
    ("verify", _("核实客户身份")),
]
REASON_REQUIRED = _("请选择或填写查看原因。")
REVEAL_NOT_ALLOWED = _("您没有查看完整个人信息的权限。")


def reason_label(reason: str) -> str:
    return str(dict(REVEAL_REASONS).get(reason, reason))


def reveal_logged(*, user, obj, field: str, value: str, reason: str, permission: str,
                  channel="web", ip_address=None) -> str:
    """Return ``value`` in clear after checking ``permission`` and logging who, what, why."""
    if not user.has_perm(permission):
        raise PermissionDenied(REVEAL_NOT_ALLOWED)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(REASON_REQUIRED, fields={"reason": [REASON_REQUIRED]})
    AccessLog.objects.create(
        user=user,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_label=str(obj)[:200],
        field=field,
        reason=reason_label(reason)[:200],
        channel=channel,
        ip_address=ip_address,
    )
    return value


def export_logged(*, user, model, count: int, channel="export", ip_address=None):
    """One access-log row per export of clear personal data: who took how many records, when."""
    from django.utils.translation import gettext

    return AccessLog.objects.create(
        user=user,
        object_type=model._meta.label_lower,
        object_id="*",
        object_label=gettext("导出 %(count)s 个%(what)s") % {"count": count, "what": model._meta.verbose_name},
        field="export",
        reason=gettext("导出 Excel"),
        channel=channel,
        ip_address=ip_address,
    )
