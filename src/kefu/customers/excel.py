"""Excel import and export of customers and their assets (openpyxl).

The file format is a contract with the staff who fill it in Excel or WPS: a sheet 客户 and a
sheet 设备, headers matched by name in any column order, choices given as their Chinese labels
or as their codes. The template, the export and the importer share the column lists below, so an
export can be imported again unchanged (round trip).

The importer writes through the customer services only, one savepoint per row: a rejected row is
reported with its Excel row number, column and a reason, and the other rows are kept, or, with
``all_or_nothing``, nothing is kept. 客户编号 is the idempotency key: importing the same file
twice updates the customers it created the first time and never duplicates them, their phones,
addresses or assets.
"""

import datetime
import io
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from kefu.accounts.models import Region
from kefu.core.crypto import normalize_id_number, normalize_phone, phone_index
from kefu.core.errors import DomainError, PermissionDenied, ValidationFailed
from kefu.customers import services
from kefu.customers.models import Address, Asset, Contact, Customer, Phone

# Messages (tests import them).
NOT_XLSX = _("这不是有效的 Excel .xlsx 文件：请用导入模板填写，并另存为 .xlsx 格式后再上传。")
NO_SHEETS = _("文件里没有“客户”或“设备”工作表：请使用导入模板。")
MISSING_HEADERS = _("“%(sheet)s”工作表缺少必需的列：%(columns)s。请使用导入模板，不要改动表头。")
NO_IMPORT_PERMISSION = _("您没有从 Excel 导入客户的权限。")
NUMBER_REQUIRED = _("请填写客户编号。")
DUPLICATE_NUMBER = _("客户编号 %(number)s 在本表第 %(row)s 行已经出现过：同一客户只能占一行。")
UNKNOWN_REGION = _("片区“%(value)s”不存在：请填写系统中已有片区的名称或代码（%(allowed)s）。")
UNKNOWN_CHOICE = _("“%(value)s”不是有效的%(column)s：请填写 %(allowed)s。")
BAD_DATE = _("“%(value)s”不是有效的日期：请填写 Excel 日期，或 YYYY-MM-DD 格式的文字。")
TOO_LONG = _("内容太长：最多 %(max)s 个字符，这里有 %(length)s 个。")
ID_NUMBER_AS_NUMBER = _(
    "证件号码被 Excel 存成了数字，末尾几位已经丢失：请把这一列设为“文本”格式后重新填写。"
)
UNKNOWN_CUSTOMER = _(
    "客户编号 %(number)s 不存在：既不在本文件的“客户”表里，也不在系统中。请先建立该客户。"
)
CUSTOMER_ROW_FAILED = _(
    "客户编号 %(number)s 所在的客户行（“客户”表第 %(row)s 行）没有导入，所以这台设备也没有导入。"
)
DUPLICATE_ASSET = _("与本表第 %(row)s 行是同一台设备（%(key)s）：同一设备只能占一行。")
ROW_REFUSED = _("数据库拒绝保存这一行：%(error)s")

# A leading apostrophe is how the export defuses a cell Excel would run as a formula; it is also
# escaped itself so that the importer can always strip exactly one and lose nothing.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
# Rows whose 客户编号 starts with this are the template's examples: skipped on import.
EXAMPLE_PREFIX = "示例"
PHONE_SEPARATORS = re.compile(r"[、,，;；/／\n]+")
TAG_SEPARATORS = re.compile(r"[,，、;；\n]+")
DATE_TEXT = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"
)
DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
OOXML_LITERAL = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
OOXML_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0d\x0e-\x1f]")
OOXML_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
BATCH_ROWS = 500  # rows per transaction when not all-or-nothing: keeps SQLite's write lock short
EXPORT_CHUNK = 2000
ERROR_SHEET_DIR = "import-errors"
ERROR_SHEET_MAX_AGE = datetime.timedelta(days=7)
TOKEN_RE = re.compile(r"[0-9a-f]{32}")
XLSX_DATE_FORMAT = "yyyy-mm-dd"


@dataclass(frozen=True)
class Column:
    key: str
    header: object  # lazy translation: the Chinese text is the msgid
    width: int = 14
    text: bool = False  # formatted as text in the template (numbers Excel would mangle)
    required: bool = False
    help: object = ""


