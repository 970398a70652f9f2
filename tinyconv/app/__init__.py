"""The application layer: names, paths and files turned into objects, runs into folders and summaries.

Below it, :mod:`tinyconv.train` takes objects only (a model, a recipe, batches); here
:func:`~tinyconv.app.run.train_zoo_model` builds them from a zoo name, writes the run
folder and prints the summary with the exercise's verdict. The command line
(:mod:`tinyconv.cli`) is a thin layer over this one.
"""

from tinyconv.app.run import RunResult, format_summary, prepare_output, train_zoo_model

__all__ = ["RunResult", "format_summary", "prepare_output", "train_zoo_model"]
