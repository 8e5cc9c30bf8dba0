from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "kefu.tickets"
    label = "tickets"
    verbose_name = _("工单")

    def ready(self):
        from kefu.customers.history import register
        from kefu.tickets.history import customer_tickets

        register(customer_tickets)

        from django.db.models.signals import post_delete, post_migrate, post_save

        from kefu.tickets import sla
        from kefu.tickets.models import SlaPolicy

        for signal in (post_save, post_delete):
            signal.connect(sla.clear_policy_cache, sender=SlaPolicy, dispatch_uid=f"sla-cache-{signal}")
        from kefu.tickets.models import Ticket

        post_delete.connect(_uncount_deleted_ticket, sender=Ticket, dispatch_uid="ticket-stat-delete")
        from kefu.tickets import config

        for model in config.models():
            for signal in (post_save, post_delete):
                signal.connect(config.clear, sender=model, dispatch_uid=f"config-{model.__name__}-{signal}")
        post_migrate.connect(config.clear, dispatch_uid="config-cache-migrate")
        from django.contrib.auth import get_user_model

        from kefu.accounts.models import StaffProfile

        for model in (get_user_model(), StaffProfile):  # the owners kept for ticket lists
            for signal in (post_save, post_delete):
                signal.connect(config.clear, sender=model, dispatch_uid=f"config-{model.__name__}-{signal}")
        # A flush (transactional tests) or a migration may replace every policy row.
        post_migrate.connect(sla.clear_policy_cache, dispatch_uid="sla-cache-migrate")


def _uncount_deleted_ticket(sender, instance, **kwargs):
    from kefu.tickets import stats

    stats.bump(stats.local_day(instance.created_at), instance.ticket_type_id, instance.status, -1)
