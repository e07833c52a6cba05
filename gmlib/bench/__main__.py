"""`python -m gmlib.bench [NAMES] [--list] [--json] [--write DIR [--save-models]] [--device D]
[--seed S]`."""

from __future__ import annotations

import argparse
import json
import sys

from torch import nn

from gmlib.bench.core import Row, entries, environment, run
from gmlib.bench.report import markdown_table, write_results
from gmlib.bench.stored import STORED_ENTRIES, save_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gmlib.bench",
        description="Train and evaluate the course's models on the digits protocol "
                    "(train rows 0-999, val 1000-1349, test 1350-1796).")
    parser.add_argument("names", nargs="*", help="entries to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the entries and exit")
    parser.add_argument("--json", action="store_true", help="print the rows as a JSON list")
    parser.add_argument("--write", metavar="DIR", nargs="?", const="benchmarks",
                        help="also write DIR/results.json and DIR/leaderboard.md "
                             "(default DIR: benchmarks)")
    parser.add_argument("--save-models", action="store_true",
                        help="with --write: also store the trained models that lectures "
                             "load (gmlib.bench.stored.STORED_ENTRIES) in DIR/models/NAME.pt")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.list:
        for name, entry in entries().items():
            print(f"{name:28s} {entry.family:15s} {entry.track:9s} {entry.description}")
        return 0
    if args.save_models and not args.write:
        parser.error("--save-models stores models beside the results: give --write DIR")

    def store(row: Row, model: nn.Module) -> None:
        if args.save_models and row.name in STORED_ENTRIES:
            path = save_model(row.name, model, row, args.write, args.seed)
            print(f"stored {path}", file=sys.stderr)

    try:
        rows = run(args.names, device=args.device, seed=args.seed, keep=store,
                   progress=lambda name: print(f"running {name} ...", file=sys.stderr))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        print(markdown_table(rows))
    if args.write:
        paths = write_results(rows, args.write, environment(args.device))
        print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
