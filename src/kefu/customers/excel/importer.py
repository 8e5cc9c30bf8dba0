"""Reading a workbook and importing its rows through the customer services."""

from collections.abc import Callable
from dataclasses import dataclass

import openpyxl
from django.db import DataError, IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext

from kefu.core.crypto import normalize_id_number, normalize_phone, phone_index
from kefu.core.errors import DomainError, PermissionDenied, ValidationFailed
from kefu.customers import services
from kefu.customers.excel.format import (
    ASSET_COLUMNS,
    ASSET_SHEET,
    ASSET_VALUES,
    BATCH_ROWS,
    CUSTOMER_COLUMNS,
    CUSTOMER_ROW_FAILED,
    CUSTOMER_SCALARS,
    CUSTOMER_SHEET,
    DUPLICATE_ASSET,
    DUPLICATE_NUMBER,
    EXAMPLE_PREFIX,
    ID_NUMBER_AS_NUMBER,
    MAX_LENGTHS,
    MISSING_HEADERS,
    NO_IMPORT_PERMISSION,
    NO_SHEETS,
    NOT_XLSX,
    NUMBER_REQUIRED,
    PHONE_SEPARATORS,
    ROW_REFUSED,
    TAG_SEPARATORS,
    TOO_LONG,
    UNKNOWN_CHOICE,
    UNKNOWN_CUSTOMER,
    UNKNOWN_REGION,
    ImportResult,
    RowError,
    _allowed,
    _date,
    _header_key,
    _Lookups,
    _norm,
    _Rejected,
    _spellings,
    _text,
)
from kefu.customers.models import Asset, Customer, Phone

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
