"""Exporting customers and assets to Excel: same format as the template, lossless round trip,
formula injection escaped, a query budget that does not grow with the number of customers."""

import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.customers import excel, services
from kefu.customers.models import Address, Asset, Customer, Phone

pytestmark = pytest.mark.django_db


def sheets_of(data):
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook}


def snapshot():
    """Everything an export carries, keyed by customer number, for before/after comparisons."""
    result = {}
    for c in Customer.objects.select_related("region").prefetch_related(
            "tags", "phones", "addresses", "contacts", "assets").order_by("number"):
        result[c.number] = {
            "fields": (c.name, c.party_type, c.kind, c.outlet_level, c.region_id, c.birthday,
                       c.id_number, c.notes),
            "tags": sorted(t.name for t in c.tags.all()),
            "phones": sorted(p.number for p in c.phones.all()),
            "addresses": [a.text for a in c.addresses.all()],
            "contacts": [x.name for x in c.contacts.all()],
            "assets": sorted(
                (a.product_model, a.serial, a.plate, a.purchase_date, a.agreed_install_date,
                 a.installed_on, a.warranty_end, a.contract_number, a.notes)
                for a in c.assets.all()),
        }
    return result


@pytest.fixture
def hostile(agent):
    """A customer whose text would run as formulas in Excel if it were not escaped."""
    c = services.customer_create(
        actor=agent, name="=1+2", number="-42", notes="@SUM(A1)", tags=["+tag"],
        contacts=[{"name": "=HYPERLINK(\"http://evil\")", "phones": ["+1 415 555 0100"]}],
        addresses=["\t=cmd|' /C calc'!A0", "'已带引号的地址"],
    )
    services.asset_create(actor=agent, customer=c, product_model="-2+3", serial="=SERIAL",
                          contract_number="@HT", notes="\r=x")
    return c


def test_the_export_has_the_template_sheets_and_headers(supervisor, customer):
    exported = sheets_of(excel.export_bytes(Customer.objects.all()))
    template = sheets_of(excel.template_bytes())
    assert list(exported) == ["客户", "设备"]
    assert exported["客户"][0] == template["客户"][0]
    assert exported["设备"][0] == template["设备"][0]
    row = dict(zip(exported["客户"][0], exported["客户"][1], strict=True))
    assert row["客户编号"] == customer.number and row["客户名称"] == "张三明"
    assert row["客户类别"] == "VIP 客户" and row["片区"] == "华东片区"
    # In clear: exporting is a permission-gated action.
    assert row["联系电话"] == "13812345678" and row["证件号码"] == "110101199001011234"
    assert row["地址"] == "上海市浦东新区世纪大道100号" and row["标签"] == "学校"
    asset = dict(zip(exported["设备"][0], exported["设备"][1], strict=True))
    assert asset["序列号/车架号"] == "LFX123456789"
    assert asset["购买日期"].date() == datetime.date(2025, 3, 1)


def test_every_text_cell_that_excel_would_run_is_escaped(supervisor, hostile):
    exported = sheets_of(excel.export_bytes(Customer.objects.all()))
    row = dict(zip(exported["客户"][0], exported["客户"][1], strict=True))
    assert row["客户名称"] == "'=1+2"
    assert row["客户编号"] == "'-42"
    assert row["备注"] == "'@SUM(A1)"
    assert row["标签"] == "'+tag"
    assert row["联系人"] == "'=HYPERLINK(\"http://evil\")"
    assert row["联系电话"] == "'+14155550100"
    assert row["地址"] == "'=cmd|' /C calc'!A0\n'已带引号的地址"  # the service strips the tab
    asset = dict(zip(exported["设备"][0], exported["设备"][1], strict=True))
    assert (asset["客户编号"], asset["产品型号"], asset["序列号/车架号"], asset["合同编号"],
            asset["备注"]) == ("'-42", "'-2+3", "'=SERIAL", "'@HT", "'_x000D_=x")  # OOXML's CR
    for sheet in exported.values():
        for values in sheet:
            for value in values:
                if isinstance(value, str):
                    assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_escaped_values_come_back_unchanged_when_the_export_is_imported(supervisor, hostile,
                                                                         customer):
    # Control characters XML cannot hold, and text that looks like OOXML's own escapes.
    services.customer_create(actor=supervisor, name="控制字符", number="K1",
                             notes="行一\r\n行二\x0b_x0041_ 与 _x005F_")
    before = snapshot()
    data = excel.export_bytes(Customer.objects.all())
    Customer.objects.all().delete()
    result = excel.import_customers(io.BytesIO(data), actor=supervisor)
    assert result.errors == []
    assert (result.created, result.assets_created) == (3, 2)
    after = snapshot()
    assert after["-42"]["assets"] == before["-42"]["assets"]
    assert after == before
    assert Customer.objects.get(number="-42").name == "=1+2"
    assert Customer.objects.get(number="-42").notes == "@SUM(A1)"


