"""Permissions and regions kept per process (kefu.accounts.backends): a page reads them once,
and any change to a group, a permission or a region is seen on the very next request, in this
process and in any other (whose cache is keyed by the staff profile's access_version)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kefu.accounts import backends
from kefu.accounts.models import StaffProfile

pytestmark = pytest.mark.django_db

QUEUE = "/tickets/"


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def permission_queries(client, url=QUEUE):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    sql = [q["sql"] for q in ctx.captured_queries]
    return response, [s for s in sql if "auth_permission" in s or "staffprofile_regions" in s]


def version(user):
    return StaffProfile.objects.get(user=user).access_version


def test_the_profile_comes_with_the_user_and_permissions_are_read_once(agent):
    client = logged_in(agent)
    response, first = permission_queries(client)
    assert response.status_code == 200
    assert first  # the first request reads the permissions
    response, again = permission_queries(client)
    assert response.status_code == 200
    assert again == []  # the second takes them from the process's cache
    with CaptureQueriesContext(connection) as ctx:
        client.get(QUEUE)
    assert not any('FROM "accounts_staffprofile"' in q["sql"] for q in ctx.captured_queries), \
        "the staff profile is loaded with the user, not in a query of its own"


def test_leaving_a_group_takes_effect_on_the_next_request(agent):
    client = logged_in(agent)
    assert client.get(QUEUE).status_code == 200
    before = version(agent)
    agent.groups.clear()
    assert version(agent) == before + 1
    assert client.get(QUEUE).status_code == 403


def test_a_permission_taken_from_the_group_takes_effect_on_the_next_request(agent):
    client = logged_in(agent)
    assert client.get(QUEUE).status_code == 200
    group = Group.objects.get(name="agent")
    group.permissions.remove(Permission.objects.get(codename="view_ticket", content_type__app_label="tickets"))
    assert client.get(QUEUE).status_code == 403
    group.permissions.add(Permission.objects.get(codename="view_ticket", content_type__app_label="tickets"))
    assert client.get(QUEUE).status_code == 200


def test_a_group_deleted_takes_its_permissions_along(agent):
    client = logged_in(agent)
    assert client.get(QUEUE).status_code == 200
    Group.objects.filter(name="agent").delete()
    assert client.get(QUEUE).status_code == 403


def test_another_process_sees_a_change_by_the_version_alone(agent):
    """Another process changed the membership and bumped the version; this process's cache was
    not cleared (no signal reached it). The next request must still see the change."""
    client = logged_in(agent)
    assert client.get(QUEUE).status_code == 200
    assert backends._cache  # filled
    through = agent.groups.through
    through.objects.filter(user=agent).delete()  # no m2m signal: as if done elsewhere
    assert client.get(QUEUE).status_code == 200  # same version: the cached permissions
    StaffProfile.objects.filter(user=agent).update(access_version=F("access_version") + 1)
    assert client.get(QUEUE).status_code == 403


def test_a_user_without_a_staff_profile_is_not_cached(nobody):
    group = Group.objects.get(name="agent")
    nobody.groups.add(group)
    client = logged_in(nobody)
    assert client.get(QUEUE).status_code == 200
    _, again = permission_queries(client)
    assert again  # read every time: no version to key a cache on
    nobody.groups.remove(group)
    assert client.get(QUEUE).status_code == 403


def test_an_api_token_user_gets_the_cached_permissions_too(agent):
    from kefu.accounts.services import token_create

    _, token = token_create(user=agent, name="t")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/tickets").status_code == 200
    _, again = permission_queries(client, "/api/v1/tickets")
    assert again == []
    agent.groups.clear()
    assert client.get("/api/v1/tickets").status_code == 403


def test_roles_are_kept_too_and_follow_a_change(agent):
    from kefu.accounts.roles import role_of

    assert role_of(agent) == "agent"
    with CaptureQueriesContext(connection) as ctx:
        assert role_of(agent) == "agent"
    assert len(ctx.captured_queries) == 0
    agent.groups.set([Group.objects.get(name="engineer")])
    agent.refresh_from_db()  # the next request's user, with the bumped profile
    assert role_of(agent) == "engineer"
    Group.objects.filter(name="engineer").update(name="engineer")  # no signal: nothing to see
    group = Group.objects.get(name="engineer")
    group.name = "外勤"
    group.save()
    agent.refresh_from_db()
    assert role_of(agent) is None  # renamed: no longer a role Kefu knows
