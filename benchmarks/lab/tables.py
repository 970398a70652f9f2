"""The one renderer of results: tables built from the committed JSON, as Markdown or RST.

Every table that quotes a measured figure — in the docs, in the README's results section
and in the Markdown files the benchmarks write beside their JSON — is built here from
the raw results, so a figure is never typed by hand. A :class:`Table` renders itself as
Markdown (:meth:`Table.to_markdown`) or as an RST list-table (:meth:`Table.to_rst`);
text between single backquotes is code in both.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.rates import wilson_interval
from tinyconv.exercise import EXERCISE_ACCURACY
from tinyconv.train.history import History

__all__ = [
    "Table",
    "machine_text",
    "zoo_table",
    "seed_reproduction_table",
    "final_runs_table",
    "final_summary_table",
    "readme_table",
    "speed_table",
    "accuracy_table",
    "time_to_target_table",
    "profile_table",
    "step_floor_text",
    "deploy_table",
    "BASELINE",
    "paired_score",
    "paired_reference",
    "paired_comparison",
    "paired_table",
    "time_to_accuracy_table",
    "time_to_accuracy_line",
]


@dataclass(frozen=True)
class Table:
    """A table of text cells.

    Attributes:
        header: Column titles.
        rows: Rows of cells (as many as the header).
        notes: Sentences that belong under the table (e.g. a mean over seeds).
    """

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    notes: Sequence[str] = field(default_factory=tuple)

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table, notes after it."""
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines + ([""] + list(self.notes) if self.notes else [])) + "\n"

    def to_rst(self) -> str:
        """An RST list-table (single backquotes become literals), notes after it."""
        lines = [".. list-table::", "   :header-rows: 1", ""]
        for row in [self.header, *self.rows]:
            cells = [_rst(cell) for cell in row]
            lines.append(f"   * - {cells[0]}")
            lines += [f"     - {cell}" for cell in cells[1:]]
        notes = [""] + [_rst(n) for n in self.notes] if self.notes else []
        return "\n".join(lines + notes) + "\n"


def _rst(text: str) -> str:
    return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)


def machine_text(data: dict[str, Any]) -> str:
    """``cpu (N cores, torch X)`` of a results file."""
    m = data["machine"]
    return f"{m['cpu']} ({m['cores']} cores, torch {m['torch']}{_threads(m)})"


def _threads(machine: dict[str, Any]) -> str:
    """``, 2 threads``: the intra-op threads a run used, when its results file records them."""
    threads = machine.get("torch_threads")
    return f", {threads} thread{'s' if threads != 1 else ''}" if threads else ""


def _accs(values: Sequence[float]) -> str:
    return ", ".join(f"{a:.2f}" for a in values)


def zoo_table() -> Table:
    """The zoo: parameters, budget, receptive field, MACs, the notebook's and our accuracy, shipped weights'."""
    from tinyconv.inspect.summary import summary
    from lab.measured import measured
    from tinyconv.zoo import get_model, get_model_info, list_models, list_weights

    shipped = {w.model: f"{w.test_accuracy:.2f}" for w in list_weights()}
    rows = []
    for name in list_models():
        info = get_model_info(name)
        result = summary(get_model(name), info.input_size)
        m = measured(name)
        ours = (f"{m.final_mean:.2f} ± {m.final_std:.2f} ({len(m.seeds)} seeds, "
                f"{len(m.seeds_passing)} pass)" if m else "—")
        rows.append([f"`{name}`", f"{info.num_params:,}", f"< {info.max_params:,}" if info.max_params else "—",
                     str(result.receptive_field[0]) if result.receptive_field else "?",
                     f"{result.total_macs:,}" if result.total_macs is not None else "?",
                     f"{info.notebook_best_test_accuracy:.2f}" if info.notebook_best_test_accuracy else "—", ours,
                     shipped.get(name, "—")])
    return Table(["model", "parameters", "budget", "RF", "MACs / image", "notebook's best (%)",
                  "final test acc. here", "shipped weights (%)"], rows)


def _lr_changes(history: History) -> str:
    lrs = history.column("lr")
    changes = [f"{b:g} after epoch {r.epoch}" for a, b, r in zip(lrs, lrs[1:], history.epochs) if b != a]
    return f"{lrs[0]:g} throughout" if not changes else f"{lrs[0]:g}, then " + ", ".join(changes)


