"""A finished run read back: its trained model rebuilt from the checkpoint, evaluated on the test set.

Every checkpoint :func:`~tinyconv.app.run.train_net` writes records the model's
reference (:class:`~tinyconv.app.refs.ModelRef`), so :func:`load_trained` rebuilds the
network and loads the weights that were evaluated (the weight average when the recipe
kept one). When the source moved or changed, the run folder's copy of it builds the model;
a run trained from a Python object (a notebook's network) is read from the folder's
exported program, ``model.pt2`` (see :mod:`tinyconv.app.keep`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinyconv.app.keep import PROGRAM, sha256_of, source_file
from tinyconv.app.refs import ModelRef, ModelRefError, parse_model_ref
from tinyconv.data.batches import TensorBatches, normalise
from tinyconv.data.mnist import load_mnist
from tinyconv.data.folders import data_folder
from tinyconv.data.sources import ImageData
from tinyconv.deploy.program import load_program
from tinyconv.train.checkpoint import CheckpointMismatchError, check_state_matches, load_checkpoint
from tinyconv.train.loop import EvalResult, evaluate
from tinyconv.zoo import UnknownModelError

__all__ = ["UnbuildableCheckpointError", "load_trained", "run_images", "evaluate_on_test", "evaluate_trained"]


class UnbuildableCheckpointError(ValueError):
    """A checkpoint holds weights tinyconv cannot put back into a network (no way to rebuild it)."""


def _reference(meta: dict[str, Any]) -> ModelRef | None:
    """The checkpoint's model reference (a zoo name for runs written before references existed; ``None`` for objects)."""
    if meta.get("model_ref") is not None:
        return ModelRef.from_dict(meta["model_ref"])
    name = meta.get("model")
    if "model_ref" in meta or not isinstance(name, str):
        return None
    return ModelRef("zoo", name)


def _from_reference(ref: ModelRef, meta: dict[str, Any], folder: Path) -> tuple[nn.Module, str]:
    """Build from the reference while its source is the one that trained; else from the run's copy of it."""
    kept = meta.get("source")
    if kept is None or ref.kind not in ("file", "import"):
        return ref.build(), "reference"
    original = source_file(ref)
    if original is not None and sha256_of(original) == kept["sha256"]:
        return ref.build(), "reference"
    copy = folder / kept["copy"]
    if not copy.is_file() or sha256_of(copy) != kept["sha256"]:
        raise ModelRefError(f"its source {kept['path']} changed or moved, and the run's copy {copy} is missing "
                            "or altered")
    attribute = ref.target.rpartition(":")[2]
    return ModelRef("file", f"{copy.resolve()}:{attribute}", ref.kwargs).build(), f"the run's copy {kept['copy']}"


