"""Load the demo data set (regions, staff cast, customers with assets). Idempotent."""

from django.core.management.base import BaseCommand

from kefu.demo import data


class Command(BaseCommand):
    help = "载入演示数据（片区、员工、数百个客户及其设备）；已载入时不做任何事。"

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=300)

    def handle(self, customers, **options):
        if data.load(customers=customers, out=self.stdout.write):
            self.stdout.write(self.style.SUCCESS("演示数据已载入。"))
        else:
            self.stdout.write("演示数据已存在，未改动。")
        print_logins(self.stdout)


def print_logins(out):
    from kefu.accounts.roles import ROLE_LABELS

    pw = data.DEMO_PASSWORD
    out.write(f"\n演示账号（密码均为 {pw}）/ Demo logins (password {pw}):")
    for username, name, _no, role, *_rest in data.CAST:
        out.write(f"  {username:<12} {name:<8} {ROLE_LABELS[role]}")
