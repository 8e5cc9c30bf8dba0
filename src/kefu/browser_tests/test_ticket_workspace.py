"""The ticket workspace in a real browser: 来电受理 from the number to a saved ticket, 抢单 from
the pool, 恢复处理 moving the deadline, and an overdue ticket shown red in the queues.

The live server runs in another thread, so time is not frozen: tickets are set up through the
services with ``now=`` in the past (created days ago, on hold since two working hours ago) and
the browser acts at the real present.
"""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kefu.browser_tests.conftest import login, screenshot
from kefu.core import workcalendar
from kefu.customers import services as customer_services
from kefu.tickets import services
from kefu.tickets.models import Ticket
from kefu.tickets.tests import conftest as ticket_fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The ticket configuration (types, channels, priorities, SLA policies) reloaded after the
# transactional flush, and the working calendar re-seeded: the tickets' own fixture.
config = ticket_fixtures.config

DUE_FORMAT = "%Y-%m-%d %H:%M"  # the ticket page's "Y-m-d H:i"
CLEAR_PHONE = "13812345678"


def _create(actor, customer, config, *, subject, now, kind="fault", priority="normal"):
    return services.ticket_create(
        actor=actor, customer=customer, channel=config["phone"], ticket_type=config[kind],
        priority=config[priority], subject=subject, now=now,
    )


def _assigned(dispatcher, owner, ticket, now):
    return services.ticket_assign(actor=dispatcher, ticket=ticket, owner=owner, now=now)


def _working_hours_ago(hours, now):
    """The moment ``hours`` of working time before ``now`` (to the quarter hour), on the
    working calendar: whatever the time of day or a holiday, the hold then really counts."""
    moment = now
    for _step in range(4 * 24 * 40):  # at most 40 calendar days back
        moment -= datetime.timedelta(minutes=15)
        if workcalendar.working_time_between(moment, now) >= datetime.timedelta(hours=hours):
            return moment
    raise AssertionError("no working time in the last 40 days: is the calendar seeded?")


def _due(page):
    text = page.locator("#resolve-due").inner_text().strip()
    return datetime.datetime.strptime(text, DUE_FORMAT)


def _local_due(ticket):
    return timezone.localtime(ticket.resolve_due_at).strftime(DUE_FORMAT)


def _rgb(locator):
    colour = locator.evaluate("el => getComputedStyle(el).color")
    match = re.match(r"rgba?\((\d+),\s*(\d+),\s*(\d+)", colour)
    assert match, f"unexpected computed colour {colour!r}"
    return tuple(int(c) for c in match.groups())


def _is_red(rgb):
    r, g, b = rgb
    return r >= 180 and g <= 100 and b <= 100


def test_a_call_becomes_a_ticket_in_one_step(page, live_server, agent, customer, config):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tickets/")
    with page.expect_navigation():
        page.click("#call-intake")
    assert page.url == f"{live_server.url}/tickets/call/"
    expect(page.locator("h1")).to_have_text("来电受理")

    page.locator("#call-phone").press_sequentially("138 1234 5678")
    card = page.locator("#customer-card")
    expect(card, "typing the caller's number must bring up their card").to_be_visible()
    # The card is masked: 张*明 and 138****5678, never the full name or number.
    expect(page.locator("#card-name")).to_have_text(customer.display_name)
    assert customer.display_name != customer.name
    expect(card).to_contain_text("138****5678")
    expect(card).to_contain_text(customer.number)
    expect(card.locator("#card-assets")).to_contain_text("EPSON L3150")
    result_text = page.locator("#call-result").inner_text()
    assert customer.name not in result_text and CLEAR_PHONE not in result_text

    form = page.locator("#ticket-new-form")
    expect(form).to_be_visible()
    expect(form.locator("#id_channel option:checked")).to_have_text("电话")
    expect(form.locator("#id_priority option:checked")).to_have_text("普通")
    form.locator("#id_ticket_type").select_option(label="故障报修")
    form.locator("#id_subject").fill("打印机开机后卡纸，无法打印")
    form.locator("#id_description").fill("客户来电：开机自检后进纸即卡纸，已重启两次无效。")
    screenshot(page, "ticket-call.png")
    assert not Ticket.objects.exists()

    with page.expect_navigation():
        page.click("#ticket-save")

    ticket = Ticket.objects.get(customer=customer)  # exactly one: get() fails on none or two
    assert ticket.channel.code == "phone"
    assert ticket.ticket_type.code == "fault"
    assert ticket.subject == "打印机开机后卡纸，无法打印"
    assert page.url == f"{live_server.url}/tickets/{ticket.pk}/"
    title = page.locator("#ticket-title")
    expect(title).to_contain_text("打印机开机后卡纸，无法打印")
    expect(title).to_contain_text(ticket.number)
    expect(page.locator("#ticket-customer")).to_have_text(customer.display_name)
    expect(page.locator("#resolve-due")).to_have_text(_local_due(ticket))
    expect(page.locator("#timeline")).to_contain_text("受理工单")
    screenshot(page, "ticket-detail.png")


