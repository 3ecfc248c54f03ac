"""Checks a locust run from its `<prefix>_stats.csv`: no failures, and each row's p95 within a bound.

    python loadtest/check.py target/loadtest/crm_stats.csv --p95-ms 200

Prints the rows (requests, failures, requests/s, p50/p95/p99) and exits 1
naming every failure count and every p95 over the bound; 0 otherwise.
A run that made no request at all fails too.
"""

import argparse
import csv
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stats_csv")
    parser.add_argument("--p95-ms", type=float, help="fail when a row's p95 exceeds this (no bound without it)")
    args = parser.parse_args()
    with open(args.stats_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    problems = []
    print(f"{'name':<48} {'reqs':>7} {'fails':>6} {'req/s':>8} {'p50':>6} {'p95':>6} {'p99':>6}")
    for row in rows:
        name = row["Name"] if row["Type"] else "Aggregated"
        requests, failures = int(row["Request Count"]), int(row["Failure Count"])
        p95 = float(row["95%"]) if row["95%"] not in ("", "N/A") else 0.0
        print(
            f"{name[:48]:<48} {requests:>7} {failures:>6} {float(row['Requests/s']):>8.1f} "
            f"{row['50%']:>6} {row['95%']:>6} {row['99%']:>6}"
        )
        if failures:
            problems.append(f"{name}: {failures} of {requests} requests failed")
        if args.p95_ms is not None and p95 > args.p95_ms:
            problems.append(f"{name}: p95 {p95:.0f} ms is over the bound of {args.p95_ms:.0f} ms")
    total = next((int(r["Request Count"]) for r in rows if r["Name"] == "Aggregated"), 0)
    if total == 0:
        problems.append("no request was made")
    for problem in problems:
        print(f"loadtest: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