def seed_reproduction_table(data: dict[str, Any], *, detailed: bool = True) -> Table:
    """The seed notebook's runs as reproduced here (``seed_reproduction.json``)."""
    rows = []
    for code in sorted(data["runs"]):
        run = data["runs"][code]
        history = History.from_dict(run["history"])
        best, recipe = history.best(), run["recipe"]
        row = [code, f"`{run['model']}`", f"{run['params']:,}", f"{recipe['augment']}, {recipe['scheduler']}",
               f"{best.test_accuracy:.2f} (epoch {best.epoch})", f"{history.epochs[-1].test_accuracy:.2f}"]
        if detailed:
            row += [_accs([r.test_accuracy for r in history.last(3)]),
                    f"{history.epochs[-1].train_accuracy:.2f}", _lr_changes(history)]
        rows.append(row)
    header = ["run", "model", "params", "augment, scheduler", "best test acc.", "final test acc."]
    if detailed:
        header += ["last 3 epochs", "final train acc.", "learning rate"]
    return Table(header, rows)


def _final_runs(data: dict[str, Any]) -> list[tuple[str, History, dict[str, Any]]]:
    runs = sorted(data["runs"].items(), key=lambda kv: int(kv[0]))
    return [(seed, History.from_dict(run["history"]), run) for seed, run in runs]


def final_runs_table(data: dict[str, Any]) -> Table:
    """One model's final runs, a row per seed (``final_<model>.json``)."""
    rows, finals = [], []
    averaged = bool(data["recipe"].get("ema_decay"))
    for seed, history, run in _final_runs(data):
        last3 = [r.test_accuracy for r in history.last(3)]
        finals.append(last3[-1])
        best = history.best()
        reached = history.time_to(EXERCISE_ACCURACY, stayed=True)
        row = [seed, _accs(last3), "yes" if min(last3) >= EXERCISE_ACCURACY else "no", f"{last3[-1]:.2f}",
               f"{best.test_accuracy:.2f} ({best.epoch})",
               f"epoch {reached[0]} ({reached[1]:.0f} s)" if reached else "—", f"{run['wall_seconds'] / 60:.1f} min"]
        if averaged:
            row.append(_accs([r.raw_test_accuracy or 0.0 for r in history.last(3)]))
        rows.append(row)
    header = ["seed", "last 3 test acc. (%)", f"all ≥ {EXERCISE_ACCURACY}", "final", "best (epoch)",
              f"≥ {EXERCISE_ACCURACY} for good from (time)", "wall time"] + (["training weights, last 3"] if averaged else [])
    spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
    notes = [f"Final test accuracy: mean {statistics.mean(finals):.2f} ± {spread:.2f} (std over "
             f"{len(finals)} seed{'s' if len(finals) != 1 else ''})."]
    if averaged:
        notes.append(f"Test accuracy is that of the weight average (decay {data['recipe']['ema_decay']}) the "
                     "recipe evaluates; the last column is the training weights' own.")
    return Table(header, rows, notes)


def _short_machine(machine: dict[str, Any]) -> str:
    """``Intel, torch 2.14.1, 2 threads``: CPU maker, torch release, and the threads each run used."""
    return f"{machine['cpu'].split('(')[0].split()[0]}, torch {machine['torch'].split('+')[0]}{_threads(machine)}"


def final_summary_table(results: dict[str, dict[str, Any]]) -> Table:
    """One row per model: parameters, last 3 epochs of every seed, mean final, verdict."""
    rows = []
    for name, data in results.items():
        runs = _final_runs(data)
        last3 = [[r.test_accuracy for r in h.last(3)] for _, h, _ in runs]
        finals = [acc[-1] for acc in last3]
        passing = sum(min(acc) >= EXERCISE_ACCURACY for acc in last3)
        spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
        minutes = [run["wall_seconds"] / 60 for _, _, run in runs]
        machine = _short_machine(data["machine"])
        rows.append([f"`{name}`", f"{data['params']:,}", " / ".join(_accs(a) for a in last3),
                     f"{statistics.mean(finals):.2f} ± {spread:.2f}", f"{passing} of {len(runs)}",
                     f"{min(minutes):.1f}–{max(minutes):.1f} min", machine])
    header = ["model", "params", "last 3 test acc., seed by seed", "final, mean ± std",
              f"seeds with all last 3 ≥ {EXERCISE_ACCURACY}", "wall time per run", "machine"]
    return Table(header, rows)