def load_trained(source: str | os.PathLike[str], *,
                 model: nn.Module | ModelRef | str | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model of a run: its weight average when it kept one, else its final weights.

    A run folder is self-contained: the model is rebuilt from its reference while the source
    file is the one that trained (same SHA-256), else from the folder's copy of that file
    (``source/``), else it is the folder's exported program (``model.pt2``: also for a network
    built in a notebook). ``model`` puts the weights into a model of your choosing instead.
    Shipped weights load through the one constructor: ``tinyconv.zoo.get_model("st8k", weights="mnist")``.

    Args:
        source: A run folder (holding ``checkpoint.pt``) or a checkpoint file.
        model: The network to load the weights into: a model object, a :class:`ModelRef` or a
            reference such as ``"moved/mynet.py:Net"`` (the CLI's ``--model``).

    Returns:
        ``(model, meta)``, the model in eval mode; ``meta`` is the run's history metadata, with
        ``"loaded_from"`` saying which of the above built it.

    Raises:
        FileNotFoundError: If there is no checkpoint there.
        ValueError: If the file is not a tinyconv checkpoint or is damaged.
        UnbuildableCheckpointError: If nothing builds the model (each way tried is named), or
            the model given does not take the weights.
    """
    path = Path(source)
    folder = path if path.is_dir() else path.parent
    _refuse_missing(path)
    state = load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path)
    meta = dict(state.get("history", {}).get("meta", {}))
    trained = state["average"]["module"] if state.get("average") else state["model"]
    if model is not None:
        net = model if isinstance(model, nn.Module) else (
            model if isinstance(model, ModelRef) else parse_model_ref(model)).build()
        return _with_weights(net, trained, source, "the model given"), {**meta, "loaded_from": "the model given"}
    tried = []
    ref = _reference(meta)
    if ref is not None:
        try:
            net, how = _from_reference(ref, meta, folder)
            return _with_weights(net, trained, source, f"{meta.get('model')!r} as built today"), {**meta, "loaded_from": how}
        except (ModelRefError, UnknownModelError, UnbuildableCheckpointError) as error:
            tried.append(f"{ref.kind} reference {ref.target!r}: {str(error).splitlines()[0]}")
    else:
        tried.append("no reference (trained from a Python object)")
    program = folder / PROGRAM
    if program.is_file():
        return load_program(program), {**meta, "loaded_from": PROGRAM}
    tried.append(f"no {PROGRAM} (written when a run ends)")
    raise UnbuildableCheckpointError(f"{source}: cannot rebuild {meta.get('model') or 'its model'!r}: "
                                     f"{'; '.join(tried)}. Give the network: load_trained(run, model=...) "
                                     "(tinyconv eval/predict/export RUN --model REF)")


def _refuse_missing(path: Path) -> None:
    """A run folder or checkpoint that is not there: say what was probably meant."""
    if path.is_file() or (path / "checkpoint.pt").is_file():
        return
    if path.is_dir():
        raise FileNotFoundError(f"no checkpoint.pt in {path}: a run writes it after its first epoch; give a run "
                                "folder (tinyconv train ... --out FOLDER) or a checkpoint file")
    from tinyconv.zoo import list_weights

    shipped = sorted({w.tag for w in list_weights() if w.model == str(path)})
    if shipped:
        raise FileNotFoundError(f"no run folder {path}: {path} is a zoo model; for its shipped weights add "
                                f"--weights {shipped[0]} (Python: get_model({str(path)!r}, weights={shipped[0]!r}))")
    raise FileNotFoundError(f"no run folder or checkpoint {path} (in {Path.cwd()}); give the folder a training wrote "
                            "(tinyconv train ... --out FOLDER), or a zoo name with --weights")


def _with_weights(net: nn.Module, trained: dict[str, torch.Tensor], source: Any, what: str) -> nn.Module:
    try:
        check_state_matches(net, trained)
    except CheckpointMismatchError as error:
        raise UnbuildableCheckpointError(f"{source}: {what} does not take the checkpoint's weights "
                                         f"({str(error).splitlines()[0]})") from None
    net.load_state_dict({k: v.contiguous() for k, v in trained.items()})
    return net.eval()


def run_images(meta: dict[str, Any], root: str | os.PathLike[str] | None = None,
               data: ImageData | str | os.PathLike[str] | None = None, *, train: bool = False,
               limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The images a run's model was made for, normalised the way it trained: MNIST's, or ``data``'s.

    Args:
        meta: The run's metadata (``meta["data"]`` says what it trained on).
        root: MNIST root.
        data: The run's data when it was not MNIST (an :class:`ImageData` or an IDX folder).
        train: The training split instead of the test split.
        limit: At most this many images.

    Returns:
        ``(normalised images, labels)``.

    Raises:
        ValueError: If the run trained on other data and ``data`` is not given.
    """
    described = meta.get("data") or {"name": "MNIST"}
    if data is None:
        if described.get("name", "MNIST") != "MNIST":
            raise ValueError(f"the run trained on {described['name']!r}, not MNIST: give its data (--data DIR)")
        images, labels = load_mnist(root, train=train)
        return normalise(images[:limit]), labels[:limit]
    source = data_folder(data) if isinstance(data, (str, os.PathLike)) else data
    images, labels = (source.train_images, source.train_labels) if train else (source.test_images, source.test_labels)
    mean, std = (described["mean"], described["std"]) if "mean" in described else source.statistics()
    return source.normalised(images[:limit], mean, std), labels[:limit]


def evaluate_on_test(model: nn.Module, meta: dict[str, Any] | None = None,
                     root: str | os.PathLike[str] | None = None, *,
                     data: ImageData | str | os.PathLike[str] | None = None, batch_size: int = 1000) -> EvalResult:
    """Test accuracy of a trained model on the test images it was made for (CPU, fp32).

    Args:
        model: The model, e.g. ``get_model("st8k", weights="mnist")`` or from :func:`load_trained`.
        meta: What it trained on (a run's metadata, or shipped weights' ``to_dict()``);
            ``None`` means MNIST.
        root: MNIST root (see :func:`~tinyconv.data.mnist.default_root`).
        data: The model's data when it was not MNIST (an ``ImageData`` or an IDX folder).
        batch_size: Evaluation batch size (the result does not depend on it).

    Returns:
        The result: ``correct`` of ``total`` images.

    Raises:
        As :func:`run_images`.
    """
    images, labels = run_images(meta or {}, root, data)
    return evaluate(model, TensorBatches(images, labels, batch_size, shuffle=False))


def evaluate_trained(source: str | os.PathLike[str], root: str | os.PathLike[str] | None = None, *,
                     data: ImageData | str | os.PathLike[str] | None = None,
                     batch_size: int = 1000, model: nn.Module | ModelRef | str | None = None) -> tuple[EvalResult, dict[str, Any]]:
    """Test accuracy of a run's trained model on its test images (CPU, fp32).

    Args:
        source: A run folder or its checkpoint.
        root: MNIST root (see :func:`~tinyconv.data.mnist.default_root`).
        data: The run's data when it was not MNIST (an ``ImageData`` or an IDX folder).
        batch_size: Evaluation batch size (the result does not depend on it).
        model: As for :func:`load_trained`.

    Returns:
        ``(result, meta)``; ``result.correct`` of ``result.total`` images.

    Raises:
        As :func:`load_trained` and :func:`run_images`.
    """
    net, meta = load_trained(source, model=model)
    return evaluate_on_test(net, meta, root, data=data, batch_size=batch_size), meta
