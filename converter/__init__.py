"""torch2lightning: rewrite plain PyTorch training scripts into PyTorch Lightning.

The converter is static: it imports LibCST and never torch. ``convert_source`` is the library
entry point; the command line lives in :mod:`converter.cli`. Both are loaded on first use, so
`torch2lightning --version` does not pay for LibCST.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
TARGETS = ("pytorch_lightning", "lightning", "fabric")
#: The one Lightning distribution a conversion imports from, Trainer and Fabric alike:
#: pytorch-lightning (``pytorch_lightning``, and the ``lightning_fabric`` it bundles) or lightning.
PACKAGES = ("pytorch_lightning", "lightning")
#: What `--fallback` may name: the target tried when the Trainer conversion declines.
FALLBACKS = ("fabric",)
__all__ = [
    "FALLBACKS",
    "PACKAGES",
    "TARGETS",
    "ConversionResult",
    "Entry",
    "Report",
    "__version__",
    "convert_source",
    "lightning_package",
]


def lightning_package(target: str, package: str | None) -> str:
    """The distribution a conversion to ``target`` imports from: ``package`` where given (the
    default target, ``pytorch_lightning``, then names the Trainer alone), else the target's."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if package is None:
        return target if target in PACKAGES else PACKAGES[0]
    if package not in PACKAGES:
        raise ValueError(f"unknown package {package!r}; choose one of {', '.join(PACKAGES)}")
    if target == "lightning" and package != "lightning":
        raise ValueError(f"target lightning imports lightning, not {package}")
    return package


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
