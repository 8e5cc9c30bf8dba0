"""Roles are Django groups with explicit permissions, declared here and synced on migrate.

A role's list is the whole truth: permissions not listed are removed from the group.
"""

from django.utils.translation import gettext_lazy as _

AGENT, DISPATCHER, ENGINEER, SUPERVISOR, MANAGER, ADMIN = (
    "agent", "dispatcher", "engineer", "supervisor", "manager", "admin",
)

ROLE_LABELS = {
    AGENT: _("客服专员"),
    DISPATCHER: _("调度/组长"),
    ENGINEER: _("工程师"),
    SUPERVISOR: _("客服主管"),
    MANAGER: _("经理"),
    ADMIN: _("系统管理员"),
}

CUSTOMER_READ = ["customers.view_customer", "customers.view_asset"]
CUSTOMER_WRITE = [
    "customers.add_customer", "customers.change_customer",
    "customers.add_asset", "customers.change_asset",
    "customers.add_attachment", "customers.view_attachment",
]
REVEAL = ["customers.reveal_customer_pii"]
TICKET_WORK = ["tickets.view_ticket", "tickets.add_ticket", "tickets.change_ticket",
               "tickets.claim_ticket"]
TICKET_LEAD = ["tickets.assign_ticket", "tickets.view_all_tickets"]

ROLE_PERMISSIONS = {
    AGENT: CUSTOMER_READ + CUSTOMER_WRITE + REVEAL + TICKET_WORK,
    DISPATCHER: CUSTOMER_READ + CUSTOMER_WRITE + REVEAL + TICKET_WORK + TICKET_LEAD,
    # Engineers see the customers of their own regions (scope in Customer.objects.visible_to)
    # and may reveal a phone to arrange a visit; they do not edit the archive.
    ENGINEER: CUSTOMER_READ + ["customers.view_attachment"] + REVEAL + [
        "tickets.view_ticket", "tickets.change_ticket", "tickets.claim_ticket",
    ],
    SUPERVISOR: CUSTOMER_READ + CUSTOMER_WRITE + REVEAL + TICKET_WORK + TICKET_LEAD + [
        "customers.delete_asset", "customers.delete_attachment",
        "customers.import_customers", "customers.export_customers",
        "core.view_accesslog", "core.view_calendarday", "core.change_calendarday",
    ],
    # Managers read and export; they do not need customers' phone numbers in clear.
    MANAGER: CUSTOMER_READ + ["customers.export_customers", "core.view_accesslog",
                              "tickets.view_ticket", "tickets.view_all_tickets"],
    ADMIN: CUSTOMER_READ + CUSTOMER_WRITE + REVEAL + TICKET_WORK + TICKET_LEAD + [
        "customers.delete_customer", "customers.delete_asset", "customers.delete_attachment",
        "customers.import_customers", "customers.export_customers",
        "core.view_accesslog", "core.view_calendarday", "core.add_calendarday",
        "core.change_calendarday", "core.delete_calendarday",
        "accounts.view_staffprofile", "accounts.add_staffprofile", "accounts.change_staffprofile",
        "accounts.view_region", "accounts.add_region", "accounts.change_region",
        "accounts.view_department", "accounts.add_department", "accounts.change_department",
        "auth.view_user", "auth.add_user", "auth.change_user",
    ],
}

# Roles whose customer scope is limited to the regions on their staff profile.
REGION_SCOPED_ROLES = {ENGINEER}


def sync_roles(using="default"):
    from django.contrib.auth.models import Group, Permission

    wanted = {p for perms in ROLE_PERMISSIONS.values() for p in perms}
    by_name = {}
    for perm in Permission.objects.using(using).select_related("content_type"):
        by_name[f"{perm.content_type.app_label}.{perm.codename}"] = perm
    missing = wanted - by_name.keys()
    if missing:
        # A later app's migrate run will complete them; never grant a half role silently.
        return sorted(missing)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([by_name[p] for p in perms])
    return []


def sync_roles_after_migrate(sender, using="default", **kwargs):
    sync_roles(using=using)


def role_of(user):
    """The user's main role code (the first of their groups in ROLE_LABELS order)."""
    from kefu.accounts.backends import group_names

    names = group_names(user)  # kept per process with the permissions
    for role in ROLE_LABELS:
        if role in names:
            return role
    return None
