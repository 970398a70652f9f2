"""Studies on real storages: two workers share one, a killed worker's trial is failed, bad input is refused.

The PostgreSQL tests need a server: set ``TINYCONV_TEST_POSTGRES`` to a database URL
(``.ci/run`` starts a throwaway server and sets it). Locally they are skipped without it;
in CI (``CI`` set) a missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from optuna.trial import TrialState

from tinyconv.search import (
    BudgetTooSmallError,
    SearchConfig,
    SearchError,
    SearchSpace,
    StorageError,
    StudyMismatchError,
    TrialSettings,
    UnknownStudyError,
    load_study,
    open_study,
    run_search,
    storage_url,
)

POSTGRES = os.environ.get("TINYCONV_TEST_POSTGRES")


def _postgres_url() -> str:
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("CI must provide a PostgreSQL server in TINYCONV_TEST_POSTGRES (see .ci/run)")
        pytest.skip("no PostgreSQL server (set TINYCONV_TEST_POSTGRES)")
    return POSTGRES


def _worker(study: str, storage: str | None, folder, trials: int, epochs: int = 1, grace: int = 60,
            **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "tinyconv.cli", "search", "--study", study, "--budget", "3000",
               "--trials", str(trials), "--epochs", str(epochs), "--data", "synthetic", "--dir", str(folder),
               "--no-progress", "--threads", "1", "--grace", str(grace), "--pruner", "none"]
    if storage:
        command += ["--storage", storage]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def _two_workers_share_one_study(storage: str | None, folder) -> None:
    name = f"two-{uuid.uuid4().hex[:8]}"
    workers = [_worker(name, storage, folder, trials=3) for _ in range(2)]
    for worker in workers:
        _out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    study = load_study(name, storage or storage_url(name, folder, create=False))
    numbers = [t.number for t in study.trials]
    assert sorted(numbers) == list(range(6))  # unique, none lost: the total both asked for
    assert len({t._trial_id for t in study.trials}) == 6
    assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}  # none lost or running
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert complete and all(t.user_attrs["params"] < 3000 for t in complete)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert all("pruned_before_training" in t.user_attrs for t in pruned)  # no pruner: only shapes that cannot fit


def test_two_workers_on_the_embedded_storage(tmp_path):
    _two_workers_share_one_study(None, tmp_path)


@pytest.mark.slow
def test_two_workers_on_postgresql(tmp_path):
    _two_workers_share_one_study(_postgres_url(), tmp_path)


def _running_trial(name: str, url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:  # tinyconv's own opener: it takes the study file's lock, so it never races the worker's schema setup
            study = load_study(name, url)
            if any(t.state == TrialState.RUNNING and t.user_attrs.get("accuracies") for t in study.trials):
                return
        except (UnknownStudyError, StorageError):  # not created yet
            pass
        time.sleep(0.3)
    raise AssertionError("no trial started")


def _kill_and_resume(storage: str | None, folder) -> None:
    name = f"kill-{uuid.uuid4().hex[:8]}"
    victim = _worker(name, storage, folder, trials=5, epochs=40, grace=2)
    url = storage or f"sqlite:///{folder / name / 'study.db'}"
    _running_trial(name, url, time.monotonic() + 120)
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=30)
    time.sleep(3)  # longer than the grace period: the killed trial's heartbeat is stale
    survivor = _worker(name, storage, folder, trials=1, epochs=40, grace=2)
    _out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err
    states = [t.state for t in load_study(name, url).trials]
    assert TrialState.FAIL in states and TrialState.RUNNING not in states
    assert states.count(TrialState.COMPLETE) >= 1


def test_a_killed_worker_leaves_a_failed_trial_and_the_study_goes_on(tmp_path):
    _kill_and_resume(None, tmp_path)


@pytest.mark.slow
def test_a_killed_worker_on_postgresql(tmp_path):
    _kill_and_resume(_postgres_url(), tmp_path)


def _config(budget: int = 3000, epochs: int = 1, seed: int = 1) -> SearchConfig:
    return SearchConfig(TrialSettings(budget=budget, epochs=epochs, data="synthetic", seed=seed), pruner="none")


def test_rerunning_continues_the_study(tmp_path):
    url = storage_url("again", tmp_path)
    run_search("again", _config(), trials=1, storage=url, progress=False, echo=None)
    study = run_search("again", _config(), trials=1, storage=url, progress=False, echo=None)
    assert [t.number for t in study.trials] == [0, 1]


def test_a_study_refuses_another_budget_or_epochs(tmp_path):
    url = storage_url("fixed", tmp_path)
    open_study("fixed", _config(), url)
    with pytest.raises(StudyMismatchError, match=r"other settings: budget=3000 \(now 5000\)"):
        open_study("fixed", _config(budget=5000), url)
    with pytest.raises(StudyMismatchError, match="epochs"):
        open_study("fixed", _config(epochs=2), url)


def test_a_budget_too_small_for_the_space_names_the_smallest_network(tmp_path):
    with pytest.raises(BudgetTooSmallError, match=r"smallest network of the space has \d+ parameters"):
        open_study("tiny", _config(budget=100), storage_url("tiny", tmp_path))
    with pytest.raises(SearchError, match="budget must be a positive int"):
        open_study("tiny", _config(budget=0), storage_url("tiny", tmp_path))


def test_unknown_study_bad_url_and_unreachable_server(tmp_path):
    with pytest.raises(UnknownStudyError, match="no study named 'nope'"):
        storage_url("nope", tmp_path, create=False)
    run_search("here", _config(), trials=1, storage=storage_url("here", tmp_path), progress=False, echo=None)
    with pytest.raises(UnknownStudyError, match="studies there: here"):
        load_study("other", storage_url("here", tmp_path))
    with pytest.raises(StorageError, match="does not parse"):
        storage_url("x", tmp_path, "not a url")
    with pytest.raises(StorageError, match="storage URL 'studies/here' does not parse"):
        load_study("here", "studies/here")  # a folder where a URL belongs: one clear error, no traceback chain
    with pytest.raises(StorageError, match="cannot open the storage postgresql://u:\\*\\*\\*@127.0.0.1:1/db"):
        load_study("x", "postgresql://u:secret@127.0.0.1:1/db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_study_folder_is_refused(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="cannot create the study folder|not writable"):
            storage_url("ro", tmp_path)
    finally:
        tmp_path.chmod(0o700)


def test_a_study_folder_that_cannot_be_written_is_refused(tmp_path):
    """As root a read-only mode does not stop writes, so use a path under a file."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match="cannot create the study folder"):
        storage_url("x", blocker)


