"""The pages an agent lives in: login, the customer list, the new-customer form (bad input is
re-shown with the error next to its field, principle 8) and the language switch (principle 7)."""

import pytest
from playwright.sync_api import expect

from kefu.browser_tests.conftest import login, screenshot
from kefu.customers.models import Customer
from kefu.customers.services import customer_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏"
GIVEN = ["建国", "丽华", "志强", "秀英", "海涛", "晓燕"]
KINDS = ["ordinary", "contract", "rental", "vip", "major"]
TAGS = [["学校"], ["重点"], [], ["医院", "重点"], []]
PAGE_SIZE = 25


def test_the_login_page_signs_in_and_refuses_a_wrong_password(page, live_server, agent):
    page.goto(f"{live_server.url}/customers/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")  # pages need a login
    expect(page.locator("h1")).to_have_text("登录客服系统")
    screenshot(page, "login.png")

    page.fill("#id_username", "alice")
    page.fill("#id_password", "not-the-password")
    with page.expect_navigation():
        page.click("#login-submit")
    expect(page.locator(".alert-danger")).to_be_visible()
    expect(page.locator("#id_username")).to_have_value("alice")

    login(page, live_server, "alice")
    expect(page.locator("#user-menu")).to_have_text("王丽")


def test_the_customer_list_pages_through_the_archive(page, live_server, agent, regions):
    for i in range(30):
        customer_create(
            actor=agent,
            name=SURNAMES[i] + GIVEN[i % len(GIVEN)],
            kind=KINDS[i % len(KINDS)],
            region=regions["east" if i % 3 else "west"],
            phones=[f"139{i:08d}"],
            tags=TAGS[i % len(TAGS)],
        )
    newest = Customer.objects.order_by("-pk").first()

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/customers/")
    rows = page.locator("#customer-table tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(rows.first).to_contain_text(newest.number)
    expect(rows.first).to_contain_text(newest.display_name)  # masked: 魏*燕
    expect(page.locator("#customer-table")).to_contain_text("华东片区")
    screenshot(page, "customer-list.png")

    with page.expect_navigation():
        page.click("#next-page")
    expect(rows).to_have_count(30 - PAGE_SIZE)
    expect(page.locator("#next-page")).to_have_count(0)


def test_the_new_customer_form_reshows_bad_input_with_the_error_by_the_field(
    page, live_server, agent, regions
):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/customers/")
    with page.expect_navigation():
        page.click("#new-customer")
    page.fill("#id_name", "周九龙")
    page.select_option("#id_region", label="华东片区")
    page.fill("#id_phone", "138-0013-80X")
    page.fill("#id_address", "杭州市西湖区文三路90号")
    with page.expect_navigation():
        page.click("#save")

    # Nothing typed is lost, and the message sits under the phone field, not somewhere on top.
    expect(page.locator("#id_name")).to_have_value("周九龙")
    expect(page.locator("#id_phone")).to_have_value("138-0013-80X")
    expect(page.locator("#id_address")).to_have_value("杭州市西湖区文三路90号")
    phone_group = page.locator("#customer-form .mb-3").filter(has=page.locator("#id_phone"))
    expect(
        phone_group.locator(".invalid-feedback"),
        "the phone error must be shown next to the phone field",
    ).to_contain_text("不是有效的电话号码")
    screenshot(page, "customer-form-error.png")
    assert not Customer.objects.filter(name="周九龙").exists()

    page.fill("#id_phone", "138 0013 8000")
    with page.expect_navigation():
        page.click("#save")
    created = Customer.objects.get(name="周九龙")
    assert page.url == f"{live_server.url}/customers/{created.pk}/"
    expect(page.locator("#customer-title")).to_contain_text(created.number)
    expect(page.locator("#phones .masked.phone")).to_have_text("138****8000")
    assert created.region == regions["east"]


def test_the_language_switch_persists(page, live_server, agent):
    login(page, live_server, "alice")
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"

    page.goto(f"{live_server.url}/customers/")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("select[name=language]")).to_have_value("en")
