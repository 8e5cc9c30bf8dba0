"""Authentication backend: the staff profile comes with the user, and each staff member's
permissions and regions are kept per process between requests.

Every page needs the user's permissions (two queries: their own and their groups') and, for the
ticket and customer scopes, their staff profile, regions and roles (three more). Both change a few times a year, so
they are kept in a per-process dict keyed by the user, the profile's ``access_version`` and
``is_superuser``. The profile row is read with the user on every request, so a change is seen at
once by every process: anything that changes a permission, a group membership or a region bumps
``access_version`` in the same transaction (signals in apps.py), and a stale key is never asked
for again. Users without a staff profile are not cached."""

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import F

from kefu.core.compiled import Compiled


def _user_query(pk):
    User = get_user_model()
    return User._default_manager.select_related("staff").defer("staff__phone").filter(pk=pk)


# Every page request reads its user: the SQL is built once per process.
_users = Compiled(_user_query, pk=-918_273_645)

CACHE_SECONDS = 300  # a safety net for changes made behind Django's back (raw SQL)
MAX_ENTRIES = 5000
_cache = {}


def clear(**_kwargs):
    _cache.clear()


def _profile(user):
    return getattr(user, "staff", None) if user.pk else None


def access_key(user):
    """What ``user``'s permissions, roles and regions depend on, as a hashable; None for a user
    without a staff profile (nothing is kept for them). Queries shaped by a user's scope may
    be kept under this key too (``kefu.core.compiled``)."""
    profile = _profile(user)
    if profile is None or profile.access_version is None:
        return None
    return (user.pk, profile.access_version, user.is_superuser)


def _entry(user):
    """The cached entry of ``user`` ({"perms": …, "regions": …}), or None when not cacheable."""
    key = access_key(user)
    if key is None:
        return None
    now = time.monotonic()
    entry = _cache.get(key)
    if entry is None or now - entry["at"] > CACHE_SECONDS:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        entry = _cache[key] = {"at": now}
    return entry


def region_ids(user):
    """Primary keys of the regions on ``user``'s staff profile (a list; empty without one)."""
    profile = _profile(user)
    if profile is None:
        return []
    entry = _entry(user)
    if entry is not None and "regions" in entry:
        return entry["regions"]
    ids = list(profile.regions.values_list("pk", flat=True))
    if entry is not None:
        entry["regions"] = ids
    return ids


def group_names(user):
    """Names of ``user``'s groups (their roles), kept like the permissions."""
    entry = _entry(user)
    if entry is not None and "groups" in entry:
        return entry["groups"]
    names = frozenset(user.groups.values_list("name", flat=True)) if user.pk else frozenset()
    if entry is not None:
        entry["groups"] = names
    return names


def bump(*, users=None, groups=None):
    """Make every process read again the permissions and regions of these users (or of the
    members of these groups; of all staff when neither is given)."""
    from kefu.accounts.models import StaffProfile

    profiles = StaffProfile.objects.all()
    if users is not None:
        profiles = profiles.filter(user__in=users)
    elif groups is not None:
        profiles = profiles.filter(user__groups__in=groups)
    StaffProfile.objects.filter(pk__in=list(profiles.values_list("pk", flat=True))).update(
        access_version=F("access_version") + 1)
    clear()


def on_m2m_changed(sender, instance, action, reverse, **kwargs):
    """Group memberships, user or group permissions, or a profile's regions changed."""
    from django.contrib.auth.models import Group

    from kefu.accounts.models import StaffProfile

    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # seen from a group, a permission or a region: rare, so everyone
        bump()
    elif isinstance(instance, StaffProfile):
        bump(users=[instance.user_id])
    elif isinstance(instance, Group):
        bump(groups=[instance.pk])
    else:
        bump(users=[instance.pk])


def on_deleted(sender, **kwargs):
    """A group or a permission deleted: its membership rows go without an m2m signal."""
    bump()


def on_group_saved(sender, instance, created, **kwargs):
    """A group renamed: its members' roles (kept by name) changed."""
    if not created:
        bump(groups=[instance.pk])


class StaffBackend(ModelBackend):
    """Django's ModelBackend, with the user's staff profile loaded in the same query and the
    permissions read from the per-process cache above."""

    def get_user(self, user_id):
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        user = _users.first(pk=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if (obj is not None or not user_obj.is_active or user_obj.is_anonymous
                or hasattr(user_obj, "_perm_cache")):
            return super().get_all_permissions(user_obj, obj=obj)
        entry = _entry(user_obj)
        if entry is None:
            return super().get_all_permissions(user_obj, obj=obj)
        if "perms" not in entry:
            entry["perms"] = frozenset(super().get_all_permissions(user_obj))
        user_obj._perm_cache = entry["perms"]
        return entry["perms"]
