"""torch2lightning: rewrite plain PyTorch training scripts into PyTorch Lightning.

The converter is static: it imports LibCST and never torch. ``convert_source`` is the library
entry point; the command line lives in :mod:`converter.cli`. Both are loaded on first use, so
`torch2lightning --version` does not pay for LibCST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
TARGETS = ("pytorch_lightning", "lightning", "fabric")
#: What `--fallback` may name: the target tried when the Trainer conversion declines.
FALLBACKS = ("fabric",)
__all__ = [
    "FALLBACKS",
    "TARGETS",
    "ConversionResult",
    "Entry",
    "Report",
    "__version__",
    "convert_source",
]

if TYPE_CHECKING:
    from converter.pipeline import convert_source
    from converter.report import ConversionResult, Entry, Report

_LAZY = {
    "convert_source": "converter.pipeline",
    "ConversionResult": "converter.report",
    "Entry": "converter.report",
    "Report": "converter.report",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'converter' has no attribute {name!r}")
