"""FastSelect writes its <select> in Python: it must say what Django's Select says."""

from html.parser import HTMLParser

from django import forms
from django.utils.safestring import mark_safe

from kefu.core.forms import FastSelect

CHOICES = [("", "全部"), (1, '<b>"A&B"</b>'), (2, "O'Brien"), (3, mark_safe("<i>已审</i>"))]


class _Options(HTMLParser):
    def __init__(self):
        super().__init__()
        self.select, self.options, self._open = None, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "select":
            self.select = dict(attrs)
        elif tag == "option":
            self._open = dict(attrs)
            self.options.append([self._open.get("value"), "selected" in self._open, ""])

    def handle_data(self, data):
        if self._open is not None:
            self.options[-1][2] += data

    def handle_endtag(self, tag):
        if tag == "option":
            self._open = None


def _parsed(html):
    parser = _Options()
    parser.feed(str(html))
    return parser.select, parser.options


def test_it_renders_what_djangos_select_renders():
    for value in ("", "2", 3, None):
        attrs = {"class": "form-select", "id": "id_kind", "data-x": '"q"'}
        mine = FastSelect(choices=CHOICES).render("kind", value, attrs)
        theirs = forms.Select(choices=CHOICES).render("kind", value, attrs)
        assert _parsed(mine) == _parsed(theirs), value
    select, options = _parsed(FastSelect(choices=CHOICES).render("kind", "1"))
    assert options[1] == ["1", True, '<b>"A&B"</b>']  # escaped in the HTML, text as given
    assert "<b>" not in str(FastSelect(choices=CHOICES).render("kind", "1")).split("</option>")[1]
    assert "<i>已审</i>" in str(FastSelect(choices=CHOICES).render("kind", ""))  # safe text kept
