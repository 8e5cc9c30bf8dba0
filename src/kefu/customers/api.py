"""The customer archive over HTTP: /api/v1/customers.

Thin endpoints: parse (the schemas below), check the permission, load the customer through the
one access helper (``get_customer_for_user``: 404 when out of scope), call one service, answer
with masked data. Clear personal data only ever leaves through ``reveal``, which is logged.

Every input field is bounded to what its column holds and refuses NUL characters and lone
surrogates, so unexpected input is a 422 on SQLite and PostgreSQL alike, never a 500.
"""

import base64
import binascii
import datetime
import ipaddress
import re
from typing import Annotated, Literal

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from ninja import Field, Path, Query, Router, Schema, Status
from pydantic import AfterValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from kefu.accounts.models import Region
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kefu.customers import services
from kefu.customers.models import Asset, Customer, Phone
from kefu.customers.queries import filter_customers, get_customer_for_user, keyset_page, search

router = Router(tags=["customers"])

MAX_ID = 2**63 - 1  # bigint: larger ids overflow the database driver instead of matching nothing
MAX_VERSION = 2**31 - 1
BAD_CURSOR = _("分页游标无效，请从第一页重新开始。")
UNKNOWN_REGION = _("片区不存在。")
UNKNOWN_CONTACT = _("该联系人不属于这个客户。")
ITEM_REQUIRED = _("请指明要查看哪一条（item_id）。")
TEXT_INVALID = _("不能包含空字符或无效字符。")


# --- input building blocks -------------------------------------------------------------------

def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL in text and no database stores a lone surrogate.
    if "\x00" in value:
        raise PydanticCustomError("text_invalid", str(TEXT_INVALID))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("text_invalid", str(TEXT_INVALID)) from None
    return value


def Text(max_length: int, min_length: int = 0):
    """A bounded, storable string type: ``name: Text(128, 1)`` reads like the column it fills."""
    bounds = Field(max_length=max_length, min_length=min_length or None)
    return Annotated[str, bounds, AfterValidator(_clean_text)]


ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION, description="当前版本号（乐观锁） / current version")]
PartyTypeValue = Literal[tuple(Customer.PartyType.values)]
KindValue = Literal[tuple(Customer.Kind.values)]
OutletLevelValue = Literal[tuple(Customer.OutletLevel.values)]
PhoneLabelValue = Literal[tuple(Phone.Label.values)]
RevealField = Literal[tuple(services.REVEALABLE)]

# Fields that live on a row of their own (a phone, an address, a contact) need its id.
REVEAL_ITEM_FIELDS = {f for f, (model, _attr) in services.REVEALABLE.items() if model is not Customer}


def _normalized_length(value: str, limit: int, normalize) -> str:
    # The service upper-cases serials and plates; "ß".upper() is "SS", so check after that.
    if len(normalize(value)) > limit:
        raise PydanticCustomError(
            "string_too_long", "String should have at most {max_length} characters",
            {"max_length": limit},
        )
    return value


def _serial(value: str) -> str:
    return _normalized_length(value, 64, lambda v: v.strip().upper())


def _plate(value: str) -> str:
    return _normalized_length(value, 16, lambda v: v.strip().upper().replace(" ", ""))


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


# --- input schemas ---------------------------------------------------------------------------

class ContactIn(InputSchema):
    name: Text(64, 1)
    role: Text(64) = ""
    phones: list[Text(40)] = Field(default_factory=list, max_length=10)
    is_primary: bool = False


class CustomerCreateIn(InputSchema):
    name: Text(128, 1) = Field(description="客户名称（个人为姓名） / name")
    number: Text(32) | None = Field(None, description="客户编号，不填则自动生成 / number, drawn if empty")
    party_type: PartyTypeValue = Customer.PartyType.PERSON.value
    kind: KindValue = Customer.Kind.ORDINARY.value
    outlet_level: OutletLevelValue = ""
    region: Text(32) | None = Field(None, description="片区代码 / region code")
    birthday: datetime.date | None = None
    id_number: Text(32) = ""
    notes: Text(2000) = ""
    tags: list[Text(32)] = Field(default_factory=list, max_length=20)
    phones: list[Text(40)] = Field(default_factory=list, max_length=10)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)
    addresses: list[Text(200)] = Field(default_factory=list, max_length=10)


