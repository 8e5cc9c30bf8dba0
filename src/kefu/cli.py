"""`kefu`: a thin front over Django's management commands.

    kefu run                 migrate, load demo data once, serve on 127.0.0.1:8000 (development)
    kefu serve               gunicorn (production; workers from KEFU_WORKERS)
    kefu worker              Huey consumer
    kefu demo                load the demo data set (idempotent)
    kefu import customers F  import customers and assets from an Excel file
    kefu export customers F  export them
    kefu token create|revoke|list
    kefu backup [PATH]       pg_dump / SQLite online backup, with a manifest (docs/backup.md)
    kefu restore PATH        restore a backup into the configured database (--force to overwrite)
    kefu ticket_stats        check (or --rebuild) the daily ticket counts behind the reports
    kefu check               system checks, including the working-calendar coverage
    kefu <any manage.py command>
"""

import os
import sys


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    from django.core.management import execute_from_command_line

    if len(argv) > 1 and argv[1] in {"-h", "--help"}:
        print(__doc__)
        return 0
    execute_from_command_line(["kefu", *argv[1:]])
    return 0


if __name__ == "__main__":
    sys.exit(main())
