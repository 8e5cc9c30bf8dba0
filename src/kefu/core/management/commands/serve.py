"""`kefu serve`: the production web server, gunicorn on kefu.wsgi with whitenoise static files.

Settings come from kefu/gunicorn_conf.py (KEFU_BIND, KEFU_WORKERS, KEFU_WEB_TIMEOUT, ...);
--bind and --workers override them. Before gunicorn starts, the static files are collected
into STATIC_ROOT when they changed (hashed and compressed in production), and unapplied
migrations are reported. Stop with SIGTERM (graceful: requests in flight finish).
"""

import hashlib
import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

IGNORE_PATTERNS = ["CVS", ".*", "*~"]  # collectstatic's defaults


def static_fingerprint():
    """A digest of every source static file (name, size, mtime) and of the storage in use:
    when it matches the last collection's, collectstatic (~6 s of hashing and gzip) is skipped."""
    from django.contrib.staticfiles.finders import get_finders

    entries = []
    for finder in get_finders():
        for path, storage in finder.list(IGNORE_PATTERNS):
            stat = os.stat(storage.path(path))
            prefix = getattr(storage, "prefix", None) or ""
            entries.append(f"{prefix}/{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    digest = hashlib.sha256(settings.STORAGES["staticfiles"]["BACKEND"].encode())
    for entry in sorted(entries):
        digest.update(entry.encode() + b"\n")
    return digest.hexdigest()


def fingerprint_file():
    # Beside STATIC_ROOT, not in it: whitenoise serves everything in STATIC_ROOT.
    root = Path(settings.STATIC_ROOT)
    return root.with_name(root.name + ".fingerprint")


def collect_static_if_needed(out):
    stamp = fingerprint_file()
    current = static_fingerprint()
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    needs_manifest = "Manifest" in settings.STORAGES["staticfiles"]["BACKEND"]
    try:
        previous = stamp.read_text().strip()
    except OSError:
        previous = ""
    if previous == current and (manifest.exists() or not needs_manifest):
        return False
    out(_("正在收集静态文件到 %(path)s …") % {"path": settings.STATIC_ROOT})
    try:
        call_command("collectstatic", interactive=False, verbosity=0)
        stamp.write_text(current + "\n")
    except (OSError, ValueError) as exc:
        raise CommandError(
            _("收集静态文件失败：%(error)s（可先运行 kefu collectstatic 查看详情）")
            % {"error": " ".join(str(exc).split())}
        ) from None
    return True


def unapplied_migrations():
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    return executor.migration_plan(executor.loader.graph.leaf_nodes())


def gunicorn_options(bind=None, workers=None):
    """The settings of kefu/gunicorn_conf.py, with the command line's overrides."""
    from kefu import gunicorn_conf

    options = {k: v for k, v in vars(gunicorn_conf).items() if not k.startswith("_")}
    if bind:
        options["bind"] = [part.strip() for part in bind.split(",") if part.strip()]
    if workers:
        options["workers"] = workers
    return options


def run_gunicorn(options):
    from gunicorn.app.base import BaseApplication

    class KefuApplication(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if key in self.cfg.settings:  # older gunicorns lack some settings: skip those
                    self.cfg.set(key, value)

        def load(self):
            from kefu.gunicorn_conf import application

            return application

    KefuApplication(prog="kefu serve").run()


class Command(BaseCommand):
    # Checked in handle(): in production the deployment checks too (HSTS, cookies, ...).
    requires_system_checks = []
    help = _(
        "生产模式启动：用 gunicorn 提供服务（进程数取 KEFU_WORKERS，监听地址取 KEFU_BIND），"
        "静态文件由 whitenoise 提供。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", help=_("监听地址，覆盖 KEFU_BIND（例如 127.0.0.1:8000）"))
        parser.add_argument("--workers", type=int, help=_("进程数，覆盖 KEFU_WORKERS"))
        parser.add_argument("--no-collectstatic", action="store_true",
                            help=_("不收集静态文件（已由部署脚本运行 kefu collectstatic）"))
        parser.add_argument("--skip-checks", action="store_true", help=_("启动前不运行系统检查"))

    def handle(self, bind=None, workers=None, no_collectstatic=False, **options):
        if workers is not None and workers < 1:
            raise CommandError(_("--workers 至少为 1"))
        if not options.get("skip_checks"):
            self.check(display_num_errors=False, include_deployment_checks=settings.PRODUCTION)
        if not no_collectstatic:
            collect_static_if_needed(self.stdout.write)
        try:
            plan = unapplied_migrations()
        except DatabaseError as exc:
            raise CommandError(
                _("无法连接数据库：%(error)s") % {"error": " ".join(str(exc).split())}
            ) from None
        if plan:
            self.stderr.write(self.style.WARNING(ngettext(
                "数据库有 %(count)s 个未应用的迁移：请先运行 kefu migrate。",
                "数据库有 %(count)s 个未应用的迁移：请先运行 kefu migrate。",
                len(plan),
            ) % {"count": len(plan)}))
        opts = gunicorn_options(bind, workers)
        self.stdout.write(
            _("Kefu 正在启动（%(mode)s 模式）：gunicorn %(workers)s 个进程，监听 %(bind)s")
            % {"mode": settings.MODE, "workers": opts["workers"], "bind": ", ".join(opts["bind"])}
        )
        self.stdout.flush()
        # Forked workers must not inherit the connections the checks above opened.
        connections.close_all()
        run_gunicorn(opts)
