"""Every write to the customer archive. Pages, the API, imports and the CLI call these.

Services are keyword-only, atomic, and raise ``DomainError`` subclasses whose messages are the
constants below (tests import them).
"""

import datetime
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Region
from kefu.core.access import reveal_logged
from kefu.core.crypto import (
    id_number_index,
    normalize_id_number,
    normalize_phone,
    phone_index,
)
from kefu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kefu.core.history import check_version, save_attributed
from kefu.core.sequences import next_number
from kefu.customers.models import (
    Address,
    Asset,
    Attachment,
    Contact,
    Customer,
    CustomerEvent,
    Phone,
    Tag,
)

NAME_REQUIRED = _("请填写客户名称。")
NUMBER_TAKEN = _("客户编号已存在。")
STALE_VERSION = _("该客户已被他人修改（当前版本 %(current)s，您提交的是 %(given)s），请刷新后重试。")
STALE_ASSET_VERSION = _("该设备已被他人修改（当前版本 %(current)s，您提交的是 %(given)s），请刷新后重试。")
BAD_ID_NUMBER = _("证件号码格式不正确（应为 15 或 18 位身份证号，或其他证件号）。")
BAD_DATE_ORDER = _("保修截止日期不能早于购买日期。")
PRODUCT_REQUIRED = _("请填写产品型号。")
ATTACHMENT_TOO_BIG = _("附件过大：最大 %(max)s。")
ATTACHMENT_TYPE = _("不支持的附件类型：只接受 PDF、JPG、PNG、Excel、Word 文件。")
FIELD_NOT_REVEALABLE = _("该字段不能查看。")

CUSTOMER_FIELDS = ("party_type", "name", "kind", "outlet_level", "region", "birthday", "id_number", "notes")
ASSET_FIELDS = (
    "product_model", "serial", "plate", "purchase_date", "agreed_install_date", "installed_on",
    "warranty_end", "contract_number", "notes",
)


@dataclass
class ContactInput:
    name: str
    role: str = ""
    phones: list[str] = field(default_factory=list)
    is_primary: bool = False


def _record(customer, actor, verb, summary, **data):
    CustomerEvent.objects.create(customer=customer, actor=actor, verb=verb, summary=str(summary), data=data)


def _clean_customer_fields(values):
    errors = {}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            errors["name"] = [NAME_REQUIRED]
    if "party_type" in values and values["party_type"] not in Customer.PartyType.values:
        errors["party_type"] = [gettext("未知的客户类型。")]
    if "kind" in values and values["kind"] not in Customer.Kind.values:
        errors["kind"] = [gettext("未知的客户类别。")]
    if "outlet_level" in values:
        values["outlet_level"] = values["outlet_level"] or ""
        if values["outlet_level"] not in Customer.OutletLevel.values:
            errors["outlet_level"] = [gettext("网点级别只能是一级或二级。")]
    if "region" in values and values["region"] is not None and not isinstance(values["region"], Region):
        region = Region.objects.filter(pk=values["region"]).first()
        if region is None:
            errors["region"] = [gettext("片区不存在。")]
        values["region"] = region
    if "birthday" in values and values["birthday"] and values["birthday"] > timezone.localdate():
        errors["birthday"] = [gettext("生日不能晚于今天。")]
    if values.get("id_number"):
        values["id_number"] = normalize_id_number(values["id_number"])
        if not re.fullmatch(r"\d{17}[\dX]|\d{15}|[A-Z0-9]{6,20}", values["id_number"]):
            errors["id_number"] = [BAD_ID_NUMBER]
    if errors:
        raise ValidationFailed(fields=errors)
    return values


def _normalized_phones(phones):
    result, errors = [], []
    for raw in phones or []:
        if not (raw or "").strip():
            continue
        try:
            result.append(normalize_phone(raw))
        except ValidationFailed as exc:
            errors.append(exc.message)
    if errors:
        raise ValidationFailed(fields={"phones": errors})
    return list(dict.fromkeys(result))


def _set_tags(customer, tags):
    names = [t.strip() for t in tags if t and t.strip()]
    objs = []
    for name in dict.fromkeys(names):
        tag, _created = Tag.objects.get_or_create(name=name[:32])
        objs.append(tag)
    customer.tags.set(objs)


def _add_phone(customer, contact, number, actor, label=Phone.Label.MOBILE):
    """Add a normalised number unless the customer already has it; returns the new row or None."""
    idx = phone_index(number)
    if Phone.objects.filter(customer=customer, number_index=idx).exists():
        return None
    phone = Phone(customer=customer, contact=contact, number=number, number_index=idx, label=label)
    return save_attributed(phone, actor)


