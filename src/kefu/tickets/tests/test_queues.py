import datetime

import pytest

from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db
NOW = at("2026-11-24 12:00")


@pytest.fixture
def desk(make_ticket, agent, dispatcher):
    pool_new = make_ticket(now="2026-11-24 11:00")                      # due Wed 11:00
    overdue = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-20 10:00"),
                                     owner=agent)                        # due Mon 11-23 10:00
    soon = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-23 13:30"),
                                  owner=agent)                           # due Tue 11-24 13:30
    held = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-19 10:00"),
                                  owner=agent)
    held = services.ticket_hold(actor=agent, ticket=held, reason="等配件", now=at("2026-11-19 11:00"))
    resolved = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-24 09:00"),
                                      owner=dispatcher)
    resolved = services.ticket_resolve(actor=dispatcher, ticket=resolved, solution="s", result="r")
    return {"pool": pool_new, "overdue": overdue, "soon": soon, "held": held, "resolved": resolved}


def pks(qs):
    return list(qs.by_deadline().values_list("pk", flat=True))


def test_each_queue_holds_what_its_name_says(desk, agent):
    t = Ticket.objects
    assert pks(t.pool()) == [desk["pool"].pk]
    assert pks(t.mine(agent)) == [desk["held"].pk, desk["overdue"].pk, desk["soon"].pk]
    assert pks(t.overdue(NOW)) == [desk["overdue"].pk]  # the held one's clock is stopped
    assert pks(t.due_soon(NOW, datetime.timedelta(hours=4))) == [desk["soon"].pk]
    assert pks(t.on_hold()) == [desk["held"].pk]
    assert pks(t.awaiting_confirmation()) == [desk["resolved"].pk]


def test_keyset_pages_walk_the_deadline_order_without_gaps(make_ticket):
    for minute in range(0, 50, 5):
        make_ticket(now=f"2026-11-24 10:{minute:02d}")
        make_ticket(now=f"2026-11-24 10:{minute:02d}")  # equal deadlines: the id breaks ties
    everything = pks(Ticket.objects.open())
    seen, page = [], list(Ticket.objects.open().by_deadline()[:3])
    while page:
        seen += [t.pk for t in page]
        last = page[-1]
        page = list(Ticket.objects.open().after(last.resolve_due_at, last.pk).by_deadline()[:3])
    assert seen == everything and len(seen) == 20