def test_importing_an_export_into_the_same_system_changes_nothing(supervisor, customer,
                                                                 west_customer, hostile):
    before = snapshot()
    counts = (Phone.objects.count(), Address.objects.count(), Asset.objects.count())
    versions = dict(Customer.objects.values_list("number", "version"))
    result = excel.import_customers(io.BytesIO(excel.export_bytes(Customer.objects.all())),
                                    actor=supervisor)
    assert result.errors == []
    assert (result.created, result.updated, result.assets_created, result.assets_updated) == (
        0, 3, 0, 2)
    assert snapshot() == before
    assert (Phone.objects.count(), Address.objects.count(), Asset.objects.count()) == counts
    assert dict(Customer.objects.values_list("number", "version")) == versions


def make_customers(actor, regions, start, count):
    for i in range(start, start + count):
        c = services.customer_create(
            actor=actor, name=f"客户{i}", number=f"Q{i:05d}", region=regions["east"],
            id_number=f"1101011990010{i:05d}", tags=["批量"],
            contacts=[{"name": f"联系人{i}", "phones": [f"139{i:08d}"]}],
            addresses=[f"上海市某路{i}号"],
        )
        services.asset_create(actor=actor, customer=c, product_model="M1", serial=f"S{i}")


def count_export_queries():
    with CaptureQueriesContext(connection) as queries:
        data = excel.export_bytes(Customer.objects.all())
    return len(queries), data


def test_the_export_query_count_does_not_grow_with_the_customers(supervisor, regions,
                                                                 django_assert_max_num_queries):
    make_customers(supervisor, regions, 0, 30)
    thirty, data = count_export_queries()
    assert len(sheets_of(data)["客户"]) == 31
    make_customers(supervisor, regions, 30, 30)
    sixty, data = count_export_queries()
    assert len(sheets_of(data)["客户"]) == 61 and len(sheets_of(data)["设备"]) == 61
    assert sixty == thirty
    with django_assert_max_num_queries(8):
        excel.export_bytes(Customer.objects.all())


def test_export_to_path_reports_progress_and_counts(supervisor, customer, west_customer,
                                                    tmp_path):
    calls = []
    counts = excel.export_to_path(Customer.objects.all(), tmp_path / "out.xlsx",
                                  progress=lambda done, total: calls.append((done, total)))
    assert (counts.customers, counts.assets) == (2, 1)
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
    assert len(sheets_of((tmp_path / "out.xlsx").read_bytes())["客户"]) == 3


def test_a_supervisor_downloads_the_export(client, supervisor, customer, west_customer):
    client.force_login(supervisor)
    response = client.get(reverse("customers:export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    numbers = {row[0] for row in sheets_of(response.content)["客户"][1:]}
    assert numbers == {customer.number, west_customer.number}


def test_an_agent_may_not_export(client, agent, customer):
    client.force_login(agent)
    assert client.get(reverse("customers:export")).status_code == 403
