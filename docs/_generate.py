"""Generate the docs' tables and figures from the registry and the committed results."""

from __future__ import annotations

import json
from pathlib import Path

from tinyconv.summary import summary
from tinyconv.train.history import History
from tinyconv.train.plot import plot_history
from tinyconv.zoo import get_model, get_model_info, list_models

RESULTS = Path(__file__).parent.parent / "benchmarks" / "results"


def _table(header: list[str], rows: list[list[str]]) -> str:
    """An RST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def zoo_table() -> str:
    rows = []
    for name in list_models():
        info = get_model_info(name)
        result = summary(get_model(name), info.input_size)
        measured = info.extra.get("measured_test_accuracy")
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
    path = RESULTS / "seed_reproduction.json"
    if not path.is_file():
        return "*No reproduction results are committed yet.*\n"
    data = json.loads(path.read_text())
    machine = data["machine"]
    text = [
        f"Measured with ``{data['command']}`` on {machine['cpu']} ({machine['cores']} cores, "
        f"torch {machine['torch']}), pipeline ``{data['pipeline']}``. Raw results: "
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


def generate(out: Path) -> None:
    """Write ``zoo_table.rst``, ``seed_reproduction.rst`` and curve PNGs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "zoo_table.rst").write_text(zoo_table())
    (out / "seed_reproduction.rst").write_text(seed_reproduction(out))
