"""Who can take work now: the single question routing asks about staff.

Today the answer is the ``available`` switch on the staff profile (可接单). The duty rota (排班)
will answer it from the rota instead; it replaces ``available_staff`` and nothing else, so
auto-assignment and hand-offs follow the rota without changing.
"""

from kefu.accounts.models import StaffProfile


def available_staff(*, department=None, skill=None, at=None):
    """Staff profiles of active users who can take a ticket now (or at ``at``).

    THE one function the duty-rota issue replaces: it will return the people on duty at ``at``
    (on shift, not on leave) instead of reading the ``available`` switch; ``at`` is accepted
    now so callers already pass the business time. ``department`` and ``skill`` (objects or
    ids) narrow the set; ``None`` means any. A plain, unordered queryset: callers order, count
    and lock it as they need.
    """
    staff = StaffProfile.objects.filter(available=True, user__is_active=True)
    if department is not None:
        staff = staff.filter(department=department)
    if skill is not None:
        # One skill: the through table has one row per (profile, skill), so no duplicates.
        staff = staff.filter(skills=skill)
    return staff
