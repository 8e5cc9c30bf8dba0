"""The HTTP API at /api/v1/: token auth, one error shape, each app's router mounted here.

Every answer that is not a success has the shape ``{"code", "message", "fields"}``: domain errors,
validation errors, authentication, unknown paths (404), wrong methods (405), unparsable bodies
(400) and, as a last resort, unexpected exceptions (500, logged). Clients never have to parse an
HTML error page.
"""

import datetime
import functools
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth

from kefu.core.compiled import Compiled
from kefu.core.errors import DomainError

logger = logging.getLogger(__name__)


def _token_query(digest):
    from kefu.accounts.models import ApiToken

    return (ApiToken.objects.select_related("user__staff").defer("user__staff__phone")
            .filter(digest=digest, revoked_at__isnull=True, user__is_active=True)
            .order_by()[:1])


_tokens = Compiled(_token_query, digest="sample digest, never a SHA-256")


class TokenAuth(HttpBearer):
    """``Authorization: Bearer kefu_…``; the token is looked up by its SHA-256, revoked tokens
    and inactive users refused. The lookup's SQL is built once per process (``Compiled``)."""

    def authenticate(self, request, token):
        from kefu.accounts.models import ApiToken

        row = _tokens.first(digest=ApiToken.hash(token))
        if row is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class BrowserSessionAuth(SessionAuth):
    """A logged-in browser (the /api/docs page): the Django session, CSRF-checked on writes.

    Without a session cookie this authenticator steps aside, so a client that sent no token gets
    401 "token needed" rather than ninja's 403 "CSRF check failed".
    """

    def _get_key(self, request):
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        if key is None:
            return None
        return super().authenticate(request, key)


def _error_body(code, message, fields=None):
    return {"code": code, "message": str(message), "fields": fields or {}}


def _not_allowed(response):
    shaped = JsonResponse(
        _error_body("method_not_allowed", _("该地址不支持此请求方法。")), status=405
    )
    shaped["Allow"] = response["Allow"]
    return shaped


