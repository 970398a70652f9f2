"""The application layer: names, paths and files turned into objects, runs into folders and summaries.

Below it, :mod:`tinyconv.train` takes objects only (a model, a recipe, batches); here
:func:`~tinyconv.app.run.train_net` trains your own network or a zoo model from a
reference (:mod:`~tinyconv.app.refs`), writes the run folder and prints the summary with
the exercise's verdict, and :mod:`~tinyconv.app.trained` reads a run back to evaluate or
export it. The command line (:mod:`tinyconv.cli`) is a thin layer over this one.
"""

from tinyconv.app.refs import ModelRef, ModelRefError, parse_model_ref
from tinyconv.app.run import USER_RECIPE, ModelLike, RecipeLike, RunResult, format_summary, prepare_output, train_net
from tinyconv.app.mistakes import ConfusionMatrix, confusion_matrix, find_mistakes, plot_mistakes
from tinyconv.app.trained import UnbuildableCheckpointError, evaluate_on_test, evaluate_trained, load_trained

__all__ = ["ModelRef", "ModelRefError", "parse_model_ref", "USER_RECIPE", "ModelLike", "RecipeLike", "RunResult",
           "format_summary", "prepare_output", "train_net", "UnbuildableCheckpointError", "evaluate_on_test", "evaluate_trained",
           "load_trained", "ConfusionMatrix", "confusion_matrix", "find_mistakes", "plot_mistakes"]
