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

INVOCATION = "invocation"
PROCESSOR = "processor_with_5ms_store"
# Hookline's path per invocation, from the runtime API's bytes to the message handed to the
# queue, against an HMAC-SHA256 of the same body.
OVERHEAD_TARGET_US = 15.0
RATIO_TARGET = 3.0
BATCH_TARGET = 1.5
JSON_BODIES = (("json_pretty", "pretty JSON"), ("json_compact", "compact JSON"))
SIZES = (("1KiB", "1 KiB"), ("64KiB", "64 KiB"), ("1MiB", "1 MiB"))
BINARY = ("binary_base64", "64KiB", "binary via base64, 64 KiB")
# Every measured body: (criterion id, size id, label).
CASES = [*((kind, size, f"{kind_label}, {size_label}") for kind, kind_label in JSON_BODIES for size, size_label in SIZES), BINARY]


class MissingEstimate(Exception):
    pass


@dataclass
class Row:
    name: str
    measured: str
    target: str
    # None for a detail row: reported, no target.
    passed: bool | None


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

    def ratio_row(kind: str, size: str, label: str) -> Row:
        path, hmac = get(f"{INVOCATION}/path_{kind}/{size}"), get(f"{INVOCATION}/hmac_{kind}/{size}")
        measured = f"{path / hmac:.2f}x  ({fmt_time(path)} vs {fmt_time(hmac)})"
        if size == "1KiB":
            overhead_us = (path - hmac) / 1e3
            return Row(f"invocation / HMAC, {label}", measured + f"; +{overhead_us:.2f} µs",
                       f"overhead <= {OVERHEAD_TARGET_US:g} µs", overhead_us <= OVERHEAD_TARGET_US)
        return Row(f"invocation / HMAC, {label}", measured, f"<= {RATIO_TARGET:g}x", path / hmac <= RATIO_TARGET)

    for case in CASES:
        table.append(ratio_row(*case))
    # Detail: the runtime's one read of the payload into `ApiGatewayV2httpRequest`, inside the path.
    for kind, size, label in CASES:
        read, hmac = get(f"{INVOCATION}/runtime_read_{kind}/{size}"), get(f"{INVOCATION}/hmac_{kind}/{size}")
        table.append(Row(f"  detail: runtime's read of the event, {label}", f"{fmt_time(read)} ({read / hmac:.2f}x the HMAC)", "-", None))
    # Detail: what the SQS client does with the message in-process (serialization, SigV4),
    # which is not Hookline's to tune.
    for kind, size, label in CASES:
        send, hmac = get(f"sqs_client/send_{kind}/{size}"), get(f"{INVOCATION}/hmac_{kind}/{size}")
        table.append(Row(f"  detail: SQS client, {label}", f"{fmt_time(send)} ({send / hmac:.2f}x the HMAC)", "-", None))
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
    result = {True: "PASS", False: "MISS", None: "detail"}
    cells = [header] + [(r.name, r.measured, r.target, result[r.passed]) for r in table]
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
    if args.strict and any(r.passed is False for r in table):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