def test_pruned_before_training_is_counted_and_costs_no_training(tmp_path, monkeypatch):
    import tinyconv.search.objective as objective

    trained = []
    original = objective.train_trial
    monkeypatch.setattr(objective, "train_trial", lambda *a, **k: trained.append(1) or original(*a, **k))
    from tinyconv.search import DEFAULT_SPACE

    url = storage_url("prune", tmp_path)
    config = SearchConfig(TrialSettings(budget=600, epochs=1, data="synthetic"),
                          SearchSpace(DEFAULT_SPACE.dimensions[:-1]), pruner="none")  # no starting points
    study = open_study("prune", config, url)
    study.enqueue_trial({"convs_before": 3, "convs_after": 4, "stem_ratio": 1.0, "transition_ratio": 1.0,
                         "after_ratio": 1.6, "head": "conv3"}, skip_if_exists=True)
    study = run_search("prune", config, trials=1, storage=url, progress=False, echo=None)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED and "pruned_before_training" in trial.user_attrs
    assert trained == []
    from tinyconv.search import trial_table

    assert "1 pruned before training" in trial_table(study)


def test_pareto_mode_samples_budgets_and_reports_a_front(tmp_path):
    from tinyconv.search import report_study

    config = SearchConfig(TrialSettings(budget=3000, min_budget=1000, epochs=1, data="synthetic"), pareto=True)
    study = run_search("front", config, trials=3, storage=storage_url("front", tmp_path), progress=False, echo=None)
    assert len(study.directions) == 2
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert done and all(t.values[1] == t.user_attrs["params"] < t.params["budget"] <= 3000 for t in done)
    assert all(1000 <= t.params["budget"] for t in study.trials if "budget" in t.params)
    files = report_study(study, tmp_path / "report")["files"]
    assert any(f.endswith("pareto.png") for f in files)


