"""Run Belay's benchmarks: print a table of every figure with its goal, and write JSON.

    .venv/bin/python benchmarks/run.py [--quick] [--json FILE] [--only NAME ...]
    make bench BENCH_ARGS="--quick --json bench.json"

Figures (see docs/performance.md): intake (wrk against a ``belay serve`` subprocess, SQLite and
PostgreSQL, with a do-nothing reference on the same stack), decision → sync and result detection
(``belay serve`` + simulator at 50 submissions/s), policy evaluation (against ``orjson.loads``),
investigation (2,000 applications) and idle memory. ``--quick`` runs every figure at a smaller
size (a few minutes). The JSON is an object keyed by figure name, each
``{value, unit, goal, met}`` plus ``reference`` and ``ratio`` where there is a reference.
Exit code 0 when every measured goal is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Figure, failed

Group = Callable[[bool], list[Figure]]


def _groups() -> dict[str, Group]:
    from benchmarks import (
        bypass,
        hostile,
        intake,
        investigation,
        memory,
        pipeline,
        policy_eval,
        whatif,
    )

    return {
        "intake": intake.measure,
        "pipeline": pipeline.measure,
        "policy": policy_eval.figures,
        "investigation": investigation.measure,
        "memory": memory.measure,
        "hostile": hostile.measure,
        "whatif": whatif.measure,
        "bypass": bypass.measure,
    }


GROUPS = (
    "intake",
    "pipeline",
    "policy",
    "investigation",
    "memory",
    "hostile",
    "whatif",
    "bypass",
)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.1f}"


def table(figures: list[Figure]) -> str:
    """The figures as a plain-text table (notes on a second, indented line)."""
    rows = [("figure", "value", "unit", "goal", "met", "reference", "ratio")]
    for f in figures:
        met = "-" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.name, _fmt(f.value), f.unit, f.goal, met, _fmt(f.reference), _fmt(f.ratio)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n and figures[n - 1].note:
            lines.append(f"    {figures[n - 1].note}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected groups and report."""
    parser = argparse.ArgumentParser(
        description="Measure Belay's performance figures against their goals."
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--only", nargs="+", choices=GROUPS, metavar="GROUP", help=f"run only: {', '.join(GROUPS)}"
    )
    args = parser.parse_args(argv)
    from belay.logs import configure_logging

    configure_logging(level="WARNING")
    groups = _groups()
    figures: list[Figure] = []
    for name in args.only or GROUPS:
        started = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            figures += groups[name](args.quick)
        except Exception as err:  # noqa: BLE001 - a broken group is reported, the others still run
            traceback.print_exc()
            figures.append(failed(f"{name}.error", "-", "runs", f"{type(err).__name__}: {err}"))
        print(f"[bench] {name} took {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(table(figures))
    if args.json:
        from belay.jsonio import dumps

        args.json.write_bytes(dumps({f.name: f.as_json() for f in figures}) + b"\n")
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
