"""Importing customers and assets from Excel: per-row errors, idempotency, all-or-nothing."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse

from kefu.core.errors import PermissionDenied, ValidationFailed
from kefu.customers import excel, services
from kefu.customers.models import Address, Asset, Contact, Customer, CustomerEvent, Phone

pytestmark = pytest.mark.django_db


def make_xlsx(customers=(), assets=(), *, customer_headers=None, asset_headers=None,
              sheets=("客户", "设备")):
    """An .xlsx file object; rows are dicts keyed by the Chinese header."""
    customer_headers = [str(h) for h in (customer_headers or excel.CUSTOMER_HEADERS)]
    asset_headers = [str(h) for h in (asset_headers or excel.ASSET_HEADERS)]
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheets[0]
    ws.append(customer_headers)
    for row in customers:
        ws.append([row.get(h) for h in customer_headers])
    if len(sheets) > 1:
        ws = workbook.create_sheet(sheets[1])
        ws.append(asset_headers)
        for row in assets:
            ws.append([row.get(h) for h in asset_headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


GOOD = [
    {"客户编号": "C001", "客户名称": "北京四中", "客户类型": "单位", "客户类别": "大客户",
     "网点级别": "一级网点", "片区": "华东片区", "联系人": "刘老师",
     "联系电话": "13511112222、021-61234567", "地址": "北京市西城区西什库大街", "标签": "学校,重点",
     "备注": "老客户"},
    {"客户编号": "C002", "客户名称": "张三", "客户类型": "个人", "客户类别": "vip",
     "片区": "west", "生日": datetime.date(1990, 5, 17), "证件号码": "110101199005171234",
     "联系电话": "+86 139 0000 1111"},
    {"客户编号": "C003", "客户名称": "李四", "客户类别": "VIP客户", "生日": "1985-12-01",
     "联系电话": "18600002222"},
]
GOOD_ASSETS = [
    {"客户编号": "C001", "产品型号": "EPSON L3150", "序列号/车架号": "lfx0001",
     "购买日期": datetime.date(2025, 3, 1), "保修截止": "2027-03-01", "合同编号": "HT-1"},
    {"客户编号": "C002", "产品型号": "比亚迪 秦", "车牌号": "沪A 12345", "购买日期": "2024/06/30"},
    {"客户编号": "C003", "产品型号": "HP M1005"},
]


def import_file(actor, customers=GOOD, assets=GOOD_ASSETS, **kwargs):
    return excel.import_customers(make_xlsx(customers, assets), actor=actor, **kwargs)


def errors_by_row(result):
    return {(e.sheet, e.row): e for e in result.errors}


def test_the_template_has_the_sheets_headers_and_an_example(supervisor):
    workbook = openpyxl.load_workbook(io.BytesIO(excel.template_bytes()))
    assert workbook.sheetnames == ["客户", "设备", "说明"]
    customers = list(workbook["客户"].iter_rows(values_only=True))
    assert customers[0] == (
        "客户编号", "客户名称", "客户类型", "客户类别", "网点级别", "片区", "生日", "证件号码",
        "联系人", "联系电话", "地址", "标签", "备注",
    )
    assert len(customers) == 2 and customers[1][0].startswith(excel.EXAMPLE_PREFIX)
    assets = list(workbook["设备"].iter_rows(values_only=True))
    assert assets[0] == (
        "客户编号", "产品型号", "序列号/车架号", "车牌号", "购买日期", "约定安装日期", "实际安装日期",
        "保修截止", "合同编号", "备注",
    )
    assert len(assets) == 2
    help_text = "\n".join(str(v) for row in workbook["说明"].iter_rows(values_only=True)
                          for v in row if v)
    for allowed in ("个人", "单位", "普通客户", "合同客户", "租赁客户", "VIP 客户", "大客户",
                    "一级网点", "二级网点", "华东片区", "YYYY-MM-DD"):
        assert allowed in help_text


def test_the_template_imports_as_nothing_because_its_example_rows_are_skipped(supervisor):
    result = excel.import_customers(io.BytesIO(excel.template_bytes()), actor=supervisor)
    assert result.errors == [] and result.created == 0 and result.assets_created == 0
    assert Customer.objects.count() == 0


def test_it_imports_customers_with_phones_addresses_tags_and_assets(supervisor, regions):
    result = import_file(supervisor)
    assert result.errors == []
    assert (result.created, result.updated, result.assets_created) == (3, 0, 3)
    school = Customer.objects.get(number="C001")
    assert (school.name, school.party_type, school.kind, school.outlet_level) == (
        "北京四中", "organisation", "major", "1")
    assert school.region == regions["east"] and school.notes == "老客户"
    assert sorted(school.tags.values_list("name", flat=True)) == ["学校", "重点"]
    contact = school.contacts.get()
    assert contact.name == "刘老师" and contact.is_primary
    assert sorted(p.number for p in contact.phones.all()) == ["02161234567", "13511112222"]
    assert [a.text for a in school.addresses.all()] == ["北京市西城区西什库大街"]
    zhang = Customer.objects.get(number="C002")
    assert (zhang.kind, zhang.region, zhang.birthday) == ("vip", regions["west"],
                                                          datetime.date(1990, 5, 17))
    assert zhang.id_number == "110101199005171234"
    assert [p.number for p in zhang.phones.all()] == ["13900001111"]
    assert Customer.objects.get(number="C003").birthday == datetime.date(1985, 12, 1)
    printer = Asset.objects.get(customer=school)
    assert (printer.serial, printer.purchase_date, printer.warranty_end) == (
        "LFX0001", datetime.date(2025, 3, 1), datetime.date(2027, 3, 1))
    car = Asset.objects.get(customer=zhang)
    assert (car.plate, car.purchase_date) == ("沪A12345", datetime.date(2024, 6, 30))
    assert school.created_by == supervisor
    assert CustomerEvent.objects.filter(customer=school, actor=supervisor, verb="created").exists()


def test_good_rows_are_imported_and_each_bad_row_is_reported(supervisor, regions):
    customers = [
        GOOD[0],
        {"客户编号": "C101", "客户名称": "王五", "片区": "火星片区"},
        GOOD[1],
        {"客户编号": "C102", "客户名称": "赵六", "联系电话": "13800001111/不是电话"},
        GOOD[2],
    ]
    assets = [*GOOD_ASSETS, {"客户编号": "C999", "产品型号": "X1"},
              {"客户编号": "C101", "产品型号": "X2"}]
    result = import_file(supervisor, customers, assets)

    assert result.created == 3 and result.assets_created == 3
    assert set(Customer.objects.values_list("number", flat=True)) == {"C001", "C002", "C003"}
    errors = errors_by_row(result)
    assert set(errors) == {("客户", 3), ("客户", 5), ("设备", 5), ("设备", 6)}
    region = errors[("客户", 3)]
    assert region.column == "片区" and "火星片区" in region.reason and "华东片区" in region.reason
    phone = errors[("客户", 5)]
    assert phone.column == "联系电话" and "不是电话" in phone.reason
    unknown = errors[("设备", 5)]
    assert unknown.column == "客户编号" and "C999" in unknown.reason and "不存在" in unknown.reason
    orphan = errors[("设备", 6)]
    assert orphan.column == "客户编号" and "第 3 行" in orphan.reason
    assert not Phone.objects.filter(customer__number="C102").exists()


@pytest.mark.parametrize(("row", "column", "reason"), [
    ({"客户编号": "N1"}, "客户名称", str(services.NAME_REQUIRED)),
    ({"客户编号": "", "客户名称": "无编号"}, "客户编号", str(excel.NUMBER_REQUIRED)),
    ({"客户编号": "N1", "客户名称": "甲", "客户类别": "金牌客户"}, "客户类别", "金牌客户"),
    ({"客户编号": "N1", "客户名称": "甲", "客户类型": "公司"}, "客户类型", "个人"),
    ({"客户编号": "N1", "客户名称": "甲", "网点级别": "三级网点"}, "网点级别", "二级网点"),
    ({"客户编号": "N1", "客户名称": "甲", "生日": "1990-13-45"}, "生日", "YYYY-MM-DD"),
    ({"客户编号": "N1", "客户名称": "甲", "生日": "2999-01-01"}, "生日", "生日不能晚于今天"),
    ({"客户编号": "N1", "客户名称": "甲", "证件号码": "12-34"}, "证件号码",
     str(services.BAD_ID_NUMBER)),
    ({"客户编号": "N1", "客户名称": "甲", "证件号码": 1.10101199001011e17}, "证件号码", "文本"),
    ({"客户编号": "N1", "客户名称": "甲" * 200}, "客户名称", "最多 128 个字符"),
])
def test_a_bad_customer_cell_is_reported_with_its_column_and_reason(supervisor, regions, row,
                                                                    column, reason):
    result = excel.import_customers(make_xlsx([GOOD[0], row]), actor=supervisor)
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("客户", 3, column)]
    assert reason in result.errors[0].reason
    assert list(Customer.objects.values_list("number", flat=True)) == ["C001"]


@pytest.mark.parametrize(("row", "column", "reason"), [
    ({"客户编号": "C001"}, "产品型号", str(services.PRODUCT_REQUIRED)),
    ({"客户编号": "C001", "产品型号": "X", "购买日期": "昨天"}, "购买日期", "昨天"),
    ({"客户编号": "C001", "产品型号": "X", "购买日期": "2025-03-01", "保修截止": "2024-01-01"},
     "保修截止", str(services.BAD_DATE_ORDER)),
    ({"客户编号": "C001", "产品型号": "X", "序列号/车架号": "LFX0001"}, "序列号/车架号", "第 2 行"),
])
def test_a_bad_asset_cell_is_reported_with_its_column_and_reason(supervisor, regions, row,
                                                                 column, reason):
    result = excel.import_customers(make_xlsx([GOOD[0]], [GOOD_ASSETS[0], row]), actor=supervisor)
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("设备", 3, column)]
    assert reason in result.errors[0].reason
    assert Asset.objects.count() == 1


def test_a_customer_number_twice_in_the_file_is_refused_on_its_second_row(supervisor, regions):
    result = import_file(supervisor, [GOOD[0], GOOD[1], {**GOOD[0], "客户名称": "冒名"}], [])
    assert [(e.row, e.column) for e in result.errors] == [(4, "客户编号")]
    assert "第 2 行" in result.errors[0].reason
    assert Customer.objects.get(number="C001").name == "北京四中"


def test_all_or_nothing_stores_nothing_when_a_row_fails(supervisor, regions):
    customers = [*GOOD, {"客户编号": "C104", "客户名称": "坏行", "客户类别": "不存在的类别"}]
    result = import_file(supervisor, customers, all_or_nothing=True)
    assert result.rolled_back
    assert [(e.sheet, e.row) for e in result.errors] == [("客户", 5)]
    assert result.created == 0
    assert Customer.objects.count() == 0 and Asset.objects.count() == 0
    assert Phone.objects.count() == 0 and CustomerEvent.objects.count() == 0


def test_all_or_nothing_stores_everything_when_every_row_is_good(supervisor, regions):
    result = import_file(supervisor, all_or_nothing=True)
    assert not result.rolled_back and result.created == 3
    assert Customer.objects.count() == 3


def test_importing_the_same_file_twice_updates_and_never_duplicates(supervisor, regions):
    first = import_file(supervisor)
    counts = (Customer.objects.count(), Phone.objects.count(), Address.objects.count(),
              Contact.objects.count(), Asset.objects.count())
    versions = dict(Customer.objects.values_list("number", "version"))
    second = import_file(supervisor)
    assert (first.created, first.updated, first.assets_created) == (3, 0, 3)
    assert (second.created, second.updated, second.assets_created, second.assets_updated) == (
        0, 3, 0, 3)
    assert second.errors == []
    assert (Customer.objects.count(), Phone.objects.count(), Address.objects.count(),
            Contact.objects.count(), Asset.objects.count()) == counts == (3, 4, 1, 1, 3)
    # Nothing changed, so nothing was written: no new versions.
    assert dict(Customer.objects.values_list("number", "version")) == versions


def test_reimport_changes_only_what_changed_and_adds_only_new_phones(supervisor, regions):
    import_file(supervisor)
    changed = [{**GOOD[0], "客户类别": "合同客户",
                "联系电话": "135 1111 2222；021 6123 4567；13700003333",
                "地址": "北京市西城区西什库大街\n北京市海淀区中关村"},
               {"客户编号": "C002", "联系电话": "13900001111"}]
    assets = [{"客户编号": "C001", "产品型号": "EPSON L3150", "序列号/车架号": "LFX0001",
               "保修截止": "2028-03-01"}]
    result = import_file(supervisor, changed, assets)
    assert (result.created, result.updated, result.assets_created, result.assets_updated) == (
        0, 2, 0, 1)
    school = Customer.objects.get(number="C001")
    assert school.kind == "contract" and school.version == 2
    assert sorted(p.number for p in school.phones.all()) == [
        "02161234567", "13511112222", "13700003333"]
    assert [a.text for a in school.addresses.order_by("id")] == [
        "北京市西城区西什库大街", "北京市海淀区中关村"]
    # Blank cells keep what is there.
    zhang = Customer.objects.get(number="C002")
    assert zhang.version == 1 and zhang.kind == "vip" and zhang.id_number == "110101199005171234"
    printer = Asset.objects.get(serial="LFX0001")
    assert printer.warranty_end == datetime.date(2028, 3, 1)
    assert printer.purchase_date == datetime.date(2025, 3, 1)


def test_it_updates_a_customer_already_in_the_system_without_duplicating_phones(
        supervisor, customer):
    row = {"客户编号": customer.number, "客户名称": "张三明", "联系人": "张三明",
           "联系电话": "+86 138-1234-5678", "地址": "上海市浦东新区世纪大道100号"}
    asset = {"客户编号": customer.number, "产品型号": "EPSON L3150",
             "序列号/车架号": "lfx123456789", "合同编号": "HT-9"}
    result = excel.import_customers(make_xlsx([row], [asset]), actor=supervisor)
    assert (result.created, result.updated, result.assets_updated) == (0, 1, 1)
    assert customer.phones.count() == 1 and customer.addresses.count() == 1
    assert customer.contacts.count() == 1
    assert Asset.objects.get(customer=customer).contract_number == "HT-9"
    assert Asset.objects.filter(customer=customer).count() == 1


def test_assets_without_serial_are_matched_by_plate_then_by_model(supervisor, regions):
    import_file(supervisor)
    assets = [{"客户编号": "C002", "产品型号": "比亚迪 秦", "车牌号": "沪a12345", "备注": "换过轮胎"},
              {"客户编号": "C003", "产品型号": "HP M1005", "合同编号": "HT-3"},
              {"客户编号": "C003", "产品型号": "HP M1136"}]
    result = import_file(supervisor, [], assets)
    assert (result.assets_created, result.assets_updated) == (1, 2)
    assert Asset.objects.get(plate="沪A12345").notes == "换过轮胎"
    assert Asset.objects.get(product_model="HP M1005").contract_number == "HT-3"
    assert Asset.objects.filter(customer__number="C003").count() == 2


def test_an_asset_only_file_attaches_to_customers_in_the_system(supervisor, customer):
    workbook = make_xlsx([{"客户编号": customer.number, "产品型号": "新打印机"}], sheets=("设备",),
                         customer_headers=excel.ASSET_HEADERS)
    result = excel.import_customers(workbook, actor=supervisor)
    assert result.errors == [] and result.assets_created == 1
    assert customer.assets.filter(product_model="新打印机").exists()


def test_headers_are_matched_by_name_in_any_order(supervisor, regions):
    headers = list(reversed([str(h) for h in excel.CUSTOMER_HEADERS]))
    result = excel.import_customers(make_xlsx(GOOD, [], customer_headers=headers),
                                    actor=supervisor)
    assert result.created == 3 and result.errors == []
    assert Customer.objects.get(number="C001").kind == "major"


def test_row_numbers_are_excels_even_with_blank_rows_above_and_between(supervisor, regions):
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "客户"
    ws.append([])
    ws.append([str(h) for h in excel.CUSTOMER_HEADERS])
    ws.append([])
    ws.append(["B1", "坏片区", None, None, None, "火星片区"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    result = excel.import_customers(buffer, actor=supervisor)
    assert [(e.row, e.column) for e in result.errors] == [(4, "片区")]


def test_a_single_unnamed_sheet_of_customers_is_read_as_the_customer_sheet(supervisor, regions):
    result = excel.import_customers(make_xlsx(GOOD, sheets=("Sheet1",)), actor=supervisor)
    assert result.created == 3 and result.errors == []


@pytest.mark.parametrize("content", [b"number,name\nC1,Zhang\n", b"", b"PK\x03\x04broken zip"])
def test_a_file_that_is_not_xlsx_is_refused_and_nothing_is_stored(supervisor, content):
    with pytest.raises(ValidationFailed) as info:
        excel.import_customers(io.BytesIO(content), actor=supervisor)
    assert [str(m) for m in info.value.fields["file"]] == [str(excel.NOT_XLSX)]
    assert Customer.objects.count() == 0


def test_a_sheet_without_the_required_headers_is_refused(supervisor):
    headers = [h for h in excel.CUSTOMER_HEADERS if str(h) != "客户名称"]
    with pytest.raises(ValidationFailed) as info:
        excel.import_customers(make_xlsx([{"客户编号": "X1"}], customer_headers=headers),
                               actor=supervisor)
    assert "客户名称" in str(info.value.fields["file"][0])
    assert Customer.objects.count() == 0


def test_a_workbook_without_customer_or_asset_sheets_is_refused(supervisor):
    workbook = make_xlsx([], sheets=("随便",), customer_headers=["甲", "乙"])
    with pytest.raises(ValidationFailed) as info:
        excel.import_customers(workbook, actor=supervisor)
    assert str(info.value.fields["file"][0]) == str(excel.NO_SHEETS)


def test_someone_without_the_import_permission_cannot_import(agent):
    with pytest.raises(PermissionDenied):
        import_file(agent)
    assert Customer.objects.count() == 0


def test_the_error_sheet_round_trips(supervisor, regions, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    result = import_file(supervisor, [*GOOD, {"客户编号": "C9", "客户名称": "=坏", "生日": "某天"}])
    token = excel.save_error_sheet(result.errors)
    path = excel.error_sheet_path(token)
    assert path == tmp_path / "import-errors" / f"{token}.xlsx"
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == ("工作表", "行号", "列", "原因")
    assert rows[1:] == [(e.sheet, e.row, e.column, e.reason) for e in result.errors]
    assert rows[1][:3] == ("客户", 5, "生日")


def test_an_error_sheet_token_must_be_32_hex_characters(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    token = excel.save_error_sheet([])
    assert excel.error_sheet_path(token) is not None
    assert excel.error_sheet_path("0" * 32) is None
    assert excel.error_sheet_path("../../etc/passwd") is None
    assert excel.error_sheet_path(token.upper()) is None


def test_progress_is_reported_per_row(supervisor, regions):
    calls = []
    import_file(supervisor, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (6, 6) and len(calls) == 6


# -- the pages -------------------------------------------------------------------------------


def test_a_supervisor_uploads_and_sees_the_rejected_rows(client, supervisor, regions, settings,
                                                         tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(supervisor)
    upload = make_xlsx([*GOOD, {"客户编号": "C9", "客户名称": "坏", "片区": "火星片区"}], GOOD_ASSETS)
    upload.name = "customers.xlsx"
    response = client.post(reverse("customers:import"), {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="import-errors"' in page and "火星片区" in page
    assert Customer.objects.count() == 3
    token = response.context["error_token"]
    sheet = client.get(reverse("customers:import_errors", args=[token]))
    assert sheet.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.content)).active.iter_rows(
        values_only=True))
    assert rows[1][:3] == ("客户", 5, "片区")


def test_a_supervisor_uploading_a_bad_file_sees_the_message(client, supervisor):
    client.force_login(supervisor)
    upload = io.BytesIO(b"not a workbook")
    upload.name = "customers.xlsx"
    response = client.post(reverse("customers:import"), {"file": upload})
    assert response.status_code == 200
    assert str(excel.NOT_XLSX) in response.content.decode()
    assert Customer.objects.count() == 0


def test_a_supervisor_downloads_the_template(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("customers:import_template"))
    assert response.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(response.content)).sheetnames == ["客户", "设备", "说明"]


@pytest.mark.parametrize("url", ["customers:import", "customers:import_template"])
def test_an_agent_may_not_import(client, agent, url):
    client.force_login(agent)
    assert client.get(reverse(url)).status_code == 403


def test_an_agent_may_not_post_an_import(client, agent, regions):
    client.force_login(agent)
    upload = make_xlsx(GOOD)
    upload.name = "customers.xlsx"
    assert client.post(reverse("customers:import"), {"file": upload}).status_code == 403
    assert Customer.objects.count() == 0


def test_an_agent_may_not_download_an_error_sheet(client, agent, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    token = excel.save_error_sheet([excel.RowError("客户", 2, "片区", "x")])
    client.force_login(agent)
    assert client.get(reverse("customers:import_errors", args=[token])).status_code == 403
