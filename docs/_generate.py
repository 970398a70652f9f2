"""Generate the docs' tables and figures from the registry and the committed results."""

from __future__ import annotations

import functools
import json
import statistics
from pathlib import Path

from tinyconv.inspect.summary import summary
from tinyconv.train.history import History
from tinyconv.train.plot import plot_history
from tinyconv.zoo import get_model, get_model_info, list_models

RESULTS = Path(__file__).parent.parent / "benchmarks" / "results"


def _load(name: str) -> dict | None:
    """A committed results file, or ``None`` if it is not there."""
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _machine(data: dict) -> str:
    """``cpu (N cores, torch X)`` of a results file."""
    m = data["machine"]
    return f"{m['cpu']} ({m['cores']} cores, torch {m['torch']})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An RST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def _measured(measured: dict | None) -> str:
    """Describe a zoo entry's measured test accuracy, with a link to its results file."""
    if not measured:
        return "—"
    return (f"{measured['final_mean']:.2f} ± {measured['final_std']:.2f} final, lowest of the last 3 epochs "
            f"{measured['last3_min']:.2f} ({measured['seeds']} seeds, ``{measured['results']}``)")


def zoo_table() -> str:
    rows = []
    for name in list_models():
        info = get_model_info(name)
        result = summary(get_model(name), info.input_size)
        measured = _measured(info.extra.get("measured"))
        rows.append([
            f"``{name}``",
            f"{info.num_params:,}",
            "< {:,}".format(info.max_params) if info.max_params else "—",
            f"{result.receptive_field[0]}" if result.receptive_field else "?",
            f"{result.total_macs:,}" if result.total_macs is not None else "?",
            f"{info.seed_best_test_accuracy:.2f}" if info.seed_best_test_accuracy else "—",
            measured or "—",
            info.description,
        ])
    header = ["model", "parameters", "budget", "receptive field", "MACs / image",
              "seed's best test acc. (%)", "measured here", "description"]
    return _table(header, rows)


def _lr_changes(history: History) -> str:
    """Describe the learning-rate schedule a run actually followed."""
    lrs = history.column("lr")
    changes = [f"{b:g} after epoch {r.epoch}" for a, b, r in zip(lrs, lrs[1:], history.epochs) if b != a]
    return f"{lrs[0]:g} throughout" if not changes else f"{lrs[0]:g}, then " + ", ".join(changes)


def seed_reproduction(out: Path) -> str:
    data = _load("seed_reproduction.json")
    if data is None:
        return "*No reproduction results are committed yet.*\n"
    text = [
        f"Measured with ``{data['command']}`` on {_machine(data)}, pipeline ``{data['pipeline']}``. Raw results: "
        "``benchmarks/results/seed_reproduction.json``.",
        "",
    ]
    rows = []
    for code in sorted(data["runs"]):
        run = data["runs"][code]
        history = History.from_dict(run["history"])
        best = history.best()
        recipe = run["recipe"]
        rows.append([
            code,
            f"``{run['model']}``",
            f"{run['params']:,}",
            f"augment={recipe['augment']}, scheduler={recipe['scheduler']}",
            f"{best.test_accuracy:.2f} (epoch {best.epoch})",
            ", ".join(f"{r.test_accuracy:.2f}" for r in history.last(3)),
            f"{history.epochs[-1].train_accuracy:.2f}",
            _lr_changes(history),
        ])
        plot_history(history, out / f"curves_{code}.png", title=f"{code}: {run['model']}")
    text.append(_table(["run", "model", "parameters", "recipe", "best test acc. (%)",
                        "last 3 epochs (%)", "final train acc. (%)", "learning rate"], rows))
    for code in sorted(data["runs"]):
        text += ["", f".. figure:: /generated/curves_{code}.png", f"   :alt: training curves of {code}", "",
                 f"   {code}: loss and accuracy by epoch, as measured here.", ""]
    return "\n".join(text)


def selection() -> str:
    data = _load("selection.json")
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
    intro = (f"Measured with ``python benchmarks/select_recipe.py`` on {_machine(data)}; raw results: ``benchmarks/results/selection.json``. Every candidate "
             "trained on the first 50,000 training images (seed 1) and was scored on the last 10,000: the score "
             "is the mean validation accuracy of its last three epochs. The test set was not loaded.\n\n")
    return intro + _table(["candidate", "group", "parameters", "model", "recipe", "last 3 val. acc. (%)", "score"],
                          rows)


def selection_average() -> str:
    data = _load("selection_average.json")
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
    intro = (f"Measured with ``{data['command']}`` on {_machine(data)}; raw results: "
             "``benchmarks/results/selection_average.json``. Trained on the first 50,000 training images, scored "
             "on the last 10,000; score = mean over seeds 1 and 2 of the mean validation accuracy of the last "
             "three epochs. The \"none\" rows are the training weights of the same runs.\n\n")
    return intro + _table(["base candidate", "group", "weight average (decay)", "seed 1: last 3 val. acc. (%)",
                           "seed 2: last 3 val. acc. (%)", "score"], rows)


