"""The lab's tools for results files: not part of tinyconv, and installed by nothing.

What the benchmarks, the docs build and the README generator share:
:func:`~lab.files.write_results` stores a benchmark's raw results with the command and
the machine; :mod:`~lab.tables` is the one renderer that turns the committed JSON into
the tables of the docs, the README and the benchmarks' Markdown; :mod:`~lab.measured`
reads a model's committed multi-seed results; :mod:`~lab.readme` rewrites the README's
generated section. Benchmark scripts in ``benchmarks/`` import it as ``lab`` (their own
folder is on the import path); the tests and the docs build put ``benchmarks/`` on theirs.
"""

from lab.files import RESULTS_DIR, command_line, read_results, write_results
from lab.tables import Table

__all__ = ["RESULTS_DIR", "command_line", "read_results", "write_results", "Table"]
