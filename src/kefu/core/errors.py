"""Domain errors: one family, a stable machine code, a translatable human message.

Services raise these; the API turns them into ``{"code", "message", "fields"}`` with the
HTTP status below, pages show the message. Tests import the message constants instead of
retyping them.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "domain_error"
    status = 400
    default_message = _("请求无法完成。")

    def __init__(self, message=None, *, code=None, fields=None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = dict(fields or {})
        super().__init__(str(self.message))

    def as_dict(self):
        return {
            "code": self.code,
            "message": str(self.message),
            "fields": {name: [str(m) for m in _as_list(msgs)] for name, msgs in self.fields.items()},
        }


def _as_list(value):
    return value if isinstance(value, list | tuple) else [value]


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = _("找不到该记录，或您无权查看。")


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403
    default_message = _("您没有执行此操作的权限。")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("记录已被他人修改，请刷新后重试。")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409
    default_message = _("当前状态下不能执行此操作。")


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422
    default_message = _("输入有误，请检查标出的字段。")


class CalendarMissing(DomainError):
    """The working calendar has no row for a date: we refuse to guess working days."""

    code = "calendar_missing"
    status = 503
    default_message = _("工作日历缺少该日期，请管理员补充日历。")
