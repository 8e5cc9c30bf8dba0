from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core import calendar_file
from kefu.core.errors import ValidationFailed
from kefu.core.models import AccessLog, CalendarDay


class CalendarImportForm(forms.Form):
    """The State Council's notice pasted as lines (kefu/core/calendar_file.py), as
    `kefu calendar import` reads it from a file."""

    text = forms.CharField(
        label=_("节假日安排"), widget=forms.Textarea(attrs={"rows": 14, "cols": 70}),
        help_text=_("每行一个日期或“开始..结束”，然后是 休 或 班，再跟说明，如 2027-01-01..2027-01-03 休 元旦；"
                    "只写节假日和调休上班日，其余日子按周一至周五上班补齐。"))
    overwrite = forms.BooleanField(label=_("覆盖管理员手工修改过的日期"), required=False)

    def clean_text(self):
        try:
            self.days = calendar_file.parse(self.cleaned_data["text"])
        except ValidationFailed as exc:
            raise forms.ValidationError(str(exc.message)) from None
        return self.cleaned_data["text"]


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_workday", "note", "source"]
    list_filter = ["is_workday", "source"]
    search_fields = ["note"]
    date_hierarchy = "date"
    change_list_template = "admin/core/calendarday/change_list.html"

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="core_calendarday_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """按通知导入: paste next year's holidays, see what the import would do, then import."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = CalendarImportForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            overwrite = form.cleaned_data["overwrite"]
            if "import" in request.POST:
                counts = calendar_file.write(CalendarDay, form.days, overwrite=overwrite)
                for year, (created, updated, kept) in counts.items():
                    messages.success(request, gettext("%(year)s 年：新增 %(created)s 天，更新 %(updated)s 天。") % {
                        "year": year, "created": created, "updated": updated})
                    if kept:
                        messages.warning(request, gettext(
                            "%(year)s 年有 %(count)s 天是管理员手工改过的，与导入内容不同，已保留；"
                            "要以导入内容为准，请勾选“覆盖管理员手工修改过的日期”。") % {"year": year, "count": kept})
                return redirect(reverse("admin:core_calendarday_changelist"))
            _create, _update, counts = calendar_file.changes(CalendarDay, form.days, overwrite=overwrite)
            totals = calendar_file.summary(form.days)
            preview = [{"year": year, "work": totals[year][0], "rest": totals[year][1],
                        "created": c, "updated": u, "kept": k} for year, (c, u, k) in counts.items()]
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "preview": preview, "title": gettext("按国务院通知导入工作日历"),
        }
        return TemplateResponse(request, "admin/core/calendarday/import.html", context)


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
