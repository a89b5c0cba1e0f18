"""Sphinx configuration: the user guide (Markdown, MyST) and the API reference (numpydoc)."""

from __future__ import annotations

import sys
from pathlib import Path

import portcon

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS))

project = "portcon"
author = "The portcon developers"
copyright = "2026, the portcon developers"
release = portcon.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_generated"]
myst_enable_extensions = ["dollarmath", "deflist", "colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc prints the types from the signature's docstring
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

nitpicky = False
suppress_warnings = ["myst.header"]
intersphinx_mapping: dict[str, tuple[str, None]] = {}

html_theme = "furo"
html_title = f"portcon {release}"
html_static_path: list[str] = []


def setup(app: object) -> None:
    """Draw the guide's figures from the shipped example data before the pages are read."""
    from field_tables import write_tables
    from figures import draw_all

    write_tables(DOCS / "_generated" / "fields")
    draw_all(DOCS / "_generated")
