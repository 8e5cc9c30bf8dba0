from django.contrib import admin

from kefu.core.models import AccessLog, CalendarDay


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note", "source"]
    list_filter = ["is_workday", "source"]
    search_fields = ["note"]
    date_hierarchy = "date"


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "object_type", "object_id", "field", "reason", "channel"]
    list_filter = ["object_type", "field", "channel"]
    date_hierarchy = "at"

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