class CustomerUpdateIn(InputSchema):
    """Only the fields sent change. ``region``/``birthday`` may be null to clear them."""

    version: Version
    name: Text(128, 1) = None
    party_type: PartyTypeValue = None
    kind: KindValue = None
    outlet_level: OutletLevelValue = None
    region: Text(32) | None = None
    birthday: datetime.date | None = None
    id_number: Text(32) = None
    notes: Text(2000) = None
    tags: list[Text(32)] = Field(None, max_length=20)


class PhoneIn(InputSchema):
    number: Text(40, 1)
    label: PhoneLabelValue = Phone.Label.MOBILE.value
    contact_id: ObjectId | None = None


class RevealIn(InputSchema):
    field: RevealField = Field(description="phone | id_number | address | name | contact_name")
    item_id: ObjectId | None = Field(
        None, description="电话、地址、联系人的 id（phone/address/contact_name 必填） / row id"
    )
    reason: Text(200, 1) = Field(
        description="查看原因：callback、ticket、dispatch、verify 或自由填写 / why"
    )


class AssetFieldsIn(InputSchema):
    serial: Text(64) = ""
    plate: Text(16) = ""
    purchase_date: datetime.date | None = None
    agreed_install_date: datetime.date | None = None
    installed_on: datetime.date | None = None
    warranty_end: datetime.date | None = None
    contract_number: Text(64) = ""
    notes: Text(2000) = ""

    @field_validator("serial")
    @classmethod
    def _check_serial(cls, value):
        return _serial(value)

    @field_validator("plate")
    @classmethod
    def _check_plate(cls, value):
        return _plate(value)


class AssetCreateIn(AssetFieldsIn):
    product_model: Text(128, 1)


class AssetUpdateIn(AssetFieldsIn):
    """Only the fields sent change; dates may be null to clear them."""

    version: Version
    product_model: Text(128, 1) = None
    serial: Text(64) = None
    plate: Text(16) = None
    contract_number: Text(64) = None
    notes: Text(2000) = None


# --- filter schema ---------------------------------------------------------------------------

class CustomerFilters(Schema):
    q: Text(100) | None = Field(
        None, description="搜索框：电话、证件号、车架号、车牌、客户编号或名称 / one search box"
    )
    region: Text(32) | None = Field(None, description="片区代码 / region code")
    kind: KindValue | None = None
    party_type: PartyTypeValue | None = None
    tag: Text(32) | None = None
    serial: Text(64) | None = None
    plate: Text(16) | None = None
    phone: Text(40) | None = None
    name: Text(128) | None = None
    number: Text(32) | None = None
    created_from: datetime.date | None = None
    created_to: datetime.date | None = None


# --- output schemas --------------------------------------------------------------------------

class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class RegionOut(Schema):
    code: str
    name: str


class PhoneOut(Schema):
    id: int
    masked: str = Field(description="138****5678")
    label: str
    contact_id: int | None


class ContactOut(Schema):
    id: int
    name_masked: str
    role: str
    is_primary: bool


class AddressOut(Schema):
    id: int
    label: str
    masked: str
    is_default: bool


class AssetSummaryOut(Schema):
    id: int
    product_model: str
    serial: str
    plate: str
    warranty_end: datetime.date | None
    warranty_status: str = Field(description="in | expiring | expired | unknown")
    warranty_status_label: str
    version: int

    @staticmethod
    def resolve_warranty_status_label(obj):
        return str(obj.warranty_status_label)


class AssetOut(AssetSummaryOut):
    purchase_date: datetime.date | None
    agreed_install_date: datetime.date | None
    installed_on: datetime.date | None
    contract_number: str
    notes: str
    created_at: datetime.datetime


class CustomerListItemOut(Schema):
    id: int
    number: str
    display_name: str = Field(description="个人客户姓名已打码 / person names masked")
    party_type: str
    party_type_label: str
    kind: str
    kind_label: str
    outlet_level: str
    region: RegionOut | None
    tags: list[str]
    phones: list[PhoneOut]
    version: int
    created_at: datetime.datetime

    @staticmethod
    def resolve_party_type_label(obj):
        return str(obj.get_party_type_display())

    @staticmethod
    def resolve_kind_label(obj):
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_tags(obj):
        return [tag.name for tag in obj.tags.all()]