def readme_table(results: dict[str, dict[str, Any]]) -> Table:
    """The README's table: one row per model, parameters, MACs, mean final accuracy, seeds passing, shipped weights."""
    from tinyconv.zoo import list_weights

    shipped = {w.model: f"{w.test_accuracy:.2f}%" for w in list_weights()}
    rows = []
    for name, data in results.items():
        last3 = [[r.test_accuracy for r in h.last(3)] for _, h, _ in _final_runs(data)]
        finals = [acc[-1] for acc in last3]
        passing = sum(min(acc) >= EXERCISE_ACCURACY for acc in last3)
        spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
        rows.append([f"`{name}`", f"{data['params']:,}", f"{data['macs'] / 1e6:.2f} M",
                     f"{statistics.mean(finals):.2f} ± {spread:.2f}", f"{passing} / {len(last3)}",
                     shipped.get(name, "—"), _short_machine(data["machine"])])
    return Table(["model", "params", "MACs", "final test acc. (mean ± std)", "seeds passing / run",
                  "shipped weights", "machine"], rows)


def speed_table(data: dict[str, Any]) -> Table:
    """Throughput per configuration with its ratio to the classic pipeline (``throughput*.json``)."""
    rows = []
    classic = data["results"].get("classic")
    for name, r in data["results"].items():
        ratio, eratio = r["train_ratio_to_classic"], r["eval_ratio_to_classic"]
        samples = [s["train_images_per_s"] for s in r["samples"]]
        per_repeat = ("—" if classic is None or name == "classic" else ", ".join(
            f"{mine['train_images_per_s'] / theirs['train_images_per_s']:.2f}"
            for mine, theirs in zip(r["samples"], classic["samples"])))
        rows.append([f"`{name}`", f"{r['train_images_per_s']:,.0f}", f"{ratio:.2f}" if ratio else "—",
                     f"{min(samples):,.0f}–{max(samples):,.0f}", per_repeat,
                     f"{r['eval_images_per_s']:,.0f}", f"{eratio:.2f}" if eratio else "—"])
    return Table(["configuration", "train img/s", "× classic", "range over repeats", "× classic, each repeat",
                  "eval img/s", "× classic"], rows)


def accuracy_table(data: dict[str, Any]) -> Table:
    """Whole runs both ways at equal accuracy (``throughput_accuracy*.json``)."""
    rows = []
    for name, run in data["runs"].items():
        history = History.from_dict(run["history"])
        best = history.best()
        rows.append([f"`{name}`", f"{best.test_accuracy:.2f} (epoch {best.epoch})",
                     _accs([r.test_accuracy for r in history.last(3)]),
                     f"{statistics.mean(r.train_seconds for r in history.epochs):.1f}",
                     f"{run['wall_seconds'] / 60:.1f} min"])
    return Table(["run", "best test acc. (%)", "last 3 epochs (%)", "train s/epoch", "wall time"], rows)


def time_to_target_table(data: dict[str, Any], target: float = EXERCISE_ACCURACY) -> Table:
    """For each seed of a final run: the first epoch from which accuracy stayed ≥ target."""
    rows = []
    for seed, history, _ in _final_runs(data):
        reached = history.time_to(target, stayed=True)
        rows.append([seed, f"epoch {reached[0]}, {reached[1]:.0f} s" if reached else "not for good"])
    return Table(["seed", f"first epoch from which every epoch is ≥ {target}%, and the time until then"], rows)