def test_rescoring_in_two_processes_keeps_both_seeds(tmp_path, monkeypatch):
    """Two rescoring processes on one study (one per seed) must not overwrite each other's scores."""
    from tinyconv.search import rescore
    from tinyconv.train.history import EpochRecord, History

    storage = storage_url("resc", tmp_path)
    study = run_search("resc", SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none"),
                       trials=1, storage=storage, progress=False, echo=None, threads=1)
    number = str(study.trials[0].number)

    def fake_train(shape, width, recipe, settings, *, seed):
        if seed == 3:  # meanwhile, another process stored its seed-2 score
            study.set_user_attr("rescore", {number: {"2": 50.0}})
        history = History()
        history.append(EpochRecord(epoch=1, train_loss=1.0, train_accuracy=10.0, test_loss=1.0,
                                   test_accuracy=40.0 + seed, test_correct=1, test_total=2, lr=0.1, seconds=1.0))
        return history

    monkeypatch.setattr(rescore, "train_trial", fake_train)
    stored = rescore.rescore(study, 1, [3], echo=None)
    assert stored[number] == {"2": 50.0, "3": 43.0}
    assert study.user_attrs["rescore"][number] == {"2": 50.0, "3": 43.0}


def test_rescoring_until_settled_follows_the_leader(tmp_path, monkeypatch):
    """The leader falls after rescoring, the next one gets the seeds too, and the settled leader has them all."""
    from tinyconv.search import ranking, rescore
    from tinyconv.train.history import EpochRecord, History

    storage = storage_url("settle", tmp_path)
    config = SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none")
    # the two starting points, enqueued on every new study, both fit 3,000 parameters
    study = run_search("settle", config, trials=2, storage=storage, progress=False, echo=None, threads=1)
    first, second = ranking.ranked_trials(study)
    later = {first.number: second.values[0] - 1.0, second.number: second.values[0]}  # rescored, the leader falls
    trained: list[tuple[int, int]] = []
    current: list[int] = []

    def fake_train(shape, width, recipe, settings, *, seed):
        trained.append((current[-1], seed))
        history = History()
        history.append(EpochRecord(epoch=1, train_loss=1.0, train_accuracy=10.0, test_loss=1.0,
                                   test_accuracy=later[current[-1]], test_correct=1, test_total=2, lr=0.1,
                                   seconds=1.0))
        return history

    original = rescore._rescore_trial

    def rescore_one(study_, trial, seeds, echo):
        current.append(trial.number)
        return original(study_, trial, seeds, echo)

    monkeypatch.setattr(rescore, "train_trial", fake_train)
    monkeypatch.setattr(rescore, "_rescore_trial", rescore_one)
    leader = rescore.rescore_until_settled(study, [1, 2, 3], echo=None)
    assert leader.number == second.number
    assert trained == [(first.number, 2), (first.number, 3), (second.number, 2), (second.number, 3)]
    assert set(study.user_attrs["rescore"][str(second.number)]) == {"2", "3"}  # seed 1 is the trial's own
    assert ranking.ranked_trials(study)[0].number == second.number
    assert rescore.rescore_until_settled(study, [2, 3], echo=None).number == second.number  # settled: no training
    assert len(trained) == 4


def test_rescoring_until_settled_needs_a_completed_trial(tmp_path):
    from tinyconv.search import rescore

    config = SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none")
    study = open_study("empty", config, storage_url("empty", tmp_path))
    with pytest.raises(ValueError, match="has no completed trial to rescore"):
        rescore.rescore_until_settled(study, [2, 3], echo=None)


