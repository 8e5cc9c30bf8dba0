"""The customer page's history panel (A4): one section per kind of record.

Later modules (tickets, work orders, complaints, callbacks, orders, surveys) add a provider with
``register``; the panel shows every registered section, with what exists so far.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

_providers = []


@dataclass
class HistorySection:
    key: str
    title: str
    rows: list = field(default_factory=list)  # each: {"at", "title", "status", "url"}
    available: bool = True  # False: the module that fills it is not installed yet


def register(provider):
    """``provider(customer) -> HistorySection``."""
    _providers.append(provider)
    return provider


PLANNED = [
    ("tickets", _("工单")),
    ("workorders", _("维修单")),
    ("complaints", _("投诉")),
    ("callbacks", _("回访")),
    ("orders", _("订单")),
    ("surveys", _("满意度")),
]


def sections_for(customer):
    sections = {s.key: s for s in (p(customer) for p in _providers)}
    return [sections.get(key) or HistorySection(key, title, available=False) for key, title in PLANNED]
