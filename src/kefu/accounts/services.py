"""Writes for staff, regions and API tokens."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import ApiToken, StaffProfile
from kefu.accounts.roles import ROLE_LABELS
from kefu.core.errors import NotFound, ValidationFailed

TOKEN_NAME_REQUIRED = _("请为令牌起一个名字，便于以后辨认。")
UNKNOWN_ROLE = _("未知角色：%(role)s")


@transaction.atomic
def token_create(*, user, name):
    """Create an API token; returns (row, raw token). The raw token is never stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(fields={"name": [TOKEN_NAME_REQUIRED]})
    raw = ApiToken.generate()
    row = ApiToken.objects.create(user=user, name=name[:64], prefix=raw[:12], digest=ApiToken.hash(raw))
    return row, raw


@transaction.atomic
def token_revoke(*, user, token_id):
    row = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if row is None:
        raise NotFound()
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    return row


@transaction.atomic
def staff_create(*, username, password, display_name, employee_no, role, department=None,
                 level=StaffProfile.Level.JUNIOR, engineer_level="", regions=(), skills=(),
                 phone="", email=""):
    if role not in ROLE_LABELS:
        raise ValidationFailed(fields={"role": [gettext(UNKNOWN_ROLE) % {"role": role}]})
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(fields={"username": [gettext("用户名已存在。")]})
    user = User.objects.create_user(username=username, password=password, email=email,
                                    is_staff=role == "admin")
    user.groups.add(Group.objects.get(name=role))
    profile = StaffProfile.objects.create(
        user=user, display_name=display_name, employee_no=employee_no, department=department,
        level=level, engineer_level=engineer_level, phone=phone,
    )
    profile.regions.set(regions)
    profile.skills.set(skills)
    return user
