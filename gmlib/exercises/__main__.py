"""`python -m gmlib.exercises strip SRC OUT` writes learner copies; `list` names the exercises."""

from __future__ import annotations

import argparse
import sys

from gmlib.exercises.core import list_exercises
from gmlib.exercises.strip import strip_tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gmlib.exercises",
                                     description="Tools for the course's exercises.")
    commands = parser.add_subparsers(dest="command", required=True)
    strip = commands.add_parser("strip", help="write learner copies without the solutions")
    strip.add_argument("source", help="folder with the lecture notebooks, e.g. lectures/")
    strip.add_argument("destination", help="folder for the learner copies")
    commands.add_parser("list", help="list every exercise that has a check")
    args = parser.parse_args(argv)

    if args.command == "strip":
        try:
            written = strip_tree(args.source, args.destination)
        except (OSError, ValueError) as err:  # unreadable files, malformed notebooks, bad paths
            print(f"error: {err}", file=sys.stderr)
            return 2
        for path in written:
            print(path)
        print(f"{len(written)} learner notebook(s) written to {args.destination}")
    else:
        for entry in list_exercises():
            print(f"{entry.id}  {entry.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