def test_an_agent_claims_a_ticket_from_the_pool(page, live_server, agent, customer, config):
    ticket = _create(agent, customer, config, subject="复印机无法扫描到邮箱",
                     now=timezone.now() - datetime.timedelta(minutes=20), kind="consult")
    assert ticket.owner is None and ticket.status == Ticket.Status.NEW

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tickets/")
    with page.expect_navigation():
        page.click("#tab-pool")
    expect(page.locator("#tab-pool")).to_have_class(re.compile(r"\bactive\b"))
    row = page.locator(f"tr[data-ticket='{ticket.pk}']")
    expect(row).to_contain_text("复印机无法扫描到邮箱")
    with page.expect_navigation():
        row.get_by_role("link", name=ticket.number).click()
    assert page.url == f"{live_server.url}/tickets/{ticket.pk}/"
    expect(page.locator("#ticket-owner")).to_have_text("未分配")

    page.locator("#action-claim button").click()  # htmx: the ticket part is swapped in place
    expect(page.locator("#action-flash")).to_contain_text("抢单")
    expect(page.locator("#ticket-owner")).to_have_text("王丽")
    expect(page.locator("#ticket-status")).to_have_text("处理中")
    expect(page.locator("#action-claim"), "a claimed ticket offers no claim").to_have_count(0)
    expect(page.locator("#timeline")).to_contain_text("王丽 抢单")
    assert page.url == f"{live_server.url}/tickets/{ticket.pk}/"

    ticket.refresh_from_db()
    assert ticket.owner == agent
    assert ticket.status == Ticket.Status.IN_PROGRESS


def test_resuming_a_held_ticket_moves_its_deadline(
    page, live_server, agent, dispatcher, customer, config
):
    now = timezone.now()
    held_since = _working_hours_ago(2, now)
    created = held_since - datetime.timedelta(hours=1)
    ticket = _assigned(dispatcher, agent, _create(agent, customer, config,
                                                  subject="打印机卡纸，等配件", now=created), created)
    ticket = services.ticket_hold(actor=agent, ticket=ticket, reason="等搓纸轮配件到货",
                                  now=held_since)
    before_db = ticket.resolve_due_at

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-status")).to_have_text("挂起")
    expect(page.locator("#resolve-sla")).to_have_text("已暂停计时")
    expect(page.locator("#resolve-due")).to_have_text(_local_due(ticket))
    before = _due(page)

    page.locator("#action-resume button").click()
    expect(page.locator("#action-flash")).to_contain_text("恢复处理")
    expect(page.locator("#ticket-status")).to_have_text("处理中")
    expect(page.locator("#resolve-due")).not_to_have_text(before.strftime(DUE_FORMAT))
    after = _due(page)
    # Two working hours on hold: the deadline moves at least that much (the page shows minutes).
    assert after - before >= datetime.timedelta(minutes=119), (before, after)
    expect(page.locator("#resolve-sla")).to_have_class(re.compile(r"\bsla-(green|amber|red)\b"))
    expect(page.locator("#timeline li").first).to_contain_text("恢复处理，时限顺延")
    screenshot(page, "ticket-resumed.png")

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.IN_PROGRESS and ticket.on_hold_since is None
    assert ticket.resolve_due_at > before_db
    assert _local_due(ticket) == after.strftime(DUE_FORMAT)
    assert ticket.paused_seconds >= 2 * 3600


