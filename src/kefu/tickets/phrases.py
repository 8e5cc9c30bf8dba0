"""标准话术 and 服务禁语 (B13): the phrases offered in the reply box, and the wording check run
before anything the customer sees is saved.

The check reads the active forbidden phrases in one query each call, so an admin's edit takes
effect on the next submission. Matching is case-insensitive and tolerant of full-width forms
(NFKC) and of spaces slipped between Chinese characters ("不 知 道").
"""

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core.errors import ValidationFailed
from kefu.tickets.models import ForbiddenPhrase, Phrase

# Messages (tests import them).
BLOCKED = _("“%(phrase)s”是服务禁语，不能发给客户。建议说法：%(suggestion)s")
BLOCKED_NO_SUGGESTION = _("“%(phrase)s”是服务禁语，不能发给客户，请换一种说法。")
WARNED = _("“%(phrase)s”措辞需斟酌。建议：%(suggestion)s")
WARNED_NO_SUGGESTION = _("“%(phrase)s”措辞需斟酌。")
CONFIRM_WORDING = _("请修改措辞，或勾选“措辞已确认”后再提交。")
BLOCKED_SUMMARY = _("内容含有服务禁语，请修改后再提交。")
WARNED_SUMMARY = _("内容含有需斟酌的措辞，请修改措辞，或勾选“措辞已确认”后再提交。")

CODE_BLOCKED = "forbidden_phrase"
CODE_WARNED = "wording_warning"

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# Spaces next to a Chinese character carry no meaning: "不 知 道" reads as "不知道".
_SPACE_BY_CJK = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_WORD_CHAR = re.compile(r"[a-z0-9]")


def normalize(text: str) -> str:
    """The form both the text and the phrases are compared in."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = _INVISIBLE.sub("", text)
    text = _SPACE_BY_CJK.sub("", text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class PhraseGroup:
    kind: str
    label: str
    phrases: list


def phrases_by_kind():
    """Active standard phrases grouped by kind, in the order of ``Phrase.Kind``; kinds without
    an active phrase are left out. One query."""
    grouped = {kind.value: [] for kind in Phrase.Kind}
    for phrase in Phrase.objects.filter(is_active=True).order_by("sort_order", "id"):
        grouped.setdefault(phrase.kind, []).append(phrase)
    return [PhraseGroup(kind.value, str(kind.label), grouped[kind.value])
            for kind in Phrase.Kind if grouped[kind.value]]


def _contains(haystack, needle):
    """Chinese phrases match anywhere; a phrase that begins or ends with a Latin letter or digit
    only at a word edge there ("no way" is not in "piano wayfarer")."""
    if not needle:
        return False
    if not (_WORD_CHAR.match(needle[0]) or _WORD_CHAR.match(needle[-1])):
        return needle in haystack
    pattern = re.escape(needle)
    if _WORD_CHAR.match(needle[0]):
        pattern = r"(?<![a-z0-9])" + pattern
    if _WORD_CHAR.match(needle[-1]):
        pattern += r"(?![a-z0-9])"
    return re.search(pattern, haystack) is not None


def find_forbidden(text):
    """The active forbidden phrases the text contains, block ones first. One query."""
    haystack = normalize(text)
    if not haystack:
        return []
    found = [p for p in ForbiddenPhrase.objects.filter(is_active=True).only(
                 "id", "text", "severity", "suggestion")
             if _contains(haystack, normalize(p.text))]
    found.sort(key=lambda p: (p.severity != ForbiddenPhrase.Severity.BLOCK, p.text))
    return found


def _message(phrase):
    blocked = phrase.severity == ForbiddenPhrase.Severity.BLOCK
    if phrase.suggestion:
        template = BLOCKED if blocked else WARNED
        return gettext(template) % {"phrase": phrase.text, "suggestion": phrase.suggestion}
    return gettext(BLOCKED_NO_SUGGESTION if blocked else WARNED_NO_SUGGESTION) % {"phrase": phrase.text}


def check_wording(text, *, acknowledged=False, field="text"):
    """Refuse text the customer would see when it holds a forbidden phrase.

    A ``block`` phrase always refuses it (code ``forbidden_phrase``), naming each phrase and its
    suggested wording; ``warn`` phrases refuse it (code ``wording_warning``) unless the agent
    ticked 措辞已确认 (``acknowledged``). Returns the phrases found that were let through
    (warn ones, acknowledged), otherwise an empty list.
    """
    found = find_forbidden(text)
    if not found:
        return []
    blocked = [p for p in found if p.severity == ForbiddenPhrase.Severity.BLOCK]
    warned = [p for p in found if p.severity != ForbiddenPhrase.Severity.BLOCK]
    if blocked:
        # Name the warn phrases too (unless confirmed): one round of corrections, not two.
        shown = blocked + ([] if acknowledged else warned)
        raise ValidationFailed(BLOCKED_SUMMARY, code=CODE_BLOCKED,
                               fields={field: [_message(p) for p in shown]})
    if not acknowledged:
        raise ValidationFailed(WARNED_SUMMARY, code=CODE_WARNED,
                               fields={field: [*(_message(p) for p in warned), gettext(CONFIRM_WORDING)]})
    return warned
