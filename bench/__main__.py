"""``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, print the table, exit 1 on a miss.

``python -m bench soak [--minutes N]`` runs the soak under faults instead (bench/soak.py).
``python -m bench e2e --url URL ...`` runs the end-to-end calls against a real Asterisk (bench/e2e.py).

Its one job is running the measurement modules in order and printing their rows; a module
that fails to run is reported and counts as a miss.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from typing import List, Optional

from .table import Row, Table

MODULES = ("connect", "events", "rest", "latency", "memory", "outbound", "media")


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["soak"]:  # a bounded soak under faults (bench/soak.py), not a benchmark row
        from .soak import main as soak

        return soak(argv[1:])
    if argv[:1] == ["e2e"]:  # against a real Asterisk only: never part of the default run
        from .e2e import main as e2e

        return e2e(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (about 40 s in all)")
    parser.add_argument("--only", action="append", choices=MODULES, help="run only this figure (repeatable)")
    args = parser.parse_args(argv)
    table = Table()
    broken = []
    started = time.perf_counter()
    for name in args.only or MODULES:
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            for row in module.rows(quick=args.quick):
                table.add(row)
        except Exception:
            traceback.print_exc()
            broken.append(name)
            table.add(Row(f"{name}: did not run", 0.0, "", target=1, checked="value"))
        print(f"   {name} took {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    print(
        f"\nari benchmarks ({'quick' if args.quick else 'full'}; {os.cpu_count()} cores; "
        f"{time.perf_counter() - started:.0f}s)\n"
    )
    print(table.render())
    failed = table.failed()
    print(
        f"\n{len(failed)} of {sum(r.target is not None for r in table.rows)} targets missed"
        + (f": {', '.join(r.name for r in failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
