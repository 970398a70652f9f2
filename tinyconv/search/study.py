"""Studies: where trials are stored, how workers share them, and how a search runs.

By default a study lives in an SQLite file in the study folder
(``studies/<name>/study.db``): nothing to start, and several worker processes on one
machine can share it. Any Optuna RDB URL (``postgresql://user@host/db``) lets workers
on many machines share one study: run the same command on each. Trials keep a
heartbeat; a worker killed mid-trial leaves a trial that the next worker to start a
trial marks failed, and the study goes on. Running the same command again continues
the study (it is never restarted), and a study refuses to continue with another
budget, epochs or search space.
"""

from __future__ import annotations

import logging
import time
import warnings
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna

from tinyconv.search.objective import Objective, TrialSettings
from tinyconv.search.space import DEFAULT_SPACE, STARTING_POINTS, SearchSpace

__all__ = [
    "SearchError",
    "StorageError",
    "StudyMismatchError",
    "UnknownStudyError",
    "BudgetTooSmallError",
    "SearchConfig",
    "storage_url",
    "open_study",
    "load_study",
    "run_search",
    "smallest_budget",
    "enqueue_points",
]

HEARTBEAT_SECONDS = 10
"""How often a running trial tells the storage it is alive."""
GRACE_SECONDS = 60
"""A running trial silent for this long is marked failed by the next worker."""
TRIAL_ERRORS = (FloatingPointError, ArithmeticError, RuntimeError)
"""Errors that fail one trial (recorded in the study with its reason) but not the search:
a diverging loss, a numerical corner of a sampled recipe, an out-of-memory error."""


class SearchError(ValueError):
    """Base class of the search's errors."""


class StorageError(SearchError):
    """A storage URL does not parse, or its database cannot be reached or written."""


class StudyMismatchError(SearchError):
    """A study exists with another budget, epochs or search space."""


class UnknownStudyError(SearchError):
    """No study of that name is in the storage."""


class BudgetTooSmallError(SearchError):
    """No network of the space fits the budget."""


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines a study; stored in it and checked when it is reopened.

    Attributes:
        settings: Budget, epochs, seed and data of every trial.
        space: The search space.
        pareto: Multi-objective: validation score up, parameters down, over budgets
            from ``settings.min_budget`` to ``settings.budget``.
        pruner: ``"median"``, ``"hyperband"`` or ``"none"``.
        grace: Seconds a running trial may stay silent before the next worker marks it
            failed (its worker was killed); not part of the study's identity.
    """

    settings: TrialSettings
    space: SearchSpace = DEFAULT_SPACE
    pareto: bool = False
    pruner: str = "median"
    grace: int = GRACE_SECONDS

    def identity(self) -> dict[str, Any]:
        """What must match when a study is reopened."""
        s = self.settings
        return {"budget": s.budget, "min_budget": s.min_budget, "epochs": s.epochs, "seed": s.seed,
                "data": s.data, "pareto": self.pareto, "space": self.space.fingerprint(),
                "seeds_per_trial": s.seeds_per_trial}


STUDY_NAME = r"[A-Za-z0-9._-]+"
"""What a study name may hold: it names a folder under the studies folder, never a path."""


def storage_url(study: str | None, folder: str | os.PathLike[str] = "studies", storage: str | None = None,
                *, create: bool = True) -> str:
    """The storage URL of a study: the given one, or the embedded SQLite file.

    Args:
        study: Study name.
        folder: Parent folder of the embedded studies.
        storage: An Optuna RDB URL, or ``None`` for the embedded file.
        create: Create the study folder; with ``False`` an embedded study must exist.

    Returns:
        The URL.

    Raises:
        SearchError: If no study name is given, or it is not a plain name (:data:`STUDY_NAME`).
        StorageError: If the URL does not parse, or the study folder cannot be created.
        UnknownStudyError: With ``create=False``, if there is no embedded study of that name.
    """
    if not study:
        raise SearchError("a study name is required (--study NAME)")
    if not re.fullmatch(STUDY_NAME, study) or study in (".", ".."):
        raise SearchError(f"a study name is letters, digits, '.', '_' and '-' only (it names a folder under "
                          f"{folder}), got {study!r}")
    if storage is not None:
        _parsed_url(storage)
        return storage
    path = Path(folder) / study
    if not create:
        if not (path / "study.db").is_file():
            raise UnknownStudyError(f"no study named {study!r} in {folder} (no {path / 'study.db'})")
        return f"sqlite:///{path / 'study.db'}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageError(f"cannot create the study folder {path}: {error.strerror or error}") from None
    if not os.access(path, os.W_OK):
        raise StorageError(f"the study folder {path} is not writable")
    return f"sqlite:///{path / 'study.db'}"


# Heartbeats and stale-trial checks are marked experimental by Optuna; they are what
# many workers rely on here, so their warning is noise to a user.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _open_rdb(url: str, grace: int) -> optuna.storages.RDBStorage:
    engine: dict[str, Any] = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else {}
    heartbeat = max(1, min(HEARTBEAT_SECONDS, grace // 2))
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=heartbeat,
                                              grace_period=grace)
        except Exception as error:  # sqlalchemy and driver errors
            # Workers started together race to create the schema: the loser retries.
            if attempt == 4 or "UNIQUE constraint" not in str(error) and "already exists" not in str(error) \
                    and "duplicate key" not in str(error):
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _parsed_url(url: str) -> Any:
    """SQLAlchemy's reading of a storage URL; a StorageError naming it if it does not parse."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError:
        raise StorageError(f"storage URL {url!r} does not parse (expected e.g. "
                           "postgresql://user@host/db or sqlite:///path.db)") from None