@transaction.atomic
def customer_create(
    *,
    actor,
    name,
    number=None,
    party_type=Customer.PartyType.PERSON,
    kind=Customer.Kind.ORDINARY,
    outlet_level="",
    region=None,
    birthday=None,
    id_number="",
    notes="",
    tags=(),
    contacts=(),
    phones=(),
    addresses=(),
):
    """Create a customer with contacts, phones and addresses; number drawn if not given."""
    values = _clean_customer_fields(
        {
            "name": name, "party_type": party_type, "kind": kind, "outlet_level": outlet_level,
            "region": region, "birthday": birthday, "id_number": id_number or "",
        }
    )
    direct_phones = _normalized_phones(phones)
    contact_inputs = [c if isinstance(c, ContactInput) else ContactInput(**c) for c in contacts]
    contact_phones = [_normalized_phones(c.phones) for c in contact_inputs]
    if number:
        number = number.strip()
        if Customer.objects.filter(number=number).exists():
            raise ValidationFailed(fields={"number": [NUMBER_TAKEN]})
    else:
        number = next_number("KH", timezone.localdate().strftime("%Y"), width=5)
    customer = Customer(
        number=number,
        notes=notes or "",
        created_by=actor,
        id_number_index=id_number_index(values["id_number"]) if values["id_number"] else "",
        **values,
    )
    save_attributed(customer, actor)
    if tags:
        _set_tags(customer, tags)
    for c, numbers in zip(contact_inputs, contact_phones, strict=True):
        contact = save_attributed(
            Contact(customer=customer, name=c.name.strip(), role=c.role or "", is_primary=c.is_primary),
            actor,
        )
        for n in numbers:
            _add_phone(customer, contact, n, actor)
    for n in direct_phones:
        _add_phone(customer, None, n, actor)
    for i, text in enumerate(a for a in addresses if a and a.strip()):
        save_attributed(Address(customer=customer, text=text.strip(), is_default=i == 0), actor)
    _record(customer, actor, "created", gettext("建立客户档案"))
    return customer


@transaction.atomic
def customer_update(*, actor, customer, version=None, tags=None, **changes):
    """Change profile fields. ``version`` (optimistic lock) → Conflict when stale."""
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [gettext("不能修改该字段。")] for k in unknown})
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    check_version(locked, version, STALE_VERSION)
    values = _clean_customer_fields(dict(changes))
    changed = [k for k, v in values.items() if getattr(locked, k) != v]
    for k in changed:
        setattr(locked, k, values[k])
    if "id_number" in changed:
        locked.id_number_index = id_number_index(locked.id_number) if locked.id_number else ""
        changed.append("id_number_index")
    tags_changed = False
    if tags is not None:
        before = sorted(locked.tags.values_list("name", flat=True))
        _set_tags(locked, tags)
        tags_changed = before != sorted(locked.tags.values_list("name", flat=True))
    if changed or tags_changed:
        locked.version += 1
        save_attributed(locked, actor, update_fields=[*changed, "version", "updated_at"])
        labels = [str(Customer._meta.get_field(k).verbose_name) for k in changed if k != "id_number_index"]
        if tags_changed:
            labels.append(gettext("标签"))
        _record(locked, actor, "updated", gettext("修改了：%(fields)s") % {"fields": "、".join(labels)},
                fields=[k for k in changed if k != "id_number_index"])
    return locked


@transaction.atomic
def customer_add_contact(*, actor, customer, name, role="", phones=(), is_primary=False):
    if not (name or "").strip():
        raise ValidationFailed(fields={"name": [gettext("请填写联系人姓名。")]})
    numbers = _normalized_phones(phones)
    contact = save_attributed(
        Contact(customer=customer, name=name.strip(), role=role, is_primary=is_primary), actor
    )
    for n in numbers:
        _add_phone(customer, contact, n, actor)
    _record(customer, actor, "contact_added", gettext("新增联系人"))
    return contact


@transaction.atomic
def customer_add_phone(*, actor, customer, number, contact=None, label=Phone.Label.MOBILE):
    if label not in Phone.Label.values:
        raise ValidationFailed(fields={"label": [gettext("未知的电话类型。")]})
    try:
        normalized = normalize_phone(number)
    except ValidationFailed as exc:
        raise ValidationFailed(fields={"number": [exc.message]}) from None
    if not normalized:
        raise ValidationFailed(fields={"number": [gettext("请填写电话号码。")]})
    phone = _add_phone(customer, contact, normalized, actor, label=label)
    if phone is None:
        raise ValidationFailed(fields={"number": [gettext("该客户已有这个电话号码。")]})
    _record(customer, actor, "phone_added", gettext("新增电话"))
    return phone


@transaction.atomic
def customer_add_address(*, actor, customer, text, label="", is_default=False):
    if not (text or "").strip():
        raise ValidationFailed(fields={"text": [gettext("请填写地址。")]})
    if is_default:
        customer.addresses.update(is_default=False)
    address = save_attributed(
        Address(customer=customer, text=text.strip(), label=label, is_default=is_default), actor
    )
    _record(customer, actor, "address_added", gettext("新增地址"))
    return address


