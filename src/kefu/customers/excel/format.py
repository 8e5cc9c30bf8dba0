"""The workbook format shared by the template, the export and the importer: sheets, columns,
messages, and how a cell is escaped, read and spelled."""

import datetime
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Region
from kefu.customers.models import Asset, Contact, Customer

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
