"""Customer search: one box that recognises what the agent typed, and structured filters."""

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.core.crypto import id_number_index, normalize_phone, phone_index
from kefu.core.errors import ValidationFailed
from kefu.customers.models import Customer

PLATE_RE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fff]?$")
VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
ID_RE = re.compile(r"^(\d{17}[\dX]|\d{15})$")
NUMBER_RE = re.compile(r"^KH\d{4,}$")
PHONE_RE = re.compile(r"^(\+?86|0086)?[\d\s\-()]{7,20}$")


KIND_LABELS = {
    "phone": _("电话"), "id_number": _("证件号码"), "vin": _("车架号"), "plate": _("车牌号"),
    "number": _("客户编号"), "text": _("文字"),
}


@dataclass(frozen=True)
class Recognised:
    kind: str  # phone | id_number | vin | plate | number | text
    value: str

    @property
    def label(self):
        return KIND_LABELS[self.kind]


def recognise(q: str) -> Recognised:
    """What did the agent type? A phone, an ID number, a VIN, a plate, a customer number, or text."""
    text = (q or "").strip()
    compact = re.sub(r"[\s\-]", "", text).upper()
    if NUMBER_RE.match(compact):
        return Recognised("number", compact)
    if ID_RE.match(compact):
        return Recognised("id_number", compact)
    if VIN_RE.match(compact) and not compact.isdigit():
        return Recognised("vin", compact)
    if PLATE_RE.match(compact):
        return Recognised("plate", compact)
    if PHONE_RE.match(text):
        try:
            return Recognised("phone", normalize_phone(text))
        except ValidationFailed:
            pass
    return Recognised("text", text)


def search(queryset, q: str):
    """Filter ``queryset`` (already scoped to the user) by the one search box."""
    what = recognise(q)
    if not what.value:
        return queryset, what
    if what.kind == "phone":
        return queryset.filter(phones__number_index=phone_index(what.value)).distinct(), what
    if what.kind == "id_number":
        return queryset.filter(id_number_index=id_number_index(what.value)), what
    if what.kind == "number":
        return queryset.filter(number=what.value), what
    if what.kind in ("vin", "plate"):
        field = "serial" if what.kind == "vin" else "plate"
        return queryset.filter(**{f"assets__{field}": what.value}).distinct(), what
    # Free text: Chinese names by substring, customer number / serial / plate prefixes too.
    value = what.value
    matched = queryset.filter(
        Q(name__icontains=value)
        | Q(number__istartswith=value)
        | Q(pk__in=_asset_customer_ids(value))
    )
    return matched, what


def _asset_customer_ids(value):
    from kefu.customers.models import Asset

    upper = value.upper()
    return Asset.objects.filter(Q(serial__startswith=upper) | Q(plate__startswith=upper)).values(
        "customer_id"
    )


def filter_customers(queryset, *, region=None, kind=None, party_type=None, created_from=None,
                     created_to=None, tag=None, serial=None, plate=None, phone=None, name=None,
                     number=None):
    """Structured filters (list page and API). Each argument narrows the set."""
    if region:
        queryset = queryset.filter(region_id=region)
    if kind:
        queryset = queryset.filter(kind=kind)
    if party_type:
        queryset = queryset.filter(party_type=party_type)
    if created_from:
        queryset = queryset.filter(created_at__date__gte=created_from)
    if created_to:
        queryset = queryset.filter(created_at__date__lte=created_to)
    if tag:
        queryset = queryset.filter(tags__name=tag)
    if serial:
        queryset = queryset.filter(assets__serial=serial.strip().upper())
    if plate:
        queryset = queryset.filter(assets__plate=plate.strip().upper().replace(" ", ""))
    if phone:
        queryset = queryset.filter(phones__number_index=phone_index(phone))
    if name:
        queryset = queryset.filter(name__icontains=name.strip())
    if number:
        queryset = queryset.filter(number=number.strip())
    if tag or serial or plate or phone:
        queryset = queryset.distinct()
    return queryset


def lookup_by_phone(user, raw_phone):
    """The caller's customers, in one indexed query (A3: found by phone in one step)."""
    return list(
        Customer.objects.visible_to(user)
        .filter(phones__number_index=phone_index(raw_phone))
        .select_related("region")
        .distinct()
    )


def get_customer_for_user(user, pk, perm="customers.view_customer"):
    """The one access helper for a customer: NotFound if out of scope, PermissionDenied if the
    user may see it but not do ``perm`` to it."""
    from kefu.core.errors import NotFound, PermissionDenied

    customer = Customer.objects.visible_to(user).select_related("region").filter(pk=pk).first()
    if customer is None:
        raise NotFound()
    if perm and not user.has_perm(perm):
        raise PermissionDenied()
    return customer


def keyset_page(queryset, *, after=None, size=25):
    """Newest first by id; ``after`` is the last id of the previous page. Returns (rows, next)."""
    if after:
        queryset = queryset.filter(pk__lt=after)
    rows = list(queryset.order_by("-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].pk if more else None)
