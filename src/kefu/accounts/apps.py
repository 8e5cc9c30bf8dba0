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

        from django.contrib.auth.models import Group, Permission, User
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from kefu.accounts import backends
        from kefu.accounts.models import StaffProfile

        for through in (User.groups.through, User.user_permissions.through, Group.permissions.through,
                        StaffProfile.regions.through):
            m2m_changed.connect(backends.on_m2m_changed, sender=through,
                                dispatch_uid=f"access-version-{through.__name__}")
        for model in (Group, Permission):
            post_delete.connect(backends.on_deleted, sender=model, dispatch_uid=f"access-version-{model.__name__}")
        post_save.connect(backends.on_group_saved, sender=Group, dispatch_uid="access-version-group-saved")
        post_migrate.connect(backends.clear, dispatch_uid="access-cache-migrate")
