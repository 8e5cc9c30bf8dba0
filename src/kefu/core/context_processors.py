import functools

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import gettext_lazy as _

ITEMS = [
    ("home", _("工作台"), None),
    ("customers:list", _("客户档案"), "customers.view_customer"),
    ("tickets:call", _("来电受理"), "tickets.add_ticket"),
    ("tickets:queue", _("工单"), "tickets.view_ticket"),
    ("tickets:review", _("周复盘"), "tickets.view_all_tickets"),
    ("customers:import", _("导入客户"), "customers.import_customers"),
    ("core:access_log", _("查看日志"), "core.view_accesslog"),
    ("accounts:tokens", _("API 令牌"), None),
]


@functools.lru_cache(maxsize=8)
def _urls(script_prefix, urlconf):
    """The items' addresses: the same for every request of a deployment (reversed once, not
    eight times a page)."""
    return {name: reverse(name, urlconf=urlconf) for name, _label, _perm in ITEMS}


def navigation(request):
    """The top navigation, filtered by what the signed-in user's role may open."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav_items": []}
    urls = _urls(get_script_prefix(), get_urlconf())
    nav = [
        {"url": urls[name], "label": label, "active": False}
        for name, label, perm in ITEMS
        if perm is None or user.has_perm(perm)
    ]
    # The most specific entry wins: /customers/import/ highlights 导入客户, not 客户档案 too.
    matches = [i for i in nav if request.path == i["url"] or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return {"nav_items": nav}
