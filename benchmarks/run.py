#!/usr/bin/env python
"""`make bench`: the benchmark suite (benchmarks/suite.py) as one table, and as JSON lines.

    .venv/bin/python benchmarks/run.py [--tickets N] [--repeat N] [--only TEXT ...]

Database: KEFU_DATABASE_URL (PostgreSQL), else the SQLite file in KEFU_DATA_DIR (default
var/bench, not the `make run` database in var/). A database with fewer tickets than asked is
filled first by the bulk generator (`kefu demo --tickets N`); later runs reuse it.

Sizes and repetitions, from the environment or the options:

* KEFU_BENCH_TICKETS (--tickets, default 20000): tickets the database must hold;
* KEFU_BENCH_REPEAT (--repeat, default 100): timed calls of each read operation (phone
  lookups: five times as many; SLA monitor passes: a fifth);
* KEFU_BENCH_CREATES (--creates, default 300): timed creates, service and in-process API;
* KEFU_BENCH_HTTP_CREATES (--http-creates, default 1000): creates through gunicorn, sent by
  KEFU_BENCH_CLIENTS (--clients, default 4) client threads; reads through gunicorn use one.

Each row is also appended as one JSON object (date, git commit, operation, size, backend,
median, p95, queries, throughput, …) to benchmarks/results/<backend>.jsonl, or to the
directory given by --results / KEFU_BENCH_RESULTS; --no-save writes nothing.

The other scripts in benchmarks/ measure one thing each, in a throwaway database:
import_customers.py (Excel import/export), phone_lookup.py, ticket_create.py.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import suite  # noqa: E402  (benchmarks/suite.py, next to this file)


def parse_args(argv):
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=int(env("KEFU_BENCH_TICKETS", suite.DEFAULT_TICKETS)))
    parser.add_argument("--repeat", type=int, default=int(env("KEFU_BENCH_REPEAT", 100)))
    parser.add_argument("--creates", type=int, default=int(env("KEFU_BENCH_CREATES", 300)))
    parser.add_argument("--http-creates", type=int, default=int(env("KEFU_BENCH_HTTP_CREATES", 1000)))
    parser.add_argument("--clients", type=int, default=int(env("KEFU_BENCH_CLIENTS", 4)))
    parser.add_argument("--no-gunicorn", action="store_true", help="in-process operations only")
    parser.add_argument("--only", nargs="*", default=[],
                        help="run the operations whose name contains one of these texts")
    parser.add_argument("--results", default=env("KEFU_BENCH_RESULTS", str(HERE / "results")),
                        help="directory of the <backend>.jsonl files")
    parser.add_argument("--no-save", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    for name in ("tickets", "repeat", "creates", "http_creates", "clients"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def git(*args):
    try:
        out = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def fmt(value, digits=1):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def print_table(results, size, backend):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Kefu benchmarks: {size:,} tickets, {backend}")
    for column, justify in (("operation", "left"), ("data size", "right"), ("backend", "left"),
                            ("median ms", "right"), ("p95 ms", "right"), ("queries", "right"),
                            ("throughput /s", "right"), ("n", "right"), ("note", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    for r in results:
        table.add_row(r.operation, f"{r.size:,}", r.backend, fmt(r.median_ms, 2), fmt(r.p95_ms, 2),
                      "n/a" if r.queries is None else str(r.queries), fmt(r.throughput, 0),
                      str(r.n), r.note)
    Console(width=250).print(table)  # as wide as the rows need, also when piped


def save(results, directory, meta):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{meta['backend']}.jsonl"
    with path.open("a", encoding="utf-8") as out:
        for r in results:
            row = {
                **{k: meta[k] for k in ("date", "commit", "dirty")},
                "operation": r.operation, "size": r.size, "backend": r.backend,
                "backend_version": meta["backend_version"],
                "median_ms": _round(r.median_ms), "p95_ms": _round(r.p95_ms), "queries": r.queries,
                "throughput": _round(r.throughput, 1), "n": r.n, "note": r.note,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _round(value, digits=3):
    return None if value is None else round(value, digits)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    suite.configure()
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    bench = suite.Suite(tickets=args.tickets, repeat=args.repeat, creates=args.creates,
                        http_creates=args.http_creates, clients=args.clients,
                        gunicorn=not args.no_gunicorn, only=args.only, say=say)
    bench.setup()
    results = []
    try:
        for result in bench.run():
            results.append(result)
            say(f"  {result.operation}: median {fmt(result.median_ms, 2)} ms, "
                f"{fmt(result.throughput, 0)}/s")
    finally:
        bench.teardown()
    print_table(results, bench.size, bench.backend)
    if not args.no_save and results:
        meta = {
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "commit": git("rev-parse", "--short", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "backend": bench.backend, "backend_version": suite.backend_version(),
        }
        print(f"results appended to {save(results, args.results, meta)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