def test_the_history_plot_keeps_the_exercise_line_in_view():
    from tinyconv.search.render import _history_limits

    assert _history_limits([99.1, 99.2, 99.3, 99.25, 99.28]) == pytest.approx((99.0, 99.45))  # all below 99.4
    low, high = _history_limits([10.0, 99.5, 99.52, 99.0, 98.9, 99.3])  # the failure stays below the axis
    assert low == pytest.approx(98.7) and high == pytest.approx(99.57)


def test_a_seed_another_process_scored_meanwhile_is_not_trained_again(tmp_path, monkeypatch):
    """Two rescoring processes given the seeds in opposite orders share the work."""
    from tinyconv.search import rescore
    from tinyconv.train.history import EpochRecord, History

    storage = storage_url("share", tmp_path)
    study = run_search("share", SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none"),
                       trials=1, storage=storage, progress=False, echo=None, threads=1)
    number = str(study.trials[0].number)
    trained = []

    def fake_train(shape, width, recipe, settings, *, seed):
        trained.append(seed)
        study.set_user_attr("rescore", {number: {**study.user_attrs.get("rescore", {}).get(number, {}), "3": 50.0}})
        history = History()
        history.append(EpochRecord(epoch=1, train_loss=1.0, train_accuracy=10.0, test_loss=1.0,
                                   test_accuracy=40.0 + seed, test_correct=1, test_total=2, lr=0.1, seconds=1.0))
        return history

    monkeypatch.setattr(rescore, "train_trial", fake_train)
    stored = rescore.rescore(study, 1, [2, 3], echo=None)  # while seed 2 trains, another process scores seed 3
    assert trained == [2]
    assert stored[number] == {"2": 42.0, "3": 50.0}


def _fake_history(seed):
    from tinyconv.train.history import EpochRecord, History

    history = History()
    history.append(EpochRecord(epoch=1, train_loss=1.0, train_accuracy=10.0, test_loss=1.0,
                               test_accuracy=40.0 + seed, test_correct=1, test_total=2, lr=0.1, seconds=1.0))
    return history


def test_a_seed_another_process_is_training_is_waited_for_not_trained_twice(tmp_path, monkeypatch):
    """A claimed seed is skipped; once the process's own seeds are done it waits for the claimed one."""
    from tinyconv.search import rescore

    study = run_search("claim", SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none"),
                       trials=1, storage=storage_url("claim", tmp_path), progress=False, echo=None, threads=1)
    trial = study.trials[0]
    number = str(trial.number)
    study.set_user_attr("rescore_claims", {number: {"2": time.time()}})  # another process is training seed 2
    trained, waits = [], []

    def fake_train(shape, width, recipe, settings, *, seed):
        trained.append(seed)
        assert study.user_attrs["rescore_claims"][number][str(seed)] > 0  # claimed while it trains
        return _fake_history(seed)

    def other_process_finishes(seconds):  # while this one waits, the other stores seed 2 and drops its claim
        waits.append(seconds)
        study.set_user_attr("rescore", {number: {**study.user_attrs.get("rescore", {}).get(number, {}), "2": 50.0}})
        study.set_user_attr("rescore_claims", {number: {}})

    monkeypatch.setattr(rescore, "train_trial", fake_train)
    monkeypatch.setattr(rescore.time, "sleep", other_process_finishes)
    stored = rescore.rescore(study, 1, [2, 3], echo=None)
    assert trained == [3] and waits == [rescore.CLAIM_POLL_SECONDS]
    assert stored[number] == {"2": 50.0, "3": 43.0}
    assert study.user_attrs["rescore_claims"][number] == {}  # no claim left behind


