"""Generate the docs' tables and figures from the registry and the committed results.

Every table comes from :mod:`lab.tables`, the renderer the README and the
benchmarks' Markdown use too; this module only adds the prose around them and the curves.
"""

from __future__ import annotations

from pathlib import Path

from lab import read_results
from lab.readme import FINAL_MODELS, TIME_FILES
from lab.tables import (
    Table,
    accuracy_table,
    batch_sweep_table,
    deploy_c_table,
    deploy_table,
    final_runs_table,
    machine_text,
    profile_table,
    seed_reproduction_table,
    step_floor_text,
    speed_table,
    time_to_accuracy_table,
    time_to_target_table,
    zoo_table,
)
from tinyconv.train.history import History
from tinyconv.train.plot import plot_history

from lab import figures as _figures  # noqa: E402  (benchmarks/ is on the path while Sphinx runs)


def _load(name: str) -> dict | None:
    """A committed results file, or ``None`` if it is not there."""
    return read_results(name)


def _list_table(header: list[str], rows: list[list[str]]) -> str:
    return Table(header, rows).to_rst()


def _figure(name: str, alt: str, caption: str) -> list[str]:
    return ["", f".. figure:: /generated/{name}", f"   :alt: {alt}", "", f"   {caption}", ""]


def seed_reproduction(out: Path) -> str:
    data = _load("seed_reproduction.json")
    if data is None:
        return "*No reproduction results are committed yet.*\n"
    text = [f"Measured with ``{data['command']}`` on {machine_text(data)}, pipeline ``{data['pipeline']}``. "
            "Raw results: ``benchmarks/results/seed_reproduction.json``.", "", seed_reproduction_table(data).to_rst()]
    for code in sorted(data["runs"]):
        run = data["runs"][code]
        plot_history(History.from_dict(run["history"]), out / f"curves_{code}.png", title=f"{code}: {run['model']}")
        text += _figure(f"curves_{code}.png", f"training curves of {code}",
                        f"{code}: loss and accuracy by epoch, as measured here.")
    return "\n".join(text)


def selection() -> str:
    data = _load("superseded/selection.json")
    if data is None:
        return "*No selection results are committed yet.*\n"
    rows = []
    ordered = sorted(data["candidates"].items(), key=lambda kv: (kv[1]["group"] != "under8k", -kv[1]["score"]))
    for name, run in ordered:
        recipe = run["recipe"]
        kwargs = ", ".join(f"{k}={tuple(v) if isinstance(v, list) else v}" for k, v in run["model_kwargs"].items())
        rows.append([
            f"``{name}``",
            run["group"],
            f"{run['params']:,}",
            f"``funnel({kwargs})``",
            f"{recipe['scheduler']}, lr {recipe['lr']:g}, batch {recipe['batch_size']}, augment {recipe['augment']}",
            ", ".join(f"{a:.2f}" for a in run["last3"]),
            f"{run['score']:.3f}",
        ])
    intro = (f"Measured with ``python benchmarks/select_recipe.py`` on {machine_text(data)}; raw results: ``benchmarks/results/superseded/selection.json``. Every candidate "
             "trained on the first 50,000 training images (seed 1) and was scored on the last 10,000: the score "
             "is the mean validation accuracy of its last three epochs. The test set was not loaded.\n\n")
    return intro + _list_table(["candidate", "group", "parameters", "model", "recipe", "last 3 val. acc. (%)", "score"],
                          rows)