class CustomerOut(CustomerListItemOut):
    birthday_month_day: str | None = Field(description="生日（月-日），年份不公开 / MM-DD")
    id_number_masked: str
    notes: str
    contacts: list[ContactOut]
    addresses: list[AddressOut]
    assets: list[AssetSummaryOut]
    updated_at: datetime.datetime

    @staticmethod
    def resolve_birthday_month_day(obj):
        return obj.birthday.strftime("%m-%d") if obj.birthday else None


class CustomerPage(Schema):
    items: list[CustomerListItemOut]
    next_cursor: str | None = Field(description="下一页游标，没有下一页时为 null / null on the last page")


class RevealOut(Schema):
    field: str
    value: str


ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
CustomerPath = Annotated[int, Path(ge=1, le=MAX_ID, description="客户 id / customer id")]
AssetPath = Annotated[int, Path(ge=1, le=MAX_ID, description="设备 id / asset id")]


# --- helpers ---------------------------------------------------------------------------------

def _require(user, perm):
    if not user.has_perm(perm):
        raise PermissionDenied()


def _customer(request, customer_id, perm):
    """403 for a user who may not see customers at all; then the access helper: 404 out of
    scope (an engineer asking about another region learns nothing), 403 without ``perm``."""
    _require(request.auth, "customers.view_customer")
    return get_customer_for_user(request.auth, customer_id, perm)


def _with_detail_data(customer):
    prefetch_related_objects([customer], "tags", "phones", "contacts", "addresses", "assets")
    return customer


def _region(code):
    if code is None:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationFailed(fields={"region": [UNKNOWN_REGION]})
    return region


