"""API tokens from the command line: create (printed once), list, revoke."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kefu.accounts import services
from kefu.accounts.models import ApiToken
from kefu.core.errors import DomainError


class Command(BaseCommand):
    help = "API 令牌：create USER NAME / list [USER] / revoke ID"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("username")
        create.add_argument("name")
        lst = sub.add_parser("list")
        lst.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("token_id", type=int)

    def handle(self, action, **options):
        User = get_user_model()
        if action == "create":
            user = User.objects.filter(username=options["username"], is_active=True).first()
            if user is None:
                raise CommandError(f"没有这个用户：{options['username']}")
            try:
                row, raw = services.token_create(user=user, name=options["name"])
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
            self.stderr.write(f"令牌 #{row.pk} 已创建，只显示这一次：")
            self.stdout.write(raw)
        elif action == "list":
            rows = ApiToken.objects.select_related("user")
            if options.get("username"):
                rows = rows.filter(user__username=options["username"])
            for row in rows:
                state = "有效" if row.is_active else "已吊销"
                self.stdout.write(f"{row.pk}\t{row.user.username}\t{row.name}\t{row.prefix}…\t{state}")
        elif action == "revoke":
            row = ApiToken.objects.filter(pk=options["token_id"]).first()
            if row is None:
                raise CommandError(f"没有编号为 {options['token_id']} 的令牌")
            try:
                services.token_revoke(user=row.user, token_id=row.pk)
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
            self.stdout.write(f"令牌 #{row.pk} 已吊销")