def _clean_asset_fields(values, existing=None):
    errors = {}
    for key in ("product_model", "serial", "plate", "contract_number"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if "serial" in values:
        values["serial"] = values["serial"].upper()
    if "plate" in values:
        values["plate"] = values["plate"].upper().replace(" ", "")
    if "product_model" in values and not values["product_model"]:
        errors["product_model"] = [PRODUCT_REQUIRED]
    purchase = values.get("purchase_date", existing.purchase_date if existing else None)
    warranty = values.get("warranty_end", existing.warranty_end if existing else None)
    if purchase and warranty and warranty < purchase:
        errors["warranty_end"] = [BAD_DATE_ORDER]
    for key in ("purchase_date", "agreed_install_date", "installed_on", "warranty_end"):
        if key in values and values[key] is not None and not isinstance(values[key], datetime.date):
            errors[key] = [gettext("日期格式不正确。")]
    if errors:
        raise ValidationFailed(fields=errors)
    return values


@transaction.atomic
def asset_create(*, actor, customer, product_model, **fields):
    unknown = set(fields) - set(ASSET_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [gettext("未知字段。")] for k in unknown})
    values = _clean_asset_fields({"product_model": product_model, **fields})
    asset = save_attributed(Asset(customer=customer, **values), actor)
    _record(customer, actor, "asset_added", gettext("登记设备 %(asset)s") % {"asset": asset}, asset=asset.pk)
    return asset


@transaction.atomic
def asset_update(*, actor, asset, version=None, **changes):
    unknown = set(changes) - set(ASSET_FIELDS)
    if unknown:
        raise ValidationFailed(fields={k: [gettext("不能修改该字段。")] for k in unknown})
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    check_version(locked, version, STALE_ASSET_VERSION)
    values = _clean_asset_fields(dict(changes), existing=locked)
    changed = [k for k, v in values.items() if getattr(locked, k) != v]
    if changed:
        for k in changed:
            setattr(locked, k, values[k])
        locked.version += 1
        save_attributed(locked, actor, update_fields=[*changed, "version"])
        _record(locked.customer, actor, "asset_updated", gettext("修改设备 %(asset)s") % {"asset": locked},
                asset=locked.pk, fields=changed)
    return locked


ALLOWED_ATTACHMENTS = {
    # extension: (content type, magic bytes or None when the format has no stable signature)
    "pdf": ("application/pdf", b"%PDF"),
    "png": ("image/png", b"\x89PNG"),
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK"),
}


@transaction.atomic
def attachment_add(*, actor, customer, upload, kind=Attachment.Kind.OTHER, asset=None):
    """Store an uploaded file after checking its size, extension and leading bytes."""
    from django.conf import settings

    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(
            fields={"file": [ATTACHMENT_TOO_BIG % {"max": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}]}
        )
    ext = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    spec = ALLOWED_ATTACHMENTS.get(ext)
    head = upload.read(8)
    upload.seek(0)
    if spec is None or not head.startswith(spec[1]):
        raise ValidationFailed(fields={"file": [ATTACHMENT_TYPE]})
    if kind not in Attachment.Kind.values:
        raise ValidationFailed(fields={"kind": [gettext("未知的附件类型。")]})
    if asset is not None and asset.customer_id != customer.pk:
        raise ValidationFailed(fields={"asset": [gettext("该设备不属于这个客户。")]})
    attachment = Attachment(
        customer=customer, asset=asset, kind=kind, original_name=upload.name[:255],
        content_type=spec[0], size=upload.size, uploaded_by=actor,
    )
    attachment.file.save(upload.name, upload, save=False)
    attachment.save()
    _record(customer, actor, "attachment_added", gettext("上传附件 %(name)s") % {"name": attachment.original_name})
    return attachment


REVEALABLE = {
    "phone": (Phone, "number"),
    "id_number": (Customer, "id_number"),
    "address": (Address, "text"),
    "name": (Customer, "name"),
    "contact_name": (Contact, "name"),
}


def customer_reveal(*, actor, customer, field, reason, item_id=None, channel="web", ip_address=None):
    """The clear value of one masked field of a customer, logged in the access log."""
    if field not in REVEALABLE:
        raise ValidationFailed(FIELD_NOT_REVEALABLE, fields={"field": [FIELD_NOT_REVEALABLE]})
    if not actor.has_perm("customers.reveal_customer_pii"):
        raise PermissionDenied(gettext("您没有查看完整个人信息的权限。"))
    model, attr = REVEALABLE[field]
    if model is Customer:
        obj = customer
    else:
        obj = model.objects.filter(customer=customer, pk=item_id).first()
        if obj is None:
            raise NotFound()
    value = getattr(obj, attr)
    return reveal_logged(
        user=actor, obj=customer, field=field if model is Customer else f"{field}#{obj.pk}",
        value=value, reason=reason, permission="customers.reveal_customer_pii",
        channel=channel, ip_address=ip_address,
    )
