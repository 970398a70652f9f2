"""Training and the search's plots leave the user's matplotlib alone: no backend switch, no open figure."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_plotting_a_history_keeps_the_backend_and_opens_no_figure():
    script = textwrap.dedent("""
        import matplotlib
        matplotlib.use("svg")  # a backend of the user's choice, as %matplotlib inline would set
        import matplotlib.pyplot as plt
        from tinyconv.train.history import EpochRecord, History
        from tinyconv.train.plot import plot_history
        import tempfile, pathlib
        history = History(meta={"model": "m"})
        history.append(EpochRecord(epoch=1, train_loss=0.5, train_accuracy=90.0, test_loss=0.4, test_accuracy=91.0,
                                  test_correct=91, test_total=100, lr=0.1, seconds=1.0))
        path = pathlib.Path(tempfile.mkdtemp()) / "c.png"
        plot_history(history, path)
        assert path.stat().st_size > 0
        print(matplotlib.get_backend(), len(plt.get_fignums()))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["svg", "0"]
