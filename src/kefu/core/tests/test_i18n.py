"""English must fully work: every catalogue entry translated, the .mo in step with the .po, and
no Chinese left on the main pages when the English language cookie is set.

Chinese is the source language (every msgid), so an untranslated or fuzzy entry shows Chinese to
English users. After changing translatable text run, in src/kefu:

    kefu makemessages -l en --no-location --ignore "browser_tests/*" --ignore "*/tests/*"
    (translate the new entries in locale/en/LC_MESSAGES/django.po, drop any "#, fuzzy")
    kefu compilemessages -l en
"""

import ast
import gettext
import html
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale"
EN = LOCALE / "en" / "LC_MESSAGES"
# CJK ideographs, plus CJK and full-width punctuation (a stray "：" or "（" is Chinese too).
CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdir]|%[sdir]")
CONTEXT_SEPARATOR = "\x04"


def parse_po(path):
    """The entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr or msgstr[N]
    (strings, continuation lines joined, escapes decoded), plus their flags. Obsolete ("#~")
    entries are left out: gettext ignores them too."""
    entries, entry, key = [], None, None

    def start():
        nonlocal entry
        entry = {"flags": set(), "line": number}
        entries.append(entry)

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            key = None
            continue
        if line.startswith("#"):
            if entry is None or "msgid" in entry:
                start()
            if line.startswith("#,"):
                entry["flags"].update(f.strip() for f in line[2:].split(",") if f.strip())
            key = None
            continue
        if line.startswith('"'):
            assert key is not None, f"{path}:{number}: a string continues nothing"
            entry[key] += ast.literal_eval(line)
            continue
        keyword, _space, value = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and (entry is None or "msgid" in entry):
            start()
        assert value.startswith('"'), f"{path}:{number}: cannot read {line!r}"
        key = keyword
        entry[key] = ast.literal_eval(value)
    return [e for e in entries if "msgid" in e]


def translations(entry):
    """The msgstr of an entry as a list: one item, or one per plural form."""
    if "msgid_plural" in entry:
        return [entry[k] for k in sorted(k for k in entry if k.startswith("msgstr["))]
    return [entry.get("msgstr", "")]


def key_of(entry):
    msgid = entry["msgid"]
    return f"{entry['msgctxt']}{CONTEXT_SEPARATOR}{msgid}" if "msgctxt" in entry else msgid


def catalogues():
    found = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
    assert EN / "django.po" in found
    return found


@pytest.fixture(scope="module")
def entries():
    return parse_po(EN / "django.po")


def describe(entry):
    return f"line {entry['line']}: {entry['msgid'][:60]!r}"


@pytest.mark.parametrize("po", catalogues(), ids=lambda p: str(p.relative_to(LOCALE)))
def test_every_entry_is_translated_and_none_is_fuzzy(po):
    items = parse_po(po)
    header = [e for e in items if e["msgid"] == ""]
    assert len(header) == 1 and "fuzzy" not in header[0]["flags"], "the header must not be fuzzy"
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header[0]["msgstr"]
    messages = [e for e in items if e["msgid"] != ""]
    assert messages
    fuzzy = [describe(e) for e in messages if "fuzzy" in e["flags"]]
    assert not fuzzy, "fuzzy entries are ignored at runtime; check and unflag them"
    empty = [describe(e) for e in messages
             if not all(s.strip() for s in translations(e))
             or ("msgid_plural" in e and len(translations(e)) != 2)]
    assert not empty, "untranslated entries"


def test_translations_keep_the_placeholders(entries):
    wrong = []
    for entry in entries:
        if entry["msgid"] == "":
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.get("msgid_plural", entry["msgid"])))
        for text in translations(entry):
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(describe(entry))
    assert not wrong


def test_english_translations_contain_no_chinese(entries):
    # Data the English UI shows in Chinese on purpose (the examples' "示例" prefix is what the
    # importer looks for) is quoted; anything else Chinese in an English msgstr is a slip.
    allowed = {"示例", "、"}
    slips = []
    for entry in entries:
        for text in translations(entry):
            rest = text
            for word in allowed:
                rest = rest.replace(word, "")
            if CJK.search(rest):
                slips.append(describe(entry))
    assert not slips


def test_the_compiled_catalogue_matches_the_po(entries):
    with (EN / "django.mo").open("rb") as f:
        mo = gettext.GNUTranslations(f)
    compiled = {k[0] if isinstance(k, tuple) else k for k in mo._catalog} - {""}
    in_po = {key_of(e) for e in entries if e["msgid"] != ""}
    assert compiled == in_po, "run: kefu compilemessages -l en"
    stale = []
    for entry in entries:
        if entry["msgid"] == "":
            continue
        forms = translations(entry)
        if "msgid_plural" in entry:
            got = [mo.ngettext(entry["msgid"], entry["msgid_plural"], n) for n in (1, 2)]
        elif "msgctxt" in entry:
            got = [mo.pgettext(entry["msgctxt"], entry["msgid"])]
        else:
            got = [mo.gettext(entry["msgid"])]
        if got != forms:
            stale.append(describe(entry))
    assert not stale, "the .mo is older than the .po: run kefu compilemessages -l en"


def test_english_is_active_with_the_language_cookie():
    from django.utils import translation

    with translation.override("en"):
        assert translation.gettext("客户档案") == "Customers"
        assert translation.gettext("查看日志") == "Access log"


# ---------------------------------------------------------------------------------------------
# Pages


VISIBLE_ATTRIBUTES = re.compile(
    r"""\b(?:placeholder|title|aria-label|alt)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I
)
INVISIBLE = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
# The language selector names each language in itself: 简体中文 stays Chinese on purpose.
OWN_LANGUAGE_NAME = re.compile(r"<option\b[^>]*value=\"zh-hans\"[^>]*>\s*简体中文\s*</option>",
                               re.I)


def visible_text(page):
    page = INVISIBLE.sub(" ", page)
    page = OWN_LANGUAGE_NAME.sub(" ", page)
    attributes = [a or b for a, b in VISIBLE_ATTRIBUTES.findall(page)]
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attributes]))


def data_strings():
    """Names that come from the database (staff, regions, departments), not from the UI."""
    from kefu.accounts.models import Department, Region, StaffProfile

    return [
        *StaffProfile.objects.values_list("display_name", flat=True),
        *Region.objects.values_list("name", flat=True),
        *Department.objects.values_list("name", flat=True),
    ]


def chinese_left(page):
    text = visible_text(page)
    for value in sorted(data_strings(), key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    return sorted({line.strip() for line in text.splitlines() if CJK.search(line)})


def english_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.mark.django_db
def test_the_login_page_is_english(client):
    response = english_client(client).get(reverse("accounts:login"))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    assert '<html lang="en">' in response.text
    assert "Sign in" in response.text
    assert chinese_left(response.text) == []


@pytest.mark.django_db
def test_the_customer_list_is_english(client, agent):
    client.force_login(agent)
    response = english_client(client).get(reverse("customers:list"))
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "en"
    assert "Customers" in response.text
    assert chinese_left(response.text) == []


@pytest.mark.django_db
def test_without_the_cookie_the_pages_stay_chinese(client, agent):
    client.force_login(agent)
    response = client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="zh-hans">' in response.text
    assert "客户档案" in response.text
