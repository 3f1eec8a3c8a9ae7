"""Sphinx configuration of the asterisk-ari documentation (``tox -e docs``; CI builds it with -W)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

import ari  # noqa: E402

project = "asterisk-ari"
author = "The asterisk-ari authors"
copyright = "2026, The asterisk-ari authors"  # noqa: A001 - Sphinx's setting
release = ari.__version__
version = release

extensions = ["sphinx.ext.autodoc", "ari_reference"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = f"asterisk-ari {release}"
nitpicky = False