def profile_table(data: dict[str, Any], top: int = 10) -> Table:
    """Self CPU time per operator of one training step, both memory formats (``profile_step.json``)."""
    plain, last = data["formats"]["contiguous"], data["formats"]["channels_last"]
    total_plain, total_last = sum(plain.values()), sum(last.values())
    names = sorted(set(plain) | set(last), key=lambda n: max(plain.get(n, 0.0), last.get(n, 0.0)), reverse=True)
    rows = [[f"`{name}`", f"{plain.get(name, 0.0):.2f}", f"{plain.get(name, 0.0) / total_plain:.0%}",
             f"{last.get(name, 0.0):.2f}", f"{last.get(name, 0.0) / total_last:.0%}"] for name in names[:top]]
    rows.append(["all operators", f"{total_plain:.1f}", "", f"{total_last:.1f}", ""])
    return Table(["operator", "contiguous ms", "share", "channels_last ms", "share"], rows)


def step_floor_text(data: dict[str, Any]) -> str:
    """The sentence comparing the measured step with its arithmetic floor (empty for results without one)."""
    if "floor_ms" not in data:
        return ""
    last = sum(data["formats"]["channels_last"].values())
    return (f"\nArithmetic floor: {data['macs_per_image']:,} multiply-accumulates per image, three passes, batch "
            f"{data['batch_size']}, at {data['matmul_gflops']:.0f} GFLOP/s (a 1024x1024 float32 matrix product in "
            f"this process): {data['floor_ms']:.2f} ms per step; the channels_last step takes "
            f"{last / data['floor_ms']:.1f} times that.\n")


def batch_sweep_table(data: dict[str, Any]) -> Table:
    """Wall-clock step time by batch size and memory format, with each size's time per image beside the first's.

    ``data["sweep"]`` maps a batch size to ``{"contiguous": [ms, ...], "channels_last": [ms, ...]}``;
    each cell is the median of its measurements, and the per-image time takes the faster format.
    """
    sweep = data["sweep"]
    per_image = {batch: min(statistics.median(times) for times in formats.values()) / int(batch) * 1000
                 for batch, formats in sweep.items()}
    first = per_image[next(iter(sweep))]
    rows = [[batch, f"{statistics.median(formats['contiguous']):.1f}", f"{statistics.median(formats['channels_last']):.1f}",
             f"{per_image[batch]:.0f}", f"{first / per_image[batch]:.2f}x"] for batch, formats in sweep.items()]
    repeats = len(next(iter(sweep.values()))["contiguous"])
    return Table(["batch", "contiguous ms/step", "channels_last ms/step", "µs per image (faster format)",
                  f"images/s against batch {next(iter(sweep))}"], rows,
                 [f"Median of {repeats} interleaved measurements each, a fresh model every time."])


def deploy_table(data: dict[str, Any]) -> Table:
    """fp32 against int8 per trained run: accuracy, agreement, file sizes, peak RAM (``deploy.json``)."""
    rows = []
    for r in data["runs"]:
        n = r["test_images"]
        rows.append([f"`{r['model']}` (seed {r['seed']})", f"{r['params']:,}", f"{100 * r['pytorch_correct'] / n:.2f}",
                     f"{100 * r['onnx']['fp32']['correct'] / n:.2f}", f"{100 * r['onnx']['int8']['correct'] / n:.2f}",
                     f"{r['onnx']['int8']['same_predictions']:,} / {n:,}",
                     f"{r['file_bytes']['fp32']:,} / {r['file_bytes']['int8']:,}",
                     f"{r['weights_bytes']['fp32']:,} / {r['weights_bytes']['int8']:,}",
                     f"{r['peak_activation_bytes']['fp32']:,} / {r['peak_activation_bytes']['int8']:,}"])
    notes = [f"int8: static quantization (QDQ, per-channel weights) calibrated on the first "
             f"{data['runs'][0]['calibration_images']:,} training images; every figure on all {data['runs'][0]['test_images']:,} "
             "test images."] if data["runs"] else []
    return Table(["run", "params", "PyTorch test acc.", "ONNX fp32", "ONNX int8", "int8 predictions = PyTorch's",
                  "ONNX file bytes fp32 / int8", "weight bytes fp32 / int8", "peak activation bytes fp32 / int8"],
                 rows, notes)