def selection_average() -> str:
    data = _load("superseded/selection_average.json")
    if data is None:
        return "*No weight-averaging selection results are committed yet.*\n"
    rows = []
    ordered = sorted(data["scores"].items(), key=lambda kv: (kv[1]["group"] != "under8k", -(kv[1]["score"] or 0)))
    for name, row in ordered:
        per_seed = [", ".join(f"{a:.2f}" for a in row["per_seed"][seed]["last3"]) if seed in row["per_seed"] else "—"
                    for seed in ("1", "2")]
        score = f"{row['score']:.3f}" if row["score"] is not None else "—"
        rows.append([f"``{row['base']}``", row["group"], f"{row['ema_decay']:g}" if row["ema_decay"] else "none",
                     *per_seed, score])
    intro = (f"Measured with ``{data['command']}`` on {machine_text(data)}; raw results: "
             "``benchmarks/results/superseded/selection_average.json``. Trained on the first 50,000 training images, scored "
             "on the last 10,000; score = mean over seeds 1 and 2 of the mean validation accuracy of the last "
             "three epochs. The \"none\" rows are the training weights of the same runs.\n\n")
    return intro + _list_table(["base candidate", "group", "weight average (decay)", "seed 1: last 3 val. acc. (%)",
                           "seed 2: last 3 val. acc. (%)", "score"], rows)


def selection_criterion() -> str:
    data = _load("superseded/selection_criterion.json")
    if data is None:
        return "*No stage-3 selection results are committed yet.*\n"
    rows = []
    ordered = sorted(data["scores"].items(), key=lambda kv: (kv[1]["group"] != "under8k", -(kv[1]["score"] or 0)))
    for name, row in ordered:
        per_seed = [", ".join(f"{a:.2f}" for a in row["per_seed"][seed]["last3"]) if seed in row["per_seed"] else "—"
                    for seed in ("1", "2", "3")]
        score = f"{row['score']:.3f}" if row["score"] is not None else "—"
        mean = f"{row['mean']:.3f}" if row["mean"] is not None else "—"
        rows.append([f"``{name.split('+')[0]}``", row["group"], f"{row['ema_decay']:g}" if row["ema_decay"] else "none",
                     *per_seed, score, mean])
    intro = (f"Measured with ``{data['command']}`` on {machine_text(data)}; raw results: "
             "``benchmarks/results/superseded/selection_criterion.json`` (seeds 1 and 2 are stage 2's runs). Trained on the "
             "first 50,000 training images, scored on the last 10,000; score = mean over seeds 1–3 of the *lowest* "
             "validation accuracy of the last three epochs.\n\n")
    return intro + _list_table(["base candidate", "group", "weight average (decay)", "seed 1: last 3 (%)",
                           "seed 2: last 3 (%)", "seed 3: last 3 (%)", "score", "mean of last 3"], rows)


def final_results(out: Path) -> str:
    text = []
    for name in FINAL_MODELS:
        data = _load(f"final_{name}.json")
        if data is None:
            continue
        text += [f"``{name}``", "~" * (len(name) + 4), ""]
        first = History.from_dict(next(iter(data["runs"].values()))["history"])
        plot_history(first, out / f"curves_{name}.png", title=f"{name} (seed 1)")
        text += [f"``{name}``: {data['params']:,} parameters, {data['macs']:,} MACs per image, receptive field "
                 f"{data['receptive_field']}. Measured with ``{data['command']}`` on {machine_text(data)}; raw "
                 f"results: ``benchmarks/results/final_{name}.json``.", "", final_runs_table(data).to_rst()]
        _figures.final_seeds(name, data, out / f"seeds_{name}.png")
        text += _figure(f"seeds_{name}.png", f"test accuracy of every seed of {name}",
                        f"{name}: test accuracy of every seed, zoomed on the last epochs; the exercise asks for "
                        "99.4% or more in each of the last three.")
        text += _figure(f"curves_{name}.png", f"training curves of {name}",
                        f"{name}, seed 1: loss and accuracy by epoch, as measured here.")
        text += _more_runs(name)
    return "\n".join(text)


