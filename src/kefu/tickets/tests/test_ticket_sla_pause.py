import datetime

import pytest

from kefu.tickets import services
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db


def _in_progress(make_ticket, agent, dispatcher, now):
    return services.ticket_assign(actor=dispatcher, ticket=make_ticket(now=now), owner=agent)


def test_hold_then_resume_adds_the_paused_working_time(make_ticket, agent, dispatcher):
    t = _in_progress(make_ticket, agent, dispatcher, "2026-11-23 09:00")
    assert t.resolve_due_at == at("2026-11-24 09:00")
    t = services.ticket_hold(actor=agent, ticket=t, reason="等客户回电", now=at("2026-11-23 11:00"))
    t = services.ticket_resume(actor=agent, ticket=t, now=at("2026-11-23 14:00"))  # lunch skipped
    assert t.paused_seconds == 90 * 60
    assert t.resolve_due_at == at("2026-11-24 10:30")
    assert t.on_hold_since is None


def test_a_hold_across_national_day_counts_only_working_time(make_ticket, agent, dispatcher):
    t = _in_progress(make_ticket, agent, dispatcher, "2025-09-30 09:00")
    before = t.resolve_due_at
    assert before == at("2025-10-09 09:00")
    t = services.ticket_hold(actor=agent, ticket=t, reason="等配件", now=at("2025-09-30 17:00"))
    t = services.ticket_resume(actor=agent, ticket=t, now=at("2025-10-09 10:00"))
    assert t.paused_seconds == 2 * 3600  # 17–18 on Sep 30, 09–10 on Oct 9
    assert t.resolve_due_at == at("2025-10-09 11:00")


def test_a_hold_over_an_adjusted_working_sunday_counts_that_sunday(make_ticket, agent, dispatcher):
    t = _in_progress(make_ticket, agent, dispatcher, "2025-09-26 09:00")
    t = services.ticket_hold(actor=agent, ticket=t, reason="等配件", now=at("2025-09-26 17:00"))
    t = services.ticket_resume(actor=agent, ticket=t, now=at("2025-09-29 09:00"))
    # Friday 17–18 plus the whole of Sunday 2025-09-28 (调休上班, 7.5 h); Saturday not counted.
    assert t.paused_seconds == int(datetime.timedelta(hours=8, minutes=30).total_seconds())


def test_a_natural_clock_policy_pauses_in_natural_time(make_ticket, agent, dispatcher):
    t = _in_progress(make_ticket, agent, dispatcher, "2026-11-21 22:00")  # urgent below
    t2 = services.ticket_assign(actor=dispatcher, ticket=make_ticket(now="2026-11-21 22:00", priority="urgent"),
                                owner=agent)
    t2 = services.ticket_hold(actor=agent, ticket=t2, reason="等客户", now=at("2026-11-21 23:00"))
    t2 = services.ticket_resume(actor=agent, ticket=t2, now=at("2026-11-22 01:00"))
    assert t2.resolve_due_at == at("2026-11-22 04:00")
    assert t.sla_policy.clock == "working" and t2.sla_policy.clock == "natural"