def selection_criterion() -> str:
    data = _load("selection_criterion.json")
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
    intro = (f"Measured with ``{data['command']}`` on {_machine(data)}; raw results: "
             "``benchmarks/results/selection_criterion.json`` (seeds 1 and 2 are stage 2's runs). Trained on the "
             "first 50,000 training images, scored on the last 10,000; score = mean over seeds 1–3 of the *lowest* "
             "validation accuracy of the last three epochs.\n\n")
    return intro + _table(["base candidate", "group", "weight average (decay)", "seed 1: last 3 (%)",
                           "seed 2: last 3 (%)", "seed 3: last 3 (%)", "score", "mean of last 3"], rows)


def final_results(out: Path) -> str:
    text = []
    for name in ("tc8k", "tc5k"):
        data = _load(f"final_{name}.json")
        if data is None:
            text.append(f"*No final results for ``{name}`` are committed yet.*\n")
            continue
        rows, finals = [], []
        for seed, run in sorted(data["runs"].items(), key=lambda kv: int(kv[0])):
            history = History.from_dict(run["history"])
            last3 = [r.test_accuracy for r in history.last(3)]
            finals.append(last3[-1])
            best = history.best()
            averaged = [r.raw_test_accuracy for r in history.last(3)]
            raw = ", ".join(f"{a:.2f}" for a in averaged) if None not in averaged else "—"
            rows.append([seed, ", ".join(f"{a:.2f}" for a in last3), "yes" if min(last3) >= 99.4 else "no",
                         f"{best.test_accuracy:.2f} (epoch {best.epoch})", raw,
                         f"{run['wall_seconds'] / 60:.1f} min"])
            if seed == "1":
                plot_history(history, out / f"curves_{name}.png", title=f"{name} (seed 1)")
        text += [
            f"``{name}``: {data['params']:,} parameters, {data['macs']:,} MACs per image, receptive field "
            f"{data['receptive_field']}. Measured with ``{data['command']}`` on {_machine(data)}; raw results: ``benchmarks/results/final_{name}.json``.",
            "",
            _table(["seed", "last 3 test acc. (%)", "all ≥ 99.4", "best (epoch)",
                    "training weights, last 3 (%)", "wall time"], rows),
            f"Final test accuracy over {len(finals)} seeds: mean {statistics.mean(finals):.2f} "
            f"± {statistics.stdev(finals) if len(finals) > 1 else 0.0:.2f} (standard deviation).",
            "",
            f".. figure:: /generated/curves_{name}.png",
            f"   :alt: training curves of {name}",
            "",
            f"   {name}, seed 1: loss and accuracy by epoch, as measured here.",
            "",
        ]
    return "\n".join(text)


def _speed_section(data: dict, file: str = "throughput.json") -> list[str]:
    rows = []
    classic = data["results"].get("classic")
    for name, r in data["results"].items():
        ratio, eratio = r["train_ratio_to_classic"], r["eval_ratio_to_classic"]
        train_samples = [sample["train_images_per_s"] for sample in r["samples"]]
        # Repeat i of every configuration ran in the same round as repeat i of classic.
        per_repeat = ("—" if classic is None or name == "classic" else ", ".join(
            f"{mine['train_images_per_s'] / theirs['train_images_per_s']:.2f}"
            for mine, theirs in zip(r["samples"], classic["samples"])))
        rows.append([f"``{name}``", f"{r['train_images_per_s']:,.0f}", f"{ratio:.2f}" if ratio else "—",
                     f"{min(train_samples):,.0f}–{max(train_samples):,.0f}", per_repeat,
                     f"{r['eval_images_per_s']:,.0f}", f"{eratio:.2f}" if eratio else "—"])
    timed = (f"{data['train_batches']} training steps" if data["train_batches"]
             else "one whole training epoch (60,000 images, from the start of a fresh pass)")
    intro = (f"Measured with ``{data['command']}`` on {_machine(data)}: model4, batch 128 unless noted, median "
             f"of {data['repeats']} interleaved repeats, each in a fresh process timing {timed} after 10 warm-up "
             "steps, and one pass over the 10,000 test images. Raw results: "
             f"``benchmarks/results/{file}``.")
    return [intro, "", _table(["configuration", "train img/s", "× classic", "range over repeats",
                               "× classic, each repeat", "eval img/s", "× classic"], rows)]


