from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kefu.tickets.models import (
    Channel,
    ForbiddenPhrase,
    Phrase,
    Priority,
    ServiceMode,
    SlaPolicy,
    Ticket,
    TicketType,
)


@admin.register(TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_technical", "default_department", "required_skill",
                    "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]


@admin.register(Channel, ServiceMode)
class CodedNameAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]


@admin.register(Priority)
class PriorityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "rank", "is_active"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "technical", "customer_kind", "response_amount",
                    "response_unit", "resolve_amount", "resolve_unit", "clock", "warn_ratio",
                    "is_active"]
    list_filter = ["priority", "technical", "clock", "is_active"]


@admin.register(Ticket)
class TicketAdmin(SimpleHistoryAdmin):
    """Read-only here: tickets change through the workspace and the API (one write path)."""

    list_display = ["number", "subject", "status", "priority", "owner", "resolve_due_at"]
    list_filter = ["status", "priority", "ticket_type", "channel"]
    search_fields = ["number", "subject"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Phrase)
class PhraseAdmin(admin.ModelAdmin):
    list_display = ["text", "kind", "sort_order", "is_active"]
    list_filter = ["kind", "is_active"]
    list_editable = ["sort_order", "is_active"]


@admin.register(ForbiddenPhrase)
class ForbiddenPhraseAdmin(admin.ModelAdmin):
    list_display = ["text", "severity", "suggestion", "is_active"]
    list_filter = ["severity", "is_active"]
    list_editable = ["severity", "is_active"]