def test_an_abandoned_claim_is_taken_over_and_a_failed_run_drops_its_claim(tmp_path, monkeypatch):
    from tinyconv.search import rescore

    study = run_search("stale", SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none"),
                       trials=1, storage=storage_url("stale", tmp_path), progress=False, echo=None, threads=1)
    trial = study.trials[0]
    number = str(trial.number)
    old = time.time() - rescore._claim_timeout(trial) - 1
    study.set_user_attr("rescore_claims", {number: {"2": old}})  # its process died long ago
    calls = []

    def failing_train(shape, width, recipe, settings, *, seed):
        calls.append(seed)
        raise RuntimeError("out of memory")

    monkeypatch.setattr(rescore, "train_trial", failing_train)
    with pytest.raises(RuntimeError):
        rescore.rescore(study, 1, [2], echo=None)
    assert calls == [2] and study.user_attrs["rescore_claims"][number] == {}
    monkeypatch.setattr(rescore, "train_trial", lambda shape, width, recipe, settings, *, seed: _fake_history(seed))
    assert rescore.rescore(study, 1, [2], echo=None)[number] == {"2": 42.0}


def test_the_history_plot_ticks_whole_trial_numbers(tmp_path, monkeypatch):
    from tinyconv.search import render

    study = run_search("ticks", SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none"),
                       trials=2, storage=storage_url("ticks", tmp_path), progress=False, echo=None, threads=1)
    figures = []
    monkeypatch.setattr(render, "_save_figure", lambda figure, path: figures.append(figure))
    render._history_plot(study, tmp_path / "history.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figures[0])  # a figure of its own has no renderer until a canvas draws it
    figures[0].canvas.draw()
    ticks = figures[0].axes[0].get_xticks()
    assert len(ticks) and all(float(t).is_integer() for t in ticks)
    renderer = figures[0].canvas.get_renderer()
    legend, axes = figures[0].axes[0].get_legend(), figures[0].axes[0]
    assert legend.get_window_extent(renderer).x0 >= axes.get_window_extent(renderer).x1  # beside, covering no point


def _seed_dependent_training(trained: list[int]):
    """A stand-in for training whose score falls with the seed: 50 - seed."""
    from tinyconv.train.history import EpochRecord, History

    def train(shape, width, recipe, settings, *, seed, on_epoch=None):
        trained.append(seed)
        history = History()
        record = EpochRecord(epoch=1, train_loss=1.0, train_accuracy=10.0, test_loss=1.0, test_accuracy=50.0 - seed,
                             test_correct=1, test_total=2, lr=0.1, seconds=1.0)
        history.append(record)
        if on_epoch:
            on_epoch(record)
        return history

    return train


def test_a_trial_of_several_seeds_is_scored_by_its_worst_seed(tmp_path, monkeypatch):
    from tinyconv.search import objective, ranking, render, rescore

    trained: list[int] = []
    monkeypatch.setattr(objective, "train_trial", _seed_dependent_training(trained))
    monkeypatch.setattr(rescore, "train_trial", _seed_dependent_training(trained))
    config = SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic", seed=2, seeds_per_trial=3),
                          pruner="none")
    study = run_search("many", config, trials=1, storage=storage_url("many", tmp_path), progress=False, echo=None)
    trial = study.trials[0]
    assert trained == [2, 3, 4]
    assert trial.values == [46.0]  # the worst of 48, 47, 46
    assert trial.user_attrs["seed_scores"] == {"2": 48.0, "3": 47.0, "4": 46.0}
    assert trial.user_attrs["accuracies"] == [48.0]  # the pruner saw the first seed only
    assert ranking.other_seeds(study, trial) == {"3": 47.0, "4": 46.0}
    assert ranking.merge_seed_scores(trial.user_attrs, {"5": 45.0}, 2) == {"3": 47.0, "4": 46.0, "5": 45.0}
    assert "3 (46.00)" in render.trial_table(study)
    trained.clear()
    leader = rescore.rescore_until_settled(study, [3, 4, 5], echo=None)  # seeds 3 and 4 are the trial's own
    assert leader.number == trial.number and trained == [5]
    assert ranking.other_seeds(study, trial) == {"3": 47.0, "4": 46.0, "5": 45.0}


