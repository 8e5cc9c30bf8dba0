"""`make run`: migrate, load the demo once, serve on 127.0.0.1:8000 (development server)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kefu.demo import data
from kefu.demo.management.commands.demo import print_logins


class Command(BaseCommand):
    help = _("开发模式启动：迁移数据库、首次载入演示数据，并在 127.0.0.1:8000 提供服务。")

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000",
                            help=_("监听地址和端口（默认 127.0.0.1:8000）"))
        parser.add_argument("--no-demo", action="store_true",
                            help=_("不载入演示数据"))

    def handle(self, addrport, no_demo=False, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            if data.load(out=self.stdout.write):
                self.stdout.write(self.style.SUCCESS(_("演示数据已载入。")))
            print_logins(self.stdout)
        call_command("check")
        self.stdout.write(
            "\n" + _("Kefu 已启动：%(url)s（按 Ctrl+C 停止）") % {"url": f"http://{addrport}/"} + "\n"
        )
        call_command("runserver", addrport, use_reloader=False)
