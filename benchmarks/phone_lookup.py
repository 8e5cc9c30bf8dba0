#!/usr/bin/env python
"""Benchmark: find the caller's customer by phone number (requirement A3, "one step").

Creates ``--count`` customers (default 100,000), each with one encrypted phone and its blind
index, then times ``--lookups`` random lookups (default 1,000) two ways:

* ``kefu.customers.queries.lookup_by_phone(user, phone)`` — the query the desk uses;
* ``GET /api/v1/customers?phone=…`` through ``django.test.Client`` with a bearer token — the
  whole HTTP stack: middleware, token auth, permissions, filters, serialisation.

Usage::

    .venv/bin/python benchmarks/phone_lookup.py                      # SQLite in a temp dir
    .venv/bin/python benchmarks/phone_lookup.py --count 10000
    KEFU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench \\
        .venv/bin/python benchmarks/phone_lookup.py

``KEFU_DATA_DIR`` (or ``--data-dir``) keeps the SQLite file and keys between runs; without it a
temporary directory is used and removed. Rows from an earlier run in the same database are
reused, so a second run only times. Rows are written with ``bulk_create`` (no history rows,
no timeline events): this measures reading, not the write path.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER_PREFIX = "BENCH"
PHONE_BASE = 13900000000  # 139xxxxxxxx: valid mainland mobile numbers, one per customer


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="customers (default 100000)")
    parser.add_argument("--lookups", type=int, default=1_000, help="timed lookups (default 1000)")
    parser.add_argument("--batch", type=int, default=5_000, help="rows per bulk_create batch")
    parser.add_argument("--seed", type=int, default=2026, help="random seed for the sample")
    parser.add_argument("--data-dir", help="KEFU_DATA_DIR to use (default: a temporary dir)")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 99_999_999:
        parser.error("--count must be between 1 and 99,999,999")
    if args.lookups < 1:
        parser.error("--lookups must be at least 1")
    return args


def setup_django(args):
    """Environment first (settings read it at import), then Django, then migrations."""
    temp_dir = None
    if args.data_dir:
        os.environ["KEFU_DATA_DIR"] = args.data_dir
    elif not os.environ.get("KEFU_DATA_DIR"):
        temp_dir = tempfile.mkdtemp(prefix="kefu-bench-")
        os.environ["KEFU_DATA_DIR"] = temp_dir
    # whitenoise warns about a missing STATIC_ROOT on every request handler it builds
    Path(os.environ["KEFU_DATA_DIR"], "static").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    # Measure what production runs: no DEBUG query log growing with every request.
    os.environ.setdefault("KEFU_DEBUG", "false")
    sys.path.insert(0, str(ROOT / "src"))

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return temp_dir


def phone_of(i):
    return str(PHONE_BASE + i)


def ensure_data(count, batch, progress):
    """Create the missing benchmark customers and their phones; return the acting user."""
    from django.db import transaction

    from kefu.accounts.models import Region
    from kefu.accounts.services import staff_create
    from kefu.core.crypto import blind_index, encrypt
    from kefu.customers.models import Customer, Phone

    region, _created = Region.objects.get_or_create(code="bench", defaults={"name": "压测片区"})
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username="bench-agent").first()
    if user is None:
        user = staff_create(username="bench-agent", password="bench-Password-2026",
                            display_name="压测坐席", employee_no="BENCH-A1", role="agent")

    existing = Customer.objects.filter(number__startswith=NUMBER_PREFIX).count()
    if existing >= count:
        return user, 0.0
    started = time.perf_counter()
    kinds = [k for k, _label in Customer.Kind.choices]
    task = progress.add_task("创建客户 / creating customers", total=count, completed=existing)
    for start in range(existing, count, batch):
        stop = min(start + batch, count)
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                Customer(
                    number=f"{NUMBER_PREFIX}{i:08d}", name=f"压测客户{i}", region=region,
                    kind=kinds[i % len(kinds)], created_by=user,
                )
                for i in range(start, stop)
            )
            Phone.objects.bulk_create(
                Phone(
                    customer_id=customer.pk,
                    # Sealed and indexed here: the field stores "v1:" values as they are, and
                    # the crypto calls are all the normalise-and-parse path would end up doing.
                    number=encrypt(phone_of(i)),
                    number_index=blind_index(phone_of(i), "phone"),
                )
                for i, customer in zip(range(start, stop), customers, strict=True)
            )
        progress.update(task, completed=stop)
    elapsed = time.perf_counter() - started

    from django.db import connection

    with connection.cursor() as cursor:  # fresh planner statistics after the bulk load
        cursor.execute("ANALYZE")
    return user, elapsed


def summarise(samples_ms):
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    return {
        "median": statistics.median(ordered), "p95": p95, "min": ordered[0], "max": ordered[-1],
    }


def time_lookups(user, sample, progress):
    from django.test import Client

    from kefu.accounts.services import token_create
    from kefu.customers.queries import lookup_by_phone

    _row, raw = token_create(user=user, name="phone lookup benchmark")
    client = Client(headers={"Authorization": f"Bearer {raw}"})

    for i in sample[:20]:  # warm caches and connections; not timed
        lookup_by_phone(user, phone_of(i))
        client.get("/api/v1/customers", {"phone": phone_of(i)})

    query_ms, api_ms = [], []
    task = progress.add_task("查询 / lookups", total=len(sample) * 2)
    for i in sample:
        phone = phone_of(i)
        started = time.perf_counter()
        found = lookup_by_phone(user, phone)
        query_ms.append((time.perf_counter() - started) * 1000)
        if [c.number for c in found] != [f"{NUMBER_PREFIX}{i:08d}"]:
            raise SystemExit(f"lookup_by_phone({phone}) found {found!r}")
        progress.advance(task)
    for i in sample:
        phone = phone_of(i)
        started = time.perf_counter()
        response = client.get("/api/v1/customers", {"phone": phone})
        api_ms.append((time.perf_counter() - started) * 1000)
        items = response.json()["items"] if response.status_code == 200 else None
        if not items or items[0]["number"] != f"{NUMBER_PREFIX}{i:08d}":
            raise SystemExit(f"GET ?phone={phone}: {response.status_code} {response.content[:200]}")
        progress.advance(task)
    return summarise(query_ms), summarise(api_ms)


def main(argv=None):
    args = parse_args(argv)
    temp_dir = setup_django(args)
    try:
        from django.db import connection
        from rich.console import Console
        from rich.progress import Progress
        from rich.table import Table

        console = Console()
        with Progress(console=console, transient=True) as progress:
            user, load_s = ensure_data(args.count, args.batch, progress)
            sample = random.Random(args.seed).sample(range(args.count), min(args.lookups, args.count))
            query, api = time_lookups(user, sample, progress)

        vendor = connection.vendor
        table = Table(title=f"按电话查客户 phone lookup: {args.count:,} customers, "
                            f"{len(sample):,} lookups, {vendor}")
        for column in ("", "median ms", "p95 ms", "min ms", "max ms"):
            table.add_column(column, justify="right" if column else "left")
        for label, stats in (("queries.lookup_by_phone", query), ("GET /api/v1/customers?phone=", api)):
            table.add_row(label, *(f"{stats[k]:.2f}" for k in ("median", "p95", "min", "max")))
        console.print(table)
        if load_s:
            console.print(f"写入 / loaded {args.count:,} customers + phones in {load_s:.1f} s "
                          f"({args.count / load_s:,.0f} rows/s)")
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
