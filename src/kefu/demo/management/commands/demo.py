"""Load the demo data set (regions, staff cast, customers with assets). Idempotent."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kefu.demo import data


class Command(BaseCommand):
    help = _("载入演示数据（片区、员工、数百个客户及其设备）；已载入时不做任何事。")

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300,
                            help=_("演示客户的数量（默认 300）"))

    def handle(self, customers, **options):
        if data.load(customers=customers, out=self.stdout.write):
            self.stdout.write(self.style.SUCCESS(_("演示数据已载入。")))
        else:
            self.stdout.write(_("演示数据已存在，未改动。"))
        print_logins(self.stdout)


def print_logins(out):
    from kefu.accounts.roles import ROLE_LABELS

    out.write("\n" + _("演示账号（密码均为 %(password)s）：") % {"password": data.DEMO_PASSWORD})
    for username, name, _no, role, *_rest in data.CAST:
        out.write(f"  {username:<12} {name:<8} {ROLE_LABELS[role]}")