def _more_runs(name: str) -> list[str]:
    """The tables of a model's further seeds (``final_NAME_seeds*.json``) and reruns (``final_NAME_*_check.json``)."""
    from lab import RESULTS_DIR

    text: list[str] = []
    for path in sorted(RESULTS_DIR.glob(f"final_{name}_seeds*.json")):
        data = _load(path.name)
        text += [f"Further seeds of ``{name}``, measured with ``{data['command']}`` on {machine_text(data)}; raw "
                 f"results: ``benchmarks/results/{path.name}``.", "", final_runs_table(data).to_rst(), ""]
    for path in sorted(RESULTS_DIR.glob(f"final_{name}_*_check.json")):
        data = _load(path.name)
        layout = "channels_last" if data["cpu"]["channels_last"] else "contiguous (NCHW)"
        text += [f"Seeds of ``{name}`` rerun on {machine_text(data)} in {layout} memory format, measured with "
                 f"``{data['command']}``; raw results: ``benchmarks/results/{path.name}``.", "",
                 final_runs_table(data).to_rst(), ""]
    return text


def _speed_figure(data: dict, file: str) -> list[str]:
    png = f"speed_{Path(file).stem}.png"
    _figures.speed_bars(data, OUT / png, f"Training speed against the classic pipeline ({file})")
    return _figure(png, f"speed of every configuration in {file}",
                   "Training images per second of each configuration, as a multiple of the classic pipeline.")


def _speed_section(data: dict, file: str) -> list[str]:
    timed = (f"{data['train_batches']} training steps" if data["train_batches"]
             else "one whole training epoch (60,000 images, from the start of a fresh pass)")
    intro = (f"Measured with ``{data['command']}`` on {machine_text(data)}: model4, batch 128 unless noted, median "
             f"of {data['repeats']} interleaved repeats, each in a fresh process timing {timed} after 10 warm-up "
             f"steps, and one pass over the 10,000 test images. Raw results: ``benchmarks/results/{file}``.")
    return [intro, *_speed_figure(data, file), speed_table(data).to_rst()]


def _accuracy_section(data: dict, file: str) -> list[str]:
    how = ("at the same time in two processes taking turns epoch by epoch (wall time: the sum of a run's own "
           "epochs)" if data.get("lockstep") else "one run after the other")
    intro = (f"Equal accuracy: ``{data['command']}`` trained model4 with the seed's recipe for 15 epochs both "
             f"ways, {how}, on {machine_text(data)}. Raw results: ``benchmarks/results/{file}``.")
    return [intro, "", accuracy_table(data).to_rst(), ""]


def _time_to_target_section(data: dict, file: str) -> list[str]:
    intro = ("Time to 99.4% test accuracy with the under-8k recipe (``tc8k``, from its final runs, "
             f"``benchmarks/results/{file}``; training and evaluation time summed over epochs):")
    return [intro, "", time_to_target_table(data).to_rst()]


def _dropout_mask_section(data: dict, file: str) -> list[str]:
    costs = ", ".join(f"{name} {ms:.2f} ms" for name, ms in data["median_ms"].items())
    return [f"One dropout layer alone (``{data['command'].strip()}``, {data['elements']:,} activations, "
            f"{data['threads']} threads, forward and backward, median): {costs}. Raw results: "
            f"``benchmarks/results/{file}``.", ""]


def _sections(sections: list[tuple[str, object]], missing: str = "*Not measured yet.*\n") -> str:
    text = []
    for file, section in sections:
        data = _load(file)
        if data is not None:
            text += section(data, file)  # type: ignore[operator]
    return "\n".join(text) if text else missing


def throughput() -> str:
    return _sections([("throughput.json", _speed_section), ("dropout_mask.json", _dropout_mask_section),
                      ("throughput_accuracy.json", _accuracy_section),
                      ("throughput_accuracy_repeat.json", _accuracy_section),
                      ("throughput_accuracy_lockstep.json", _accuracy_section),
                      ("final_tc8k.json", _time_to_target_section)])


def throughput_head_to_head() -> str:
    return _sections([("throughput_head_to_head.json", _speed_section)])


def throughput_omp() -> str:
    return _sections([("throughput_omp.json", _speed_section)])


def _time_to_accuracy_section(data: dict, file: str) -> list[str]:
    commands = ", ".join(f"``{c}``" for c in data.get("commands", [data["command"]]))
    intro = (f"Measured with {commands} on {machine_text(data)}, the entries interleaved seed by seed. "
             f"Raw results: ``benchmarks/results/{file}``.")
    return [intro, "", time_to_accuracy_table(data).to_rst()]


