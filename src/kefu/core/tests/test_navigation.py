import pytest
from django.test import RequestFactory

from kefu.core.context_processors import navigation


def nav_for(user, path):
    request = RequestFactory().get(path)
    request.user = user
    return {i["label"]: i["active"] for i in navigation(request)["nav_items"]}


@pytest.mark.django_db
def test_the_menu_follows_the_role(agent, supervisor):
    assert "导入客户" not in nav_for(agent, "/")
    assert "查看日志" not in nav_for(agent, "/")
    assert {"导入客户", "查看日志"} <= set(nav_for(supervisor, "/"))


@pytest.mark.django_db
def test_only_the_most_specific_entry_is_active(supervisor):
    items = nav_for(supervisor, "/customers/import/")
    assert items["导入客户"] is True
    assert items["客户档案"] is False
    assert nav_for(supervisor, "/customers/12/")["客户档案"] is True
    assert nav_for(supervisor, "/")["工作台"] is True


@pytest.mark.django_db
def test_the_addresses_follow_the_script_prefix(supervisor):
    """The addresses are reversed once per deployment prefix, not once per process: a site
    served under /kefu/ links there, and the root one stays at the root."""
    from django.urls import set_script_prefix

    def urls():
        request = RequestFactory().get("/")
        request.user = supervisor
        return {i["label"]: i["url"] for i in navigation(request)["nav_items"]}

    assert urls()["客户档案"] == "/customers/"
    set_script_prefix("/kefu/")
    try:
        assert urls()["客户档案"] == "/kefu/customers/" and urls()["工作台"] == "/kefu/"
    finally:
        set_script_prefix("/")
    assert urls()["客户档案"] == "/customers/"
