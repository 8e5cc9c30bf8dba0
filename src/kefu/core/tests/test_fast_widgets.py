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


# --- FastRenderer: <input> and <textarea> written in Python -----------------------------------

from django.forms.renderers import DjangoTemplates  # noqa: E402
from django.utils.translation import gettext_lazy  # noqa: E402

from kefu.core.forms import INPUT_TEMPLATES, TEXTAREA_TEMPLATE, FastRenderer  # noqa: E402

ATTRS = [
    {},
    {"class": "form-control is-invalid", "id": "id_note_text", "maxlength": 500, "required": True,
     "disabled": False, "data-q": '"<x>" & \'y\'', "placeholder": gettext_lazy("问题摘要"),
     "title": mark_safe("<b>已审</b>")},
]
VALUES = [None, "", "0", "第 1 条进展：<已联系> & \"跟进\"", mark_safe("<i>安全</i>"), 42]


def _widget(template_name, attrs, value):
    kind = template_name.rsplit("/", 1)[1].removesuffix(".html")
    return {"name": 'note"<text>', "is_hidden": kind == "hidden", "required": False, "value": value,
            "attrs": dict(attrs), "template_name": template_name, "type": kind}


def test_fast_renderer_writes_what_djangos_templates_write():
    theirs, mine = DjangoTemplates(), FastRenderer()
    for name in sorted(INPUT_TEMPLATES | {TEXTAREA_TEMPLATE}):
        for attrs in ATTRS:
            for value in VALUES:
                context = {"widget": _widget(name, attrs, value)}
                assert mine.render(name, context) == theirs.render(name, context), (name, attrs, value)


def test_every_form_widget_renders_the_same_through_both_renderers():
    class Every(forms.Form):
        text = forms.CharField(max_length=20, initial="<a> & b")
        number = forms.IntegerField(initial=7)
        decimal = forms.DecimalField(max_digits=6, decimal_places=2, required=False)
        email = forms.EmailField(required=False)
        url = forms.URLField(required=False, assume_scheme="https")
        when = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
        day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
        hidden = forms.CharField(widget=forms.HiddenInput, initial='"h"')
        secret = forms.CharField(widget=forms.PasswordInput, required=False)
        flag = forms.BooleanField(required=False, initial=True)
        off = forms.BooleanField(required=False)
        body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), initial="第一行\n<第二行>")
        kind = forms.ChoiceField(choices=[("a", "A"), ("b", "<B>")], initial="b")

    for data in (None, {"text": "x" * 30, "number": "abc", "body": "", "flag": "on", "kind": "zz"}):
        theirs = Every(data, renderer=DjangoTemplates())
        mine = Every(data, renderer=FastRenderer())
        for name in Every.base_fields:
            assert str(mine[name]) == str(theirs[name]), name


def test_the_project_uses_it():
    from django.forms.renderers import get_default_renderer

    assert isinstance(get_default_renderer(), FastRenderer)


def test_fast_select_writes_its_attributes_as_flatatt_does():
    from django.forms.utils import flatatt

    from kefu.core.forms import _flatatt

    for attrs in ({}, {"name": "kind", "class": "form-select", "id": "id_kind"},
                  {"z": "1", "required": True, "disabled": False, "a": None, "data-x": '"<q>" & \'y\'',
                   "autofocus": True, "title": gettext_lazy("问题摘要"), "aria-label": mark_safe("<b>安全</b>")}):
        assert _flatatt(attrs) == str(flatatt(attrs)), attrs