CUSTOMER_SHEET = _("客户")
ASSET_SHEET = _("设备")
HELP_SHEET = _("说明")
ALLOWED_CHOICES = _("可填：%(values)s；也可填代码 %(codes)s。")

CUSTOMER_COLUMNS = (
    Column("number", _("客户编号"), 16, text=True, required=True,
           help=_("唯一编号。系统里已有这个编号时更新该客户，不会重复建档。")),
    Column("name", _("客户名称"), 20, required=True, help=_("新客户必填；个人填姓名，单位填全称。")),
    Column("party_type", _("客户类型"), 10),
    Column("kind", _("客户类别"), 12),
    Column("outlet_level", _("网点级别"), 10),
    Column("region", _("片区"), 12),
    Column("birthday", _("生日"), 12, help=_("Excel 日期，或 YYYY-MM-DD 格式的文字。")),
    Column("id_number", _("证件号码"), 22, text=True,
           help=_("身份证号或其他证件号。请保持“文本”格式，否则 Excel 会把 18 位号码改坏。")),
    Column("contact", _("联系人"), 10, help=_("主要联系人姓名；联系电话记在此人名下。")),
    Column("phones", _("联系电话"), 26, text=True,
           help=_("手机或座机，可填多个，用 、 , ; 或 / 隔开。已有的号码不会重复添加。")),
    Column("addresses", _("地址"), 36, help=_("可填多个，每个地址占一行（单元格内换行）。已有的地址不会重复添加。")),
    Column("tags", _("标签"), 16, help=_("用逗号隔开，如：学校,重点。填写后替换该客户原有的标签。")),
    Column("notes", _("备注"), 30),
)
ASSET_COLUMNS = (
    Column("number", _("客户编号"), 16, text=True, required=True,
           help=_("设备所属客户的编号：须在“客户”表中，或系统中已有。")),
    Column("product_model", _("产品型号"), 20, required=True,
           help=_("新设备必填。没有序列号和车牌号的设备按“客户编号 + 产品型号”识别。")),
    Column("serial", _("序列号/车架号"), 22, text=True,
           help=_("填写后按“客户编号 + 序列号”识别同一台设备，重复导入只更新不新建。")),
    Column("plate", _("车牌号"), 12, help=_("没有序列号时按“客户编号 + 车牌号”识别。")),
    Column("purchase_date", _("购买日期"), 12, help=_("Excel 日期，或 YYYY-MM-DD 格式的文字。")),
    Column("agreed_install_date", _("约定安装日期"), 14, help=_("Excel 日期，或 YYYY-MM-DD 格式的文字。")),
    Column("installed_on", _("实际安装日期"), 14, help=_("Excel 日期，或 YYYY-MM-DD 格式的文字。")),
    Column("warranty_end", _("保修截止"), 12, help=_("不能早于购买日期。")),
    Column("contract_number", _("合同编号"), 16, text=True),
    Column("notes", _("备注"), 30),
)
CUSTOMER_HEADERS = tuple(c.header for c in CUSTOMER_COLUMNS)
ASSET_HEADERS = tuple(c.header for c in ASSET_COLUMNS)
ERROR_HEADERS = (_("工作表"), _("行号"), _("列"), _("原因"))

# Lengths the database enforces (PostgreSQL refuses longer text; SQLite would silently keep it).
MAX_LENGTHS = {
    "customer": {
        "number": Customer._meta.get_field("number").max_length,
        "name": Customer._meta.get_field("name").max_length,
        "contact": Contact._meta.get_field("name").max_length,
    },
    "asset": {
        "product_model": Asset._meta.get_field("product_model").max_length,
        "serial": Asset._meta.get_field("serial").max_length,
        "plate": Asset._meta.get_field("plate").max_length,
        "contract_number": Asset._meta.get_field("contract_number").max_length,
    },
}
CUSTOMER_SCALARS = ("name", "party_type", "kind", "outlet_level", "region", "birthday",
                    "id_number", "notes")
ASSET_VALUES = ("product_model", "serial", "plate", "purchase_date", "agreed_install_date",
                "installed_on", "warranty_end", "contract_number", "notes")


@dataclass
class RowError:
    sheet: str
    row: int
    column: str
    reason: str


