"""The ``dvfo`` command. Each module in this package that defines ``register`` adds a sub-command.

``register(subparsers)`` adds a parser and sets ``func`` to a callable taking the parsed
arguments and returning an exit code. Errors derived from :class:`~dvfo_core.errors.DvfoError`
print as one line and exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from dvfo_core.errors import DvfoError


def build_parser() -> argparse.ArgumentParser:
    """The ``dvfo`` parser with every discovered sub-command."""
    parser = argparse.ArgumentParser(
        prog="dvfo", description="DVFO: energy-aware split DNN inference with a DRL DVFS governor."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dvfo`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DvfoError as exc:
        if args.debug:
            raise
        print(f"dvfo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dvfo {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
