"""Excel import and export of customers and their assets (openpyxl).

The file format is a contract with the staff who fill it in Excel or WPS: a sheet 客户 and a
sheet 设备, headers matched by name in any column order, choices given as their Chinese labels
or as their codes. The template, the export and the importer share the column lists in
``format``, so an export can be imported again unchanged (round trip).

The importer (``importer``) writes through the customer services only, one savepoint per row: a
rejected row is reported with its Excel row number, column and a reason, and the other rows are
kept, or, with ``all_or_nothing``, nothing is kept. 客户编号 is the idempotency key: importing the
same file twice updates the customers it created the first time and never duplicates them, their
phones, addresses or assets. ``sheets`` writes the template, the export and the error sheet.
"""

from kefu.customers.excel.format import (
    ASSET_COLUMNS,
    ASSET_HEADERS,
    ASSET_SHEET,
    CUSTOMER_COLUMNS,
    CUSTOMER_HEADERS,
    CUSTOMER_SHEET,
    EXAMPLE_PREFIX,
    NO_SHEETS,
    NOT_XLSX,
    NUMBER_REQUIRED,
    ImportResult,
    RowError,
    escape_formula,
    text_cell,
)
from kefu.customers.excel.importer import import_customers
from kefu.customers.excel.sheets import (
    error_sheet_path,
    export_bytes,
    export_to_path,
    save_error_sheet,
    template_bytes,
)

__all__ = [
    "ASSET_COLUMNS", "ASSET_HEADERS", "ASSET_SHEET", "CUSTOMER_COLUMNS", "CUSTOMER_HEADERS",
    "CUSTOMER_SHEET", "EXAMPLE_PREFIX", "NO_SHEETS", "NOT_XLSX", "NUMBER_REQUIRED",
    "ImportResult", "RowError", "error_sheet_path", "escape_formula", "export_bytes",
    "export_to_path", "import_customers", "save_error_sheet", "template_bytes", "text_cell",
]
