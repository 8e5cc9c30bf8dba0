"""The HTTP API at /api/v1/: token auth, one error shape, each app's router mounted here."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from kefu.core.errors import DomainError


class TokenAuth(HttpBearer):
    """``Authorization: Bearer kefu_…``; the token is looked up by its SHA-256."""

    def authenticate(self, request, token):
        from kefu.accounts.models import ApiToken

        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


api = NinjaAPI(
    title="Kefu API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=TokenAuth(),
    description="Kefu 客服 HTTP API. Authenticate with `Authorization: Bearer <token>` "
    "(create tokens under 个人设置 → API 令牌 or with `kefu token create`). Errors always have "
    'the shape `{"code": ..., "message": ..., "fields": {...}}`.',
)


def error_response(request, status, code, message, fields=None):
    return api.create_response(
        request, {"code": code, "message": str(message), "fields": fields or {}}, status=status
    )


@api.exception_handler(DomainError)
def _domain_error(request, exc):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc):
    fields = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        fields.setdefault(".".join(loc) or "__all__", []).append(err.get("msg", ""))
    return error_response(request, 422, "validation_failed", _("输入有误，请检查标出的字段。"), fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error_response(request, 401, "unauthorized", _("需要有效的 API 令牌。"))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", _("找不到该记录，或您无权查看。"))


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request, exc):
    return error_response(request, 403, "permission_denied", _("您没有执行此操作的权限。"))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return error_response(request, exc.status_code, "http_error", str(exc))


api.add_router("/v1/customers", "kefu.customers.api.router")