def _shaped(view):
    """Ninja answers a wrong method with a plain-text 405 and its root with Django's 404 page;
    give both the API's error shape."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return JsonResponse(
                _error_body("not_found", _("找不到该记录，或您无权查看。")), status=404
            )
        if isinstance(response, HttpResponseNotAllowed):
            return _not_allowed(response)
        return response

    return wrapper


def bad_request(request, exception):
    """Django's 400 (a request it refuses before any view: a Host not in ALLOWED_HOSTS, too many
    fields): the API's error shape under /api/, Django's page elsewhere. ``handler400`` in
    kefu/urls.py."""
    if request.path.startswith("/api/"):
        return JsonResponse(_error_body("bad_request", _("请求无效，服务器拒绝处理。")), status=400)
    from django.views.defaults import bad_request as page

    return page(request, exception)


@csrf_exempt
def _unknown_path(request, *args, **kwargs):
    return JsonResponse(_error_body("not_found", _("找不到该接口地址。")), status=404)


class UtcJSONEncoder(NinjaJSONEncoder):
    """Every time in an answer in UTC (``…Z``), as docs/api.md promises: values read from the
    database are UTC already, but deadlines just worked out on the working calendar are local
    (+08:00), and an answer must not mix the two."""

    def default(self, o):
        if isinstance(o, datetime.datetime) and o.tzinfo is not None:
            o = o.astimezone(datetime.UTC)
        return super().default(o)


class UtcJSONRenderer(JSONRenderer):
    encoder_class = UtcJSONEncoder


class KefuAPI(NinjaAPI):
    def _get_urls(self):
        patterns = super()._get_urls()
        for pattern in patterns:
            pattern.callback = _shaped(pattern.callback)
        # Anything else under /api/ is an unknown endpoint: a shaped 404, not an HTML page.
        patterns.append(re_path(r"^.*$", _unknown_path, name="unknown"))
        return patterns


api = KefuAPI(
    title="Kefu API",
    version="1",
    urls_namespace="api",
    renderer=UtcJSONRenderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    # A token for programs; the session as well so a logged-in browser can use /api/docs.
    auth=[TokenAuth(), BrowserSessionAuth()],
    description="Kefu 客服 HTTP API. Authenticate with `Authorization: Bearer <token>` "
    "(create tokens under 个人设置 → API 令牌 or with `kefu token create`). Errors always have "
    'the shape `{"code": ..., "message": ..., "fields": {...}}`. See docs/api.md.',
)


def error_response(request, status, code, message, fields=None):
    return api.create_response(request, _error_body(code, message, fields), status=status)


@api.exception_handler(DomainError)
def _domain_error(request, exc):
    return api.create_response(request, exc.as_dict(), status=exc.status)


# Pydantic's messages are English; the common ones get a Chinese msgid of their own.
VALIDATION_MESSAGES = {
    "missing": gettext_lazy("必填。"),
    "string_too_long": gettext_lazy("最多 %(max_length)s 个字符。"),
    "string_too_short": gettext_lazy("至少 %(min_length)s 个字符。"),
    "too_long": gettext_lazy("最多 %(max_length)s 项。"),
    "too_short": gettext_lazy("至少 %(min_length)s 项。"),
    "int_parsing": gettext_lazy("应为整数。"),
    "int_type": gettext_lazy("应为整数。"),
    "greater_than_equal": gettext_lazy("不能小于 %(ge)s。"),
    "less_than_equal": gettext_lazy("不能大于 %(le)s。"),
    "date_from_datetime_parsing": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "date_parsing": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "date_type": gettext_lazy("日期格式应为 YYYY-MM-DD。"),
    "enum": gettext_lazy("可选值：%(expected)s。"),
    "literal_error": gettext_lazy("可选值：%(expected)s。"),
    "string_type": gettext_lazy("应为文本。"),
    "bool_type": gettext_lazy("应为 true 或 false。"),
    "bool_parsing": gettext_lazy("应为 true 或 false。"),
    "list_type": gettext_lazy("应为列表。"),
    "extra_forbidden": gettext_lazy("不能提交该字段。"),
    "model_attributes_type": gettext_lazy("格式不正确。"),
    "dict_type": gettext_lazy("格式不正确。"),
}


def _validation_message(err):
    template = VALIDATION_MESSAGES.get(err.get("type"))
    if template is None:
        return str(err.get("msg", ""))
    try:
        return str(template) % {k: v for k, v in (err.get("ctx") or {}).items()}
    except (KeyError, TypeError, ValueError):
        return str(err.get("msg", ""))


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc):
    fields = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        fields.setdefault(".".join(loc) or "__all__", []).append(_validation_message(err))
    return error_response(request, 422, "validation_failed", _("输入有误，请检查标出的字段。"), fields)


@api.exception_handler(DjangoValidationError)
def _django_validation_error(request, exc):
    fields = {k: [str(m) for m in v] for k, v in getattr(exc, "message_dict", {}).items()}
    if not fields:
        fields = {"__all__": [str(m) for m in exc.messages]}
    return error_response(request, 422, "validation_failed", _("输入有误，请检查标出的字段。"), fields)


@api.exception_handler(DataError)
def _data_error(request, exc):
    # The schemas bound every field to what the columns hold; this is the net under them.
    logger.warning("API input rejected by the database: %s", exc, exc_info=True)
    return error_response(request, 422, "validation_failed", _("输入超出了允许的范围或格式。"))


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error_response(request, 401, "unauthorized", _("需要有效的 API 令牌。"))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", _("找不到该记录，或您无权查看。"))


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request, exc):
    return error_response(request, 403, "permission_denied", _("您没有执行此操作的权限。"))


HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    429: "throttled",
}


@api.exception_handler(HttpError)
def _http_error(request, exc):
    message = str(exc)
    # Ninja's own English messages, the ones a client can actually meet.
    if message.startswith("Cannot parse request body"):
        message = _("请求内容不是有效的 JSON。")
    elif message == "CSRF check Failed":
        message = _("CSRF 校验失败：请刷新页面后重试，或改用 API 令牌。")
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    return error_response(request, exc.status_code, code, message)


@api.exception_handler(Exception)
def _unexpected(request, exc):
    logger.exception("Unhandled API error on %s %s", request.method, request.path)
    return error_response(request, 500, "server_error", _("服务器内部错误，已记录，请稍后重试。"))


api.add_router("/v1/customers", "kefu.customers.api.router")
api.add_router("/v1/tickets", "kefu.tickets.api.router")