@dataclass
class ImportResult:
    """What an import did. ``updated`` counts rows that matched an existing customer (brought in
    line with the file, or already identical); ``assets_updated`` likewise for assets."""

    created: int = 0
    updated: int = 0
    assets_created: int = 0
    assets_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rolled_back: bool = False


class _Rejected(Exception):
    """A row the importer refuses before calling a service: [(column key, reason), ...]."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__(problems)


# ---------------------------------------------------------------------------------------------
# Cells: escaping, reading, spellings


def escape_formula(value):
    """A text cell Excel will show as text, never run: leading ``'`` before = + - @ tab CR '."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _ooxml_escape(text: str) -> str:
    # XML turns a stored CR into LF and cannot hold most control characters at all; OOXML writes
    # them as _xHHHH_ (and a literal "_xHHHH_" as "_x005F_xHHHH_"), which Excel reads back.
    text = OOXML_LITERAL.sub(r"_x005F_\1", text)
    return OOXML_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _ooxml_unescape(text: str) -> str:
    if "_x" not in text:
        return text
    return OOXML_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def text_cell(value):
    """What every text cell we write holds: formula-escaped, then OOXML-escaped."""
    if not isinstance(value, str):
        return value
    return _ooxml_escape(escape_formula(value))


def _unescape(text: str) -> str:
    text = _ooxml_unescape(text)
    return text[1:] if text.startswith("'") else text


def _norm(text) -> str:
    return re.sub(r"\s+", "", str(text)).casefold()


def _spellings(label) -> set[str]:
    """A label as written in every UI language (Chinese is the msgid, so always included)."""
    names = {_norm(label)}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(_norm(label))
    return names


def _header_key(value) -> str:
    text = _norm(value or "")
    for marker in ("*", "（必填）", "(必填)"):
        text = text.replace(marker, "")
    return text


