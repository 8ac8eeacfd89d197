"""Sphinx configuration of the latticemirage documentation (``make docs``).

Offline by design: no intersphinx, no remote images, no downloads; the tutorials in
``tutorials/`` are MyST-NB text notebooks executed at build time through the IPython kernel
of the interpreter running Sphinx. Executions are cached by jupyter-cache under
``_build/.jupyter_cache/<digest>``, where the digest covers the sources of the four
packages (and the versions of the libraries they compute with): any change of the code
starts a fresh cache, so a cached output is reused only for the same notebook code on the
same package code. Warnings are errors in ``make docs`` (``-W --keep-going -n``).
"""

import hashlib
import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))

from mirage_common.version import __version__  # noqa: E402

project = "latticemirage"
author = "the latticemirage developers"
copyright = "2026, the latticemirage developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_nb",
    "cli_reference",  # _ext/cli_reference.py: the CLI reference from the argparse parsers
    "mirage_topics",  # _ext/mirage_topics.py: topic pages added by other engineers
]

# Pages and folders the site owns; every other top-level docs/*.md is a topic page
# (mirage_topics lists it under "Topics").
core_pages = ["index", "installation", "concepts", "validate", "cli", "api", "performance",
              "changelog"]
exclude_patterns = ["_build", "_ext", "_templates", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]
root_doc = "index"

# --- cross-references: everything must resolve -------------------------------------------
nitpicky = True
# Built-in and NumPy type names in signatures have nowhere to point without intersphinx.
nitpick_ignore_regex = [
    (r"py:.*", r"(float|int|str|bool|dict|list|tuple|None|object|callable|Path|"
               r"numpy\..*|np\..*|ndarray|array_like|optional)"),
]

# --- API reference -------------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False  # the curated public names: each module's __all__
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # NumPy-style docstrings carry the types and units
add_module_names = False
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_class_members_toctree = False

# --- MyST and executed tutorials -----------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3


def _code_digest():
    """Digest of the package sources and of the numerical libraries' versions."""
    h = hashlib.sha256()
    for package in ("latticemirage", "quasiclassical", "comparisons", "mirage_common"):
        for path in sorted((ROOT / package).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    for dist in ("kwant", "numpy", "scipy", "matplotlib", "numba"):
        try:
            h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
        except importlib.metadata.PackageNotFoundError:
            h.update(f"{dist}=absent".encode())
    return h.hexdigest()[:16]


_cache_root = HERE / "_build" / ".jupyter_cache"
nb_execution_mode = os.environ.get("MIRAGE_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(_cache_root / _code_digest())
if nb_execution_mode == "cache" and _cache_root.is_dir():
    # Caches of other code versions can never be reused: drop them.
    for _old in _cache_root.iterdir():
        if _old.is_dir() and str(_old) != nb_execution_cache_path:
            shutil.rmtree(_old, ignore_errors=True)
# The kernel "python3" must be this interpreter's (the venv's), not a user-level kernelspec.
os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
nb_execution_timeout = 180
nb_execution_raise_on_error = True  # a failing tutorial fails the build
nb_execution_show_tb = True
nb_execution_excludepatterns = []
nb_merge_streams = True
# Kernels run from docs/, so tutorials write their files into temporary folders.
nb_execution_in_temp = True

# --- HTML ----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"latticemirage {release}"
html_static_path = []
html_show_sourcelink = False
html_last_updated_fmt = None
