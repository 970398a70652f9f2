"""Sphinx configuration for tinyconv's documentation.

Tables and figures that show numbers are generated at build time from the model
registry and from the committed results in ``benchmarks/results/``, so they cannot
drift from the code or the measurements.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "benchmarks"))  # the lab: results files and tables

import tinyconv  # noqa: E402
from _generate import generate  # noqa: E402

project = "tinyconv"
author = "the tinyconv developers"
copyright = "2026, the tinyconv developers"  # noqa: A001
release = version = tinyconv.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
    "_results_role",  # figures in prose with their results field (benchmarks/lab/claims.py)
]

# No intersphinx: the build must work offline, and a missing inventory would warn.
autodoc_default_options = {"members": True, "show-inheritance": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autodoc_inherit_docstrings = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

html_theme = "furo"
html_title = f"tinyconv {release}"
html_static_path = ["_static"]
html_css_files = ["tinyconv.css"]  # printed output wraps instead of scrolling sideways
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.md", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(plot|example)_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
}

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


def setup(app):  # noqa: D103 - Sphinx hook
    app.connect("builder-inited", lambda app: generate(HERE / "generated"))