def time_to_accuracy() -> str:
    return _sections([(file, _time_to_accuracy_section) for file in TIME_FILES])


def profile_step() -> str:
    parts = []
    for name in ("profile_step.json", "profile_step_st8k.json"):
        data = _load(name)
        if data is None:
            continue
        intro = (f"Self CPU time per training step of {data.get('model', 'model4')} (batch "
                 f"{data.get('batch_size', 128)}, every CPU speed-up; the contiguous column without "
                 f"``channels_last`` training), mean over {data['steps']} steps, measured with "
                 f"``{data['command']}`` on {machine_text(data)}. Raw results: ``benchmarks/results/{name}``.")
        parts.append(intro + "\n\n" + profile_table(data).to_rst() + step_floor_text(data))
        if "sweep" in data:
            parts.append(f"Wall-clock time of a whole {data.get('model', 'model4')} training step by batch size "
                         "(``--sweep-batch-sizes``):\n\n" + batch_sweep_table(data).to_rst())
    return "\n\n".join(parts) + "\n" if parts else "*Not measured yet.*\n"


OUT = Path(__file__).parent / "generated"


def accuracy_vs_parameters(out: Path) -> str:
    _figures.accuracy_vs_parameters(_figures.zoo_points(), out / "accuracy_vs_parameters.png")
    return "\n".join(_figure("accuracy_vs_parameters.png", "accuracy against parameters",
                              "Test accuracy against parameters: the seed notebook's recorded best for its four "
                              "models, and the mean final test accuracy of tinyconv's models over their seeds, "
                              "with the 8,000 and 5,000 budgets."))


def pass_rates() -> str:
    """The pass rates over seeds and thread counts, as the README states them."""
    from lab import RESULTS_DIR
    from lab.readme import pass_rate_lines

    lines = [line.replace("**", "").replace("`", "``") for line in pass_rate_lines(RESULTS_DIR)]
    return "\n".join(lines) + "\n" if lines else "*No pass-rate runs are committed yet.*\n"


def published_reproduction() -> str:
    """The public 3,762-parameter network's seeds here, beside the one run its notebook reports."""
    from lab.rates import pass_rate
    from tinyconv.zoo.published import WOOLLY3762_PUBLISHED as published

    file = "final_woolly3762_threads1.json"
    data = _load(file)
    if data is None:
        return "*Not run yet.*\n"
    runs = [run["history"]["epochs"] for run in data["runs"].values()]
    rate = pass_rate([[e["test_accuracy"] for e in epochs[-3:]] for epochs in runs])
    finals = [epochs[-1]["test_accuracy"] for epochs in runs]
    runs_there = "a single run" if published["seeds"] == 1 else f"{published['seeds']} runs"
    intro = (f"The notebook reports {published['test_accuracy']:.2f}% at epoch {published['epoch']} from "
             f"{runs_there}. Here, seeds {_seed_list(data['runs'])} with the recipe as published "
             f"({machine_text(data)}; raw results ``benchmarks/results/{file}``): final test accuracy "
             f"{min(finals):.2f}–{max(finals):.2f}% (mean {sum(finals) / len(finals):.2f}%), "
             f"{rate.passed} of {rate.runs} runs with each of the last three epochs at 99.4% or more, "
             f"the worst of those epochs {rate.worst:.2f}%.")
    earlier = _load("superseded/final_woolly3762_always_augmented.json")
    if earlier is not None:
        runs = [run["history"]["epochs"] for run in earlier["runs"].values()]
        before = pass_rate([[e["test_accuracy"] for e in epochs[-3:]] for epochs in runs])
        finals = [epochs[-1]["test_accuracy"] for epochs in runs]
        intro += (f" Before the recipe applied the augmentation to half of the images, as the notebook does, it "
                  f"transformed every image; seeds {_seed_list(earlier['runs'])} then ended at "
                  f"{min(finals):.2f}–{max(finals):.2f}% (mean {sum(finals) / len(finals):.2f}%), {before.passed} of "
                  f"{before.runs} passing (``benchmarks/results/superseded/final_woolly3762_always_augmented.json``).")
    return "\n".join([intro, "", final_runs_table(data).to_rst()])