def deploy_c_table(data: dict[str, Any]) -> Table:
    """int8 C per shipped model: flash, RAM, accuracy on the host and the emulated board (``deploy_c.json``)."""
    rows = []
    for r in data["runs"]:
        d, h, n = r["device"], r["host"], r["test_images"]
        on_board = "board" in d
        rows.append([f"`{r['model']}`", f"{r['params']:,}",
                     f"{d['flash_bytes']:,}" if on_board else "—", f"{d['ram_bytes']:,}" if on_board else "—",
                     f"{d['stack_bytes']:,}" if on_board else "—",
                     f"{r['summary_int8']['weights']:,} / {r['summary_int8']['peak_activations']:,}",
                     f"{100 * r['pytorch_correct'] / n:.2f}", f"{100 * h['correct'] / n:.2f}",
                     f"{h['scores_equal_reference']:,} / {n:,}", f"{h['same_as_pytorch']:,} / {n:,}",
                     f"{100 * d['correct'] / d['images']:.2f} ({d['images']:,} images)" if on_board else "skipped",
                     f"{d['scores_equal_host']:,} / {d['images']:,}" if on_board else "—"])
    first = data["runs"][0] if data["runs"] else None
    notes = [f"Calibrated on the first {first['calibration_images']:,} training images; host figures on all "
             f"{first['test_images']:,} test images. Flash: the model object's code + constants; RAM: its "
             "data + bss (the arena); stack: the deepest one prediction used, measured on the board."] if first else []
    return Table(["model", "params", "flash B", "RAM B", "stack B", "summary int8 weights / peak B",
                  "PyTorch fp32 %", "C on host %", "host scores = integer reference", "host predictions = PyTorch's",
                  "Cortex-M4 (QEMU) %", "board scores = host's"], rows, notes)


BASELINE = "baseline"
"""The variant name of a model's own recipe in a paired comparison."""


def paired_score(run: dict[str, Any]) -> float:
    """The criterion on the validation split: the lowest accuracy of the last three epochs."""
    return min(r.test_accuracy for r in History.from_dict(run["history"]).last(3))


def paired_reference(data: dict[str, Any]) -> str:
    """The variant every other is compared with: the file's ``reference``, or :data:`BASELINE` (the model's own recipe)."""
    return str(data.get("reference", BASELINE))


def paired_comparison(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each change against the reference (:func:`paired_reference`) on the seeds both ran.

    Args:
        data: The results file's contents.

    Returns:
        By variant: ``seeds``, per-seed ``differences``, their ``mean`` and standard
        ``error`` (``nan`` with fewer than two seeds), and ``wins`` (mean above two errors).
    """
    by_variant: dict[str, dict[int, float]] = {}
    for run in data["runs"].values():
        by_variant.setdefault(run["variant"], {})[run["seed"]] = paired_score(run)
    reference = paired_reference(data)
    base = by_variant.get(reference, {})
    out = {}
    for variant, scores in sorted(by_variant.items()):
        if variant == reference:
            continue
        seeds = sorted(set(scores) & set(base))
        diffs = [scores[s] - base[s] for s in seeds]
        mean = statistics.mean(diffs) if diffs else math.nan
        error = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
        out[variant] = {"seeds": seeds, "differences": diffs, "mean": mean, "error": error,
                        "wins": bool(len(diffs) > 1 and mean > 2 * error)}
    return out


def paired_table(data: dict[str, Any]) -> Table:
    """A recipe change beside a model's own recipe (``paired_<model>_*.json``): a row per seed, the verdict under it."""
    reference = paired_reference(data)
    variants = sorted({run["variant"] for run in data["runs"].values()}, key=lambda v: (v != reference, v))
    seeds = sorted({run["seed"] for run in data["runs"].values()})
    rows = []
    for seed in seeds:
        row = [str(seed)]
        for variant in variants:
            run = data["runs"].get(f"{variant}/seed{seed}")
            if run is None:
                row.append("—")
                continue
            last3 = [r.test_accuracy for r in History.from_dict(run["history"]).last(3)]
            row.append(", ".join(f"{a:.2f}" for a in last3) + f" (min {min(last3):.2f}, {run['wall_seconds'] / 60:.1f} min)")
        rows.append(row)
    notes = []
    for variant, result in paired_comparison(data).items():
        first = next(run for run in data["runs"].values() if run["variant"] == variant)
        settings = ({"network": f"{first['network']} ({first['params']:,} parameters)"} if "network" in first else {}) \
            | first["overrides"]
        passing = sum(paired_score(run) >= EXERCISE_ACCURACY for run in data["runs"].values() if run["variant"] == variant)
        total = sum(run["variant"] == variant for run in data["runs"].values())
        notes.append(f"`{variant}` ({', '.join(f'{k}={v}' for k, v in settings.items())}) minus `{reference}` over "
                     f"{len(result['seeds'])} seed{'s' if len(result['seeds']) != 1 else ''}: {result['mean']:+.3f} (standard error {result['error']:.3f}) — "
                     f"{'wins' if result['wins'] else 'does not win'} by the rule (mean above two standard errors); "
                     f"{passing} of {total} of its runs keep all last three epochs ≥ {EXERCISE_ACCURACY}.")
    base = [run for run in data["runs"].values() if run["variant"] == reference]
    if base:
        notes.append(f"`{reference}`: {sum(paired_score(r) >= EXERCISE_ACCURACY for r in base)} of {len(base)} runs keep all "
                     f"last three epochs ≥ {EXERCISE_ACCURACY}.")
    return Table(["seed", *(f"`{v}` last 3 validation acc. (%)" for v in variants)], rows, notes)


def _time_groups(runs: Sequence[dict[str, Any]]) -> dict[tuple[str, int, str], list[dict[str, Any]]]:
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["entry"], run["threads"], run["device"]), []).append(run)
    return groups


