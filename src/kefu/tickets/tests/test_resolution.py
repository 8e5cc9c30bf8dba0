"""解决 (B9): the solution, the result and the compensation are kept on the ticket; a bad
compensation or a forbidden phrase in the customer-visible solution saves nothing."""

import decimal

import pytest

from kefu.core.errors import ValidationFailed
from kefu.tickets import phrases, services
from kefu.tickets.models import ForbiddenPhrase, Ticket
from kefu.tickets.services import (
    COMPENSATION_AMOUNT_INVALID,
    COMPENSATION_KIND_INVALID,
    COMPENSATION_KIND_NEEDED,
)
from kefu.tickets.tests.conftest import at

pytestmark = pytest.mark.django_db

NOW = at("2026-11-23 15:00")


@pytest.fixture
def working(make_ticket, agent, dispatcher):
    return services.ticket_assign(actor=dispatcher, ticket=make_ticket(), owner=agent)


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def assert_nothing_saved(ticket):
    row = fresh(ticket)
    assert row.status == Ticket.Status.IN_PROGRESS
    assert row.version == ticket.version
    assert (row.solution, row.result, row.compensation_kind, row.compensation_amount) == ("", "", "", None)
    assert row.resolved_at is None
    assert not row.events.filter(verb="resolved").exists()


def test_it_stores_the_solution_the_result_and_the_compensation(working, agent):
    t = services.ticket_resolve(actor=agent, ticket=working, solution="  更换搓纸轮，已试打10页 ",
                                result="恢复正常", compensation_kind="membership",
                                compensation_amount="30.5", now=NOW)
    row = fresh(t)
    assert row.status == Ticket.Status.RESOLVED and row.resolved_at == NOW
    assert row.solution == "更换搓纸轮，已试打10页" and row.result == "恢复正常"
    assert row.compensation_kind == Ticket.Compensation.MEMBERSHIP
    assert row.compensation_amount == decimal.Decimal("30.50")
    event = row.events.get(verb="resolved")
    assert event.customer_visible and event.at == NOW
    assert "延长会员期限 30.50 元" in event.summary
    assert event.data["solution"] == "更换搓纸轮，已试打10页"
    assert event.data["result"] == "恢复正常"
    assert (event.data["compensation_kind"], event.data["compensation_amount"]) == ("membership", "30.50")
    assert row.history.order_by("-history_id").first().solution == "更换搓纸轮，已试打10页"


@pytest.mark.parametrize("kind", ["refund", "coupon"])
def test_a_refund_or_coupon_without_an_amount_is_fine(working, agent, kind):
    t = services.ticket_resolve(actor=agent, ticket=working, solution="已办理", result="完成",
                                compensation_kind=kind, compensation_amount="")
    row = fresh(t)
    assert (row.compensation_kind, row.compensation_amount) == (kind, None)
    assert str(Ticket.Compensation(kind).label) in row.events.get(verb="resolved").summary


def test_no_compensation_says_nothing_about_it(working, agent):
    t = services.ticket_resolve(actor=agent, ticket=working, solution="清理进纸通道", result="已恢复")
    row = fresh(t)
    assert (row.compensation_kind, row.compensation_amount) == ("", None)
    assert "补偿" not in row.events.get(verb="resolved").summary


@pytest.mark.parametrize("amount", ["-1", "-0.01", "1.234", "abc", "NaN", "Infinity", "1e9",
                                    decimal.Decimal("0.001"), -5])
def test_a_bad_amount_is_a_field_error_and_saves_nothing(working, agent, amount):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_resolve(actor=agent, ticket=working, solution="退款", result="完成",
                                compensation_kind="refund", compensation_amount=amount)
    assert info.value.fields == {"compensation_amount": [COMPENSATION_AMOUNT_INVALID]}
    assert_nothing_saved(working)


