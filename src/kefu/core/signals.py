from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from kefu.core.models import CalendarDay


@receiver([post_save, post_delete], sender=CalendarDay)
def _calendar_changed(**kwargs):
    from kefu.core import workcalendar

    workcalendar.clear_cache()
