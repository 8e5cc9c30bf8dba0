from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request):
    """The top navigation, filtered by what the signed-in user's role may open."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav_items": []}
    items = [
        ("home", _("工作台"), None),
        ("customers:list", _("客户档案"), "customers.view_customer"),
        ("customers:import", _("导入客户"), "customers.import_customers"),
        ("core:access_log", _("查看日志"), "core.view_accesslog"),
        ("accounts:tokens", _("API 令牌"), None),
    ]
    nav = []
    for name, label, perm in items:
        if perm is None or user.has_perm(perm):
            url = reverse(name)
            nav.append({"url": url, "label": label, "active": request.path.startswith(url) and url != "/" or request.path == url})
    return {"nav_items": nav}