def paired_comparisons() -> str:
    """Every committed paired comparison on the validation split (``paired_*.json``), a table each."""
    from lab import RESULTS_DIR
    from lab.tables import paired_table

    text = []
    for path in sorted(RESULTS_DIR.glob("paired_*.json")):
        data = _load(path.name)
        text += [f"``{data['model']}`` ({machine_text(data)}; raw results ``benchmarks/results/{path.name}``):", "",
                 paired_table(data).to_rst(), ""]
    return "\n".join(text) if text else "*No paired comparison is committed yet.*\n"


def st8k_architecture(out: Path) -> str:
    from tinyconv.inspect import summary
    from tinyconv.zoo import get_model

    result = summary(get_model("st8k"), (1, 28, 28))
    _figures.architecture(result.rows, f"st8k: {result.total_params:,} parameters, drawn from summary()",
                          out / "st8k_architecture.png")
    return "\n".join(_figure("st8k_architecture.png", "st8k's blocks",
                              "st8k block by block, from tinyconv.inspect.summary: each box as tall as its output "
                              "map, with its output shape, parameters and receptive field (block6 shares block5's "
                              "convolution, so its weights count once)."))


def margin_frontier(out: Path) -> str:
    points = _figures.frontier_points()
    if not points:
        return "*No final runs are committed yet.*\n"
    _figures.margin_frontier(points, out / "margin_frontier.png")
    caption = ("The worst test accuracy of the last three epochs of every seed in each model's "
               "``final_NAME.json`` (further seeds not shown), against the model's parameters: a model meets the "
               "exercise for a seed when that dot reaches the 99.4% line.")
    return "\n".join(_figure("margin_frontier.png", "worst of the last three epochs against parameters", caption))


def generate(out: Path) -> None:
    """Write the generated tables (``.rst``) and curve PNGs into ``out``."""
    global OUT
    OUT = out
    out.mkdir(parents=True, exist_ok=True)
    (out / "accuracy_vs_parameters.rst").write_text(accuracy_vs_parameters(out))
    (out / "st8k_architecture.rst").write_text(st8k_architecture(out))
    (out / "pass_rates.rst").write_text(pass_rates())
    (out / "published_reproduction.rst").write_text(published_reproduction())
    (out / "paired_comparisons.rst").write_text(paired_comparisons())
    (out / "zoo_descriptions.rst").write_text(zoo_descriptions())
    (out / "cli_reference.rst").write_text(cli_reference())
    (out / "goal_summary.rst").write_text(goal_summary())
    (out / "zoo_table.rst").write_text(zoo_table().to_rst())
    (out / "seed_reproduction.rst").write_text(seed_reproduction(out))
    (out / "selection.rst").write_text(selection())
    (out / "selection_average.rst").write_text(selection_average())
    (out / "selection_criterion.rst").write_text(selection_criterion())
    (out / "final_results.rst").write_text(final_results(out))
    (out / "throughput.rst").write_text(throughput())
    (out / "throughput_omp.rst").write_text(throughput_omp())
    (out / "throughput_head_to_head.rst").write_text(throughput_head_to_head())
    (out / "profile_step.rst").write_text(profile_step())
    (out / "time_to_accuracy.rst").write_text(time_to_accuracy())
    (out / "search_space.rst").write_text(search_space())
    (out / "sample_summary.rst").write_text(sample_summary())
    (out / "final_verdicts.rst").write_text(final_verdicts())
    (out / "margin_frontier.rst").write_text(margin_frontier(out))
    (out / "search_results.rst").write_text(search_results(out))
    (out / "deploy_results.rst").write_text(deploy_results())
    (out / "deploy_c_results.rst").write_text(deploy_c_results())
    (out / "deploy_operators.rst").write_text(deploy_operators(out))


