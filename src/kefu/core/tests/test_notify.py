import pytest
from django.db import transaction

from kefu.core import notify as notify_module
from kefu.core.models import Notification
from kefu.core.notify import notify, unread_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(monkeypatch):
    sent = []
    monkeypatch.setattr(notify_module, "_channels", [sent.append])
    return sent


def test_a_dedupe_key_stores_and_delivers_once(agent, delivered, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(recipient=agent, kind="sla_warning", title="工单即将超时", dedupe_key="k1")
        second = notify(recipient=agent, kind="sla_warning", title="工单即将超时", dedupe_key="k1")
    assert first is not None and second is None
    assert Notification.objects.count() == 1
    assert delivered == [first]
    assert unread_count(agent) == 1


def test_nothing_is_delivered_when_the_transaction_rolls_back(agent, delivered,
                                                              django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        notify(recipient=agent, kind="assigned", title="派单")
        raise RuntimeError
    assert delivered == [] and not Notification.objects.exists()
