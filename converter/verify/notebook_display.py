"""Progress bars made for a notebook's front end, drawn as text in verify's plain Python runs.

verify runs a notebook as one script of its code cells, outside Jupyter. `tqdm.notebook` draws
its bars as ipywidgets, which need a notebook front end: without ipywidgets it raises ("IProgress
not found"), with them it prints the widgets' text in place of output. So in both runs, the
original's and the conversion's, `tqdm.notebook.tqdm`/`trange` (and `tqdm_notebook`) are tqdm's
text bars, which write to stderr like any tqdm: what is compared is unchanged, and the notebook
runs here as it runs in Jupyter.
"""

from __future__ import annotations

import re

_USES_NOTEBOOK_BARS = re.compile(r"tqdm\.notebook|tqdm_notebook|tnrange")


def install(script_text: str) -> bool:
    """Replace the notebook bars when the script uses them and tqdm is installed."""
    if not _USES_NOTEBOOK_BARS.search(script_text):
        return False
    try:
        import tqdm
        import tqdm.notebook as notebook
        from tqdm import std
    except ImportError:
        return False
    notebook.tqdm = notebook.tqdm_notebook = std.tqdm
    notebook.trange = notebook.tnrange = std.trange
    tqdm.tqdm_notebook, tqdm.tnrange = std.tqdm, std.trange
    return True