@pytest.mark.parametrize("amount", ["0", 0, "12", decimal.Decimal("99.99"), 5.5])
def test_good_amounts_are_kept_to_the_cent(working, agent, amount):
    t = services.ticket_resolve(actor=agent, ticket=working, solution="退款", result="完成",
                                compensation_kind="refund", compensation_amount=amount)
    assert fresh(t).compensation_amount == decimal.Decimal(str(amount)).quantize(decimal.Decimal("0.01"))


def test_an_amount_needs_a_kind(working, agent):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_resolve(actor=agent, ticket=working, solution="退款", result="完成",
                                compensation_amount="20")
    assert info.value.fields == {"compensation_kind": [COMPENSATION_KIND_NEEDED]}
    assert_nothing_saved(working)


def test_an_unknown_kind_is_refused(working, agent):
    with pytest.raises(ValidationFailed) as info:
        services.ticket_resolve(actor=agent, ticket=working, solution="已处理", result="完成",
                                compensation_kind="cash", compensation_amount="20")
    assert info.value.fields == {"compensation_kind": [COMPENSATION_KIND_INVALID]}
    assert_nothing_saved(working)


def test_a_forbidden_phrase_in_the_solution_is_refused(working, agent):
    ForbiddenPhrase.objects.update_or_create(
        text="不归我们管", defaults={"severity": ForbiddenPhrase.Severity.BLOCK, "is_active": True})
    with pytest.raises(ValidationFailed) as info:
        services.ticket_resolve(actor=agent, ticket=working, solution="这个不归我们管，请找厂家",
                                result="完成", acknowledge_wording=True)
    assert info.value.code == phrases.CODE_BLOCKED
    assert any("不归我们管" in str(m) for m in info.value.fields["solution"])
    assert_nothing_saved(working)


def test_a_warned_phrase_needs_the_wording_acknowledged(working, agent):
    ForbiddenPhrase.objects.update_or_create(
        text="应该可以", defaults={"severity": ForbiddenPhrase.Severity.WARN, "is_active": True})
    with pytest.raises(ValidationFailed) as info:
        services.ticket_resolve(actor=agent, ticket=working, solution="重启后应该可以用了",
                                result="完成")
    assert info.value.code == phrases.CODE_WARNED and "solution" in info.value.fields
    assert_nothing_saved(working)
    t = services.ticket_resolve(actor=agent, ticket=working, solution="重启后应该可以用了",
                                result="完成", acknowledge_wording=True)
    assert fresh(t).status == Ticket.Status.RESOLVED
    assert t.events.get(verb="resolved").data["wording_acknowledged"] == ["应该可以"]


def test_a_long_solution_fits_the_event_summary_and_is_kept_whole(working, agent):
    solution = "检查并更换部件。" * 100  # 800 characters: the summary holds 500 at most
    t = services.ticket_resolve(actor=agent, ticket=working, solution=solution, result="完成",
                                compensation_kind="gift")
    event = t.events.get(verb="resolved")
    assert len(event.summary) <= 500 and "礼品" in event.summary
    assert event.data["solution"] == solution and fresh(t).solution == solution


def test_a_new_resolution_after_a_reopen_replaces_the_old_one(working, agent):
    t = services.ticket_resolve(actor=agent, ticket=working, solution="重装驱动", result="正常",
                                compensation_kind="coupon", compensation_amount="10", now=NOW)
    t = services.ticket_confirm(actor=agent, ticket=t, how="电话确认", now=at("2026-11-23 16:00"))
    t = services.ticket_reopen(actor=agent, ticket=t, reason="又卡纸", now=at("2026-11-24 09:00"))
    assert fresh(t).confirmed_at is None  # the old confirmation no longer holds
    t = services.ticket_resolve(actor=agent, ticket=t, solution="更换定影组件", result="正常",
                                now=at("2026-11-24 15:00"))
    row = fresh(t)
    assert (row.solution, row.compensation_kind, row.compensation_amount) == ("更换定影组件", "", None)
    assert row.events.filter(verb="resolved").count() == 2  # the first compensation stays on record
