"""Jupyter notebooks: the code cells are converted as one script, and the notebook written back.

The pieces, each usable alone:

* :mod:`~converter.notebook.format` reads an ``.ipynb`` file (nbformat 4) with the standard
  library's ``json`` and writes it back in the JSON layout it was read in, so the bytes of every
  cell the conversion did not touch stay as they were;
* :mod:`~converter.notebook.ipython` finds IPython syntax (``%magic``, ``!shell``, ``x?``, cell
  magics), which is never parsed as Python;
* :mod:`~converter.notebook.cells` joins the code cells into one script (a marker statement
  between cells, a placeholder statement for each IPython line) and splits the converted script
  back into cells;
* :mod:`~converter.notebook.conversion` puts them together: :func:`convert_notebook`.

Nothing here imports torch; LibCST is loaded only by the conversion itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

SUFFIX = ".ipynb"

__all__ = ["SUFFIX", "NotebookProblem", "convert_notebook", "is_notebook"]

if TYPE_CHECKING:
    from converter.notebook.conversion import convert_notebook
    from converter.notebook.format import NotebookProblem


def is_notebook(path) -> bool:
    """Whether a path names a notebook (by its suffix, as Jupyter tells them)."""
    return path is not None and str(path).lower().endswith(SUFFIX)


def __getattr__(name: str):
    if name == "convert_notebook":
        from converter.notebook.conversion import convert_notebook

        return convert_notebook
    if name == "NotebookProblem":
        from converter.notebook.format import NotebookProblem

        return NotebookProblem
    raise AttributeError(f"module 'converter.notebook' has no attribute {name!r}")
