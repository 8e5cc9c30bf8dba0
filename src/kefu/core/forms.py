import html

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import SafeData, mark_safe


class FastSelect(forms.Select):
    """A ``<select>`` written in Python instead of one template render per option. The queue's
    filter boxes render on every page load, and Django's option templates were about a quarter
    of that page's time; ``format_html`` per option still cost 0.1 ms a box, so the options are
    escaped with the standard library's ``html.escape`` (what Django's ``escape`` calls, without
    its lazy-string wrapper). Single choice, no option groups."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{_escape(key)}"{" selected" if str(key) in chosen else ""}>'
            f"{_escape(label)}</option>"
            for key, label in self.choices)
        return mark_safe(f"<select{_flatatt(final)}>{options}</select>")


def _flatatt(attrs):
    """Django's ``flatatt`` (the valued attributes sorted, then the true ones; False and None
    left out), escaped with ``html.escape`` instead of ``format_html_join``: a third of a
    filter box's time."""
    valued = sorted((k, v) for k, v in attrs.items() if not isinstance(v, bool) and v is not None)
    flags = sorted(k for k, v in attrs.items() if v is True)
    return ("".join(f' {_escape(k)}="{_escape(v)}"' for k, v in valued)
            + "".join(f" {_escape(k)}" for k in flags))


def _escape(value):
    """Text for HTML: escaped, unless it is already marked safe (as ``conditional_escape``)."""
    if isinstance(value, SafeData):
        return str(value)
    return html.escape(str(value))


_WIDGETS = "django/forms/widgets/"
INPUT_TEMPLATES = frozenset(
    f"{_WIDGETS}{name}.html" for name in (
        "input", "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time",
        "checkbox", "search", "tel", "color"))
TEXTAREA_TEMPLATE = f"{_WIDGETS}textarea.html"


class FastRenderer(DjangoTemplates):
    """Django's form renderer, with ``<input>`` and ``<textarea>`` written in Python. Each widget
    is otherwise a template render of its own (the widget, an include of ``input.html`` and one of
    ``attrs.html``): on the ticket page, whose action forms hold a dozen fields, that was about a
    sixth of the page's time. The markup is the templates' own, character for character, stripped
    as Django's renderer strips them (a test renders every input type both ways); every other template goes to Django."""

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES:
            return _input(context["widget"])
        if template_name == TEXTAREA_TEMPLATE:
            return _textarea(context["widget"])
        return super().render(template_name, context, request)


def _attrs(attrs):
    """``attrs.html``: `` name="value"``, a bare `` name`` for True, nothing for False."""
    return "".join(f" {_escape(name)}" if value is True else f' {_escape(name)}="{_escape(value)}"'
                   for name, value in attrs.items() if value is not False)


def _input(widget):
    value = "" if widget["value"] is None else f' value="{_escape(widget["value"])}"'
    return (f'<input type="{_escape(widget["type"])}" name="{_escape(widget["name"])}"{value}'
            f'{_attrs(widget["attrs"])}>')


def _textarea(widget):
    text = _escape(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n{text}</textarea>'


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, and ``is-invalid`` on fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        self._mark_invalid()

    def add_error(self, field, error):
        super().add_error(field, error)
        self._mark_invalid()

    def _mark_invalid(self):
        for name in getattr(self, "_errors", None) or {}:
            if name in self.fields:
                w = self.fields[name].widget
                if "is-invalid" not in w.attrs.get("class", ""):
                    w.attrs["class"] = w.attrs.get("class", "") + " is-invalid"
