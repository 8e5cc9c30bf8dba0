#!/usr/bin/env python
"""Benchmark: tickets taken in per second through ``ticket_create`` and through the API
(``POST /api/v1/tickets`` with a token, in-process client), in one process.

Each create draws the CS number, selects the SLA policy, computes the response, resolution and
warning times on the working calendar, and writes the ticket, its history row and its
"created" event in one transaction: the whole write path an intake channel uses. The API run
adds token authentication, JSON parsing and validation, the Idempotency-Key lookup and the
response body.

Usage::

    .venv/bin/python benchmarks/ticket_create.py [--count 2000]
    KEFU_DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench .venv/bin/python \\
        benchmarks/ticket_create.py
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args(argv)
    temp_dir = None
    if not os.environ.get("KEFU_DATA_DIR"):
        temp_dir = tempfile.mkdtemp(prefix="kefu-bench-tickets-")
        os.environ["KEFU_DATA_DIR"] = temp_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    os.environ.setdefault("KEFU_DEBUG", "false")
    try:
        run(args.count)
    finally:
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)


def run(count):
    import datetime

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from kefu.accounts.models import Region
    from kefu.accounts.services import staff_create
    from kefu.customers.services import customer_create
    from kefu.tickets.models import Channel, Priority, TicketType
    from kefu.tickets.services import ticket_create

    region, _ = Region.objects.get_or_create(code="bench", defaults={"name": "基准片区"})
    agent = staff_create(username=f"bench{time.time_ns()}", password="x", display_name="基准",
                         employee_no=f"B{time.time_ns()}", role="agent")
    customer = customer_create(actor=agent, name="基准客户", region=region, phones=["13900000000"])
    channel, kind = Channel.objects.get(code="phone"), TicketType.objects.get(code="fault")
    priority = Priority.objects.get(code="normal")
    start_at = timezone.make_aware(datetime.datetime(2026, 11, 2, 9, 0))

    def service(i):
        ticket_create(actor=agent, customer=customer, channel=channel, ticket_type=kind,
                      priority=priority, subject=f"打印机卡纸 {i}", description="进纸口卡纸，显示 E-01",
                      now=start_at + datetime.timedelta(seconds=i))

    report("ticket_create", connection.vendor, count, service)

    from django.test import Client

    from kefu.accounts.services import token_create

    _row, raw = token_create(user=agent, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", SERVER_NAME="127.0.0.1")
    run_id = time.time_ns()

    def api(i):
        response = client.post(
            "/api/v1/tickets", content_type="application/json",
            headers={"Idempotency-Key": f"bench-{run_id}-{i}"},
            data={"customer_id": customer.pk, "channel": "phone", "ticket_type": "fault",
                  "priority": "normal", "subject": f"打印机卡纸 {i}",
                  "description": "进纸口卡纸，显示 E-01"},
        )
        if response.status_code != 201:
            raise SystemExit(f"API create failed: {response.status_code} {response.content[:300]!r}")

    report("POST /api/v1/tickets", connection.vendor, count, api)


def report(name, backend, count, create):
    durations = []
    began = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        create(i)
        durations.append(time.perf_counter() - t0)
    total = time.perf_counter() - began
    durations.sort()
    p95 = durations[int(len(durations) * 0.95) - 1]
    print(f"{name:22} backend={backend}  n={count}  "
          f"total={total:.2f}s  throughput={count / total:.0f}/s  "
          f"median={statistics.median(durations) * 1000:.2f}ms  p95={p95 * 1000:.2f}ms", flush=True)


if __name__ == "__main__":
    main()