def deploy_results() -> str:
    data = _load("deploy.json")
    if data is None:
        return "*No deployment benchmark is committed yet.*\n"
    return "\n".join([f"Measured with ``{data['command']}`` on {machine_text(data)}. Raw results: "
                      "``benchmarks/results/deploy.json``.", "", deploy_table(data).to_rst()])


def deploy_c_results() -> str:
    data = _load("deploy_c.json")
    if data is None:
        return "*No C benchmark is committed yet.*\n"
    return "\n".join([f"Measured with ``{data['command']}`` on {machine_text(data)}. Raw results: "
                      "``benchmarks/results/deploy_c.json``.", "", deploy_c_table(data).to_rst()])


def deploy_operators(out: Path) -> str:
    """The operators in every zoo model's exported files, read from files exported while the docs build."""
    import collections

    import onnx

    from tinyconv.data.synthetic import synthetic_digits
    from tinyconv.deploy.onnx import quantize_int8, to_onnx
    from tinyconv.zoo import get_model, list_models

    folder = out / "exported"
    folder.mkdir(exist_ok=True)
    rows = []
    calibration, _ = synthetic_digits(100, seed=0)  # ranges only matter for accuracy, not for the graph
    for name in list_models():
        fp32 = to_onnx(get_model(name).eval(), folder / f"{name}.onnx")
        int8 = quantize_int8(fp32, folder / f"{name}_int8.onnx", calibration)
        cells = []
        for path in (fp32, int8):
            graph = onnx.load(str(path))
            ops = collections.Counter(node.op_type for node in graph.graph.node)
            domains = sorted({o.domain or "ai.onnx" for o in graph.opset_import})
            cells.append(", ".join(f"``{op}`` ×{n}" for op, n in sorted(ops.items())) + f" (opsets: {', '.join(domains)})")
        rows.append([f"``{name}``", *cells])
    return _list_table(["model", "fp32 file", "int8 file"], rows)


def search_space() -> str:
    from tinyconv.search import DEFAULT_SPACE

    rows = []
    for d in DEFAULT_SPACE.dimensions:
        when = ", ".join(f"``{k}`` in {{{', '.join(map(str, v))}}}" for k, v in d.when.items())
        rows.append([f"``{d.name}``", f"{d.group}: ``{d.target}``", d.describe(), when or "always"])
    return _list_table(["parameter", "sets", "range", "sampled when"], rows)


def _trial_seeds(settings: dict) -> str:
    k = settings.get("seeds_per_trial", 1)
    first = settings["seed"]
    return f"seed {first}" if k == 1 else f"seeds {first}–{first + k - 1} per trial, scored by the worst"


