"""Seed the working calendar from chinesecalendar (statutory holidays and 调休 working days)."""

from django.db import migrations


def seed(apps, schema_editor):
    from kefu.core.calendar_seed import sync

    sync(apps.get_model("core", "CalendarDay"))


def unseed(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.filter(source="chinesecalendar").delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