def _text(value) -> str:
    """The cell as text: integers without '.0', the export's formula escape taken off."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime):
        value = value.date() if value.time() == datetime.time() else value
    if isinstance(value, datetime.date):
        return value.isoformat()
    return _unescape(str(value))


def _date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _text(value).strip()
    if not text:
        return None
    match = DATE_TEXT.fullmatch(text) or DATE_COMPACT.fullmatch(text)
    if match:
        try:
            return datetime.date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise ValueError(gettext(BAD_DATE) % {"value": text})


def _allowed(choices) -> str:
    values = "、".join(str(label) for value, label in choices if value)
    codes = "、".join(value for value, _label in choices if value)
    return gettext(ALLOWED_CHOICES) % {"values": values, "codes": codes}


class _Lookups:
    """Choice and region spellings, built once per import."""

    def __init__(self):
        self.party_type = self._table(Customer.PartyType.choices)
        self.kind = self._table(Customer.Kind.choices)
        self.outlet_level = self._table(Customer.OutletLevel.choices)
        self.outlet_level.update({_norm(gettext("一级")): "1", _norm(gettext("二级")): "2"})
        self.regions = {}
        region_names = []
        for region in Region.objects.all():
            self.regions[_norm(region.code)] = region
            self.regions[_norm(region.name)] = region
            region_names.append(f"{region.name}/{region.code}")
        self.region_names = "、".join(region_names) or gettext("系统中还没有片区")

    @staticmethod
    def _table(choices):
        table = {}
        for value, label in choices:
            for spelling in _spellings(label):
                table[spelling] = value
            if value:
                table[_norm(value)] = value
        return table


# ---------------------------------------------------------------------------------------------
# Reading the workbook


@dataclass
class _Sheet:
    kind: str  # "customer" or "asset"
    title: str
    columns: dict  # column key -> (index, header text as written)
    rows: list  # [(excel row number, {key: raw value})]


def _read_workbook(fileobj):
    """The customer and asset sheets of an uploaded file, or ValidationFailed(file=...)."""
    try:
        workbook = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types for a file that is not .xlsx
        raise _file_error(NOT_XLSX) from exc
    try:
        return _locate_sheets(workbook)
    except ValidationFailed:
        raise
    except Exception as exc:  # a damaged sheet inside a valid zip
        raise _file_error(NOT_XLSX) from exc
    finally:
        workbook.close()


def _file_error(message, **params):
    text = gettext(message) % params if params else gettext(message)
    return ValidationFailed(text, fields={"file": [text]})


def _locate_sheets(workbook):
    wanted = {"customer": (CUSTOMER_SHEET, CUSTOMER_COLUMNS), "asset": (ASSET_SHEET, ASSET_COLUMNS)}
    by_name = {}
    for ws in workbook.worksheets:
        by_name.setdefault(_norm(ws.title), ws)
    found = {}
    for kind, (title, _columns) in wanted.items():
        for spelling in _spellings(title):
            if spelling in by_name:
                found[kind] = by_name[spelling]
                break
    if not found and workbook.worksheets:
        # A hand-made file with one unnamed sheet of customers ("Sheet1") is still a customer list.
        first = workbook.worksheets[0]
        rows = _rows_of(first)
        headers = {_header_key(v) for v in rows[0]} if rows else set()
        required = [c for c in CUSTOMER_COLUMNS if c.required]
        if all(_spellings(c.header) & headers for c in required):
            found["customer"] = first
    sheets = []
    for kind, ws in found.items():
        title, columns = wanted[kind]
        sheet = _read_sheet(kind, ws, columns)
        if sheet is not None:
            sheets.append(sheet)
    if not sheets:
        raise _file_error(NO_SHEETS)
    return sheets


def _rows_of(ws):
    ws.reset_dimensions()  # some writers store a wrong <dimension>; read every row there is
    return list(ws.iter_rows(values_only=True))


def _read_sheet(kind, ws, columns):
    rows = _rows_of(ws)
    # The header is the first non-blank row; row numbers are Excel's (read-only mode fills gaps).
    start = next((i for i, values in enumerate(rows) if not _is_blank(values)), None)
    if start is None:
        return None  # an empty sheet is an absent sheet
    positions = {}
    for index, value in enumerate(rows[start]):
        key = _header_key(value)
        if key:
            positions.setdefault(key, (index, str(value).strip()))
    mapped = {}
    for column in columns:
        for spelling in _spellings(column.header):
            if spelling in positions:
                mapped[column.key] = positions[spelling]
                break
    missing = [str(c.header) for c in columns if c.required and c.key not in mapped]
    if missing:
        raise _file_error(MISSING_HEADERS, sheet=ws.title, columns="、".join(missing))
    data = []
    for number, values in enumerate(rows[start + 1:], start=start + 2):
        if _is_blank(values):
            continue
        cells = {key: values[index] if index < len(values) else None
                 for key, (index, _header) in mapped.items()}
        data.append((number, cells))
    return _Sheet(kind=kind, title=ws.title, columns=mapped, rows=data)


def _is_blank(values):
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


# ---------------------------------------------------------------------------------------------
# Parsing one row into service arguments


def _parse_customer(cells, lookups):
    values, problems = {}, []

    def text(key):
        return _text(cells.get(key)).strip()

    number = text("number")
    if not number:
        problems.append(("number", gettext(NUMBER_REQUIRED)))
    values["number"] = number
    for key in ("name", "contact"):
        if key in cells and text(key):
            values[key] = text(key)
    for key, table, choices in (
        ("party_type", lookups.party_type, Customer.PartyType.choices),
        ("kind", lookups.kind, Customer.Kind.choices),
        ("outlet_level", lookups.outlet_level, Customer.OutletLevel.choices),
    ):
        raw = text(key)
        if not raw:
            continue
        if _norm(raw) in table:
            values[key] = table[_norm(raw)]
        else:
            column = str(_column(CUSTOMER_COLUMNS, key).header)
            problems.append((key, gettext(UNKNOWN_CHOICE) % {
                "value": raw, "column": column, "allowed": _allowed(choices)}))
    region = text("region")
    if region:
        if _norm(region) in lookups.regions:
            values["region"] = lookups.regions[_norm(region)]
        else:
            problems.append(("region", gettext(UNKNOWN_REGION) % {
                "value": region, "allowed": lookups.region_names}))
    _parse_dates(cells, ("birthday",), values, problems)
    raw_id = cells.get("id_number")
    if isinstance(raw_id, float) and abs(raw_id) >= 1e15:
        problems.append(("id_number", gettext(ID_NUMBER_AS_NUMBER)))
    elif text("id_number"):
        values["id_number"] = normalize_id_number(text("id_number"))
    if text("phones"):
        phones, bad = [], []
        for raw in PHONE_SEPARATORS.split(text("phones")):
            if not raw.strip():
                continue
            try:
                phones.append(normalize_phone(raw))
            except ValidationFailed as exc:
                bad.append(str(exc.message))
        if bad:
            problems.append(("phones", " ".join(bad)))
        values["phones"] = list(dict.fromkeys(phones))
    if text("addresses"):
        values["addresses"] = list(dict.fromkeys(
            line.strip() for line in text("addresses").splitlines() if line.strip()))
    if text("tags"):
        values["tags"] = list(dict.fromkeys(
            t.strip()[:32] for t in TAG_SEPARATORS.split(text("tags")) if t.strip()))
    notes = _text(cells.get("notes"))
    if notes.strip():
        values["notes"] = notes
    problems.extend(_too_long(values, "customer"))
    return values, problems


def _parse_asset(cells):
    values, problems = {}, []

    def text(key):
        return _text(cells.get(key)).strip()

    number = text("number")
    if not number:
        problems.append(("number", gettext(NUMBER_REQUIRED)))
    values["number"] = number
    for key in ("product_model", "contract_number"):
        if text(key):
            values[key] = text(key)
    # The same normalisation asset_create applies, so that matching an existing asset works.
    if text("serial"):
        values["serial"] = text("serial").upper()
    if text("plate"):
        values["plate"] = text("plate").upper().replace(" ", "")
    _parse_dates(cells, ("purchase_date", "agreed_install_date", "installed_on", "warranty_end"),
                 values, problems)
    notes = _text(cells.get("notes"))
    if notes.strip():
        values["notes"] = notes
    problems.extend(_too_long(values, "asset"))
    return values, problems


def _parse_dates(cells, keys, values, problems):
    for key in keys:
        try:
            day = _date(cells.get(key))
        except ValueError as exc:
            problems.append((key, str(exc)))
        else:
            if day is not None:
                values[key] = day


def _too_long(values, kind):
    problems = []
    for key, limit in MAX_LENGTHS[kind].items():
        value = values.get(key)
        if value and len(value) > limit:
            problems.append((key, gettext(TOO_LONG) % {"max": limit, "length": len(value)}))
    return problems


def _column(columns, key):
    return next(c for c in columns if c.key == key)


def _asset_key(values):
    if values.get("serial"):
        return ("serial", values["serial"])
    if values.get("plate"):
        return ("plate", values["plate"])
    return ("product_model", values.get("product_model", ""))


def _renamed(exc, names):
    """The service's field names as the importer's column keys (e.g. add_phone's number)."""
    return ValidationFailed(exc.message, fields={names.get(k, k): v for k, v in exc.fields.items()})


def _chunks(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------------------------
# Import


class _Importer:
    def __init__(self, actor, sheets, progress):
        self.actor = actor
        self.sheets = sheets
        self.progress = progress
        self.result = ImportResult()
        self.lookups = _Lookups()
        self.customers = {}  # number -> Customer (existing, created or updated in this run)
        self.assets = {}  # customer id -> [Asset]
        self.failed_numbers = {}  # number -> row of the customer row that was not imported
        self.seen_numbers = {}  # number -> first row in the customer sheet
        self.seen_assets = {}  # (number, key) -> first row in the asset sheet
        self.total = sum(len(s.rows) for s in sheets)
        self.done = 0

    def preload(self):
        """Existing customers named in the file, with what re-import compares, in few queries."""
        numbers = {_text(cells.get("number")).strip() for sheet in self.sheets
                   for _row, cells in sheet.rows}
        numbers.discard("")
        phones = Prefetch("phones",
                          queryset=Phone.objects.only("id", "customer_id", "number_index"))
        for chunk in _chunks(sorted(numbers), 500):
            found = (Customer.objects.filter(number__in=chunk).select_related("region")
                     .prefetch_related("tags", phones, "addresses", "contacts"))
            for customer in found:
                self.customers[customer.number] = customer
                self.assets[customer.pk] = []
        ids = list(self.assets)
        for chunk in _chunks(ids, 500):
            for asset in Asset.objects.filter(customer_id__in=chunk).order_by("id"):
                self.assets[asset.customer_id].append(asset)

    def run(self, all_or_nothing):
        jobs = [(sheet, row, cells) for sheet in sorted(self.sheets, key=_sheet_order)
                for row, cells in sheet.rows]
        if all_or_nothing:
            with transaction.atomic():
                for job in jobs:
                    self._run_row(*job)
                if self.result.errors:
                    transaction.set_rollback(True)
                    self.result = ImportResult(errors=self.result.errors, rolled_back=True)
        else:
            for batch in _chunks(jobs, BATCH_ROWS):
                with transaction.atomic():
                    for job in batch:
                        self._run_row(*job)
        self.result.errors.sort(key=lambda e: (e.sheet != self._title("customer"), e.row))
        return self.result

    def _title(self, kind):
        return next((s.title for s in self.sheets if s.kind == kind), "")

    def _run_row(self, sheet, row, cells):
        handler = self._customer_row if sheet.kind == "customer" else self._asset_row
        try:
            with transaction.atomic():
                outcome = handler(row, cells)
        except _Rejected as exc:
            self._reject(sheet, row, exc.problems, cells)
        except ValidationFailed as exc:
            problems = [(key, str(m)) for key, msgs in exc.fields.items()
                        for m in (msgs if isinstance(msgs, list | tuple) else [msgs])]
            self._reject(sheet, row, problems or [("", str(exc.message))], cells)
        except DomainError as exc:
            self._reject(sheet, row, [("", str(exc.message))], cells)
        except (IntegrityError, DataError) as exc:
            self._reject(sheet, row, [("", gettext(ROW_REFUSED) % {"error": exc})], cells)
        else:
            if outcome is not None:
                setattr(self.result, outcome, getattr(self.result, outcome) + 1)
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)

    def _reject(self, sheet, row, problems, cells):
        if sheet.kind == "customer":
            number = _text(cells.get("number")).strip()
            if number and number not in self.customers:
                self.failed_numbers.setdefault(number, row)
        for key, reason in problems:
            header = sheet.columns.get(key, (None, ""))[1]
            if not header and key:
                columns = CUSTOMER_COLUMNS if sheet.kind == "customer" else ASSET_COLUMNS
                header = next((str(c.header) for c in columns if c.key == key), key)
            self.result.errors.append(RowError(sheet.title, row, header, reason))

    # -- customers ----------------------------------------------------------------------------

    def _customer_row(self, row, cells):
        number = _text(cells.get("number")).strip()
        if number.startswith(EXAMPLE_PREFIX):
            return None
        if number and number in self.seen_numbers:
            raise _Rejected([("number", gettext(DUPLICATE_NUMBER) % {
                "number": number, "row": self.seen_numbers[number]})])
        if number:
            self.seen_numbers[number] = row
        values, problems = _parse_customer(cells, self.lookups)
        if problems:
            raise _Rejected(problems)
        existing = self.customers.get(number)
        if existing is None:
            self.customers[number] = self._create_customer(values)
            self.assets[self.customers[number].pk] = []
            return "created"
        self.customers[number] = self._update_customer(existing, values)
        return "updated"

    def _create_customer(self, values):
        contact = values.get("contact")
        phones = values.get("phones", [])
        contacts = []
        if contact:
            contacts = [services.ContactInput(name=contact, phones=phones, is_primary=True)]
        return services.customer_create(
            actor=self.actor,
            number=values["number"],
            name=values.get("name", ""),
            party_type=values.get("party_type", Customer.PartyType.PERSON),
            kind=values.get("kind", Customer.Kind.ORDINARY),
            outlet_level=values.get("outlet_level", ""),
            region=values.get("region"),
            birthday=values.get("birthday"),
            id_number=values.get("id_number", ""),
            notes=values.get("notes", ""),
            tags=values.get("tags", ()),
            contacts=contacts,
            phones=() if contact else phones,
            addresses=values.get("addresses", ()),
        )

    def _update_customer(self, customer, values):
        """Bring an existing customer in line with the row: blank cells keep what is there."""
        changes = {k: values[k] for k in CUSTOMER_SCALARS
                   if k in values and values[k] != getattr(customer, k)}
        tags = None
        if "tags" in values and set(values["tags"]) != {t.name for t in customer.tags.all()}:
            tags = values["tags"]
        updated = customer
        if changes or tags is not None:
            updated = services.customer_update(actor=self.actor, customer=customer, tags=tags,
                                               **changes)
        self._add_contact_and_phones(customer, values)
        known = {a.text.strip() for a in customer.addresses.all()}
        has_address = bool(known)
        for text in values.get("addresses", ()):
            if text not in known:
                try:
                    services.customer_add_address(actor=self.actor, customer=customer, text=text,
                                                  is_default=not has_address)
                except ValidationFailed as exc:
                    raise _renamed(exc, {"text": "addresses"}) from None
                has_address = True
        return updated

    def _add_contact_and_phones(self, customer, values):
        known = {p.number_index for p in customer.phones.all()}
        new_phones = [n for n in values.get("phones", ()) if phone_index(n) not in known]
        contact = None
        name = values.get("contact")
        if name:
            contacts = list(customer.contacts.all())
            contact = next((c for c in contacts if c.name == name), None)
            if contact is None:
                try:
                    services.customer_add_contact(actor=self.actor, customer=customer, name=name,
                                                  phones=new_phones, is_primary=not contacts)
                except ValidationFailed as exc:
                    raise _renamed(exc, {"name": "contact"}) from None
                return
        for number in new_phones:
            try:
                services.customer_add_phone(actor=self.actor, customer=customer, number=number,
                                            contact=contact)
            except ValidationFailed as exc:
                raise _renamed(exc, {"number": "phones"}) from None

    # -- assets -------------------------------------------------------------------------------

    def _asset_row(self, row, cells):
        values, problems = _parse_asset(cells)
        number = values["number"]
        if number.startswith(EXAMPLE_PREFIX):
            return None
        if problems:
            raise _Rejected(problems)
        customer = self.customers.get(number)
        if customer is None:
            if number in self.failed_numbers:
                message = gettext(CUSTOMER_ROW_FAILED) % {
                    "number": number, "row": self.failed_numbers[number]}
            else:
                message = gettext(UNKNOWN_CUSTOMER) % {"number": number}
            raise _Rejected([("number", message)])
        key = _asset_key(values)
        if (number, key) in self.seen_assets:
            raise _Rejected([(key[0], gettext(DUPLICATE_ASSET) % {
                "row": self.seen_assets[(number, key)], "key": key[1]})])
        self.seen_assets[(number, key)] = row
        assets = self.assets.setdefault(customer.pk, [])
        existing = self._match_asset(assets, key)
        fields = {k: values[k] for k in ASSET_VALUES if k in values}
        if existing is None:
            product_model = fields.pop("product_model", "")
            asset = services.asset_create(actor=self.actor, customer=customer,
                                          product_model=product_model, **fields)
            assets.append(asset)
            return "assets_created"
        changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
        if changes:
            updated = services.asset_update(actor=self.actor, asset=existing, **changes)
            assets[assets.index(existing)] = updated
        return "assets_updated"

    @staticmethod
    def _match_asset(assets, key):
        kind, value = key
        for asset in assets:
            if kind == "product_model":
                # Only an asset with no serial or plate of its own is identified by its model.
                if asset.product_model == value and not asset.serial and not asset.plate:
                    return asset
            elif getattr(asset, kind) == value:
                return asset
        return None


def _sheet_order(sheet):
    return 0 if sheet.kind == "customer" else 1


def import_customers(fileobj, *, actor, all_or_nothing=False,
                     progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import the customers and assets of an .xlsx file (a path or a file object).

    A file that is not an .xlsx or lacks the required headers raises ValidationFailed (field
    ``file``) and stores nothing. Otherwise every row is tried in its own savepoint; rejected rows
    come back in ``errors`` with their Excel row number, column header and reason. With
    ``all_or_nothing`` a single rejected row rolls everything back (``rolled_back``).
    ``progress(done, total)`` is called after each row.
    """
    if not actor.has_perm("customers.import_customers"):
        raise PermissionDenied(NO_IMPORT_PERMISSION)
    sheets = _read_workbook(fileobj)
    importer = _Importer(actor, sheets, progress)
    importer.preload()
    return importer.run(all_or_nothing)


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