def search_results(out: Path) -> str:
    import shutil

    from tinyconv.search.ranking import merge_seed_scores, rank_key

    from lab import RESULTS_DIR

    text = []
    for folder in sorted((RESULTS_DIR / "search").glob("*/trials.json")):
        study = folder.parent.name
        data = read_results(folder.name, folder.parent)
        settings = data["settings"]
        done = [t for t in data["trials"] if t["state"] == "COMPLETE"]
        rescored, own = data.get("rescore", {}), settings["seed"]

        def others(t: dict) -> dict[str, float]:  # seeds a trial trained itself (--seeds-per-trial) or rescored
            return merge_seed_scores(t["user_attrs"], rescored.get(str(t["number"]), {}), own)

        def own_score(t: dict) -> float:
            return t["user_attrs"].get("seed_scores", {}).get(str(own), t["values"][0])

        def worst(t: dict) -> float:
            return -rank_key(t["values"][0], others(t).values(), [])[0]

        done.sort(key=lambda t: rank_key(t["values"][0], others(t).values(),
                                         t["user_attrs"].get("accuracies", [])))  # the export's order
        rows = [[str(t["number"]), f"{t['user_attrs']['params']:,}", f"{t['user_attrs'].get('macs') or 0:,}",
                 str(t["user_attrs"].get("receptive_field")), f"{own_score(t):.2f}",
                 ", ".join(f"{v:.2f} (seed {k})" for k, v in sorted(others(t).items(), key=lambda kv: int(kv[0])))
                 or "—", f"{worst(t):.2f}", f"{t['user_attrs'].get('seconds', 0):.0f}"] for t in done[:10]]
        states = {s: sum(t["state"] == s for t in data["trials"]) for s in ("COMPLETE", "PRUNED", "FAIL")}
        text += [study, "~" * len(study), "",
                 f"Budget {settings['budget']:,}, {settings['epochs']} epochs per trial, "
                 f"{_trial_seeds(settings)}; "
                 f"{len(data['trials'])} trials ({states['COMPLETE']} complete, {states['PRUNED']} pruned, "
                 f"{states['FAIL']} failed). Raw results: ``benchmarks/results/search/{study}/trials.json``. "
                 "The ten best by score (lowest validation accuracy of the last three epochs; for a trial "
                 "with more seeds, trained or rescored, the worst seed's):", "",
                 _list_table(["trial", "parameters", "MACs", "RF", f"score (seed {own})", "other seeds", "worst",
                              "seconds"], rows)]
        if states["COMPLETE"] < 5:  # a plot of fewer points says nothing a table does not
            text += [f"*No plots: {states['COMPLETE']} complete trial{'s' if states['COMPLETE'] != 1 else ''}.*", ""]
            continue
        for png in ("history.png", "pareto.png", "importances.png"):
            if (folder.parent / png).is_file():
                shutil.copy(folder.parent / png, out / f"search_{study}_{png}")
                text += _figure(f"search_{study}_{png}", f"{study} {png[:-4]}", f"{study}: {png[:-4]}.")
    return "\n".join(text) if text else "*No study is committed yet.*\n"


def sample_summary() -> str:
    """The results summary of seed 1 of a committed final run, as ``tinyconv train`` prints it."""
    from tinyconv.app.run import format_summary

    model = "st8k"
    data = _load(f"final_{model}.json")
    if data is None:
        return "*No committed run to show.*\n"
    history = History.from_dict(data["runs"]["1"]["history"])
    text = format_summary(history, data["params"], extra=[("files", f"runs/{model}/history.json, curves.png, "
                                                                    "checkpoint.pt")])
    import textwrap

    lines = [part for line in text.splitlines()  # wrapped to fit the page, continuations under the value
             for part in textwrap.wrap(line, 86, subsequent_indent=" " * 20, drop_whitespace=False) or [""]]
    return ".. code-block:: text\n\n" + "\n".join("   " + line for line in lines) + "\n"


def final_verdicts() -> str:
    """One sentence per model with committed final runs: the range, the mean, how many seeds pass."""
    from lab.measured import measured
    from tinyconv.zoo import list_models

    lines = []
    for name in list_models():
        m = measured(name)
        if m is None:
            continue
        lines.append(f"- ``{name}``: final test accuracy {min(m.finals):.2f}–{max(m.finals):.2f}% over "
                     f"{len(m.seeds)} seeds (mean {m.final_mean:.2f}%); {len(m.seeds_passing)} of {len(m.seeds)} "
                     f"seeds stay at or above 99.4% in each of the last three epochs; the lowest of those epochs "
                     f"is {m.last3_min:.2f}% (``{m.results}``, {machine_text(_load(f'final_{name}.json'))}).")
        lines += _further_runs(name)
    return "\n\n".join(lines) + "\n" if lines else "*No final runs are committed yet.*\n"  # blank lines: nested items


