"""`kefu import customers FILE` and `kefu export customers FILE`."""

import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from kefu.customers import excel
from kefu.customers.models import Asset, Customer, Phone
from kefu.customers.tests.test_excel_import import GOOD, GOOD_ASSETS, make_xlsx

pytestmark = pytest.mark.django_db


def write_file(tmp_path, customers=GOOD, assets=GOOD_ASSETS, name="customers.xlsx"):
    path = tmp_path / name
    path.write_bytes(make_xlsx(customers, assets).getvalue())
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except CommandError as exc:
        exc.stderr = err.getvalue()
        raise
    return out.getvalue(), err.getvalue()


def test_it_imports_a_file_as_the_named_user(supervisor, regions, tmp_path):
    _out, err = run("import", "customers", str(write_file(tmp_path)), "--as", "sam")
    assert "新建客户 3 个，更新 0 个；新建设备 3 台，更新 0 台。" in err
    assert Customer.objects.count() == 3 and Asset.objects.count() == 3
    assert set(Customer.objects.values_list("created_by__username", flat=True)) == {"sam"}


def test_importing_twice_updates_and_duplicates_nothing(supervisor, regions, tmp_path):
    path = str(write_file(tmp_path))
    run("import", "customers", path, "--as", "sam")
    _out, err = run("import", "customers", path, "--as", "sam")
    assert "新建客户 0 个，更新 3 个；新建设备 0 台，更新 3 台。" in err
    assert (Customer.objects.count(), Phone.objects.count(), Asset.objects.count()) == (3, 4, 3)


def test_rejected_rows_are_listed_on_stderr_and_fail_the_command(supervisor, regions, tmp_path):
    bad = {"客户编号": "C9", "客户名称": "坏", "片区": "火星片区"}
    path = write_file(tmp_path, [*GOOD, bad])
    with pytest.raises(CommandError, match="1 处错误") as info:
        run("import", "customers", str(path), "--as", "sam")
    assert "客户 第 5 行 [片区]" in info.value.stderr and "火星片区" in info.value.stderr
    assert Customer.objects.count() == 3  # the good rows are kept


def test_all_or_nothing_keeps_nothing_when_a_row_fails(supervisor, regions, tmp_path):
    path = write_file(tmp_path, [*GOOD, {"客户编号": "C9", "客户名称": "坏", "生日": "某天"}])
    with pytest.raises(CommandError) as info:
        run("import", "customers", str(path), "--as", "sam", "--all-or-nothing")
    assert "没有导入任何数据" in info.value.stderr and "第 5 行 [生日]" in info.value.stderr
    assert Customer.objects.count() == 0


def test_a_dry_run_checks_and_keeps_nothing(supervisor, regions, tmp_path):
    _out, err = run("import", "customers", str(write_file(tmp_path)), "--as", "sam", "--dry-run")
    assert "新建客户 3 个" in err and "试运行" in err
    assert Customer.objects.count() == 0


def test_the_default_actor_is_an_administrator(admin_user, regions, tmp_path):
    run("import", "customers", str(write_file(tmp_path)))
    assert Customer.objects.filter(created_by=admin_user).count() == 3


def test_without_an_administrator_the_user_must_be_named(supervisor, regions, tmp_path):
    with pytest.raises(CommandError, match="--as"):
        run("import", "customers", str(write_file(tmp_path)))
    assert Customer.objects.count() == 0


def test_a_user_without_the_import_permission_is_refused(agent, regions, tmp_path):
    with pytest.raises(CommandError, match="权限"):
        run("import", "customers", str(write_file(tmp_path)), "--as", "alice")
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("content", [b"not a workbook", b"a,b\n1,2\n"])
def test_a_bad_file_fails_the_command_and_stores_nothing(supervisor, tmp_path, content):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=str(excel.NOT_XLSX)):
        run("import", "customers", str(path), "--as", "sam")
    assert Customer.objects.count() == 0


def test_a_missing_file_or_unknown_subject_fails(supervisor, tmp_path):
    with pytest.raises(CommandError, match="找不到文件"):
        run("import", "customers", str(tmp_path / "nope.xlsx"), "--as", "sam")
    with pytest.raises(CommandError, match="tickets"):
        run("import", "tickets", str(write_file(tmp_path)), "--as", "sam")
    with pytest.raises(CommandError, match="tickets"):
        run("export", "tickets", str(tmp_path / "out.xlsx"))


def test_the_export_command_writes_a_file_that_imports_back(supervisor, customer, west_customer,
                                                             tmp_path):
    path = tmp_path / "export.xlsx"
    out, _err = run("export", "customers", str(path))
    assert "已导出客户 2 个、设备 1 台" in out
    rows = list(openpyxl.load_workbook(path)["客户"].iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {customer.number, west_customer.number}
    Customer.objects.all().delete()
    _out, err = run("import", "customers", str(path), "--as", "sam")
    assert "新建客户 2 个，更新 0 个；新建设备 1 台" in err
    restored = Customer.objects.get(number=customer.number)
    assert restored.id_number == "110101199001011234"
    assert [p.number for p in restored.phones.all()] == ["13812345678"]
    assert restored.assets.get().serial == "LFX123456789"