def test_an_overdue_ticket_is_red_in_the_queues_and_on_its_page(
    page, live_server, agent, dispatcher, customer, west_customer, regions, config
):
    now = timezone.now()
    days_ago = now - datetime.timedelta(days=10)
    overdue = _assigned(dispatcher, agent, _create(agent, customer, config,
                                                   subject="打印机卡纸", now=days_ago), days_ago)
    assert overdue.resolve_due_at < now  # one working day, ten calendar days ago
    # Other tickets around it, so the queue looks like a working day's (and shows the contrast).
    school = customer_services.customer_create(
        actor=agent, name="杭州市文澜中学", party_type="organisation", kind="contract",
        region=regions["east"], phones=["0571-8888 1234"])
    person = customer_services.customer_create(
        actor=agent, name="李晓燕", kind="ordinary", region=regions["east"],
        phones=["139 0000 1111"])
    fresh = _assigned(dispatcher, agent, _create(agent, school, config,
                                                 subject="多功能一体机无法联网", now=now), now)
    hour_ago = now - datetime.timedelta(hours=1)
    _assigned(dispatcher, agent, _create(agent, west_customer, config, subject="咨询延保服务价格",
                                         now=hour_ago, kind="consult", priority="low"), hour_ago)
    on_hold = _assigned(dispatcher, agent, _create(agent, person, config, subject="笔记本屏幕闪烁",
                                                   now=hour_ago), hour_ago)
    services.ticket_hold(actor=agent, ticket=on_hold, reason="等客户寄回设备", now=now)
    _create(agent, person, config, subject="账号无法登录", now=now, kind="consult", priority="urgent")

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/tickets/")
    with page.expect_navigation():
        page.click("#tab-overdue")
    expect(page.locator("#tab-overdue .queue-count")).to_have_text("1")
    expect(page.locator("#queue-table tbody tr")).to_have_count(1)
    cell = page.locator(f"tr[data-ticket='{overdue.pk}'] td.sla")
    expect(cell).to_have_class(re.compile(r"\bsla-red\b"))
    expect(cell).to_contain_text("已超时")
    assert _is_red(_rgb(cell)), _rgb(cell)
    screenshot(page, "ticket-overdue.png")

    with page.expect_navigation():
        page.click("#tab-mine")
    expect(page.locator("#queue-table tbody tr")).to_have_count(4)
    cell = page.locator(f"tr[data-ticket='{overdue.pk}'] td.sla")
    expect(cell).to_have_class(re.compile(r"\bsla-red\b"))
    assert _is_red(_rgb(cell)), _rgb(cell)
    on_time = page.locator(f"tr[data-ticket='{fresh.pk}'] td.sla")
    expect(on_time).to_have_class(re.compile(r"\bsla-(green|amber)\b"))
    assert not _is_red(_rgb(on_time)), _rgb(on_time)
    screenshot(page, "ticket-queue.png")

    with page.expect_navigation():
        page.locator(f"tr[data-ticket='{overdue.pk}']").get_by_role("link", name=overdue.number).click()
    sla = page.locator("#resolve-sla")
    expect(sla).to_have_class(re.compile(r"\bsla-red\b"))
    expect(sla).to_contain_text("已超时")
    assert _is_red(_rgb(sla)), _rgb(sla)
