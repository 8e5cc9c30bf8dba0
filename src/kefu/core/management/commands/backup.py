"""`kefu backup [PATH] [--with-attachments]`: a consistent copy of the database while Kefu runs.

PostgreSQL: pg_dump (custom format); SQLite: the online backup API. Default path
KEFU_DATA_DIR/backups/kefu-YYYYmmdd-HHMMSS.dump (or .sqlite3); a JSON manifest is written beside
it. See docs/backup.md.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kefu.core import backup


class Command(BaseCommand):
    help = _("备份数据库（PostgreSQL 用 pg_dump，SQLite 用在线备份），并在旁边写一个 JSON 清单。")
    # A backup must work even when a check (e.g. the working calendar) complains.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?",
            help=_("备份文件或目录（默认：KEFU_DATA_DIR/backups/kefu-年月日-时分秒.dump 或 .sqlite3）"))
        parser.add_argument("--with-attachments", action="store_true",
                            help=_("同时把上传的附件（KEFU_DATA_DIR/private）打包到 <备份>.attachments.tar"))
        parser.add_argument("--database", default="default", help=_("数据库别名（默认 default）"))

    def handle(self, path=None, with_attachments=False, database="default", **options):
        try:
            result = backup.backup(path, with_attachments=with_attachments, using=database)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:  # e.g. a folder that cannot be written
            raise CommandError(_("无法读写文件：%(error)s") % {"error": exc}) from None
        self.stdout.write(_("备份已写入：%(path)s（%(size)s）")
                          % {"path": result.path, "size": backup.human_size(result.size)})
        self.stdout.write(_("清单：%(path)s") % {"path": result.manifest_path})
        if result.attachments_path is not None:
            entry = result.manifest["attachments"]
            self.stdout.write(_("附件：%(path)s（%(files)s 个文件，%(size)s）") % {
                "path": result.attachments_path, "files": entry["files"],
                "size": backup.human_size(entry["size"])})
        counts = result.manifest["counts"]
        self.stdout.write(_("工单 %(tickets)s 张，客户 %(customers)s 个，用户 %(users)s 个。") % counts)
