"""torch2lightning: rewrite plain PyTorch training scripts into PyTorch Lightning.

The converter is static: it imports LibCST and never torch. ``convert_source`` is the library
entry point; the command line lives in :mod:`converter.cli`.
"""

from converter.pipeline import TARGETS, convert_source
from converter.report import ConversionResult, Entry, Report

__version__ = "0.1.0"
__all__ = ["TARGETS", "ConversionResult", "Entry", "Report", "__version__", "convert_source"]
