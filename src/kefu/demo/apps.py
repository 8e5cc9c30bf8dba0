from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data and the development runner; imports every app, imported by none."""

    name = "kefu.demo"
    label = "demo"
    verbose_name = _("演示数据")