def _further_runs(name: str) -> list[str]:
    """Verdict sub-items for a model's runs beyond its final runs with the default settings: further seeds
    (``final_NAME_seeds*.json``) and reruns on another machine (``final_NAME_*_check.json``)."""
    from lab import RESULTS_DIR
    from lab.measured import Measured

    home = _load(f"final_{name}.json")["machine"]["cpu"]
    lines = []
    for path in sorted({*RESULTS_DIR.glob(f"final_{name}_seeds*.json"), *RESULTS_DIR.glob(f"final_{name}_*_check.json")}):
        data = _load(path.name)
        rerun = path.name.endswith("_check.json")
        if not data["cpu"]["channels_last"] or (rerun and data["machine"]["cpu"] == home):
            continue  # another rounding on the same machine, not another machine or other seeds
        m = Measured.from_results(data, f"benchmarks/results/{path.name}")
        where = "the same machine" if data["machine"]["cpu"] == home else machine_text(data)
        lines.append(f"  - seeds {_seed_list(m.seeds)} on {where}: {len(m.seeds_passing)} of {len(m.seeds)} pass; "
                     f"the lowest of their last three epochs is {m.last3_min:.2f}% (``{m.results}``).")
    return lines


def _seed_list(seeds) -> str:
    """``1–5`` for a run of consecutive seeds, else ``1, 3``."""
    numbers = sorted(int(s) for s in seeds)
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}–{numbers[-1]}"
    return ", ".join(map(str, numbers))


def zoo_descriptions() -> str:
    """One line per zoo entry: its description and default recipe (kept out of the table's width)."""
    from tinyconv.zoo import get_model_info, list_models

    return "\n".join(f"- ``{n}`` — {get_model_info(n).description} (recipe ``{get_model_info(n).recipe}``)."
                     for n in list_models()) + "\n"


def _literal(text: str) -> list[str]:
    return [".. code-block:: text", ""] + ["   " + line for line in text.rstrip().splitlines()] + [""]


def cli_reference() -> str:
    """Every subcommand's options from the parser itself, and real output of the quick commands."""
    import contextlib
    import io

    import os

    from tinyconv.cli import build_parser, main

    os.environ["COLUMNS"] = "88"  # argparse wraps help to the terminal; the page has a fixed width
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    text = []
    for name, command in sub.choices.items():
        text += [f"``tinyconv {name}``", "^" * (len(name) + 13), "", *_literal(command.format_help())]
        if name in ("models", "summary"):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                main([name] if name == "models" else [name, "model4"])
            text += [f"Output of ``tinyconv {name}{'' if name == 'models' else ' model4'}`` (run when these docs "
                     "were built):", "", *_literal(out.getvalue())]
    return "\n".join(text)


def goal_summary() -> str:
    """The speed goal against the committed runs, in sentences generated from them."""
    lines = []
    head = _load("throughput_head_to_head.json")
    if head is not None:
        r, classic = head["results"]["tinyconv"], head["results"]["classic"]["samples"]
        rounds = [m["train_images_per_s"] / c["train_images_per_s"] for m, c in zip(r["samples"], classic)]
        lines.append(f"In these interleaved rounds ``tinyconv`` reaches {r['train_ratio_to_classic']:.2f}× the "
                     f"classic pipeline's training throughput (median; rounds "
                     f"{', '.join(f'{x:.2f}' for x in rounds)}), so the 2× goal is met in "
                     f"{sum(x >= 2 for x in rounds)} of {len(rounds)} rounds and the 3× aim in "
                     f"{sum(x >= 3 for x in rounds)}.")
    for file, how in (("throughput_accuracy.json", "one after the other"),
                      ("throughput_accuracy_repeat.json", "one after the other, again"),
                      ("throughput_accuracy_lockstep.json", "in lock-step")):
        data = _load(file)
        if data is None:
            continue
        per_epoch = {name: sum(e["train_seconds"] for e in run["history"]["epochs"]) / len(run["history"]["epochs"])
                     for name, run in data["runs"].items()}
        lines.append(f"Whole 15-epoch runs {how} (``{file}``): {per_epoch['classic']:.1f} against "
                     f"{per_epoch['tinyconv']:.1f} s per training epoch, "
                     f"{per_epoch['classic'] / per_epoch['tinyconv']:.2f}×.")
    return "\n\n".join(lines) + "\n" if lines else "*Not measured yet.*\n"
