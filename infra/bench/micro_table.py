#!/usr/bin/env python3
"""Prints the micro-benchmark ratios of one `make bench` run as one table, with targets.

Reads criterion's estimates (`<criterion dir>/<group>/<function>/<value>/new/estimates.json`,
the mean point estimate, in nanoseconds). With `--since FILE`, an estimate written before FILE
was touched is reported as stale: every figure in the table comes from the same run.

Exit status: 0 when every row could be computed (PASS or MISS), 2 when an estimate is
missing or stale, 1 as well with `--strict` when a row misses its target.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

INGEST = "ingest"
PROCESSOR = "processor_with_5ms_store"
OVERHEAD_TARGET_US = 10.0
RATIO_TARGET = 2.0
BATCH_TARGET = 1.5


class MissingEstimate(Exception):
    pass


@dataclass
class Row:
    name: str
    measured: str
    target: str
    passed: bool


def mean_ns(root: Path, bench: str, since: float | None) -> float:
    path = root.joinpath(*bench.split("/"), "new", "estimates.json")
    if not path.is_file():
        raise MissingEstimate(f"no estimate for {bench} ({path})")
    if since is not None and path.stat().st_mtime < since:
        raise MissingEstimate(f"estimate for {bench} is from an earlier run ({path})")
    return float(json.loads(path.read_text())["mean"]["point_estimate"])


def fmt_time(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def rows(root: Path, since: float | None) -> list[Row]:
    def get(bench: str) -> float:
        return mean_ns(root, bench, since)

    table = []
    handle, hmac = get(f"{INGEST}/handle/1KiB"), get(f"{INGEST}/hmac/1KiB")
    overhead_us = (handle - hmac) / 1e3
    table.append(
        Row(
            "ingest / HMAC, 1 KiB",
            f"{handle / hmac:.2f}x  ({fmt_time(handle)} vs {fmt_time(hmac)}; +{overhead_us:.2f} µs)",
            f"overhead <= {OVERHEAD_TARGET_US:g} µs",
            overhead_us <= OVERHEAD_TARGET_US,
        )
    )
    for label, size in (("64KiB", "64 KiB"), ("1MiB", "1 MiB")):
        handle, hmac = get(f"{INGEST}/handle/{label}"), get(f"{INGEST}/hmac/{label}")
        ratio = handle / hmac
        table.append(
            Row(
                f"ingest / HMAC, {size}",
                f"{ratio:.2f}x  ({fmt_time(handle)} vs {fmt_time(hmac)})",
                f"<= {RATIO_TARGET:g}x",
                ratio <= RATIO_TARGET,
            )
        )
    ten, one = get(f"{PROCESSOR}/batch_of_10"), get(f"{PROCESSOR}/one_message")
    ratio = ten / one
    table.append(
        Row(
            "processor batch of 10 / one message",
            f"{ratio:.2f}x  ({fmt_time(ten)} vs {fmt_time(one)})",
            f"<= {BATCH_TARGET:g}x",
            ratio <= BATCH_TARGET,
        )
    )
    return table


def render(table: list[Row]) -> str:
    header = ("benchmark", "measured (mean)", "target", "result")
    cells = [header] + [(r.name, r.measured, r.target, "PASS" if r.passed else "MISS") for r in table]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = lambda row: "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule] + [line(row) for row in cells[1:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion-dir", type=Path, default=Path("target/criterion"))
    parser.add_argument("--since", type=Path, help="ignore estimates older than this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a row misses its target")
    args = parser.parse_args(argv)
    since = args.since.stat().st_mtime if args.since else None
    try:
        table = rows(args.criterion_dir, since)
    except MissingEstimate as error:
        print(f"micro_table: {error}", file=sys.stderr)
        return 2
    print(render(table))
    if args.strict and not all(r.passed for r in table):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
