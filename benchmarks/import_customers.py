"""Benchmark: import N customers (each with a phone, an ID number, an address and one asset) from
an .xlsx file, import it again (the idempotent update pass), and export them.

    .venv/bin/python benchmarks/import_customers.py [--count 10000] [--data-dir DIR]
                                                    [--database-url postgres://...]

Runs in a throwaway data directory (a fresh SQLite database) unless --data-dir is given; the
KEFU_DATABASE_URL of the calling shell is ignored unless passed as --database-url, so that a
benchmark never writes into a real database by accident.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="customers to generate")
    parser.add_argument("--data-dir", help="KEFU_DATA_DIR (default: a new temporary directory)")
    parser.add_argument("--database-url",
                        help="KEFU_DATABASE_URL (default: SQLite in the data dir)")
    return parser.parse_args(argv)


def setup_django(args):
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="kefu-bench-import-")
    os.environ["KEFU_DATA_DIR"] = data_dir
    os.environ.setdefault("KEFU_MODE", "development")
    os.environ["KEFU_DEBUG"] = "false"  # DEBUG keeps every query in memory
    if args.database_url:
        os.environ["KEFU_DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("KEFU_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "kefu.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return Path(data_dir)


def admin_user():
    from kefu.accounts.models import Region
    from kefu.accounts.services import staff_create

    Region.objects.get_or_create(code="east", defaults={"name": "华东片区"})
    Region.objects.get_or_create(code="west", defaults={"name": "西南片区"})
    from django.contrib.auth import get_user_model

    existing = get_user_model().objects.filter(username="bench-admin").first()
    return existing or staff_create(username="bench-admin", password="bench-Admin-2026",
                                    display_name="基准管理员", employee_no="B001", role="admin")


def generate(path, count):
    import datetime

    from openpyxl import Workbook

    from kefu.customers.excel import ASSET_HEADERS, CUSTOMER_HEADERS

    kinds = ["普通客户", "合同客户", "租赁客户", "VIP 客户", "大客户"]
    workbook = Workbook(write_only=True)
    customers = workbook.create_sheet("客户")
    customers.append([str(h) for h in CUSTOMER_HEADERS])
    for i in range(count):
        customers.append([
            f"B{i:07d}", f"基准客户{i}", "个人" if i % 3 else "单位", kinds[i % len(kinds)],
            "", "华东片区" if i % 2 else "west", datetime.date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
            f"110101{1960 + i % 40}0101{i % 10000:04d}", f"联系人{i}", f"13{i:09d}",
            f"上海市浦东新区基准路{i}号", "基准,批量", f"第 {i} 个",
        ])
    assets = workbook.create_sheet("设备")
    assets.append([str(h) for h in ASSET_HEADERS])
    for i in range(count):
        assets.append([
            f"B{i:07d}", "EPSON L3150", f"SN{i:08d}", "", datetime.date(2024, 1 + i % 12, 1),
            None, None, datetime.date(2026, 1 + i % 12, 1), f"HT-{i}", "",
        ])
    workbook.save(path)


def timed(label, rows, fn):
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {rows:>8} rows  {seconds:8.1f} s  {rows / seconds:8.0f} rows/s", flush=True)
    return value


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    data_dir = setup_django(args)
    from django.db import connection

    from kefu.customers.excel import export_to_path, import_customers
    from kefu.customers.models import Asset, Customer, Phone

    actor = admin_user()
    source = data_dir / "bench-customers.xlsx"
    timed("generate .xlsx", 2 * args.count, lambda: generate(source, args.count))
    print(f"database: {connection.vendor}, data dir: {data_dir}")

    rows = 2 * args.count  # a customer row and an asset row each
    first = timed("import (new customers)", rows,
                  lambda: import_customers(source, actor=actor))
    again = timed("import again (idempotent)", rows,
                  lambda: import_customers(source, actor=actor))
    exported = data_dir / "bench-export.xlsx"
    counts = timed("export", rows, lambda: export_to_path(Customer.objects.all(), exported))

    print(f"first import: created {first.created}, assets {first.assets_created}, "
          f"errors {len(first.errors)}")
    print(f"second import: created {again.created}, updated {again.updated}, "
          f"assets updated {again.assets_updated}, errors {len(again.errors)}")
    print(f"export: {counts.customers} customers, {counts.assets} assets, "
          f"{exported.stat().st_size // 1024} KiB")
    print(f"in the database: {Customer.objects.count()} customers, {Phone.objects.count()} phones, "
          f"{Asset.objects.count()} assets")
    if first.errors or again.errors or again.created:
        for error in (first.errors + again.errors)[:10]:
            print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
