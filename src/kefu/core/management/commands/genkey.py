"""Print a new random key for KEFU_FIELD_KEY or KEFU_SECRET_KEY (production needs both)."""

import secrets

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("生成一个随机密钥，用于 KEFU_FIELD_KEY 或 KEFU_SECRET_KEY。")

    def handle(self, **options):
        # 64 characters: long enough for both (production refuses a secret key under 50).
        self.stdout.write(secrets.token_urlsafe(48))
