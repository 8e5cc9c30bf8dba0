"""Load the demo data set (regions, staff cast, customers with assets). Idempotent.

With ``--tickets N`` it generates a large data set for benchmarks instead (``kefu.demo.bulk``):
N tickets over several years with customers, staff, events and SLA outcomes, written in bulk,
resumable after an interruption.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kefu.demo import data

DEFAULT_CUSTOMERS = 300


class Command(BaseCommand):
    help = _("载入演示数据（片区、员工、数百个客户及其设备）；已载入时不做任何事。"
             "加 --tickets N 则批量生成 N 张工单的压测数据（可中断后继续）。")

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=None,
                            help=_("演示客户的数量（默认 300；与 --tickets 一起时默认为工单数的五分之一）"))
        parser.add_argument("--tickets", type=int, default=None,
                            help=_("批量生成这么多张工单（压测数据），如 1000000"))
        parser.add_argument("--years", type=int, default=None,
                            help=_("批量生成：工单分布的年数，截至现在（默认 3）"))
        parser.add_argument("--seed", type=int, default=None,
                            help=_("批量生成：随机种子，相同种子生成相同数据（默认 2026）"))
        parser.add_argument("--batch", type=int, default=None,
                            help=_("批量生成：每个事务写入的工单数（默认 5000）"))

    def handle(self, customers, tickets=None, years=None, seed=None, batch=None, **options):
        if tickets is None:
            if any(v is not None for v in (years, seed, batch)):
                raise CommandError(_("--years、--seed、--batch 只能与 --tickets 一起使用。"))
            if data.load(customers=DEFAULT_CUSTOMERS if customers is None else customers,
                         out=self.stdout.write):
                self.stdout.write(self.style.SUCCESS(_("演示数据已载入。")))
            else:
                self.stdout.write(_("演示数据已存在，未改动。"))
            print_logins(self.stdout)
            return
        self.generate(tickets=tickets, customers=customers, years=3 if years is None else years,
                      seed=2026 if seed is None else seed, batch=5000 if batch is None else batch,
                      progress=options.get("verbosity", 1) > 0)

    def generate(self, **params):
        from kefu.demo import bulk

        try:
            summary = bulk.generate(out=self.stdout.write, **params)
        except bulk.GenerationError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            try:
                done = (bulk.info() or {}).get("done-tickets") or 0
            except Exception:  # the connection may be gone; the message still helps
                done = "?"
            raise CommandError(_("已中断（已写入 %(done)s 张工单）；再次运行同一命令将从中断处继续。")
                               % {"done": done}) from None
        rate = summary.tickets_done / summary.seconds if summary.seconds else 0
        self.stdout.write(
            _("客户 %(customers)s（本次 %(c_new)s），工单 %(tickets)s（本次 %(t_new)s），"
              "工单动态 %(events)s；用时 %(seconds).1f 秒，每秒 %(rate).0f 张工单。") % {
                "customers": summary.customers, "c_new": summary.customers_done,
                "tickets": summary.tickets, "t_new": summary.tickets_done, "events": summary.events,
                "seconds": summary.seconds, "rate": rate})
        if summary.complete:
            self.stdout.write(self.style.SUCCESS(_("压测数据已生成。")))
        print_logins(self.stdout)
        self.stdout.write(_("  另有生成的员工 %(users)s，密码相同。") % {"users": bulk.STAFF_LOGINS})


def print_logins(out):
    from kefu.accounts.roles import ROLE_LABELS

    out.write("\n" + _("演示账号（密码均为 %(password)s）：") % {"password": data.DEMO_PASSWORD})
    for username, name, _no, role, *_rest in data.CAST:
        out.write(f"  {username:<12} {name:<8} {ROLE_LABELS[role]}")