def _accuracy_section(data: dict, file: str = "throughput_accuracy.json") -> list[str]:
    rows = []
    for name, run in data["runs"].items():
        history = History.from_dict(run["history"])
        best = history.best()
        train_seconds = statistics.mean(r.train_seconds for r in history.epochs)
        rows.append([f"``{name}``", f"{best.test_accuracy:.2f} (epoch {best.epoch})",
                     ", ".join(f"{r.test_accuracy:.2f}" for r in history.last(3)),
                     f"{train_seconds:.1f}", f"{run['wall_seconds'] / 60:.1f} min"])
    how = ("at the same time in two processes taking turns epoch by epoch (wall time: the sum of a run's own "
           "epochs)" if data.get("lockstep") else "one run after the other")
    intro = (f"Equal accuracy: ``{data['command']}`` trained model4 with the seed's recipe for 15 epochs both "
             f"ways, {how}, on {_machine(data)}. Raw results: ``benchmarks/results/{file}``.")
    return [intro, "", _table(["run", "best test acc. (%)", "last 3 epochs (%)", "train s/epoch", "wall time"], rows),
            ""]


def _time_to_target_section(data: dict, target: float = 99.4) -> list[str]:
    rows = []
    for seed, run in sorted(data["runs"].items(), key=lambda kv: int(kv[0])):
        reached = History.from_dict(run["history"]).time_to(target)
        rows.append([seed, f"epoch {reached[0]}, {reached[1]:.0f} s" if reached else "not reached"])
    intro = (f"Time to {target}% test accuracy with the best under-8k recipe (``tc8k``, from its final runs, "
             "``benchmarks/results/final_tc8k.json``; training and evaluation time summed over epochs):")
    return [intro, "", _table(["seed", f"first epoch at ≥ {target}% and wall time until then"], rows)]


def _dropout_mask_section(data: dict) -> list[str]:
    costs = ", ".join(f"{name} {ms:.2f} ms" for name, ms in data["median_ms"].items())
    return [f"One dropout layer alone (``{data['command'].strip()}``, {data['elements']:,} activations, "
            f"{data['threads']} threads, forward and backward, median): {costs}. Raw results: "
            "``benchmarks/results/dropout_mask.json``.", ""]


def throughput() -> str:
    accuracy_files = ("throughput_accuracy.json", "throughput_accuracy_repeat.json",
                      "throughput_accuracy_lockstep.json")
    sections = [("throughput.json", _speed_section), ("dropout_mask.json", _dropout_mask_section)]
    sections += [(file, functools.partial(_accuracy_section, file=file)) for file in accuracy_files]
    sections.append(("final_tc8k.json", _time_to_target_section))
    text = []
    for name, section in sections:
        data = _load(name)
        if data is not None:
            text += section(data)
    return "\n".join(text) if text else "*No throughput results are committed yet.*\n"


def throughput_head_to_head() -> str:
    data = _load("throughput_head_to_head.json")
    return "\n".join(_speed_section(data, "throughput_head_to_head.json")) if data else "*Not measured yet.*\n"


def throughput_omp() -> str:
    data = _load("throughput_omp.json")
    return "\n".join(_speed_section(data, "throughput_omp.json")) if data else "*Not measured yet.*\n"


def profile_step() -> str:
    data = _load("profile_step.json")
    if data is None:
        return "*Not measured yet.*\n"
    plain, last = data["formats"]["contiguous"], data["formats"]["channels_last"]
    total_plain, total_last = sum(plain.values()), sum(last.values())
    names = sorted(set(plain) | set(last), key=lambda n: max(plain.get(n, 0.0), last.get(n, 0.0)), reverse=True)
    rows = [[f"``{name}``", f"{plain.get(name, 0.0):.2f}", f"{plain.get(name, 0.0) / total_plain:.0%}",
             f"{last.get(name, 0.0):.2f}", f"{last.get(name, 0.0) / total_last:.0%}"]
            for name in names[:10]]
    rows.append(["all operators", f"{total_plain:.1f}", "", f"{total_last:.1f}", ""])
    intro = (f"Self CPU time per training step of model4 (batch 128, FastDropout, SplitBiasConv2d, allocator "
             f"tuning; the channels_last column with ``use_channels_last``, as ``tinyconv train`` does), mean over "
             f"{data['steps']} steps, measured with ``{data['command']}`` on {_machine(data)}. Raw results: "
             "``benchmarks/results/profile_step.json``.\n\n")
    return intro + _table(["operator", "contiguous ms", "share", "channels_last ms", "share"], rows)


def generate(out: Path) -> None:
    """Write the generated tables (``.rst``) and curve PNGs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "zoo_table.rst").write_text(zoo_table())
    (out / "seed_reproduction.rst").write_text(seed_reproduction(out))
    (out / "selection.rst").write_text(selection())
    (out / "selection_average.rst").write_text(selection_average())
    (out / "selection_criterion.rst").write_text(selection_criterion())
    (out / "final_results.rst").write_text(final_results(out))
    (out / "throughput.rst").write_text(throughput())
    (out / "throughput_omp.rst").write_text(throughput_omp())
    (out / "throughput_head_to_head.rst").write_text(throughput_head_to_head())
    (out / "profile_step.rst").write_text(profile_step())
