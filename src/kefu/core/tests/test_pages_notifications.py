import pytest
from django.test import Client

from kefu.core.models import Notification
from kefu.core.notify import notify

pytestmark = pytest.mark.django_db


def client_for(user):
    c = Client()
    c.force_login(user)
    return c


def test_the_bell_shows_the_unread_count_in_one_query(agent, django_assert_max_num_queries):
    for i in range(3):
        notify(recipient=agent, kind="sla_warning", title=f"工单 CS20261100{i} 即将超时")
    c = client_for(agent)
    with django_assert_max_num_queries(3):  # session, user, count
        body = c.get("/core/notifications/bell/", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="unread-count">3<' in body


def test_notifications_are_private_and_can_be_marked_read(agent, supervisor):
    notify(recipient=agent, kind="sla_breach", title="工单 CS202611001 已超时")
    assert "CS202611001" not in client_for(supervisor).get("/core/notifications/").content.decode()
    c = client_for(agent)
    assert "CS202611001" in c.get("/core/notifications/").content.decode()
    c.post("/core/notifications/read/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    assert 'id="unread-count"' not in c.get("/core/notifications/bell/").content.decode()


def test_anonymous_users_are_sent_to_login():
    response = Client().get("/core/notifications/bell/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
