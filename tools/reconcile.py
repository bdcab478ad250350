"""Check (and optionally repair) agents' chat counts and customers' active-chat pointers.

    python -m tools.reconcile          # report drift; exit 1 if there is any
    python -m tools.reconcile --fix    # repair what can be repaired; exit 1 if anything is left

Uses the service's environment variables (table names, AWS_ENDPOINT_URL_DYNAMODB).
Full table scans: an operator command, never run on a request path.
"""

from __future__ import annotations

import argparse
import sys

from chalicelib.reconcile import reconcile
from chalicelib.store import get_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reconcile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fix", action="store_true", help="repair drift (conditional writes, safe under traffic)")
    args = parser.parse_args(argv)
    report = reconcile(get_store(), fix=args.fix)
    for drift in report.drift:
        print(f"drift: {drift}")
    for line in report.fixed:
        print(f"fixed: {line}")
    for line in report.skipped:
        print(f"not fixed: {line}")
    if not report.drift:
        print("no drift")
        return 0
    left = report.skipped if args.fix else report.drift
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