def encode_cursor(pk):
    if pk is None:
        return None
    return base64.urlsafe_b64encode(str(pk).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    if not cursor:
        return None
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not re.fullmatch(r"[1-9]\d{0,18}", text) or int(text) > MAX_ID:
            raise ValueError(text)
    except (ValueError, binascii.Error):
        raise ValidationFailed(BAD_CURSOR, fields={"cursor": [BAD_CURSOR]}) from None
    return int(text)


def _client_ip(request):
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


# --- customers -------------------------------------------------------------------------------

@router.get(
    "", response={200: CustomerPage, **ERRORS}, operation_id="customers_list",
    summary=_("客户列表 / List customers"),
    description=_(
        "按搜索框 q 与结构化条件筛选，按 id 倒序，游标分页（cursor、limit 1–100）。"
        "只返回打码后的个人信息。/ Filter by the search box q and structured filters, newest "
        "first, keyset pagination. Personal data masked."
    ),
)
def customers_list(
    request,
    filters: Query[CustomerFilters],
    cursor: Annotated[Text(32) | None, Query(description="上一页的 next_cursor / cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="每页条数 / page size")] = 25,
):
    user = request.auth
    _require(user, "customers.view_customer")
    after = decode_cursor(cursor)
    queryset = Customer.objects.visible_to(user)
    if filters.q:
        queryset, _recognised = search(queryset, filters.q)
    if filters.region:
        queryset = queryset.filter(region__code=filters.region)
    try:
        queryset = filter_customers(
            queryset, kind=filters.kind, party_type=filters.party_type, tag=filters.tag,
            serial=filters.serial, plate=filters.plate, phone=filters.phone, name=filters.name,
            number=filters.number, created_from=filters.created_from,
            created_to=filters.created_to,
        )
    except ValidationFailed as exc:  # the phone filter could not be read as a phone number
        raise ValidationFailed(exc.message, fields={"phone": [exc.message]}) from None
    rows, next_pk = keyset_page(
        queryset.select_related("region").prefetch_related("tags", "phones"), after=after, size=limit
    )
    return {"items": rows, "next_cursor": encode_cursor(next_pk)}


@router.get(
    "/{customer_id}", response={200: CustomerOut, **ERRORS}, operation_id="customers_detail",
    summary=_("客户详情 / Customer detail"),
    description=_(
        "电话、证件号、地址、个人姓名均已打码；查看原文请用 reveal。/ Phones, ID number, "
        "addresses and person names are masked; use reveal for a clear value."
    ),
)
def customers_detail(request, customer_id: CustomerPath):
    return _with_detail_data(_customer(request, customer_id, "customers.view_customer"))


@router.post(
    "", response={201: CustomerOut, **ERRORS}, operation_id="customers_create",
    summary=_("新建客户 / Create a customer"),
    description=_("客户编号不填则自动生成。/ The number is drawn when not given."),
)
def customers_create(request, payload: CustomerCreateIn):
    user = request.auth
    _require(user, "customers.add_customer")
    data = payload.model_dump()
    data["region"] = _region(data["region"])
    data["contacts"] = [services.ContactInput(**c) for c in data["contacts"]]
    customer = services.customer_create(actor=user, **data)
    return Status(201, _with_detail_data(customer))


@router.patch(
    "/{customer_id}", response={200: CustomerOut, 409: ErrorOut, **ERRORS},
    operation_id="customers_update",
    summary=_("修改客户资料 / Update a customer"),
    description=_(
        "必须带上读取时的 version；他人已修改则返回 409 conflict，请重新读取后再改。"
        "/ Send the version you read; a stale version answers 409 conflict."
    ),
)
def customers_update(request, customer_id: CustomerPath, payload: CustomerUpdateIn):
    customer = _customer(request, customer_id, "customers.change_customer")
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if "region" in changes:
        changes["region"] = _region(changes["region"])
    updated = services.customer_update(
        actor=request.auth, customer=customer, version=version, **changes
    )
    return _with_detail_data(updated)


@router.post(
    "/{customer_id}/phones", response={201: PhoneOut, **ERRORS},
    operation_id="customers_add_phone",
    summary=_("添加电话 / Add a phone"),
)
def customers_add_phone(request, customer_id: CustomerPath, payload: PhoneIn):
    customer = _customer(request, customer_id, "customers.change_customer")
    contact = None
    if payload.contact_id is not None:
        contact = customer.contacts.filter(pk=payload.contact_id).first()
        if contact is None:
            raise ValidationFailed(fields={"contact_id": [UNKNOWN_CONTACT]})
    phone = services.customer_add_phone(
        actor=request.auth, customer=customer, number=payload.number, contact=contact,
        label=payload.label,
    )
    return Status(201, phone)


@router.post(
    "/{customer_id}/reveal", response={200: RevealOut, **ERRORS},
    operation_id="customers_reveal",
    summary=_("查看完整个人信息（留痕） / Reveal one value (logged)"),
    description=_(
        "需要“查看客户完整个人信息”权限，必须填写原因；每次查看都记入查看日志（途径 api）。"
        "/ Needs the reveal permission and a reason; every reveal is written to the access log."
    ),
)
def customers_reveal(request, customer_id: CustomerPath, payload: RevealIn):
    customer = _customer(request, customer_id, "customers.view_customer")
    if payload.field in REVEAL_ITEM_FIELDS and payload.item_id is None:
        raise ValidationFailed(fields={"item_id": [ITEM_REQUIRED]})
    value = services.customer_reveal(
        actor=request.auth, customer=customer, field=payload.field, reason=payload.reason,
        item_id=payload.item_id, channel="api", ip_address=_client_ip(request),
    )
    return {"field": payload.field, "value": value}


# --- assets ----------------------------------------------------------------------------------

@router.get(
    "/{customer_id}/assets", response={200: list[AssetOut], **ERRORS},
    operation_id="customers_assets_list",
    summary=_("客户设备列表 / A customer's assets"),
)
def customers_assets_list(request, customer_id: CustomerPath):
    customer = _customer(request, customer_id, "customers.view_asset")
    return list(customer.assets.all())


@router.post(
    "/{customer_id}/assets", response={201: AssetOut, **ERRORS},
    operation_id="customers_assets_create",
    summary=_("登记设备 / Register an asset"),
)
def customers_assets_create(request, customer_id: CustomerPath, payload: AssetCreateIn):
    customer = _customer(request, customer_id, "customers.add_asset")
    asset = services.asset_create(actor=request.auth, customer=customer, **payload.model_dump())
    return Status(201, asset)


@router.patch(
    "/{customer_id}/assets/{asset_id}", response={200: AssetOut, 409: ErrorOut, **ERRORS},
    operation_id="customers_assets_update",
    summary=_("修改设备 / Update an asset"),
    description=_(
        "必须带上读取时的 version；他人已修改则返回 409 conflict。"
        "/ Send the version you read; a stale version answers 409 conflict."
    ),
)
def customers_assets_update(
    request, customer_id: CustomerPath, asset_id: AssetPath, payload: AssetUpdateIn
):
    customer = _customer(request, customer_id, "customers.change_asset")
    asset = Asset.objects.filter(customer=customer, pk=asset_id).first()
    if asset is None:
        raise NotFound()
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return services.asset_update(actor=request.auth, asset=asset, version=version, **changes)

