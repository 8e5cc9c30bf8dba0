from django import template

from kefu.core.checks import calendar_gaps

register = template.Library()


@register.simple_tag
def calendar_warnings():
    return calendar_gaps()
