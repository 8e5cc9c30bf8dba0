"""`kefu restore PATH [--force] [--skip-attachments]`: put a `kefu backup` back.

Stop Kefu (web and worker) first. Refuses a database that already has tickets, customers or
users unless --force. Afterwards checks the field key against the backup's fingerprint and
exits 3 if encrypted fields would not decrypt with the current KEFU_FIELD_KEY. See docs/backup.md.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kefu.core import backup

KEY_MISMATCH_EXIT = 3


class Command(BaseCommand):
    help = _("从 kefu backup 的备份恢复数据库（请先停止 Kefu）；已有数据时需要 --force。")
    # The database may be empty or from another version until the restore is done.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("path", help=_("kefu backup 生成的备份文件"))
        parser.add_argument("--force", action="store_true",
                            help=_("覆盖已有数据的数据库"))
        parser.add_argument("--skip-attachments", action="store_true",
                            help=_("不恢复备份中的附件包"))
        parser.add_argument("--database", default="default", help=_("数据库别名（默认 default）"))

    def handle(self, path, force=False, skip_attachments=False, database="default", **options):
        try:
            result = backup.restore(path, force=force, skip_attachments=skip_attachments,
                                    using=database)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:  # e.g. a folder that cannot be written
            raise CommandError(_("无法读写文件：%(error)s") % {"error": exc}) from None
        for warning in result.warnings:
            self.stderr.write(warning)
        self.stdout.write(_("已恢复到 %(backend)s 数据库 %(db)s。") % {
            "backend": backup.BACKEND_NAMES[result.backend], "db": result.database})
        self.stdout.write(_("工单 %(tickets)s 张，客户 %(customers)s 个，用户 %(users)s 个。")
                          % result.counts)
        if result.attachments_restored is not None:
            self.stdout.write(_("已恢复 %(n)s 个附件文件。") % {"n": result.attachments_restored})
        if result.key_status == "mismatch":
            raise CommandError(
                _("数据库已恢复，但当前的 KEFU_FIELD_KEY 与备份时的密钥不同：加密的电话、证件号码和地址"
                  "将无法解密。请换回备份时的密钥后再启动 Kefu。"),
                returncode=KEY_MISMATCH_EXIT)
        if result.key_status == "ok":
            self.stdout.write(_("字段密钥与备份一致，加密字段可以解密。"))
        else:
            self.stderr.write(_("无法核对字段密钥（没有清单，也没有加密数据）。"))
