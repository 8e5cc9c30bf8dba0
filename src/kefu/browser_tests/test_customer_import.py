"""A supervisor imports customers from Excel: good rows in, every bad row reported with its row
number and reason (principle 8), or nothing at all when asked for all-or-nothing (A5)."""

import io

import openpyxl
import pytest
from playwright.sync_api import expect

from kefu.browser_tests.conftest import login, screenshot
from kefu.customers import excel
from kefu.customers.models import Customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GOOD = ["IMP-001", "IMP-002", "IMP-003"]
BAD_REGION_ROW, BAD_PHONE_ROW = 5, 6  # Excel rows: 1 is the header


def _workbook():
    """The template's 客户 sheet (same headers as excel.template_bytes()) with 3 good rows and 2
    bad ones: an unknown 片区 and a phone that is no phone."""
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = str(excel.CUSTOMER_SHEET)
    keys = [c.key for c in excel.CUSTOMER_COLUMNS]
    ws.append([str(c.header) for c in excel.CUSTOMER_COLUMNS])
    rows = [
        {"number": GOOD[0], "name": "李四海", "region": "华东片区", "phones": "139 0000 1111"},
        {"number": GOOD[1], "name": "王五福", "region": "west", "phones": "021-61234567"},
        {"number": GOOD[2], "name": "赵六顺", "kind": "VIP客户", "id_number": "110101199001011234"},
        {"number": "IMP-004", "name": "钱七星", "region": "火星片区"},
        {"number": "IMP-005", "name": "孙八方", "phones": "138-0013-80X"},
    ]
    for row in rows:
        ws.append([row.get(key) for key in keys])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return {"name": "customers.xlsx", "mimeType": XLSX, "buffer": buffer.getvalue()}


def _upload(page, live_server, *, all_or_nothing=False):
    login(page, live_server, "sam")
    page.goto(f"{live_server.url}/customers/import/")
    page.set_input_files("#import-form input[type=file]", _workbook())
    if all_or_nothing:
        page.check("#id_all_or_nothing")
    with page.expect_navigation():
        page.click("#import-submit")


def _expect_both_errors(page):
    rows = page.locator("#import-errors tbody tr")
    expect(rows).to_have_count(2)
    region_row = rows.filter(has_text="火星片区")
    expect(region_row.locator("td").nth(1)).to_have_text(str(BAD_REGION_ROW))
    expect(region_row.locator("td").nth(2)).to_have_text("片区")
    expect(region_row).to_contain_text("不存在")
    phone_row = rows.filter(has_text="138-0013-80X")
    expect(phone_row.locator("td").nth(1)).to_have_text(str(BAD_PHONE_ROW))
    expect(phone_row.locator("td").nth(2)).to_have_text("联系电话")
    expect(phone_row).to_contain_text("不是有效的电话号码")
    expect(page.locator("#import-summary")).to_contain_text("2 处错误")


def test_it_imports_the_good_rows_and_lists_the_bad_ones(page, live_server, supervisor):
    _upload(page, live_server)

    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("新建客户 3 个")
    _expect_both_errors(page)
    expect(page.locator("#error-sheet")).to_be_visible()
    screenshot(page, "import-errors.png")

    assert sorted(Customer.objects.values_list("number", flat=True)) == GOOD
    assert Customer.objects.get(number=GOOD[0]).region.code == "east"
    assert not Customer.objects.filter(number__in=["IMP-004", "IMP-005"]).exists()


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(page, live_server, supervisor):
    _upload(page, live_server, all_or_nothing=True)

    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("本次没有导入任何数据")
    expect(summary).not_to_contain_text("新建客户")
    _expect_both_errors(page)
    assert not Customer.objects.exists()