def time_to_accuracy_table(data: dict[str, Any]) -> Table:
    """Whole-process time to a verdict (``time_to_accuracy.json``), per entry, device and thread count.

    Args:
        data: The results, with a ``runs`` dict of ``{entry, model, recipe, params, epochs, device, threads,
            wall_s, last_three, passed}``.

    Returns:
        Runs, epochs, median and range of wall time, pass rate with its 95% Wilson interval, worst epoch.
    """
    rows = []
    for (label, threads, device), runs in sorted(_time_groups(list(data["runs"].values())).items()):
        walls = sorted(r["wall_s"] for r in runs)
        passed = sum(r["passed"] for r in runs)
        low, high = wilson_interval(passed, len(runs))
        first = runs[0]
        rows.append((label, f"{_model_label(first['model'])} ({first['params']:,})", first["recipe"], str(first["epochs"]),
                     f"{device}, {threads}", str(len(runs)), f"{statistics.median(walls):.0f} s",
                     f"{walls[0]:.0f}–{walls[-1]:.0f} s", f"{passed}/{len(runs)} ({100 * low:.0f}–{100 * high:.0f}%)",
                     f"{min(min(r['last_three']) for r in runs):.2f}"))
    return Table(("entry", "model (params)", "recipe", "epochs", "device, threads", "runs", "median wall",
                  "min–max", "passed (95% Wilson)", "worst of last 3"), rows,
                 ("Wall time: the whole `tinyconv train` process, start to exit. Passed: all of the last three "
                  "epochs' test accuracies ≥ 99.4%.",))


def _model_label(model: str) -> str:
    """A model as a results line names it: a zoo name as it is, a spec file by its stem."""
    return Path(model).stem if model.endswith(".json") else model


def time_to_accuracy_line(data: dict[str, Any]) -> str:
    """The time-to-accuracy results in one sentence: per entry, its recipe, median wall time and passes.

    Args:
        data: The results of ``benchmarks/time_to_accuracy.py``.

    Returns:
        ``"`st8k-fast` (st8k, 8 epochs, cpu, 2 threads) median 155 s, 16 of 20 runs passed; ..."``, slowest entry last.
    """
    groups = sorted(_time_groups(list(data["runs"].values())).values(),
                    key=lambda runs: statistics.median(r["wall_s"] for r in runs))
    def name(run: dict[str, Any]) -> str:
        return "the seed notebook's pipeline" if run["entry"] == "seed" else f"`{run['recipe']}`"

    return "; ".join(f"{name(runs[0])} ({_model_label(runs[0]['model'])}, {runs[0]['epochs']} epochs, {runs[0]['device']}, "
                     f"{runs[0]['threads']} thread{'s' if runs[0]['threads'] != 1 else ''}) median "
                     f"{statistics.median(r['wall_s'] for r in runs):.0f} s, {sum(r['passed'] for r in runs)} of "
                     f"{len(runs)} run{'s' if len(runs) != 1 else ''} passed" for runs in groups)