def _storage(url: str, grace: int = GRACE_SECONDS) -> optuna.storages.RDBStorage:
    from tinyconv._io import file_lock

    where = _parsed_url(url).render_as_string(hide_password=True)
    try:
        if url.startswith("sqlite:///"):  # workers on one machine take turns creating the file
            with file_lock(url[len("sqlite:///"):] + ".lock"):
                return _open_rdb(url, grace)
        return _open_rdb(url, grace)
    except Exception as error:  # sqlalchemy's OperationalError and driver errors
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StorageError(f"cannot open the storage {where}: {first}") from None


def _pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min(3, epochs), max_resource=epochs)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=6, n_warmup_steps=max(1, epochs // 2))
    if name == "none":
        return optuna.pruners.NopPruner()
    raise SearchError(f"pruner must be median, hyperband or none, got {name!r}")


def smallest_budget(space: SearchSpace = DEFAULT_SPACE) -> int:
    """The fewest parameters a network of the space has: every unconditional
    architecture dimension at its low end (or first choice), no dropout, the GAP head,
    width 2 (the narrowest :func:`build_candidate` tries).

    Args:
        space: The space.

    Returns:
        The count; a budget must exceed it.
    """
    from tinyconv.budget import count_params
    from tinyconv.zoo.stagenet import StageNetShapeError, stagenet

    lows: dict[str, Any] = {}
    for dim in space.dimensions:
        if dim.group == "architecture" and not dim.when:
            lows[dim.target] = dim.choices[0] if dim.kind == "categorical" else dim.low
    for key in ("convs_before", "convs_after"):
        if key in lows:
            lows[key] = int(lows[key])
    lows.update({"dropout_kind": "channel", "dropout": 0.0, "head": "gap"})
    try:
        return count_params(stagenet(width=2, **lows))
    except (StageNetShapeError, ValueError):
        return 0


def _sampler(seed: int, trials_so_far: int) -> optuna.samplers.BaseSampler:
    """The study's sampler, seeded by the search's seed and how many trials the study already holds.

    The same command on the same study samples the same networks; a continued study does not
    repeat the points of its first session.
    """
    return optuna.samplers.TPESampler(multivariate=True, group=True, constant_liar=True, n_startup_trials=8,
                                      seed=(seed * 1_000_003 + trials_so_far) % 2 ** 32)


def open_study(name: str, config: SearchConfig, storage: str) -> optuna.Study:
    """Create a study or reopen one made with the same configuration.

    Args:
        name: Study name.
        config: What the study searches.
        storage: Storage URL (see :func:`storage_url`).

    Returns:
        The study.

    Raises:
        StudyMismatchError: If the study exists with another configuration.
        BudgetTooSmallError: If no network of the space fits the budget.
        StorageError: If the storage cannot be opened.
    """
    settings = config.settings
    if isinstance(settings.budget, bool) or not isinstance(settings.budget, int) or settings.budget <= 0:
        raise SearchError(f"budget must be a positive int, got {settings.budget!r}")
    floor = smallest_budget(config.space)
    if settings.budget <= floor or (settings.min_budget is not None and settings.min_budget <= floor):
        raise BudgetTooSmallError(f"budget {settings.budget:,} is too small: the smallest network of the space "
                                  f"has {floor:,} parameters")
    directions = ["maximize", "minimize"] if config.pareto else ["maximize"]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=_storage(storage, config.grace), directions=directions,
                                sampler=_sampler(settings.seed, 0), pruner=_pruner(config.pruner, settings.epochs),
                                load_if_exists=True)
    study.sampler = _sampler(settings.seed, len(study.trials))  # a continued study draws new points, repeatably
    identity = config.identity()
    stored = study.user_attrs.get("tinyconv")
    if stored is None:
        if config.space == DEFAULT_SPACE:
            for point in STARTING_POINTS:
                study.enqueue_trial(point, skip_if_exists=True)
        study.set_user_attr("tinyconv", identity)
        study.set_user_attr("space", config.space.to_dict())
        study.set_user_attr("settings", asdict(settings))
    else:
        have = {"seeds_per_trial": 1, **stored}  # studies made before the setting existed train one seed
        changed = sorted(k for k in have.keys() | identity.keys() if have.get(k) != identity.get(k))
        if changed:
            raise StudyMismatchError(
                f"study {name!r} was created with other settings: "
                f"{', '.join(f'{k}={have.get(k)!r} (now {identity.get(k)!r})' for k in changed)}; use another --study name"
            )
    return study