def test_seeds_per_trial_is_fixed_when_the_study_is_made(tmp_path):
    url = storage_url("fixed-seeds", tmp_path)
    open_study("fixed-seeds", _config(), url)  # one seed, as every study made before the setting
    two = SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic", seeds_per_trial=2), pruner="none")
    with pytest.raises(StudyMismatchError, match=r"other settings: seeds_per_trial=1 \(now "):
        open_study("fixed-seeds", two, url)
    open_study("two-seeds", two, url)
    with pytest.raises(StudyMismatchError, match="seeds_per_trial=2"):
        open_study("two-seeds", _config(), url)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=f"seeds_per_trial must be a positive int, got {bad!r}"):
            TrialSettings(budget=3000, seeds_per_trial=bad)


def test_ctrl_c_during_a_search_is_not_reported_as_a_traceback():
    import logging
    import sys

    from tinyconv.search.study import _NoInterruptTracebacks

    keep = _NoInterruptTracebacks()
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = logging.LogRecord("optuna", logging.WARNING, "", 0, "Trial 0 failed", None, sys.exc_info())
    plain = logging.LogRecord("optuna", logging.WARNING, "", 0, "Trial 1 failed with ValueError", None, None)
    assert not keep.filter(interrupted) and keep.filter(plain)
    assert not keep.filter(logging.LogRecord("optuna", logging.WARNING, "", 0,
                                             "Trial 2 failed because of the following error: KeyboardInterrupt()",
                                             None, None))


def test_the_same_command_samples_the_same_networks(tmp_path):
    def sampled(folder, seed):
        config = _config(seed=seed)
        study = open_study("same", config, storage_url("same", folder))
        points = []
        for _ in range(12):  # past the enqueued starting points and the random start-up trials
            trial = study.ask()
            points.append(config.space.sample(trial)[0])
            study.tell(trial, 99.0 + 0.01 * len(points))
        return points

    first = sampled(tmp_path / "a", 1)
    assert sampled(tmp_path / "b", 1) == first
    assert sampled(tmp_path / "c", 2) != first


def test_the_synthetic_search_learns_far_above_chance(tmp_path):
    from tinyconv.search.ranking import CHANCE, chance_note

    study = run_search("learn", _config(epochs=4), trials=1, storage=storage_url("learn", tmp_path), progress=False,
                       echo=None)
    assert study.trials[0].values[0] > 4 * CHANCE  # the task the docs' example searches is learnable
    assert chance_note(study) is None


def test_a_study_at_chance_level_says_so_in_its_table_and_export(tmp_path, monkeypatch):
    import json

    from tinyconv.search import export_trial, trial_table
    from tinyconv.search.ranking import ChanceLevelWarning
    from tinyconv.train.history import EpochRecord

    def guessing(shape, width, recipe, settings, *, seed, on_epoch=None):  # a network that learns nothing
        on_epoch(EpochRecord(1, 2.3, 10.0, 2.3, 8.59375, 22, 256, 0.1, 1.0))

    monkeypatch.setattr("tinyconv.search.objective.train_trial", guessing)
    study = run_search("flat", _config(), trials=1, storage=storage_url("flat", tmp_path), progress=False, echo=None)
    assert "Note: the best trial (0, 8.59%) is at chance level" in trial_table(study)
    with pytest.warns(ChanceLevelWarning, match="chance level"):
        export_trial(study, "flat", tmp_path / "flat.json")
    assert json.loads((tmp_path / "flat.json").read_text())["name"] == "flat"


def test_trial_lines_go_above_the_bar_and_the_bar_counts_the_trials(tmp_path, capsys):
    lines = []
    run_search("bar", _config(), trials=2, storage=storage_url("bar", tmp_path), progress=True, echo=lines.append)
    err = capsys.readouterr().err
    assert [line.split(":")[0] for line in lines] == ["trial 0", "trial 1"]
    assert all(" score " not in line or len(line.rsplit(" ", 1)[-1].split(".")[-1]) == 2 for line in lines)
    assert "2/2" in err and "best " in err and "Best value" not in err
