"""tinyconv in a Jupyter notebook, executed headless (nbclient) as a student's would be.

After a training cell and a search cell the notebook's matplotlib backend is still the one
it set and its own ``plt.show()`` still draws; the kernel's standard error holds no
warning; results show as HTML (tables, the curves inline) and the bar knows its total.
"""

from __future__ import annotations

import textwrap

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

CELLS = [
    """
    %matplotlib inline
    import matplotlib
    import matplotlib.pyplot as plt
    backend = matplotlib.get_backend()
    """,
    """
    from tinyconv.inspect import summary
    from tinyconv.zoo import get_model
    summary(get_model("st8k"))
    """,
    """
    from tinyconv.budget import budget_report
    budget_report(get_model("model1"), 8000, name="model1")
    """,
    """
    import torch
    from tinyconv import train_net
    from tinyconv.data.sources import tensor_data
    from tinyconv.zoo import get_model
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(64) % 10
    data = tensor_data((images, labels), (images[:16], labels[:16]))
    result = train_net(get_model("st5k"), {"epochs": 2, "batch_size": 16}, data=data, out=False)
    """,
    """
    result
    """,
    """
    import tempfile
    from tinyconv.search import SearchConfig, TrialSettings, run_search, storage_url
    folder = tempfile.mkdtemp()
    config = SearchConfig(TrialSettings(budget=3000, epochs=1, data="synthetic"), pruner="none")
    study = run_search("nb", config, trials=1, storage=storage_url("nb", folder))
    """,
    """
    assert matplotlib.get_backend() == backend, (matplotlib.get_backend(), backend)
    plt.plot([1, 2, 3])
    plt.show()
    """,
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(textwrap.dedent(cell).strip()) for cell in CELLS]
    folder = tmp_path_factory.mktemp("notebook")
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook


def _outputs(notebook, index):
    return notebook.cells[index].outputs


def _stream(notebook, index, name):
    return "".join(o.get("text", "") for o in _outputs(notebook, index) if o.output_type == "stream" and o.name == name)


def test_the_summary_shows_as_an_html_table(executed):
    html = [o for o in _outputs(executed, 1) if o.output_type == "execute_result"][0]["data"]["text/html"]
    assert "<table" in html and "block1" in html and "7,629" in html


def test_the_budget_report_shows_as_an_html_table_with_the_layers_to_cut_marked(executed):
    html = [o for o in _outputs(executed, 2) if o.output_type == "execute_result"][0]["data"]["text/html"]
    assert "<table" in html and "OVER BUDGET" in html and "background:#fde7e7" in html


def test_the_training_cell_shows_epoch_lines_and_a_bar_with_its_total_on_one_stream(executed):
    out = _stream(executed, 3, "stdout")
    assert "EPOCH: 1" in out and "4/4" in out  # 64 images in batches of 16
    assert out.index("EPOCH: 1") < out.index("4/4") < out.index("EPOCH: 2")


def test_the_result_cell_shows_the_summary_and_the_curves(executed):
    data = [o for o in _outputs(executed, 4) if o.output_type == "execute_result"][0]["data"]
    assert "data:image/png;base64," in data["text/html"] and "exercise" in data["text/html"]
    assert len(data["text/plain"]) < 300


def test_the_notebooks_own_plots_still_show_after_training_and_search(executed):
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {}) for o in _outputs(executed, 6))


def test_the_kernel_printed_no_warning(executed):
    for index in range(len(CELLS)):
        err = _stream(executed, index, "stderr")
        assert "warning" not in err.lower(), (index, err)


GETTING_STARTED = __import__("pathlib").Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "getting_started.ipynb"

SMALL_DATA = """
epochs = 2
import torch
from tinyconv.data.sources import tensor_data
g = torch.Generator().manual_seed(0)
images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g)
labels = torch.arange(64) % 10
data = tensor_data((images, labels), (images[:32], labels[:32]))
"""


@pytest.fixture(scope="module")
def getting_started(tmp_path_factory):
    """The docs' Getting-started notebook, executed with its parameters cell set to 2 epochs on 64 images."""
    notebook = nbformat.read(GETTING_STARTED, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = SMALL_DATA.strip()
    folder = tmp_path_factory.mktemp("getting_started")
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def _result_of(notebook, text):
    """The outputs of the code cell that is ``text``, else of the first that contains it."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    cell = next((c for c in code if c.source.strip() == text), None) or next(c for c in code if text in c.source)
    return cell.outputs


def test_the_getting_started_notebook_shows_its_results_as_html_and_pictures(getting_started):
    def html(text):
        return "".join(o["data"].get("text/html", "") for o in _result_of(getting_started, text)
                       if o.output_type == "execute_result")

    assert "<table" in html("summary(net") and "Conv2d" in html("summary(net")
    assert "OK: my net has" in html("budget_report(")
    assert "data:image/png;base64," in html("result")
    assert "<table" in html("confusion_matrix(")
    mistakes = _result_of(getting_started, "plot_mistakes(")
    assert any("image/png" in o.get("data", {}) for o in mistakes)
    training = "".join(o.get("text", "") for o in _result_of(getting_started, "train_net(") if o.output_type == "stream")
    assert "1/1" in training and "EPOCH: 2" in training  # 64 images: one batch of the st8k recipe's 64
    for cell in getting_started.cells:
        for output in cell.get("outputs", []):
            assert not (output.output_type == "stream" and output.name == "stderr" and "warning" in output.text.lower())
