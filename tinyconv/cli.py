"""The ``tinyconv`` command line: a thin layer over the library.

Every subcommand parses its arguments, calls one library function and prints the
result. Bad arguments print one line to standard error and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tinyconv.budget import BudgetExceededError, check_budget, count_params
from tinyconv.zoo import get_model, get_model_info, list_models

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cmd_models(args: argparse.Namespace) -> int:
    names = list_models(args.pattern)
    width = max((len(n) for n in names), default=5)
    print(f"{'model':<{width}}  {'params':>9}  {'budget':<22}  description")
    for name in names:
        info = get_model_info(name)
        model = get_model(name)
        total = count_params(model)
        try:
            check_budget(model, args.max_params)
            verdict = f"fits < {args.max_params:,}"
        except BudgetExceededError as error:
            verdict = f"over by {error.excess:,}"
        print(f"{name:<{width}}  {total:>9,}  {verdict:<22}  {info.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the ``tinyconv`` argument parser with all its subcommands.

    Returns:
        The parser.
    """
    parser = _Parser(prog="tinyconv", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    models = sub.add_parser("models", help="list the zoo: parameters and budget verdicts")
    models.add_argument("pattern", nargs="?", default="*", help="glob over model names (default: all)")
    models.add_argument(
        "--max-params", type=_positive_int, default=8000, help="exclusive budget (default: 8000)"
    )
    models.set_defaults(run=_cmd_models)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"tinyconv {args.command}: error: {first_line}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