def load_study(name: str, storage: str) -> optuna.Study:
    """Open an existing study for reading.

    Args:
        name: Study name.
        storage: Storage URL.

    Returns:
        The study.

    Raises:
        UnknownStudyError: If the storage holds no study of that name.
        StorageError: If the storage cannot be opened.
    """
    store = _storage(storage)
    names = [s.study_name for s in optuna.get_all_study_summaries(store, include_best_trial=False)]
    if name not in names:
        listed = ", ".join(names) if names else "none"
        raise UnknownStudyError(f"no study named {name!r} in {storage.split('///')[-1]} (studies there: {listed})")
    study = optuna.load_study(study_name=name, storage=store)
    optuna.storages.fail_stale_trials(study)  # a worker that died: its silent trial is failed, not "running"
    return study


class _NoInterruptTracebacks(logging.Filter):
    """Drop Optuna's report of a trial stopped by Ctrl-C: the command says "interrupted" in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, KeyboardInterrupt) and "KeyboardInterrupt" not in record.getMessage()


def _quiet_interrupts(logger: logging.Logger) -> None:
    """Filter the logger's handlers (records from its child loggers pass through them) and itself."""
    for target in [logger, *logger.handlers, *logging.getLogger().handlers]:
        if not any(isinstance(f, _NoInterruptTracebacks) for f in target.filters):
            target.addFilter(_NoInterruptTracebacks())


def run_search(
    name: str,
    config: SearchConfig,
    *,
    trials: int,
    storage: str,
    progress: bool = True,
    echo: Callable[[str], None] | None = print,
    threads: int | None = None,
) -> optuna.Study:
    """Run ``trials`` more trials of a study (created or continued).

    Args:
        name: Study name.
        config: What the study searches.
        trials: Trials this worker runs; other workers on the same study add theirs.
        storage: Storage URL.
        progress: Show a progress bar over trials.
        echo: Where to print one line per finished trial; ``None`` for silence.
        threads: Intra-op threads of this worker (``None``: PyTorch's choice); one per
            worker when several share a machine.

    Returns:
        The study.

    Raises:
        SearchError: For a bad budget or trial count, or a study that does not match.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise SearchError(f"trials must be a positive int, got {trials!r}")
    study = open_study(name, config, storage)
    objective = Objective(config.space, config.settings, pareto=config.pareto)
    from tinyconv._progress import progress_bar
    from tinyconv.cpu import tune_process

    bar = progress_bar(trials, desc="trials", unit="trial") if progress else None
    callbacks = [_echo_trial(echo, bar)] if echo is not None or bar is not None else []
    tune_process(threads=threads)  # allocator tuning and threads, as tinyconv train does
    logging.getLogger("optuna").setLevel(logging.WARNING)
    _quiet_interrupts(logging.getLogger("optuna"))
    from sqlalchemy.exc import SQLAlchemyError

    try:
        study.optimize(objective, n_trials=trials, callbacks=callbacks, show_progress_bar=False,
                       catch=TRIAL_ERRORS, gc_after_trial=True)
    except SQLAlchemyError as error:
        first = str(error).strip().splitlines()[0]
        raise StorageError(f"the study's storage failed (disk full or read-only?): {first}") from None
    finally:
        if bar is not None:
            bar.close()
    return study


def _echo_trial(echo: Callable[[str], None] | None, bar: Any) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """One line per finished trial (above the bar, never through it), and the bar moved on with the best score."""
    best: list[float] = []

    def callback(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        params = trial.user_attrs.get("params")
        values = "" if trial.values is None else " score " + ", ".join(f"{v:.2f}" for v in trial.values)
        size = f" {params:,} params" if params else ""
        line = f"trial {trial.number}: {trial.state.name.lower()}{size}{values}"
        if echo is not None:
            if bar is None:
                echo(line)
            else:
                with bar.external_write_mode():
                    echo(line)
        if bar is not None:
            if trial.values:
                best.append(max([*best, trial.values[0]]))
                bar.set_postfix_str(f"best {best[-1]:.2f}%", refresh=False)
            bar.update(1)

    return callback


def enqueue_points(name: str, storage: str, points: list[dict[str, Any]], space: SearchSpace | None = None) -> int:
    """Ask a study to try given points next (Optuna's ``enqueue_trial``), e.g. variations of its best.

    Every point is checked against the study's own space (the one stored when it was
    created) before anything is queued, so a typo or an out-of-range value is refused
    here instead of failing a trial later.

    Args:
        name: Study name (the study must exist).
        storage: Storage URL.
        points: Parameter dicts, each naming dimensions of the space.
        space: The space to check against when the study stored none (default:
            :data:`~tinyconv.search.space.DEFAULT_SPACE`).

    Returns:
        How many points were queued.

    Raises:
        UnknownParameterError: If a point names a parameter the space does not have.
        ValueError: If a value is outside its dimension's range or choices.
        UnknownStudyError: If there is no such study.
    """
    study = load_study(name, storage)
    stored = study.user_attrs.get("space")
    check = SearchSpace.from_dict(stored) if stored else (space or DEFAULT_SPACE)
    for point in points:
        check.check_point(point)
    for point in points:
        study.enqueue_trial(point, user_attrs={"enqueued": True}, skip_if_exists=True)
    return len(points)
