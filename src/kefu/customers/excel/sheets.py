"""Workbooks Kefu writes: the error sheet, the template and the export."""

import datetime
import io
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from kefu.accounts.models import Region
from kefu.customers.excel.format import (
    ASSET_COLUMNS,
    ASSET_SHEET,
    ASSET_VALUES,
    CUSTOMER_COLUMNS,
    CUSTOMER_SHEET,
    ERROR_HEADERS,
    ERROR_SHEET_DIR,
    ERROR_SHEET_MAX_AGE,
    EXAMPLE_PREFIX,
    EXPORT_CHUNK,
    HELP_SHEET,
    TOKEN_RE,
    XLSX_DATE_FORMAT,
    _allowed,
    text_cell,
)
from kefu.customers.models import Address, Asset, Contact, Customer, Phone

# ---------------------------------------------------------------------------------------------
# Error sheet


def _error_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / ERROR_SHEET_DIR


def save_error_sheet(errors) -> str:
    """Write the rejected rows to an .xlsx under MEDIA_ROOT/import-errors; return its token."""
    directory = _error_dir()
    directory.mkdir(parents=True, exist_ok=True)
    _prune(directory)
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = gettext("错误")
    ws.append([str(h) for h in ERROR_HEADERS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for error in errors:
        ws.append([text_cell(str(error.sheet)), error.row, text_cell(str(error.column)),
                   text_cell(str(error.reason))])
    for letter, width in zip("ABCD", (10, 8, 16, 80), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    token = secrets.token_hex(16)
    workbook.save(directory / f"{token}.xlsx")
    return token


def _prune(directory):
    # Error sheets quote the rejected values (phones, ID numbers): do not keep them for ever.
    cutoff = time.time() - ERROR_SHEET_MAX_AGE.total_seconds()
    for path in directory.glob("*.xlsx"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass


def error_sheet_path(token) -> Path | None:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        return None
    path = _error_dir() / f"{token}.xlsx"
    return path if path.is_file() else None


# ---------------------------------------------------------------------------------------------
# Template


def _style_header(ws, columns):
    fill = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = fill
        letter = cell.column_letter
        ws.column_dimensions[letter].width = column.width
        if column.text:
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"


def _choice_validation(ws, columns, key, choices):
    index = [c.key for c in columns].index(key) + 1
    letter = openpyxl.utils.get_column_letter(index)
    labels = ",".join(str(label) for value, label in choices if value)
    # Codes are accepted too, so the list is a help, not a fence.
    validation = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=True,
                                showErrorMessage=False)
    validation.add(f"{letter}2:{letter}5000")
    ws.add_data_validation(validation)


def template_bytes() -> bytes:
    """The import template: 客户 and 设备 with one example row each, and 说明."""
    workbook = openpyxl.Workbook()
    customers = workbook.active
    customers.title = str(CUSTOMER_SHEET)
    customers.append([str(c.header) for c in CUSTOMER_COLUMNS])
    region = Region.objects.filter(is_active=True).order_by("code").first()
    example_number = f"{EXAMPLE_PREFIX}-KH0001"
    example = {
        "number": example_number, "name": gettext("张三"),
        "party_type": str(Customer.PartyType.PERSON.label), "kind": str(Customer.Kind.VIP.label),
        "outlet_level": "", "region": region.name if region else "",
        "birthday": datetime.date(1990, 1, 1), "id_number": "110101199001011234",
        "contact": gettext("张三"), "phones": "13812345678、021-61234567",
        "addresses": gettext("上海市浦东新区世纪大道100号"), "tags": gettext("学校,重点"),
        "notes": gettext("示例行：客户编号以“示例”开头的行导入时会跳过，可保留或删除。"),
    }
    customers.append([text_cell(example[c.key]) for c in CUSTOMER_COLUMNS])
    _style_header(customers, CUSTOMER_COLUMNS)
    _choice_validation(customers, CUSTOMER_COLUMNS, "party_type", Customer.PartyType.choices)
    _choice_validation(customers, CUSTOMER_COLUMNS, "kind", Customer.Kind.choices)
    _choice_validation(customers, CUSTOMER_COLUMNS, "outlet_level", Customer.OutletLevel.choices)

    assets = workbook.create_sheet(str(ASSET_SHEET))
    assets.append([str(c.header) for c in ASSET_COLUMNS])
    asset_example = {
        "number": example_number, "product_model": "EPSON L3150", "serial": "LFX123456789",
        "plate": "", "purchase_date": datetime.date(2025, 3, 1),
        "agreed_install_date": datetime.date(2025, 3, 5), "installed_on": datetime.date(2025, 3, 5),
        "warranty_end": datetime.date(2027, 3, 1), "contract_number": "HT-2025-001", "notes": "",
    }
    assets.append([text_cell(asset_example[c.key]) for c in ASSET_COLUMNS])
    _style_header(assets, ASSET_COLUMNS)
    for ws in (customers, assets):
        for cell in ws[2]:
            if isinstance(cell.value, datetime.date):
                cell.number_format = XLSX_DATE_FORMAT
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    _write_help(workbook.create_sheet(str(HELP_SHEET)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_help(ws):
    regions = "、".join(f"{r.name}（{r.code}）" for r in Region.objects.filter(is_active=True))
    allowed = {
        "party_type": _allowed(Customer.PartyType.choices),
        "kind": _allowed(Customer.Kind.choices),
        "outlet_level": _allowed(Customer.OutletLevel.choices) + gettext("不是网点就留空。"),
        "region": gettext("片区名称或代码。系统中现有：%(regions)s。") % {
            "regions": regions or gettext("（还没有片区）")},
    }
    ws.append([gettext("工作表"), gettext("列"), gettext("必填"), gettext("说明与允许的值")])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for sheet, columns in ((CUSTOMER_SHEET, CUSTOMER_COLUMNS), (ASSET_SHEET, ASSET_COLUMNS)):
        for column in columns:
            text = str(allowed.get(column.key) or column.help or "")
            ws.append([str(sheet), str(column.header), gettext("是") if column.required else "",
                       text_cell(text)])
    ws.append([])
    for line in (
        gettext("列按表头名称识别，顺序可以调整；表头不要改名。红色表头为必填列。"),
        gettext("同一客户编号再次导入时更新该客户，不会重复建档；空白单元格保留系统里原有的值。"),
        gettext("电话和地址只会追加，已有的不会重复添加；标签按表中内容替换。"),
        gettext("设备按“客户编号 + 序列号/车架号”识别；没有序列号时按车牌号，再没有时按产品型号。"),
        gettext("日期可填 Excel 日期，或 2025-03-01 这样的文字。"),
        gettext("有错误的行不会导入，其余行照常导入；勾选“全部成功才导入”时，只要有一行出错就什么都不导入。"),
        gettext("客户编号以“示例”开头的行是示例，导入时跳过。"),
    ):
        ws.append(["", "", "", line])
    ws.column_dimensions["A"].width = 8
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 6
    ws.column_dimensions["D"].width = 100


# ---------------------------------------------------------------------------------------------
# Export


@dataclass
class ExportCounts:
    customers: int = 0
    assets: int = 0


def export_bytes(queryset) -> bytes:
    """The customers of ``queryset`` and their assets as an .xlsx, in the template's format.

    Phones, ID numbers and addresses are written in clear: exporting is a permission-gated action
    (``customers.export_customers``), checked by the caller. Every text cell is escaped against
    formula injection (see ``escape_formula``).
    """
    buffer = io.BytesIO()
    _write_export(queryset, buffer, None)
    return buffer.getvalue()


def export_to_path(queryset, path, progress: Callable[[int, int], None] | None = None):
    """``export_bytes`` streamed to a file, with ``progress(done, total)``; returns the counts.

    Personal data is in clear here too: only for people allowed to export (CLI operators).
    """
    return _write_export(queryset, Path(path), progress)


def _export_customers(queryset):
    phones = Prefetch("phones", queryset=Phone.objects.only("id", "customer_id", "number"))
    addresses = Prefetch("addresses", queryset=Address.objects.only(
        "id", "customer_id", "text", "is_default"))
    contacts = Prefetch("contacts", queryset=Contact.objects.only(
        "id", "customer_id", "name", "is_primary"))
    return (queryset.order_by("id").select_related("region")
            .prefetch_related("tags", phones, addresses, contacts))


def _labels():
    """Choice labels in the active language, looked up once per export rather than per cell."""
    return {
        "party_type": {v: str(label) for v, label in Customer.PartyType.choices},
        "kind": {v: str(label) for v, label in Customer.Kind.choices},
        "outlet_level": {v: str(label) for v, label in Customer.OutletLevel.choices if v},
    }


def _customer_cells(customer, labels):
    contacts = customer.contacts.all()
    return {
        "number": customer.number,
        "name": customer.name,
        "party_type": labels["party_type"].get(customer.party_type, customer.party_type),
        "kind": labels["kind"].get(customer.kind, customer.kind),
        "outlet_level": labels["outlet_level"].get(customer.outlet_level, customer.outlet_level),
        "region": customer.region.name if customer.region else "",
        "birthday": customer.birthday,
        "id_number": customer.id_number,
        "contact": contacts[0].name if contacts else "",
        "phones": "、".join(p.number for p in customer.phones.all()),
        "addresses": "\n".join(a.text for a in customer.addresses.all()),
        "tags": ",".join(t.name for t in customer.tags.all()),
        "notes": customer.notes,
    }


def _write_export(queryset, target, progress):
    workbook = openpyxl.Workbook(write_only=True)
    counts = ExportCounts()
    total = 0
    asset_rows = (Asset.objects.filter(customer__in=queryset.order_by().values("pk"))
                  .order_by("customer_id", "id")
                  .values_list("customer__number", *ASSET_VALUES))
    if progress is not None:
        total = queryset.count() + asset_rows.count()
        progress(0, total)

    labels = _labels()
    customers_ws = workbook.create_sheet(str(CUSTOMER_SHEET))
    _export_header(workbook, customers_ws, CUSTOMER_COLUMNS)
    for customer in _export_customers(queryset).iterator(chunk_size=EXPORT_CHUNK):
        cells = _customer_cells(customer, labels)
        customers_ws.append([_export_cell(customers_ws, cells[c.key]) for c in CUSTOMER_COLUMNS])
        counts.customers += 1
        if progress is not None and counts.customers % 100 == 0:
            progress(counts.customers, total)

    assets_ws = workbook.create_sheet(str(ASSET_SHEET))
    _export_header(workbook, assets_ws, ASSET_COLUMNS)
    for number, *values in asset_rows.iterator(chunk_size=EXPORT_CHUNK):
        assets_ws.append([_export_cell(assets_ws, v) for v in (number, *values)])
        counts.assets += 1
        if progress is not None and counts.assets % 100 == 0:
            progress(counts.customers + counts.assets, total)
    workbook.save(target)
    if progress is not None:
        progress(total, total)
    return counts


def _export_header(workbook, ws, columns):
    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(index)].width = column.width
    ws.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=str(column.header))
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)


def _export_cell(ws, value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = XLSX_DATE_FORMAT
        return cell
    return text_cell(str(value))
