"""API tokens from the command line: create (printed once), list, revoke."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kefu.accounts import services
from kefu.accounts.models import ApiToken
from kefu.core.errors import DomainError


class Command(BaseCommand):
    help = _("API 令牌：create USER NAME / list [USER] / revoke ID")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help=_("为用户创建令牌（只显示一次）"))
        create.add_argument("username", help=_("用户名"))
        create.add_argument("name", help=_("令牌名称，例如对接的系统"))
        lst = sub.add_parser("list", help=_("列出令牌（不显示密文）"))
        lst.add_argument("username", nargs="?", help=_("只列出这个用户的令牌"))
        revoke = sub.add_parser("revoke", help=_("吊销令牌"))
        revoke.add_argument("token_id", type=int, help=_("令牌编号"))

    def handle(self, action, **options):
        User = get_user_model()
        if action == "create":
            user = User.objects.filter(username=options["username"], is_active=True).first()
            if user is None:
                raise CommandError(_("没有这个用户：%(username)s") % {"username": options["username"]})
            try:
                row, raw = services.token_create(user=user, name=options["name"])
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
            self.stderr.write(_("令牌 #%(id)s 已创建，只显示这一次：") % {"id": row.pk})
            self.stdout.write(raw)
        elif action == "list":
            rows = ApiToken.objects.select_related("user")
            if options.get("username"):
                rows = rows.filter(user__username=options["username"])
            for row in rows:
                state = _("有效") if row.is_active else _("已吊销")
                self.stdout.write(f"{row.pk}\t{row.user.username}\t{row.name}\t{row.prefix}…\t{state}")
        elif action == "revoke":
            row = ApiToken.objects.filter(pk=options["token_id"]).first()
            if row is None:
                raise CommandError(_("没有编号为 %(id)s 的令牌") % {"id": options["token_id"]})
            try:
                services.token_revoke(user=row.user, token_id=row.pk)
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
            self.stdout.write(_("令牌 #%(id)s 已吊销") % {"id": row.pk})
