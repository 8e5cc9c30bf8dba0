from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "kefu.accounts"
    label = "accounts"
    verbose_name = _("员工与权限")

    def ready(self):
        from kefu.accounts import roles

        # Permissions themselves are created by Django's post_migrate handler, so the roles are
        # synced after it, every migrate: adding a permission to a role is a code change that
        # reaches every database without a hand-written data migration per app.
        post_migrate.connect(roles.sync_roles_after_migrate, dispatch_uid="kefu.accounts.roles")
