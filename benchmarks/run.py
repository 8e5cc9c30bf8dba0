#!/usr/bin/env python
"""`make bench`: run every benchmark script in its own process and print its figures.

Sizes come from the environment so a quick run and a full run use the same scripts:
KEFU_BENCH_IMPORT (customers imported from Excel, default 10000) and KEFU_BENCH_LOOKUP
(customers behind the phone lookup, default 100000). KEFU_DATABASE_URL selects PostgreSQL.
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHES = [
    ("import_customers.py", ["--count", os.environ.get("KEFU_BENCH_IMPORT", "10000")]),
    ("phone_lookup.py", ["--count", os.environ.get("KEFU_BENCH_LOOKUP", "100000")]),
    ("ticket_create.py", ["--count", os.environ.get("KEFU_BENCH_TICKETS", "2000")]),
]


def main():
    failed = []
    for script, args in BENCHES:
        print(f"\n=== {script} {' '.join(args)} ===", flush=True)
        result = subprocess.run([sys.executable, str(HERE / script), *args])
        if result.returncode:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
