import threading

import pytest
from django.db import connection

from kefu.accounts.services import staff_create
from kefu.core.errors import Conflict, InvalidTransition
from kefu.tickets import services
from kefu.tickets.models import Ticket


@pytest.mark.django_db
def test_a_claim_takes_the_ticket_and_a_second_claim_is_refused(make_ticket, agent, dispatcher):
    t = make_ticket()
    won = services.ticket_claim(actor=agent, ticket=t)
    assert (won.owner, won.status, won.version) == (agent, Ticket.Status.IN_PROGRESS, 2)
    assert won.history.first().history_user == agent
    with pytest.raises(Conflict):
        services.ticket_claim(actor=dispatcher, ticket=t)
    assert Ticket.objects.get(pk=t.pk).owner == agent


@pytest.mark.django_db
def test_a_resolved_ticket_cannot_be_claimed(make_ticket, agent):
    t = make_ticket()
    Ticket.objects.filter(pk=t.pk).update(status=Ticket.Status.RESOLVED)
    with pytest.raises(InvalidTransition):
        services.ticket_claim(actor=agent, ticket=t)


@pytest.mark.django_db(transaction=True)
def test_of_fifty_concurrent_claims_exactly_one_wins(make_ticket, regions, department):
    ticket = make_ticket()
    agents = [
        staff_create(username=f"claimer{i}", password="x", display_name=f"坐席{i}",
                     employee_no=f"C{i:03d}", role="agent")
        for i in range(50)
    ]
    barrier = threading.Barrier(len(agents))
    outcomes, lock = [], threading.Lock()

    def claim(user):
        try:
            barrier.wait()
            services.ticket_claim(actor=user, ticket=ticket)
            result = "won"
        except Conflict:
            result = "lost"
        except Exception as exc:  # noqa: BLE001 - any other error fails the test below
            result = repr(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=claim, args=(u,)) for u in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 49 + ["won"]
    winner = Ticket.objects.get(pk=ticket.pk).owner
    assert winner in agents
    assert ticket.events.filter(verb="claimed").count() == 1
